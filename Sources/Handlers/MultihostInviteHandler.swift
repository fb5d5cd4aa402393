import AWSCore
import AWSServices
import Essentials
import JSON
import LambdaRuntime

/// `_HANDLER=multihostInvite`: StreamCat's multihost invites without a server of its own, behind an
/// API Gateway HTTP API with a JWT authorizer (the caller is the `IDENTITY_CLAIM` claim, never the body).
/// - `POST /multihost/invite` `{userId, username?, broadcastType?, stageArn?, chatArn?}`: the stage's owner
///   invites `userId`: the invite is stored (no token: none is kept at rest), and the room gets
///   `StreamCat:MultihostInvite` `{userId, broadcastType, stage, stageArn, expiresAt}` → 201;
/// - `GET /multihost/invites`: the caller's unexpired invites → 200;
/// - `POST /multihost/join` `{stageArn?}`: a participant token for the caller, made now for their own
///   invite (short-lived, `JOIN_TOKEN_MINUTES`), its participant id recorded on the invite → 200, else 404;
/// - `POST /multihost/disconnect` `{userId, stageArn?}` (StreamCat's kick) and `POST /multihost/cancel`:
///   the stage's owner revokes the participants the invitee joined as (`DisconnectParticipant`) and
///   deletes the invite, so join answers 404 from then on → 204 (409 when a token could not be revoked: `revoke`);
/// - `POST /multihost/host-token` `{stageArn?}`: the stage's owner gets a PUBLISH+SUBSCRIBE token for
///   themself (not stored) → 200;
/// - `POST /multihost/viewer-token` `{stageArn?}`: any signed-in user gets a SUBSCRIBE-only token to
///   watch a broadcaster's stage (one with an owner) in real time → 200;
/// - `POST /chat/token` `{stageArn? | channelArn?}`: a chat token for the room of that stage or channel
///   (`ChatTokenRoutes.swift`) → 200;
/// - without a JWT, when `ALLOW_GUESTS` is on: `POST /chat/guest-token` (receive-only chat token) and
///   `POST /multihost/guest-viewer-token` (watch-only stage token), under a random `guest-…` id → 200;
/// - `POST /channel/state {channelArn}` (no JWT): whether the channel is live (`ChannelStateRoute.swift`) → 200;
/// - `POST /chat/ban`, `POST /chat/unban`, `GET /chat/bans`: the room's owner bans (and disconnects),
///   unbans and lists users (`ModerationRoutes.swift`).
public final class MultihostInviteHandler: LambdaHandler {
    /// The chat event StreamCat's clients listen for.
    public static let chatEventName = "StreamCat:MultihostInvite"
    /// StreamCat's broadcast types; an invite without one is `realtime`.
    public static let broadcastTypes = ["realtime", "lowlatency"]

    let configuration: MultihostInviteConfiguration
    let stages: StageService
    private let stageCache: StageCache
    private let store: InviteStoring
    private let chat: ChatEventSending
    let rooms: ChatRoomService
    let roomCache: SharedMetadataCache
    let channelStates: ChannelStateStoring?
    let bans: BanStoring?
    let moderation: ChatModeration?
    let now: () -> Int64
    /// The account of the invoked function's ARN (from the invocation being served): the scope's account
    /// when no configured ARN names one.
    private var invokedAccount: String?

    /// `channelStates`: where `streamStarted` keeps channel states (nil: no `STATE_TABLE`, and
    /// `/channel/state` answers 404); `metadata`: the stage and room tags shared by all instances (nil:
    /// each process asks the service itself). `now` gives epoch seconds (replaceable in tests).
    public init(configuration: MultihostInviteConfiguration, stages: StageService, store: InviteStoring,
                chat: ChatEventSending, rooms: ChatRoomService, channelStates: ChannelStateStoring?,
                metadata: SharedMetadataStoring? = nil, bans: BanStoring? = nil, moderation: ChatModeration? = nil,
                now: @escaping () -> Int64 = Clock.epochSeconds) {
        self.configuration = configuration
        self.stages = stages
        stageCache = StageCache(service: stages, seconds: configuration.stageCacheSeconds, store: metadata, now: now)
        self.store = store
        self.chat = chat
        self.rooms = rooms
        roomCache = SharedMetadataCache(store: metadata, localSeconds: configuration.stageCacheSeconds,
                                        sharedSeconds: configuration.stageCacheSeconds, now: now)
        self.channelStates = channelStates
        self.bans = bans
        self.moderation = moderation
        self.now = now
    }

