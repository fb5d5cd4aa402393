import AWSCore
import AWSServices
import Essentials
@_spi(Fuzzing) import HTTPTransport
import Handlers
import JSON
import LambdaRuntime
import Testing

/// Issue 22: the internet-facing surface (bounded bodies, byte-exact identities, our own tag key,
/// only this deployment's resources, no tokens at rest).
@Suite final class HardeningTests {
    static let stage = MultihostInviteHandlerTests.stage
    static let room = MultihostInviteHandlerTests.room
    /// "josé" in two spellings Swift's `==` takes for the same string: é (U+00E9), and e + U+0301.
    static let composed = "jos\u{E9}"
    static let decomposed = "jose\u{301}"

    /// The invite handler's fakes and configuration, set up as for its own tests.
    let base = MultihostInviteHandlerTests()
    var stages: FakeStages { base.stages }
    var store: FakeInviteStore { base.store }
    var chat: FakeChat { base.chat }
    var rooms: FakeChatRooms { base.rooms }
    var channels: FakeChannelStates { base.channels }
    var configuration: MultihostInviteConfiguration {
        get { base.configuration }
        set { base.configuration = newValue }
    }

    func handler(now: Int64 = MultihostInviteHandlerTests.now) -> MultihostInviteHandler { base.handler(now: now) }

    func send(_ method: String, _ path: String, body: String? = nil, claims: [String: String],
              to handler: MultihostInviteHandler? = nil) -> (status: Int, body: JSONValue) {
        let request = HTTPAPIRequest(method: method, path: path, body: Array((body ?? "").utf8), claims: claims)
        let response = (handler ?? self.handler()).respond(to: request, call: AWSCallContext(deadline: Int64.max / 2))
        return (response.statusCode, response.body ?? .null)
    }

    func send(_ method: String, _ path: String, body: String? = nil, caller: String?,
              to handler: MultihostInviteHandler? = nil) -> (status: Int, body: JSONValue) {
        send(method, path, body: body, claims: caller.map { ["sub": $0] } ?? [:], to: handler)
    }

    /// An HTTP API event through `handle`, as the runtime passes it.
    func handle(_ path: String, body: String, base64: Bool = false, caller: String? = "host",
                to handler: MultihostInviteHandler? = nil) throws -> (status: Int, body: JSONValue) {
        var context: [(key: String, value: JSONValue)] = [("http", .object([("method", .string("POST")), ("path", .string(path))]))]
        if let caller { context.append(("authorizer", .object([("jwt", .object([("claims", .object([("sub", .string(caller))]))]))]))) }
        let event = JSONValue.object([("rawPath", .string(path)), ("requestContext", .object(context)),
                                      ("body", .string(base64 ? UnitTests.base64(body) : body)),
                                      ("isBase64Encoded", .bool(base64))])
        let output = try (handler ?? self.handler()).handle(event.serialized(),
                                                            context: InvocationContext(requestId: "r", deadlineEpochMilliseconds: Int64.max / 2))
        let response = try JSONValue.parse(output)
        let text = response["body"]?.stringValue ?? ""
        #expect(response["headers"]?["access-control-allow-origin"] != nil, "413 answers carry the CORS headers too")
        return (try #require(response["statusCode"]?.intValue), text.isEmpty ? .null : try JSONValue.parse(text))
    }

    // MARK: - 1. Bounded bodies

    /// A body over the limit is 413 on every route, signed in or not, before anything parses it (a
    /// JSON array of the right size would otherwise be 400, and a guest route would mint a token).
    @Test(arguments: ["/channel/state", "/chat/guest-token", "/multihost/guest-viewer-token", "/multihost/invite", "/multihost/join",
                      "/multihost/disconnect", "/multihost/host-token", "/chat/token", "/multihost/nowhere"])
    func oversizedBodiesAre413OnEveryRoute(path: String) throws {
        configuration.allowGuests = true
        let big = "[" + Array(repeating: "0", count: MultihostInviteHandler.maxBodyBytes / 2 + 1).joined(separator: ",") + "]"
        #expect(big.utf8.count > MultihostInviteHandler.maxBodyBytes)
        for caller in ["host", nil] as [String?] {
            let direct = send("POST", path, body: big, caller: caller)
            #expect(direct.status == 413 && direct.body["message"]?.stringValue?.contains("8192 bytes") == true, "\(direct)")
            #expect(try handle(path, body: big, caller: caller).status == 413)
            #expect(try handle(path, body: big, base64: true, caller: caller).status == 413)
        }
        #expect(stages.stageLookups == 0 && stages.issued.isEmpty && channels.reads == 0 && rooms.issued.isEmpty && store.items.isEmpty)
        // At the limit the body is read (and here refused for what it is).
        let padded = #"{"channelArn":"x","pad":""# + String(repeating: " ", count: MultihostInviteHandler.maxBodyBytes - 27) + #""}"#
        #expect(padded.utf8.count == MultihostInviteHandler.maxBodyBytes)
        #expect(try handle("/channel/state", body: padded, caller: nil).status == 400)
    }

    /// An event far over the limit is not parsed at all: even one that is not JSON gets 413, not a function error.
    @Test func anOversizedEventIs413WithoutParsing() throws {
        let payload = [UInt8](repeating: UInt8(ascii: "["), count: MultihostInviteHandler.maxEventBytes + 1)
        let output = try handler().handle(payload, context: InvocationContext(requestId: "r", deadlineEpochMilliseconds: Int64.max / 2))
        let response = try JSONValue.parse(output)
        #expect(response["statusCode"] == .int(413))
        #expect(response["headers"]?["content-type"] == .string("application/json"))
        // An event just under it is parsed (and not JSON here: a function error, as before).
        #expect(throws: LambdaError.self) {
            try self.handler().handle(Array(payload.dropLast(2)), context: InvocationContext(requestId: "r", deadlineEpochMilliseconds: 0))
        }
    }

