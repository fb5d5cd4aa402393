import AWSServices
import Essentials
import LambdaRuntime

/// Configuration of `multihostInvite`, read from the environment at start-up:
/// - `INVITES_TABLE` (required): the DynamoDB table of invites (`inviteeId` + `stageArn`, TTL `expiresAt`);
/// - `STATE_TABLE`: the table `streamStarted` records channel states in (`/channel/state` reads it) and
///   where stage and room tags are shared by all instances (key `pk`, TTL `expiresAt`);
/// - `DEFAULT_STAGE_ARN`: the stage when a request names none;
/// - `STAGE_OWNER`: the owner of `DEFAULT_STAGE_ARN` when it has no ownership tag (single-broadcaster deployments);
/// - `OWNER_TAG_KEY` (default `ivs-chat-events:owner`): the tag naming a stage's or a room's owner;
/// - `CHAT_ROOM_ARN` (or `DEMO_CHAT_ARN`): the room of stages without a `chatRoomArn` tag;
/// - `CORS_ALLOWED_ORIGIN` (default `*`), `IDENTITY_CLAIM` (default `sub`): a claim that is unique and
///   never changes for a user (`sub`); one users can change or reuse (`username`, `email`, …) is
///   warned about at init, and `email` is taken only with `email_verified` true;
/// - `INVITE_DURATION_MINUTES` (1-20160, default 60): how long an invite lasts (may be joined);
/// - `JOIN_TOKEN_MINUTES` (1-60, default 10): how long a participant token made at join lasts;
/// - `STAGE_CACHE_SECONDS` (0-3600, default 60): how long a warm process trusts a `GetStage` or `GetRoom` answer;
/// - chat tokens: `CHANNEL_ROOM_MAP` (as `streamStarted` reads it: a channel's room), `CHAT_SESSION_MINUTES`
///   (1-180, default 60), `USERNAME_CLAIM` (default `username`: the `username` attribute of a token);
/// - `ALLOW_GUESTS` (`true`/`false`, default `false`): whether callers without a JWT get receive-only
///   chat tokens and watch-only stage tokens; `GUEST_STAGE_ARNS` (comma-separated stage ARNs): the stages
///   guests may watch, besides `DEFAULT_STAGE_ARN`;
/// - the deployment's scope, which every ARN in a request must be in (else 400, before any AWS call):
///   the region `AWS_REGION` (else `AWS_DEFAULT_REGION`), and the account of the configured ARNs
///   (`CHAT_ROOM_ARN`, `DEFAULT_STAGE_ARN`, `GUEST_STAGE_ARNS`, `CHANNEL_ROOM_MAP`; an init error when they
///   name more than one), else that of the invoked function's ARN.
public struct MultihostInviteConfiguration: Sendable {
    public var table: String
    public var defaultStage: String?
    public var stageOwner: String?
    public var defaultRoom: String?
    public var allowedOrigin: String
    public var identityClaim: String
    public var inviteDurationMinutes: Int
    public var joinTokenMinutes: Int
    public var stageCacheSeconds: Int
    public var roomsByChannel: [String: String]
    public var chatSessionMinutes: Int
    public var usernameClaim: String
    public var allowGuests: Bool
    public var ownerTagKey: String
    /// Stage ARNs guests may get watch-only tokens for (`GUEST_STAGE_ARNS`; `DEFAULT_STAGE_ARN` too).
    public var guestStages: [String]
    /// The region and account every ARN of a request must name (nil: not checked; see the type's comment).
    public var region: String?
    public var account: String?
    public var stateTable: String?

    public init(table: String, defaultStage: String? = nil, stageOwner: String? = nil, defaultRoom: String? = nil,
                allowedOrigin: String = "*", identityClaim: String = "sub", inviteDurationMinutes: Int = 60, joinTokenMinutes: Int = 10,
                stageCacheSeconds: Int = 60, roomsByChannel: [String: String] = [:], chatSessionMinutes: Int = 60,
                usernameClaim: String = "username", allowGuests: Bool = false, ownerTagKey: String = OwnerTag.defaultKey,
                guestStages: [String] = [], region: String? = nil, account: String? = nil, stateTable: String? = nil) {
        self.table = table
        self.defaultStage = defaultStage
        self.stageOwner = stageOwner
        self.defaultRoom = defaultRoom
        self.allowedOrigin = allowedOrigin
        self.identityClaim = identityClaim
        self.inviteDurationMinutes = inviteDurationMinutes
        self.joinTokenMinutes = joinTokenMinutes
        self.stageCacheSeconds = stageCacheSeconds
        self.roomsByChannel = roomsByChannel
        self.chatSessionMinutes = chatSessionMinutes
        self.usernameClaim = usernameClaim
        self.allowGuests = allowGuests
        self.ownerTagKey = ownerTagKey
        self.guestStages = guestStages
        self.region = region
        self.account = account
        self.stateTable = stateTable
    }