    /// The largest request body served, in bytes (the largest a client of these routes sends is under
    /// 1 KB). A larger one is answered 413 before it is decoded or parsed, on every route: parsing a
    /// few MB of `[0,0,…]` costs over 100 MB of memory, a 128 MB function's whole share.
    public static let maxBodyBytes = 8 * 1024
    /// The largest event read at all: a body at the limit, base64-encoded (4/3), plus what API Gateway
    /// adds around it (request line and headers, up to 10 KB, the authorizer's claims, the context).
    /// A larger event is answered 413 without being parsed.
    public static let maxEventBytes = 64 * 1024

    public func handle(_ payload: [UInt8], context: InvocationContext) throws -> [UInt8] {
        invokedAccount = context.invokedFunctionArn.flatMap(ARNScope.account(of:))
        guard payload.count <= Self.maxEventBytes else {
            Log.warn("an event of \(payload.count) bytes (over \(Self.maxEventBytes)) → 413, not parsed")
            return withCommonHeaders(Self.bodyTooLarge).serialized()
        }
        var event: JSONValue
        do { event = try JSONValue.parse(payload) } catch {
            throw LambdaError("Event.InvalidJSON", "the event is not JSON: \(error)")
        }
        // The body's size is known from its text: refused before it is decoded or parsed.
        let tooLarge = HTTPAPIRequest.bodySize(of: event) > Self.maxBodyBytes
        if tooLarge, case let .object(members) = event { event = .object(members.filter { $0.key != "body" }) }
        let request = try HTTPAPIRequest(event: event)
        if tooLarge {
            context.metrics?.apiResponse(413)
            return withCommonHeaders(answer(request, caller: nil, Self.bodyTooLarge)).serialized()
        }
        return respond(to: request, call: context.awsCall).serialized()
    }

    /// The answer to `request`, with the CORS and caching headers every answer carries.
    public func respond(to request: HTTPAPIRequest, call: AWSCallContext) -> HTTPAPIResponse {
        let response = request.body.count > Self.maxBodyBytes ? answer(request, caller: nil, Self.bodyTooLarge) : route(request, call: call)
        call.metrics?.apiResponse(response.statusCode)
        return withCommonHeaders(response)
    }

    static var bodyTooLarge: HTTPAPIResponse { .error(413, "the request body is larger than \(maxBodyBytes) bytes") }

    private func withCommonHeaders(_ response: HTTPAPIResponse) -> HTTPAPIResponse {
        var response = response
        response.headers = [("content-type", "application/json"), ("access-control-allow-origin", configuration.allowedOrigin),
                            ("access-control-expose-headers", "retry-after"), ("cache-control", "no-store")] + response.headers
        return response
    }