    @Test func bodySizeIsReadFromTheTextAlone() throws {
        func event(_ body: String?, base64: Bool) -> JSONValue {
            .object([("body", body.map(JSONValue.string) ?? .null), ("isBase64Encoded", .bool(base64))])
        }
        #expect(HTTPAPIRequest.bodySize(of: event("héllo", base64: false)) == 6)
        #expect(HTTPAPIRequest.bodySize(of: event(nil, base64: false)) == 0)
        for n in [0, 1, 2, 3, 4, 5, 8190, 8192, 8193] {
            let text = base64(String(repeating: "a", count: n))
            #expect(HTTPAPIRequest.bodySize(of: event(text, base64: true)) == n, "\(n)")
            #expect(HTTPAPIRequest.bodySize(of: event(String(text.prefix { $0 != "=" }), base64: true)) == n, "\(n), unpadded")
        }
    }

    /// The transport's buffer does not keep a large answer's capacity for the next request.
    @Test func theResponseBufferLetsALargeBodyGo() {
        let sink = ResponseSink()
        sink.body = [UInt8](repeating: 1, count: 4 << 20)
        sink.reset()
        #expect(sink.body.isEmpty && sink.body.capacity <= ResponseSink.keptBodyCapacity)
        sink.body = [UInt8](repeating: 1, count: 1000)
        let small = sink.body.capacity
        sink.reset()
        #expect(sink.body.isEmpty && sink.body.capacity == small, "a small buffer is kept for the next request")
    }

    // MARK: - 2. Identities byte for byte

    @Test func identitiesAreComparedByteForByte() {
        #expect(Self.composed == Self.decomposed, "Swift's == takes them for the same string")
        #expect(!sameIdentity(Self.composed, Self.decomposed))
        #expect(!sameIdentity("\u{212A}", "K"))
        #expect(sameIdentity("host", "host") && !sameIdentity("host", "Host"))
    }