    /// Reads and checks the configuration; any problem is an init error naming the variable.
    public static func fromEnvironment(lookup: (String) -> String? = Environment.nonEmpty) throws(InitError) -> MultihostInviteConfiguration {
        guard let table = lookup("INVITES_TABLE") else {
            throw .invalidConfiguration("INVITES_TABLE is not set: name the DynamoDB table that keeps invites")
        }
        if let problem = tableNameProblem(table) { throw .invalidConfiguration("INVITES_TABLE \(problem)") }
        let stage = lookup("DEFAULT_STAGE_ARN")
        if let stage, let problem = IVSConstraints.stageARNProblem(stage) { throw .invalidConfiguration("DEFAULT_STAGE_ARN \(problem)") }
        let room = try HandlerRegistry.configuredRoom(lookup: lookup)
        var guestStages: [String] = []
        for arn in (lookup("GUEST_STAGE_ARNS") ?? "").split(separator: ",").map({ String($0).trimmingASCIISpaces }) where !arn.isEmpty {
            if let problem = IVSConstraints.stageARNProblem(arn) { throw .invalidConfiguration("GUEST_STAGE_ARNS: \(arn) \(problem)") }
            guestStages.append(arn)
        }
        let roomsByChannel = try StreamStateConfiguration.channelRoomMap(lookup: lookup)
        let configured = [room, stage].compactMap { $0 } + guestStages + roomsByChannel.keys.sorted() + roomsByChannel.values.sorted()
        let accounts = Set(configured.compactMap(ARNScope.account(of:)))
        guard accounts.count <= 1 else {
            throw .invalidConfiguration("CHAT_ROOM_ARN, DEFAULT_STAGE_ARN, GUEST_STAGE_ARNS and CHANNEL_ROOM_MAP name more than one AWS account "
                                        + "(\(accounts.sorted().joined(separator: ", "))): this function serves one account's resources")
        }
        let identityClaim = lookup("IDENTITY_CLAIM") ?? "sub"
        if let warning = identityClaimWarning(identityClaim) { Log.warn(warning) }
        return MultihostInviteConfiguration(
            table: table, defaultStage: stage, stageOwner: lookup("STAGE_OWNER"), defaultRoom: room,
            allowedOrigin: lookup("CORS_ALLOWED_ORIGIN") ?? "*",
            identityClaim: identityClaim,
            inviteDurationMinutes: try integer("INVITE_DURATION_MINUTES", lookup, default: 60, range: 1...20160),
            joinTokenMinutes: try integer("JOIN_TOKEN_MINUTES", lookup, default: 10, range: 1...60),
            stageCacheSeconds: try integer("STAGE_CACHE_SECONDS", lookup, default: 60, range: 0...3600),
            roomsByChannel: roomsByChannel,
            chatSessionMinutes: try integer("CHAT_SESSION_MINUTES", lookup, default: 60, range: 1...180),
            usernameClaim: lookup("USERNAME_CLAIM") ?? "username",
            allowGuests: try flag("ALLOW_GUESTS", lookup), ownerTagKey: try OwnerTag.key(lookup: lookup),
            guestStages: guestStages, region: lookup("AWS_REGION") ?? lookup("AWS_DEFAULT_REGION"), account: accounts.first,
            stateTable: try StreamStateConfiguration.stateTable(lookup: lookup))
    }

    /// Claims a user can change, or that an identity provider may give to another user later: as
    /// `IDENTITY_CLAIM` they let one account pass for another (an owner renames, a newcomer takes the name).
    public static let mutableClaims: Set<String> = [
        "username", "cognito:username", "preferred_username", "name", "nickname", "given_name", "family_name",
        "middle_name", "email", "phone_number", "upn", "unique_name", "login", "handle",
    ]

    /// The init warning for an `IDENTITY_CLAIM` users can change, or nil for one like `sub`.
    public static func identityClaimWarning(_ claim: String) -> String? {
        guard mutableClaims.contains(claim.lowercased()) else { return nil }
        let email = claim.lowercased() == "email" ? " (taken only with email_verified=true)" : ""
        return "IDENTITY_CLAIM=\(claim): users can change this claim\(email), or get one another user had; owners, invitees and "
            + "chat user ids are matched by it. Use a claim that is unique and never changes, such as sub"
    }

    /// DynamoDB table names: 3-255 of `a-z A-Z 0-9 _ - .`.
    static func tableNameProblem(_ name: String) -> String? {
        let ok = name.utf8.allSatisfy { c in
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c == 45 || c == 46
        }
        return (3...255).contains(name.utf8.count) && ok ? nil : "must be 3-255 characters of letters, digits, '_', '-' and '.'"
    }

    private static func flag(_ name: String, _ lookup: (String) -> String?) throws(InitError) -> Bool {
        switch lookup(name)?.lowercased() {
        case nil, "false", "0", "no": return false
        case "true", "1", "yes": return true
        case let other?: throw .invalidConfiguration("\(name) must be true or false (is '\(other)')")
        }
    }

    private static func integer(_ name: String, _ lookup: (String) -> String?, default value: Int,
                                range: ClosedRange<Int>) throws(InitError) -> Int {
        guard let text = lookup(name) else { return value }
        guard let n = Int(text), range.contains(n) else {
            throw .invalidConfiguration("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound) (is '\(text)')")
        }
        return n
    }
}

/// The region and account of an ARN (`arn:<partition>:<service>:<region>:<account>:<resource>`).
public enum ARNScope {
    public static func region(of arn: String) -> String? { field(arn, 3) }
    public static func account(of arn: String) -> String? { field(arn, 4) }

    private static func field(_ arn: String, _ index: Int) -> String? {
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", !parts[index].isEmpty else { return nil }
        return String(parts[index])
    }
}

extension String {
    var trimmingASCIISpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\n" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" { s.removeLast() }
        return String(s)
    }
}