    /// Dispatches by the route table (`APIRoutes.swift`): the route whose path the request's ends
    /// with (behind any stage or base-path prefix), then its method; then who the caller is, as the
    /// route's authorization says.
    private func route(_ request: HTTPAPIRequest, call: AWSCallContext) -> HTTPAPIResponse {
        let atPath = Self.routes.filter { request.matchesPath($0.path) }
        guard !atPath.isEmpty else {
            return answer(request, caller: nil, .error(404, "no route for \(request.method) \(request.path)"))
        }
        if request.method == "OPTIONS" {
            return HTTPAPIResponse(statusCode: 204, headers: [("access-control-allow-methods", "GET, POST, OPTIONS"),
                                                              ("access-control-allow-headers", "authorization, content-type"),
                                                              ("access-control-max-age", "600")], body: nil)
        }
        guard let route = atPath.first(where: { $0.method == request.method }) else {
            // The path exists under other methods. (On AWS, API Gateway answers these itself: 404.)
            let allowed = atPath.map(\.method).joined(separator: ", ")
            var refused = HTTPAPIResponse.error(405, "\(request.method) is not allowed on \(request.path): use \(allowed)")
            refused.headers.append(("allow", allowed + ", OPTIONS"))
            return answer(request, caller: nil, refused)
        }
        let caller: String?
        switch route.authorization {
        case .none:
            // No authorizer: the caller is nobody, whatever the request carries.
            caller = nil
        case .guest:
            guard configuration.allowGuests else {
                return answer(request, caller: nil, .error(403, "guests are not allowed here: sign in (ALLOW_GUESTS is off)"))
            }
            caller = "guest-" + SecureRandom.hex(byteCount: 8)
        case .jwt:
            guard let claim = request.claims[configuration.identityClaim], !claim.isEmpty else {
                return answer(request, caller: nil, .error(401, "not signed in: the request carries no '\(configuration.identityClaim)' claim"))
            }
            // An address the user typed but never proved is not an identity (anyone could claim the owner's).
            if configuration.identityClaim == "email", request.claims["email_verified"]?.lowercased() != "true" {
                return answer(request, caller: nil, .error(403, "your email address is not verified: IDENTITY_CLAIM=email needs email_verified=true"))
            }
            caller = claim
        }
        do throws(APIFailure) {
            return answer(request, caller: caller, try route.handle(self, request, caller ?? "", call))
        } catch {
            return answer(request, caller: caller, error.response)
        }
    }

    /// Logs the outcome (never a body: the join answer carries a token) and returns `response`.
    func answer(_ request: HTTPAPIRequest, caller: String?, _ response: HTTPAPIResponse) -> HTTPAPIResponse {
        let outcome = response.statusCode >= 400 ? ": \(response.body?["message"]?.stringValue ?? "")" : ""
        Log.info("\(request.method) \(request.path) by \(caller ?? "(anonymous)") → \(response.statusCode)\(outcome)")
        return response
    }

    // MARK: - Routes