    /// The stage's owner is "jos\u{E9}": the account "jose\u{301}" is someone else, for every owner-only route.
    @Test func aLookAlikeIdentityIsNotTheStagesOwner() {
        stages.stages[Self.stage]?.tags[OwnerTag.defaultKey] = Self.composed
        let body = #"{"userId":"guest","stageArn":"\#(Self.stage)"}"#
        #expect(send("POST", "/multihost/invite", body: body, caller: Self.decomposed).status == 403)
        #expect(send("POST", "/multihost/host-token", body: #"{"stageArn":"\#(Self.stage)"}"#, caller: Self.decomposed).status == 403)
        #expect(send("POST", "/multihost/invite", body: body, caller: Self.composed).status == 201)
        #expect(send("POST", "/multihost/cancel", body: body, caller: Self.decomposed).status == 403)
        #expect(stages.issued.isEmpty && stages.revoked.isEmpty && store.items.count == 1)
        // The owner may invite the look-alike account: it is another user, not themself.
        #expect(send("POST", "/multihost/invite", body: #"{"userId":"\#(Self.decomposed)","stageArn":"\#(Self.stage)"}"#,
                     caller: Self.composed).status == 201)
    }

    @Test func aLookAlikeIdentityIsNotTheRoomsOwner() {
        rooms.rooms[Self.room]?.tags[OwnerTag.defaultKey] = Self.composed
        configuration.defaultRoom = Self.room
        let lookAlike = send("POST", "/chat/token", body: "{}", caller: Self.decomposed)
        #expect(lookAlike.status == 200 && lookAlike.body["isAdmin"] == .bool(false))
        #expect(lookAlike.body["capabilities"] == .array([.string("SEND_MESSAGE")]))
        let owner = send("POST", "/chat/token", body: "{}", caller: Self.composed)
        #expect(owner.body["isAdmin"] == .bool(true))
    }

    @Test func onlyTheOwnersOwnPublishingMakesAStageLive() throws {
        stages.stages[Self.stage]?.tags[OwnerTag.defaultKey] = Self.composed
        let handler = StageUpdateHandler(configuration: .init(), stages: stages, chat: chat)
        func publish(_ userId: String) throws -> JSONValue {
            let event = JSONValue.object([
                ("id", .string("e-1")), ("source", .string("aws.ivs")), ("detail-type", .string("IVS Stage Update")),
                ("time", .string("2026-01-01T00:00:00Z")), ("resources", .array([.string(Self.stage)])),
                ("detail", .object([("event_name", .string("Participant Published")), ("user_id", .string(userId)),
                                    ("session_id", .string("st-1"))])),
            ])
            return try JSONValue.parse(try handler.handle(event.serialized(), context: InvocationContext(requestId: "r", deadlineEpochMilliseconds: Int64.max / 2)))
        }
        #expect(try publish(Self.decomposed)["sent"] != .bool(true))
        #expect(chat.sent.isEmpty)
        #expect(try publish(Self.composed)["sent"] == .bool(true))
        #expect(chat.sent.count == 1)
    }

    @Test func anEmailIdentityMustBeVerified() {
        configuration.identityClaim = "email"
        stages.stages[Self.stage]?.tags[OwnerTag.defaultKey] = "host@example.com"
        let body = #"{"stageArn":"\#(Self.stage)"}"#
        let unverified = send("POST", "/multihost/host-token", body: body, claims: ["email": "host@example.com"])
        #expect(unverified.status == 403 && unverified.body["message"]?.stringValue?.contains("email_verified") == true)
        #expect(send("POST", "/multihost/host-token", body: body, claims: ["email": "host@example.com", "email_verified": "false"]).status == 403)
        #expect(stages.issued.isEmpty)
        #expect(send("POST", "/multihost/host-token", body: body, claims: ["email": "host@example.com", "email_verified": "true"]).status == 200)
        // Routes without the authorizer have no caller to verify.
        #expect(send("POST", "/channel/state", body: "{}", claims: [:]).status == 400)
        // Another claim needs no such proof.
        configuration.identityClaim = "sub"
        stages.stages[Self.stage]?.tags[OwnerTag.defaultKey] = "host"
        #expect(send("POST", "/multihost/host-token", body: body, claims: ["sub": "host"]).status == 200)
    }

    @Test func aBooleanClaimIsRead() throws {
        let event = try JSONValue.parse(#"{"requestContext":{"http":{"method":"GET"},"authorizer":{"jwt":{"claims":{"email_verified":true,"n":3,"o":{}}}}}}"#)
        let request = try HTTPAPIRequest(event: event)
        #expect(request.claims == ["email_verified": "true", "n": "3"])
    }

    @Test(arguments: ["username", "email", "preferred_username", "cognito:username", "name", "nickname", "Email"])
    func claimsUsersCanChangeAreWarnedAbout(claim: String) {
        #expect(MultihostInviteConfiguration.identityClaimWarning(claim)?.contains("IDENTITY_CLAIM=\(claim)") == true)
    }

    @Test func stableClaimsAreNotWarnedAbout() {
        for claim in ["sub", "custom:user_id", "oid"] { #expect(MultihostInviteConfiguration.identityClaimWarning(claim) == nil) }
    }

    // MARK: - 4. Our own ownership tag

    /// A stage or room tagged `owner` (cost allocation, another app) is nobody's here, unless
    /// `OWNER_TAG_KEY=owner` says so.
    @Test func anOwnerTagOfAnotherAppMakesNobodyTheOwner() {
        stages.stages[Self.stage]?.tags = ["owner": "host", "chatRoomArn": Self.room]
        rooms.rooms[Self.room]?.tags = ["owner": "host"]
        configuration.defaultRoom = Self.room
        let body = #"{"stageArn":"\#(Self.stage)"}"#
        #expect(send("POST", "/multihost/host-token", body: body, caller: "host").status == 403)
        #expect(send("POST", "/multihost/viewer-token", body: body, caller: "viewer").status == 403)
        #expect(send("POST", "/chat/token", body: "{}", caller: "host").body["isAdmin"] == .bool(false))
        #expect(stages.issued.isEmpty)

        configuration.ownerTagKey = "owner"
        #expect(send("POST", "/multihost/host-token", body: body, caller: "host").status == 200)
        #expect(send("POST", "/chat/token", body: "{}", caller: "host").body["isAdmin"] == .bool(true))
    }

    @Test func theOwnerTagKeyIsConfigured() throws {
        func key(_ value: String?) throws(InitError) -> String {
            try MultihostInviteConfiguration.fromEnvironment(lookup: { ["INVITES_TABLE": "invites", "OWNER_TAG_KEY": value][$0] ?? nil }).ownerTagKey
        }
        #expect(try key(nil) == "ivs-chat-events:owner")
        #expect(try key("owner") == "owner")
        #expect(throws: InitError.self) { try key("aws:owner") }
        #expect(throws: InitError.self) { try key(String(repeating: "k", count: 129)) }
        let stage = try StageUpdateHandler.Configuration.fromEnvironment(lookup: { ["OWNER_TAG_KEY": "team:owner"][$0] })
        #expect(stage.ownerTagKey == "team:owner")
        #expect(try StageUpdateHandler.Configuration.fromEnvironment(lookup: { _ in nil }).ownerTagKey == OwnerTag.defaultKey)
        let details = StageDetails(arn: Self.stage, name: "", tags: ["owner": "a", "team:owner": "b"])
        #expect(details.owner(tagKey: "team:owner", defaultStage: nil, stageOwner: nil) == "b")
        #expect(details.owner(tagKey: OwnerTag.defaultKey, defaultStage: nil, stageOwner: nil) == nil)
    }

    // MARK: - 5. No participant tokens at rest

    static let stageBody = #"{"stageArn":"\#(stage)"}"#
    static let guestBody = #"{"userId":"guest","stageArn":"\#(stage)"}"#

    func notKnown() -> AWSError { notFound("ivs-realtime", "DisconnectParticipant") }

    /// The invite stores no token; join makes one (short-lived), records its participant, and
    /// hands it out; a kick revokes every participant the invitee joined as.
    @Test func tokensAreMadeAtJoinAndNeverStored() throws {
        #expect(send("POST", "/multihost/invite", body: #"{"userId":"guest","username":"Guest","stageArn":"\#(Self.stage)"}"#, caller: "host").status == 201)
        #expect(stages.issued.isEmpty)
        #expect(chat.sent.first.map { !$0.attributes.values.contains { $0.contains("SECRET") } } == true)
        let first = send("POST", "/multihost/join", body: Self.stageBody, caller: "guest")
        #expect(first.status == 200 && first.body["token"] == .string("SECRET-TOKEN-1") && first.body["participantId"] == .string("participant1"))
        #expect(stages.issued.count == 1 && stages.issued[0].userId == "guest" && stages.issued[0].minutes == 10)
        #expect(stages.issued[0].attributes == ["username": "Guest"] && stages.capabilities[0] == [.publish, .subscribe])
        // Another device: another token, both recorded; none of them in the table.
        #expect(send("POST", "/multihost/join", body: Self.stageBody, caller: "guest").status == 200)
        let stored = try #require(store.items["guest \(Self.stage)"])
        #expect(stored.participants.map(\.participantId) == ["participant1", "participant2"])
        let item = DynamoDBInviteStore.item(stored)
        #expect(item["token"] == nil && !item.values.contains { $0.compactText.contains("SECRET") })
        #expect(send("POST", "/multihost/disconnect", body: Self.guestBody, caller: "host").status == 204)
        #expect(stages.revoked.map(\.participantId) == ["participant1", "participant2"])
        #expect(store.items.isEmpty)
    }

    @Test func aJoinTokenNeverOutlivesTheInviteByMoreThanAMinute() {
        configuration.joinTokenMinutes = 30
        #expect(send("POST", "/multihost/invite", body: Self.guestBody, caller: "host").status == 201)
        #expect(send("POST", "/multihost/join", body: Self.stageBody, caller: "guest", to: handler(now: MultihostInviteHandlerTests.expiry - 150)).status == 200)
        #expect(send("POST", "/multihost/join", body: Self.stageBody, caller: "guest", to: handler(now: MultihostInviteHandlerTests.expiry - 30)).status == 200)
        #expect(stages.issued.map(\.minutes) == [2, 1])
    }

    /// Cancelling an invite nobody joined revokes nothing (no call that could fail): it deletes it.
    @Test func cancellingAnUnjoinedInviteJustDeletesIt() {
        #expect(send("POST", "/multihost/invite", body: Self.guestBody, caller: "host").status == 201)
        stages.revokeFailure = AWSError.service(AWSServiceError(service: "ivs-realtime", operation: "DisconnectParticipant",
                                                                type: "AccessDeniedException", message: "no", status: 403, requestId: nil, attempts: 1))
        #expect(send("POST", "/multihost/cancel", body: Self.guestBody, caller: "host").status == 204)
        #expect(store.items.isEmpty && stages.revoked.isEmpty)
    }

    /// A participant IVS does not know may still hold a valid token: not a success. The invite stays,
    /// revoked (no new join, not listed); kicking again after the token expired succeeds.
    @Test func aKickThatCannotRevokeAValidTokenIsNotASuccess() throws {
        #expect(send("POST", "/multihost/invite", body: Self.guestBody, caller: "host").status == 201)
        #expect(send("POST", "/multihost/join", body: Self.stageBody, caller: "guest").status == 200)
        stages.revokeFailure = notKnown()
        let kick = send("POST", "/multihost/disconnect", body: Self.guestBody, caller: "host")
        #expect(kick.status == 409, "\(kick)")
        #expect(kick.body["message"]?.stringValue?.contains("2026-01-01T01:00:00Z") == true)
        let kept = try #require(store.items["guest \(Self.stage)"])
        #expect(kept.revoked && kept.participants.map(\.participantId) == ["participant1"])
        #expect(send("POST", "/multihost/join", body: Self.stageBody, caller: "guest").status == 404)
        #expect(send("GET", "/multihost/invites", caller: "guest").body["invites"] == .array([]))
        #expect(stages.issued.count == 1)
        // Once they are on the stage, IVS knows them: a second kick revokes them.
        stages.revokeFailure = nil
        #expect(send("POST", "/multihost/disconnect", body: Self.guestBody, caller: "host").status == 204)
        #expect(stages.revoked.map(\.participantId) == ["participant1"] && store.items.isEmpty)

        // Or after the token's expiry there is nothing left to revoke.
        #expect(send("POST", "/multihost/invite", body: Self.guestBody, caller: "host").status == 201)
        #expect(send("POST", "/multihost/join", body: Self.stageBody, caller: "guest").status == 200)
        stages.revokeFailure = notKnown()
        #expect(send("POST", "/multihost/cancel", body: Self.guestBody, caller: "host").status == 409)
        #expect(send("POST", "/multihost/cancel", body: Self.guestBody, caller: "host", to: handler(now: MultihostInviteHandlerTests.expiry)).status == 204)
        #expect(store.items.isEmpty)
    }

    /// An item written before issue 22 (a token made at invite time): its participant is revoked by a kick,
    /// and the next write drops the token.
    @Test func aLegacyItemIsReadAsItsParticipant() throws {
        let legacy: DynamoDBItem = [
            "inviteeId": DynamoDBValue.string("guest"), "stageArn": DynamoDBValue.string(Self.stage), "stageName": DynamoDBValue.string("demo"),
            "inviterId": DynamoDBValue.string("host"), "token": DynamoDBValue.string("SECRET-OLD"), "participantId": DynamoDBValue.string("old-1"),
            "expirationTime": DynamoDBValue.string("2026-01-01T01:00:00Z"), "expiresAt": DynamoDBValue.number(MultihostInviteHandlerTests.expiry),
        ]
        let invite = try #require(DynamoDBInviteStore.invite(from: legacy))
        #expect(invite.participants == [JoinedParticipant(participantId: "old-1", tokenExpiresAt: MultihostInviteHandlerTests.expiry)])
        #expect(DynamoDBInviteStore.item(invite)["token"] == nil)
        store.items["guest \(Self.stage)"] = invite
        #expect(send("POST", "/multihost/disconnect", body: Self.guestBody, caller: "host").status == 204)
        #expect(stages.revoked.map(\.participantId) == ["old-1"])
    }

    @Test func joinTokenMinutesAreConfigured() throws {
        func read(_ value: String?) throws(InitError) -> Int {
            try MultihostInviteConfiguration.fromEnvironment(lookup: { ["INVITES_TABLE": "invites", "JOIN_TOKEN_MINUTES": value][$0] ?? nil }).joinTokenMinutes
        }
        #expect(try read(nil) == 10 && read("1") == 1 && read("60") == 60)
        #expect(throws: InitError.self) { try read("61") }
        #expect(throws: InitError.self) { try read("0") }
    }

    // MARK: - 3. Only this deployment's resources

    static let otherRegion = "arn:aws:ivs:eu-west-1:123456789012:stage/AbCdEfGh1234"
    static let otherAccount = "arn:aws:ivs:us-east-1:999999999999:stage/AbCdEfGh1234"

    /// A stage or channel of another region or account is 400 before any AWS call, on every route that takes one.
    @Test(arguments: [otherRegion, otherAccount])
    func arnsOutsideTheDeploymentAre400(arn: String) {
        configuration.region = "us-east-1"
        configuration.account = "123456789012"
        configuration.allowGuests = true
        configuration.defaultStage = Self.stage
        stages.stages[arn] = StageDetails(arn: arn, name: "x", tags: [OwnerTag.defaultKey: "host", "chatRoomArn": Self.room])
        let body = #"{"userId":"guest","stageArn":"\#(arn)"}"#
        for (path, caller) in [("/multihost/invite", "host"), ("/multihost/join", "guest"), ("/multihost/disconnect", "host"),
                               ("/multihost/host-token", "host"), ("/multihost/viewer-token", "viewer"), ("/chat/token", "viewer"),
                               ("/chat/guest-token", nil), ("/multihost/guest-viewer-token", nil)] as [(String, String?)] {
            let result = send("POST", path, body: body, caller: caller)
            #expect(result.status == 400, "\(path): \(result)")
            #expect(result.body["message"]?.stringValue?.hasPrefix("stageArn is in") == true, "\(path): \(result)")
        }
        let channel = arn.replacingOccurrences(of: "stage/", with: "channel/")
        #expect(send("POST", "/chat/token", body: #"{"channelArn":"\#(channel)"}"#, caller: "viewer").status == 400)
        let chatArn = arn.replacingOccurrences(of: ":ivs:", with: ":ivschat:").replacingOccurrences(of: "stage/", with: "room/")
        #expect(send("POST", "/multihost/invite", body: #"{"userId":"guest","chatArn":"\#(chatArn)"}"#, caller: "host").status == 400)
        #expect(stages.stageLookups == 0 && stages.issued.isEmpty && rooms.lookups == 0 && rooms.issued.isEmpty)
        // This deployment's own stage still works.
        #expect(send("POST", "/multihost/host-token", body: Self.stageBody, caller: "host").status == 200)
    }

    /// Without a configured ARN, the account is the invoked function's.
    @Test func theAccountFallsBackToTheInvokedFunctionsARN() throws {
        let h = handler()
        let event = #"{"rawPath":"/multihost/host-token","requestContext":{"http":{"method":"POST"},"authorizer":{"jwt":{"claims":{"sub":"host"}}}},"body":"{\"stageArn\":\"\#(Self.stage)\"}"}"#
        func status(_ functionArn: String?) throws -> Int? {
            let context = InvocationContext(requestId: "r", deadlineEpochMilliseconds: Int64.max / 2, invokedFunctionArn: functionArn)
            return try JSONValue.parse(try h.handle(Array(event.utf8), context: context))["statusCode"]?.intValue
        }
        #expect(try status("arn:aws:lambda:us-east-1:999999999999:function:api") == 400)
        #expect(stages.stageLookups == 0)
        #expect(try status("arn:aws:lambda:us-east-1:123456789012:function:api:live") == 200)
        #expect(try status(nil) == 200)
    }

    /// Guests watch only the stages this deployment names: an owned stage of the account is not enough.
    @Test func guestsWatchOnlyTheNamedStages() {
        configuration.allowGuests = true
        let other = "arn:aws:ivs:us-east-1:123456789012:stage/SomeoneElse1"
        stages.stages[other] = StageDetails(arn: other, name: "other", tags: [OwnerTag.defaultKey: "someone"])
        let refused = send("POST", "/multihost/guest-viewer-token", body: #"{"stageArn":"\#(other)"}"#, caller: nil)
        #expect(refused.status == 403 && refused.body["message"]?.stringValue?.contains("GUEST_STAGE_ARNS") == true)
        #expect(send("POST", "/multihost/guest-viewer-token", body: Self.stageBody, caller: nil).status == 403)
        #expect(stages.stageLookups == 0 && stages.issued.isEmpty)
        // Signed-in viewers may still watch any owned stage.
        #expect(send("POST", "/multihost/viewer-token", body: #"{"stageArn":"\#(other)"}"#, caller: "viewer").status == 200)
        configuration.defaultStage = Self.stage
        #expect(send("POST", "/multihost/guest-viewer-token", body: "{}", caller: nil).status == 200)
        configuration.guestStages = [other]
        #expect(send("POST", "/multihost/guest-viewer-token", body: #"{"stageArn":"\#(other)"}"#, caller: nil).status == 200)
    }

    @Test func theScopeComesFromTheConfiguration() throws {
        let room = Self.room, stage = Self.stage
        func read(_ env: [String: String]) throws(InitError) -> MultihostInviteConfiguration {
            try MultihostInviteConfiguration.fromEnvironment(lookup: { (["INVITES_TABLE": "invites"].merging(env) { $1 })[$0] })
        }
        let c = try read(["CHAT_ROOM_ARN": room, "AWS_REGION": "us-east-1", "GUEST_STAGE_ARNS": " \(stage), arn:aws:ivs:us-east-1:123456789012:stage/B2 "])
        #expect(c.region == "us-east-1" && c.account == "123456789012")
        #expect(c.guestStages == [stage, "arn:aws:ivs:us-east-1:123456789012:stage/B2"])
        #expect(try read(["AWS_DEFAULT_REGION": "eu-west-1"]).region == "eu-west-1")
        #expect(try read([:]).account == nil)
        #expect(throws: InitError.self) { try read(["CHAT_ROOM_ARN": room, "DEFAULT_STAGE_ARN": Self.otherAccount]) }
        #expect(throws: InitError.self) { try read(["GUEST_STAGE_ARNS": "not-an-arn"]) }
    }
}