    func invite(_ request: HTTPAPIRequest, caller: String, call: AWSCallContext) throws(APIFailure) -> HTTPAPIResponse {
        let body = try APIFailure.jsonObject(request.body, expected: "{\"userId\": …}")
        guard let invitee = try body.string("userId", maxLength: 128) else {
            throw .badRequest("userId is required: the user id of the chat user to invite")
        }
        let username = try body.string("username", maxLength: 128)
        let broadcastType = try body.string("broadcastType", maxLength: 64) ?? "realtime"
        guard Self.broadcastTypes.contains(broadcastType) else {
            throw .badRequest("broadcastType must be one of \(Self.broadcastTypes.joined(separator: ", ")) (StreamCat's link is /multihost/<broadcastType>/<stage>)")
        }
        let chatArn = try body.string("chatArn", maxLength: 128)
        if let chatArn { try requireInScope(chatArn, field: "chatArn") }
        let stageArn = try stageArn(body)
        guard !sameIdentity(invitee, caller) else { throw .badRequest("userId is you: a broadcaster cannot invite themself") }

        let stage = try ownedStage(stageArn, caller: caller, doing: "invite to it", call: call)
        guard let room = stage.chatRoom(defaultRoom: configuration.defaultRoom) else {
            throw .forbidden("this stage has no chat room: tag it with 'chatRoomArn' (a room ARN) or set CHAT_ROOM_ARN")
        }
        if let chatArn, chatArn != room { throw .forbidden("chatArn is not this stage's chat room") }
        let placeholder = Self.eventAttributes(invitee: invitee, broadcastType: broadcastType, stage: stage, expiresAt: "0000-00-00T00:00:00Z")
        if IVSConstraints.attributesSize(placeholder) > IVSConstraints.maxAttributesBytes {
            throw .badRequest("userId and broadcastType are too long for the chat event's 1 KB of attributes")
        }

        // Only the invite is stored: the participant token is made when the invitee joins.
        let expiresAt = now() + Int64(configuration.inviteDurationMinutes) * 60
        let expirationTime = UTCTimestamp(epochMilliseconds: expiresAt * 1000).iso8601
        let invite = Invite(inviteeId: invitee, stageArn: stage.arn, stageName: stage.displayName, inviterId: caller,
                            username: username, broadcastType: broadcastType, expirationTime: expirationTime, expiresAt: expiresAt)
        do { try store.put(invite, call: call) } catch { throw .upstream("PutItem", error) }
        let attributes = Self.eventAttributes(invitee: invitee, broadcastType: broadcastType, stage: stage, expiresAt: expirationTime)
        let eventId: String
        do {
            eventId = try chat.sendEvent(roomIdentifier: room, eventName: Self.chatEventName, attributes: attributes, call: call)
        } catch {
            call.metrics?.add(.chatEventsFailed, 1, Self.chatEventName)
            throw .upstream("SendEvent", error, message: "the invite was saved but the chat notification could not be sent; the invitee can still find it under GET /multihost/invites")
        }
        call.metrics?.chatEventSent(Self.chatEventName)
        call.metrics?.add(.invites)
        Log.info("invited \(invitee) to \(stage.arn) until \(expirationTime); \(Self.chatEventName) \(eventId) sent to \(room)")
        return HTTPAPIResponse(statusCode: 201, body: .object([
            ("userId", .string(invitee)), ("stageArn", .string(stage.arn)), ("expiresAt", .string(expirationTime)),
        ]))
    }

    func pendingInvites(caller: String, call: AWSCallContext) throws(APIFailure) -> HTTPAPIResponse {
        let invites: [Invite]
        do { invites = try store.invites(inviteeId: caller, call: call) } catch { throw .upstream("Query", error) }
        let current = now()
        let listed: [JSONValue] = invites.filter { !$0.isExpired(at: current) && !$0.revoked }.map { invite in
            var members: [(key: String, value: JSONValue)] = [
                ("stageArn", .string(invite.stageArn)), ("stage", .string(invite.stageName)), ("inviterId", .string(invite.inviterId)),
            ]
            if let username = invite.username { members.append(("username", .string(username))) }
            if let broadcastType = invite.broadcastType { members.append(("broadcastType", .string(broadcastType))) }
            members.append(("expiresAt", .string(invite.expirationTime)))
            return .object(members)
        }
        return HTTPAPIResponse(statusCode: 200, body: .object([("invites", .array(listed))]))
    }

    /// The invitee's participant token, made now (nothing keeps it): valid `JOIN_TOKEN_MINUTES`, never
    /// past the invite's own expiry by more than a minute. Its participant id is recorded on the invite,
    /// so the host can revoke it. Joining again (another device, a reload) makes another token.
    func join(_ request: HTTPAPIRequest, caller: String, call: AWSCallContext) throws(APIFailure) -> HTTPAPIResponse {
        let body = try APIFailure.jsonObject(request.body, expected: "{\"stageArn\": …}", allowEmpty: true)
        let stageArn = try stageArn(body)
        let found: Invite?
        do { found = try store.invite(inviteeId: caller, stageArn: stageArn, call: call) } catch { throw .upstream("GetItem", error) }
        guard var invite = found, !invite.revoked else { throw .notFound("you have no invite to stage \(stageArn)") }
        let current = now()
        guard !invite.isExpired(at: current) else {
            // DynamoDB's TTL deletes lazily: tidy up now (best effort), unless a token made at join may still be valid.
            if invite.liveParticipants(at: current).isEmpty {
                do { try store.delete(inviteeId: caller, stageArn: stageArn, call: call) } catch {
                    Log.warn("could not delete the expired invite of \(caller) to \(stageArn): \(error)")
                }
            }
            throw .notFound("your invite to stage \(stageArn) expired at \(invite.expirationTime); ask the broadcaster for a new one")
        }
        let minutes = max(1, min(configuration.joinTokenMinutes, Int((invite.expiresAt - current) / 60)))
        let token: IssuedParticipantToken
        do {
            token = try stages.issueToken(stageArn: stageArn, userId: caller, attributes: invite.username.map { ["username": $0] } ?? [:],
                                          capabilities: [.publish, .subscribe], durationMinutes: minutes, call: call)
        } catch { throw .upstream("CreateParticipantToken", error) }
        invite.participants = invite.liveParticipants(at: current) + [JoinedParticipant(participantId: token.participantId, tokenExpiresAt: token.expiresAt)]
        do { try store.put(invite, call: call) } catch {
            // Unrecorded, the host could not revoke it: take it back (best effort) rather than hand it out.
            do { try stages.revoke(stageArn: stageArn, participantId: token.participantId, reason: "join could not be recorded", call: call) } catch {
                Log.warn("could not revoke unrecorded participant \(token.participantId) on \(stageArn): \(error)")
            }
            throw .upstream("PutItem", error, hiding: token.token)
        }
        call.metrics?.add(.joins)
        call.metrics?.add(.tokensIssued, 1, TokenKind.inviteParticipant)
        Log.info("\(caller) joins \(stageArn) as participant \(token.participantId) (token until \(token.expirationTime))")
        return HTTPAPIResponse(statusCode: 200, body: .object([
            ("token", .string(token.token.reveal)), ("participantId", .string(token.participantId)),
            ("expirationTime", .string(token.expirationTime)),
        ]))
    }

    /// Kick or cancel: revoke every participant the invitee joined as whose token may still be valid
    /// (`DisconnectParticipant`: disconnected, and its token refused from then on), then delete the
    /// invite. An invite nobody joined is just deleted. A participant IVS does not know
    /// (`ResourceNotFoundException`, e.g. a token made at join but not used yet) may still hold a valid
    /// token: then the invite stays, marked revoked (no new join), and the answer is 409 with the time
    /// that token expires; kicking again retries, and once every such token has expired it is 204.
    func revoke(_ request: HTTPAPIRequest, caller: String, call: AWSCallContext) throws(APIFailure) -> HTTPAPIResponse {
        let body = try APIFailure.jsonObject(request.body, expected: "{\"userId\": …}")
        guard let invitee = try body.string("userId", maxLength: 128) else {
            throw .badRequest("userId is required: the user id of the invited participant")
        }
        let stageArn = try stageArn(body)
        let stage = try ownedStage(stageArn, caller: caller, doing: "remove its participants", call: call)
        let found: Invite?
        do { found = try store.invite(inviteeId: invitee, stageArn: stage.arn, call: call) } catch { throw .upstream("GetItem", error) }
        guard var invite = found else { throw .notFound("\(invitee) has no invite to stage \(stage.arn)") }
        let kick = request.matchesPath("/multihost/disconnect")
        let current = now()
        var unrevoked: [JoinedParticipant] = []
        for participant in invite.liveParticipants(at: current) {
            do {
                try stages.revoke(stageArn: stage.arn, participantId: participant.participantId,
                                  reason: kick ? "removed by the host" : "invite cancelled by the host", call: call)
            } catch {
                guard (error as? AWSError)?.serviceError?.type == "ResourceNotFoundException" else { throw .upstream("DisconnectParticipant", error) }
                unrevoked.append(participant)
            }
        }
        if let last = unrevoked.map(\.tokenExpiresAt).max() {
            invite.participants = unrevoked
            invite.revoked = true
            do { try store.put(invite, call: call) } catch { throw .upstream("PutItem", error) }
            let until = UTCTimestamp(epochMilliseconds: last * 1000).iso8601
            Log.warn("\(invitee) on \(stage.arn): participant(s) \(unrevoked.map(\.participantId).joined(separator: ", ")) not known to IVS; "
                     + "their token may be valid until \(until); the invite is kept, revoked")
            throw APIFailure(status: 409, message: "\(invitee) is not on the stage, and the token made when they joined could not be revoked: "
                             + "it may be used until \(until). They can no longer join with this invite; kick again once they are on the stage, or after that time")
        }
        do { try store.delete(inviteeId: invitee, stageArn: stage.arn, call: call) } catch { throw .upstream("DeleteItem", error) }
        call.metrics?.add(kick ? .kicks : .cancels)
        let joined = invite.participants.map(\.participantId)
        Log.info("\(kick ? "disconnected" : "cancelled the invite of") \(invitee) (participants: \(joined.isEmpty ? "none" : joined.joined(separator: ", "))) on \(stage.arn)")
        return HTTPAPIResponse(statusCode: 204, body: nil)
    }

    /// The owner's own PUBLISH+SUBSCRIBE token for their stage (StreamCat mints it when the host opens its studio).
    func hostToken(_ request: HTTPAPIRequest, caller: String, call: AWSCallContext) throws(APIFailure) -> HTTPAPIResponse {
        let body = try APIFailure.jsonObject(request.body, expected: "{\"stageArn\": …}", allowEmpty: true)
        let stage = try ownedStage(try stageArn(body), caller: caller, doing: "host it", call: call)
        let username = try body.string("username", maxLength: 128)
        let token: IssuedParticipantToken
        do {
            token = try stages.issueToken(stageArn: stage.arn, userId: caller, attributes: username.map { ["username": $0] } ?? [:],
                                          capabilities: [.publish, .subscribe], durationMinutes: configuration.inviteDurationMinutes, call: call)
        } catch { throw .upstream("CreateParticipantToken", error) }
        call.metrics?.add(.tokensIssued, 1, TokenKind.hostParticipant)
        Log.info("host token for \(caller) on \(stage.arn) (participant \(token.participantId), until \(token.expirationTime))")
        return HTTPAPIResponse(statusCode: 200, body: .object([
            ("token", .string(token.token.reveal)), ("participantId", .string(token.participantId)),
            ("stageArn", .string(stage.arn)), ("expirationTime", .string(token.expirationTime)),
        ]))
    }

    /// A watch-only (SUBSCRIBE) token for a real-time viewer of a broadcaster's stage.
    /// Guests (`guest` true) only for the stages this deployment names: `DEFAULT_STAGE_ARN` and `GUEST_STAGE_ARNS`.
    func viewerToken(_ request: HTTPAPIRequest, caller: String, guest: Bool = false, call: AWSCallContext) throws(APIFailure) -> HTTPAPIResponse {
        let body = try APIFailure.jsonObject(request.body, expected: "{\"stageArn\": …}", allowEmpty: true)
        let arn = try stageArn(body)
        if guest, !(configuration.guestStages + [configuration.defaultStage].compactMap { $0 }).contains(where: { sameIdentity($0, arn) }) {
            throw .forbidden("guests may watch this deployment's stages only (DEFAULT_STAGE_ARN, GUEST_STAGE_ARNS)")
        }
        let stage = try knownStage(arn, call: call)
        guard stage.owner(tagKey: configuration.ownerTagKey, defaultStage: configuration.defaultStage, stageOwner: configuration.stageOwner) != nil else {
            throw .forbidden("this stage has no owner: it is nobody's broadcast")
        }
        let token: IssuedParticipantToken
        do {
            token = try stages.issueToken(stageArn: stage.arn, userId: caller, attributes: [:], capabilities: [.subscribe],
                                          durationMinutes: configuration.inviteDurationMinutes, call: call)
        } catch { throw .upstream("CreateParticipantToken", error) }
        call.metrics?.add(.tokensIssued, 1, guest ? TokenKind.guestViewerParticipant : TokenKind.viewerParticipant)
        return HTTPAPIResponse(statusCode: 200, body: .object([
            ("token", .string(token.token.reveal)), ("participantId", .string(token.participantId)),
            ("stageArn", .string(stage.arn)), ("expirationTime", .string(token.expirationTime)),
        ]))
    }

    // MARK: - Helpers

    /// The stage (404 when the service does not know it).
    func knownStage(_ stageArn: String, call: AWSCallContext) throws(APIFailure) -> StageDetails {
        do { return try stageCache.stage(arn: stageArn, call: call) } catch {
            throw .upstream("GetStage", error, notFound: "stageArn: no stage \(stageArn)")
        }
    }

    /// The stage, when `caller` owns it (`StageDetails.owner`).
    private func ownedStage(_ stageArn: String, caller: String, doing what: String, call: AWSCallContext) throws(APIFailure) -> StageDetails {
        let stage = try knownStage(stageArn, call: call)
        guard let owner = stage.owner(tagKey: configuration.ownerTagKey, defaultStage: configuration.defaultStage, stageOwner: configuration.stageOwner) else {
            throw .forbidden("this stage has no owner: tag it with '\(configuration.ownerTagKey)' (STAGE_OWNER applies to DEFAULT_STAGE_ARN only)")
        }
        guard sameIdentity(owner, caller) else { throw .forbidden("only the stage's owner can \(what)") }
        return stage
    }

    /// `stageArn` from the body (of this deployment's account and region), else `DEFAULT_STAGE_ARN`.
    func stageArn(_ body: JSONBody) throws(APIFailure) -> String {
        guard let named = try body.string("stageArn", maxLength: 128) else {
            guard let arn = configuration.defaultStage else { throw .badRequest("stageArn is required: no default stage is configured") }
            return arn
        }
        if let problem = IVSConstraints.stageARNProblem(named) { throw .badRequest("stageArn \(problem)") }
        try requireInScope(named, field: "stageArn")
        return named
    }

    /// 400 unless `arn` names this deployment's region and account (`MultihostInviteConfiguration`):
    /// another account's or region's resources are none of its business, and each lookup of one would
    /// cost a control-plane call of the account's small quota.
    func requireInScope(_ arn: String, field: String) throws(APIFailure) {
        if let region = configuration.region, let named = ARNScope.region(of: arn), !sameIdentity(named, region) {
            throw .badRequest("\(field) is in region \(named): this deployment serves \(region) only")
        }
        if let account = configuration.account ?? invokedAccount, let named = ARNScope.account(of: arn), !sameIdentity(named, account) {
            throw .badRequest("\(field) is in another AWS account than this deployment's")
        }
    }

    /// The `StreamCat:MultihostInvite` attributes: StreamCat's `{userId, broadcastType, stage}` plus
    /// `stageArn` and `expiresAt`. Never the token: every room member receives them.
    static func eventAttributes(invitee: String, broadcastType: String, stage: StageDetails, expiresAt: String) -> [String: String] {
        ["userId": invitee, "stage": stage.displayName, "stageArn": stage.arn, "expiresAt": expiresAt, "broadcastType": broadcastType]
    }
}

/// A request body's JSON object, read field by field with errors that name the field.
struct JSONBody {
    let members: [(key: String, value: JSONValue)]

    /// The string field `name` (nil when absent or null); 400 when it is not a string of 1-`maxLength` characters.
    func string(_ name: String, maxLength: Int) throws(APIFailure) -> String? {
        guard let value = members.first(where: { $0.key == name })?.value, value != .null else { return nil }
        guard let s = value.stringValue else { throw .badRequest("\(name) must be a string, not \(value.kindName)") }
        guard (1...maxLength).contains(s.count) else { throw .badRequest("\(name) must be 1-\(maxLength) characters long (is \(s.count))") }
        return s
    }
}

/// Why a request cannot be served: an HTTP status and a message safe to show to the caller.
struct APIFailure: Error {
    let status: Int
    let message: String
    /// Seconds the client should wait before trying again (`Retry-After`), on 429 and 503.
    var retryAfterSeconds: Int? = nil

    static func badRequest(_ message: String) -> APIFailure { APIFailure(status: 400, message: message) }

    /// The error answer: `{"message"}`, with `Retry-After` when set.
    var response: HTTPAPIResponse {
        var answer = HTTPAPIResponse.error(status, message)
        if let retryAfterSeconds { answer.headers.append(("retry-after", String(retryAfterSeconds))) }
        return answer
    }
    static func forbidden(_ message: String) -> APIFailure { APIFailure(status: 403, message: message) }
    static func notFound(_ message: String) -> APIFailure { APIFailure(status: 404, message: message) }

    /// An AWS call failed: 404 with `notFound` when the service does not know the resource
    /// (`ResourceNotFoundException`); 429 with a jittered `Retry-After` when AWS throttled it (the
    /// account-wide rate is spent: the client comes back later, the function does not hold on); 503
    /// with `Retry-After` when trying again may help (no answer, time-out, a 5xx); else 502. Only the
    /// operation's name reaches the caller; the details go to the log (with `hiding` scrubbed from
    /// them, in case a service echoes a value back).
    static func upstream(_ operation: String, _ error: Error, hiding secret: Secret? = nil, message: String? = nil,
                         notFound: String? = nil) -> APIFailure {
        if let notFound, (error as? AWSError)?.serviceError?.type == "ResourceNotFoundException" { return .notFound(notFound) }
        var detail = "\(error)"
        if let secret, !secret.reveal.isEmpty { detail = detail.replacing(secret.reveal, with: "<redacted>") }
        if error is MetadataRefreshInProgress {
            Log.info("\(operation) deferred: \(detail)")
            return .throttled("busy: \(operation) is being refreshed by another request; try again shortly")
        }
        let throttled: Bool, retryable: Bool
        switch error as? AWSError {
        case let .service(e)?: throttled = e.isThrottling; retryable = throttled || e.status >= 500
        case .transport?, .deadlineExceeded?, .credentials?: throttled = false; retryable = true
        default: throttled = false; retryable = false
        }
        if throttled {
            Log.warn("\(operation) throttled: \(detail)")
            return .throttled(message ?? "too many requests: the account's \(operation) rate is spent; try again after Retry-After")
        }
        Log.error("\(operation) failed: \(detail)")
        return APIFailure(status: retryable ? 503 : 502,
                          message: message ?? (retryable ? "a service this function uses is busy or unreachable (\(operation)); try again"
                                                         : "a service this function uses failed (\(operation))"),
                          retryAfterSeconds: retryable ? retryAfter() : nil)
    }

    /// 429 with a `Retry-After` drawn from `retryAfterRange`, so throttled clients come back spread out.
    static func throttled(_ message: String) -> APIFailure {
        APIFailure(status: 429, message: message, retryAfterSeconds: retryAfter())
    }

    /// `Retry-After` seconds: uniform in 1...2 (clients add up to a second of their own jitter), short
    /// enough that a throttled crowd keeps the account's rate in use, spread enough not to come back as one.
    static let retryAfterRange: ClosedRange<Int> = 1...2
    static func retryAfter() -> Int { Int.random(in: retryAfterRange) }

    /// The body as a JSON object; 400 when it is not one (an empty body is `{}` when `allowEmpty`).
    static func jsonObject(_ bytes: [UInt8], expected: String, allowEmpty: Bool = false) throws(APIFailure) -> JSONBody {
        if bytes.isEmpty && allowEmpty { return JSONBody(members: []) }
        guard let value = try? JSONValue.parse(bytes), let members = value.objectValue else {
            throw .badRequest("body must be a JSON object: \(expected)")
        }
        return JSONBody(members: members)
    }
}
