import AWSCore
import AWSServices
import Handlers
import JSON
import LambdaRuntime
import Testing

/// What a service answers when the account's rate for `operation` is spent.
func throttling(_ service: String, _ operation: String) -> AWSError {
    .service(AWSServiceError(service: service, operation: operation, type: "ThrottlingException",
                             message: "Rate exceeded", status: 429, requestId: nil, attempts: 2))
}

/// What a service answers for a resource it does not know.
func notFound(_ service: String, _ operation: String) -> AWSError {
    .service(AWSServiceError(service: service, operation: operation, type: "ResourceNotFoundException",
                             message: "not found", status: 404, requestId: nil, attempts: 1))
}

/// A stage service answering from memory.
final class FakeStages: StageService {
    var stages: [String: StageDetails] = [:]
    var stageLookups = 0
    var issued: [(stageArn: String, userId: String, attributes: [String: String], minutes: Int)] = []
    var capabilities: [[ParticipantCapability]] = []
    var revoked: [(stageArn: String, participantId: String)] = []
    var revokeFailure: Error?
    var failure: Error?
    var tokenCount = 0

    func stageDetails(arn: String, call: AWSCallContext) throws -> StageDetails {
        stageLookups += 1
        if let failure { throw failure }
        guard let stage = stages[arn] else {
            throw notFound("ivs-realtime", "GetStage")
        }
        return stage
    }

    func revoke(stageArn: String, participantId: String, reason: String, call: AWSCallContext) throws {
        if let revokeFailure { throw revokeFailure }
        revoked.append((stageArn, participantId))
    }

    func issueToken(stageArn: String, userId: String, attributes: [String: String], capabilities: [ParticipantCapability],
                    durationMinutes: Int, call: AWSCallContext) throws -> IssuedParticipantToken {
        issued.append((stageArn, userId, attributes, durationMinutes))
        self.capabilities.append(capabilities)
        tokenCount += 1
        return IssuedParticipantToken(participantId: "participant\(tokenCount)", token: Secret("SECRET-TOKEN-\(tokenCount)"),
                                      expirationTime: "2026-01-01T01:00:00Z", expiresAt: MultihostInviteHandlerTests.expiry)
    }
}

/// Chat rooms and tokens from memory.
final class FakeChatRooms: ChatRoomService {
    var rooms: [String: ChatRoomDetails] = [:]
    var lookups = 0
    var issued: [(room: String, userId: String, capabilities: [ChatCapability], minutes: Int, attributes: [String: String])] = []
    var failure: Error?

    func roomDetails(arn: String, call: AWSCallContext) throws -> ChatRoomDetails {
        lookups += 1
        if let failure { throw failure }
        guard let room = rooms[arn] else {
            throw notFound("ivschat", "GetRoom")
        }
        return room
    }

    func issueChatToken(roomArn: String, userId: String, capabilities: [ChatCapability], sessionMinutes: Int,
                        attributes: [String: String], call: AWSCallContext) throws -> ChatToken {
        if let failure { throw failure }
        guard rooms[roomArn] != nil else {
            throw notFound("ivschat", "CreateChatToken")
        }
        issued.append((roomArn, userId, capabilities, sessionMinutes, attributes))
        return ChatToken(token: Secret("SECRET-CHAT-\(issued.count)"), tokenExpirationTime: "2026-01-01T01:00:00Z",
                         sessionExpirationTime: "2026-01-01T01:00:00Z")
    }
}

/// Channel states from memory.
final class FakeChannelStates: ChannelStateStoring {
    var states: [String: ChannelState] = [:]
    var reads = 0
    var failure: Error?
    func record(_ state: ChannelState, call: AWSCallContext) throws -> ChannelStateWrite {
        if let failure { throw failure }
        guard state.supersedes(states[state.channelArn]) else { return .superseded }
        states[state.channelArn] = state
        return .recorded
    }
    func state(channelArn: String, call: AWSCallContext) throws -> ChannelState? {
        reads += 1
        if let failure { throw failure }
        return states[channelArn]
    }
}

/// An invite table in memory.
final class FakeInviteStore: InviteStoring {
    var items: [String: Invite] = [:]
    var failure: Error?
    var deleted: [String] = []

    func put(_ invite: Invite, call: AWSCallContext) throws {
        if let failure { throw failure }
        items[invite.inviteeId + " " + invite.stageArn] = invite
    }
    func invite(inviteeId: String, stageArn: String, call: AWSCallContext) throws -> Invite? {
        if let failure { throw failure }
        return items[inviteeId + " " + stageArn]
    }
    func invites(inviteeId: String, call: AWSCallContext) throws -> [Invite] {
        if let failure { throw failure }
        return items.values.filter { $0.inviteeId == inviteeId }.sorted { $0.stageArn < $1.stageArn }
    }
    func delete(inviteeId: String, stageArn: String, call: AWSCallContext) throws {
        deleted.append(inviteeId + " " + stageArn)
        items[inviteeId + " " + stageArn] = nil
    }
}

@Suite final class MultihostInviteHandlerTests {
    static let stage = "arn:aws:ivs:us-east-1:123456789012:stage/AbCdEfGh1234"
    static let room = "arn:aws:ivschat:us-east-1:123456789012:room/AbCdEfGh1234"
    static let now: Int64 = 1_767_225_600  // 2026-01-01T00:00:00Z
    static let expiry = now + 3600

    let stages = FakeStages()
    let store = FakeInviteStore()
    let chat = FakeChat()
    let rooms = FakeChatRooms()
    let channels = FakeChannelStates()
    var configuration = MultihostInviteConfiguration(table: "invites")

    init() {
        stages.stages[Self.stage] = StageDetails(arn: Self.stage, name: "demo", tags: [OwnerTag.defaultKey: "host", "chatRoomArn": Self.room])
        rooms.rooms[Self.room] = ChatRoomDetails(arn: Self.room, name: "demo", tags: [OwnerTag.defaultKey: "host"])
    }

    func handler(now: Int64 = MultihostInviteHandlerTests.now) -> MultihostInviteHandler {
        MultihostInviteHandler(configuration: configuration, stages: stages, store: store, chat: chat, rooms: rooms, channelStates: channels, now: { now })
    }

    func send(_ method: String, _ path: String, body: String? = nil, caller: String? = "host",
              to handler: MultihostInviteHandler? = nil) -> (status: Int, body: JSONValue, response: HTTPAPIResponse) {
        let request = HTTPAPIRequest(method: method, path: path, body: Array((body ?? "").utf8), claims: caller.map { ["sub": $0] } ?? [:])
        let response = (handler ?? self.handler()).respond(to: request, call: AWSCallContext(deadline: Int64.max / 2))
        return (response.statusCode, response.body ?? .null, response)
    }

    func invite(_ body: String = #"{"userId":"guest","username":"Guest","broadcastType":"realtime"}"#, caller: String? = "host",
                to handler: MultihostInviteHandler? = nil) -> (status: Int, body: JSONValue, response: HTTPAPIResponse) {
        send("POST", "/multihost/invite", body: body.replacingOccurrences(of: "$STAGE", with: Self.stage), caller: caller, to: handler)
    }

    @Test func ownerInvites() throws {
        let result = invite(#"{"userId":"guest","username":"Guest","broadcastType":"realtime","stageArn":"$STAGE","chatArn":"\#(Self.room)"}"#)
        #expect(result.status == 201)
        #expect(result.body == .object([("userId", .string("guest")), ("stageArn", .string(Self.stage)),
                                        ("expiresAt", .string("2026-01-01T01:00:00Z"))]))
        // No token yet: one is made when the invitee joins (issue 22).
        #expect(stages.issued.isEmpty)
        let stored = try #require(store.items["guest \(Self.stage)"])
        #expect(stored.inviterId == "host" && stored.stageName == "demo" && stored.username == "Guest")
        #expect(stored.expiresAt == Self.expiry && stored.participants.isEmpty && !stored.revoked)
        #expect(chat.sent.count == 1)
        #expect(chat.sent[0].room == Self.room && chat.sent[0].name == "StreamCat:MultihostInvite")
        #expect(chat.sent[0].attributes == ["userId": "guest", "broadcastType": "realtime", "stage": "demo",
                                            "stageArn": Self.stage, "expiresAt": "2026-01-01T01:00:00Z"])
        #expect(!String(decoding: result.response.serialized(), as: UTF8.self).contains("SECRET"))
    }

    @Test func stageFromConfigurationAndOwnerFromConfiguration() {
        configuration.defaultStage = Self.stage
        configuration.stageOwner = "host"
        configuration.defaultRoom = Self.room
        stages.stages[Self.stage] = StageDetails(arn: Self.stage, name: "", tags: [:])
        #expect(invite(#"{"userId":"guest"}"#).status == 201)
        // A stage without a name is called by its id.
        #expect(chat.sent[0].attributes["stage"] == "AbCdEfGh1234")
        // StreamCat's link is /multihost/<broadcastType>/<stage>: never "null".
        #expect(chat.sent[0].attributes["broadcastType"] == "realtime")
        #expect(send("POST", "/multihost/join", body: nil, caller: "guest").status == 200)
        #expect(stages.issued.first?.attributes.isEmpty == true, "no username: no attribute on the token made at join")
    }

    @Test func broadcastTypeIsOneOfStreamCats() {
        #expect(invite(#"{"userId":"guest","broadcastType":"lowlatency","stageArn":"$STAGE"}"#).status == 201)
        #expect(chat.sent.last?.attributes["broadcastType"] == "lowlatency")
        let bad = invite(#"{"userId":"guest","broadcastType":"video","stageArn":"$STAGE"}"#)
        #expect(bad.status == 400 && bad.body["message"]?.stringValue?.contains("realtime, lowlatency") == true)
        #expect(chat.sent.count == 1 && store.items.count == 1)
    }

    /// Kick (after joining) and cancel (before): the participant is revoked, the invite deleted, and
    /// the invitee's join answers 404 from then on; never the token.
    @Test(arguments: ["/multihost/disconnect", "/multihost/cancel"]) func ownerRevokesAnInvite(route: String) throws {
        #expect(invite(#"{"userId":"guest","stageArn":"$STAGE"}"#).status == 201)
        #expect(send("POST", "/multihost/join", body: #"{"stageArn":"\#(Self.stage)"}"#, caller: "guest").status == 200)
        let revoked = send("POST", route, body: #"{"userId":"guest","stageArn":"\#(Self.stage)"}"#)
        #expect(revoked.status == 204, "\(revoked.body)")
        #expect(stages.revoked.map(\.participantId) == ["participant1"])
        #expect(store.items.isEmpty)
        let join = send("POST", "/multihost/join", body: #"{"stageArn":"\#(Self.stage)"}"#, caller: "guest")
        #expect(join.status == 404 && !String(decoding: join.response.serialized(), as: UTF8.self).contains("SECRET"))
        #expect(send("GET", "/multihost/invites", caller: "guest").body["invites"] == .array([]))
        // Again: nothing left to revoke.
        #expect(send("POST", route, body: #"{"userId":"guest","stageArn":"\#(Self.stage)"}"#).status == 404)
    }

    @Test func onlyTheOwnerRevokesAndBadInputIs400() {
        #expect(invite(#"{"userId":"guest","stageArn":"$STAGE"}"#).status == 201)
        #expect(send("POST", "/multihost/disconnect", body: #"{"userId":"guest","stageArn":"\#(Self.stage)"}"#, caller: "guest").status == 403)
        #expect(send("POST", "/multihost/disconnect", body: #"{"userId":"guest","stageArn":"\#(Self.stage)"}"#, caller: "intruder").status == 403)
        #expect(send("POST", "/multihost/disconnect", body: #"{"stageArn":"\#(Self.stage)"}"#).status == 400)
        #expect(send("POST", "/multihost/cancel", body: "not json").status == 400)
        #expect(send("POST", "/multihost/cancel", body: #"{"userId":"guest","stageArn":"\#(Self.stage)"}"#, caller: nil).status == 401)
        #expect(stages.revoked.isEmpty && store.items.count == 1)
    }

    @Test func aParticipantAlreadyGoneIsStillRemoved() {
        #expect(invite(#"{"userId":"guest","stageArn":"$STAGE"}"#).status == 201)
        stages.revokeFailure = AWSError.service(AWSServiceError(service: "ivs-realtime", operation: "DisconnectParticipant",
                                                                type: "ResourceNotFoundException", message: "gone", status: 404, requestId: nil, attempts: 1))
        #expect(send("POST", "/multihost/cancel", body: #"{"userId":"guest","stageArn":"\#(Self.stage)"}"#).status == 204)
        #expect(store.items.isEmpty)
        // Any other failure keeps the invite (so the host can try again) and says which call failed.
        #expect(invite(#"{"userId":"guest","stageArn":"$STAGE"}"#).status == 201)
        #expect(send("POST", "/multihost/join", body: #"{"stageArn":"\#(Self.stage)"}"#, caller: "guest").status == 200)
        stages.revokeFailure = AWSError.service(AWSServiceError(service: "ivs-realtime", operation: "DisconnectParticipant",
                                                                type: "AccessDeniedException", message: "no", status: 403, requestId: nil, attempts: 1))
        let failed = send("POST", "/multihost/cancel", body: #"{"userId":"guest","stageArn":"\#(Self.stage)"}"#)
        #expect(failed.status == 502 && failed.body["message"]?.stringValue?.contains("DisconnectParticipant") == true)
        #expect(store.items.count == 1)
    }

    @Test func hostTokenForTheOwnerOnly() throws {
        let host = send("POST", "/multihost/host-token", body: #"{"stageArn":"\#(Self.stage)","username":"Host"}"#)
        #expect(host.status == 200)
        #expect(host.body["token"] == .string("SECRET-TOKEN-1") && host.body["participantId"] == .string("participant1"))
        #expect(stages.issued.last?.userId == "host" && stages.capabilities.last == [.publish, .subscribe])
        #expect(store.items.isEmpty, "a host token is not stored")
        #expect(send("POST", "/multihost/host-token", body: #"{"stageArn":"\#(Self.stage)"}"#, caller: "guest").status == 403)
    }

    @Test func viewerTokenIsSubscribeOnly() {
        let viewer = send("POST", "/multihost/viewer-token", body: #"{"stageArn":"\#(Self.stage)"}"#, caller: "viewer")
        #expect(viewer.status == 200 && viewer.body["token"] == .string("SECRET-TOKEN-1"))
        #expect(stages.issued.last?.userId == "viewer" && stages.capabilities.last == [.subscribe])
        #expect(send("POST", "/multihost/viewer-token", body: #"{"stageArn":"\#(Self.stage)"}"#, caller: nil).status == 401)
        stages.stages[Self.stage] = StageDetails(arn: Self.stage, name: "demo", tags: [:])
        #expect(send("POST", "/multihost/viewer-token", body: #"{"stageArn":"\#(Self.stage)"}"#, caller: "viewer").status == 403)
    }

    @Test func theOwnerTagWinsOverTheConfiguredOwner() {
        configuration.stageOwner = "someone-else"
        #expect(invite(#"{"userId":"guest","stageArn":"$STAGE"}"#).status == 201)
        #expect(invite(#"{"userId":"guest","stageArn":"$STAGE"}"#, caller: "someone-else").status == 403)
    }

    @Test func nonOwnerIsForbidden() {
        let result = invite(#"{"userId":"guest","stageArn":"$STAGE"}"#, caller: "intruder")
        #expect(result.status == 403)
        #expect(result.body["message"]?.stringValue?.contains("owner") == true)
        #expect(stages.issued.isEmpty && store.items.isEmpty && chat.sent.isEmpty)
    }

    @Test func noOwnerAnywhereFailsClosed() {
        stages.stages[Self.stage]?.tags[OwnerTag.defaultKey] = nil
        let result = invite(#"{"userId":"guest","stageArn":"$STAGE"}"#)
        #expect(result.status == 403)
        #expect(result.body["message"]?.stringValue?.contains("STAGE_OWNER") == true)
        #expect(stages.issued.isEmpty)
    }

    @Test func configuredOwnerOwnsOnlyTheDefaultStage() {
        let other = "arn:aws:ivs:us-east-1:123456789012:stage/OtherApp"
        stages.stages[other] = StageDetails(arn: other, name: "other", tags: ["chatRoomArn": Self.room])
        configuration.defaultStage = Self.stage
        configuration.stageOwner = "host"
        let result = invite(#"{"userId":"guest","stageArn":"\#(other)"}"#)
        #expect(result.status == 403)
        #expect(stages.issued.isEmpty && store.items.isEmpty && chat.sent.isEmpty)
    }

    @Test func anEmptyOwnerTagMeansNobody() {
        stages.stages[Self.stage]?.tags[OwnerTag.defaultKey] = ""
        configuration.defaultStage = Self.stage
        configuration.stageOwner = "host"
        #expect(invite(#"{"userId":"guest","stageArn":"$STAGE"}"#).status == 403)
        #expect(stages.issued.isEmpty)
    }

    @Test func mismatchedOrMissingRoomIsForbidden() {
        let other = "arn:aws:ivschat:us-east-1:123456789012:room/Other"
        let result = invite(#"{"userId":"guest","stageArn":"$STAGE","chatArn":"\#(other)"}"#)
        #expect(result.status == 403)
        #expect(result.body["message"]?.stringValue?.contains("chatArn") == true)
        stages.stages[Self.stage]?.tags["chatRoomArn"] = nil
        #expect(invite(#"{"userId":"guest","stageArn":"$STAGE"}"#).status == 403)
        #expect(stages.issued.isEmpty && chat.sent.isEmpty)
    }

    @Test func missingIdentityIsUnauthorized() {
        #expect(invite(#"{"userId":"guest","stageArn":"$STAGE"}"#, caller: nil).status == 401)
        #expect(send("GET", "/multihost/invites", caller: nil).status == 401)
        #expect(send("POST", "/multihost/join", body: #"{"stageArn":"\#(Self.stage)"}"#, caller: "").status == 401)
        // The identity is the configured claim only; a `userId` in the body is the invitee, never the caller.
        configuration.identityClaim = "username"
        #expect(invite(#"{"userId":"guest","stageArn":"$STAGE"}"#).status == 401)
    }

    @Test(arguments: [
        ("", "body"), ("not json", "body"), ("[1]", "body"),
        (#"{"stageArn":"$STAGE"}"#, "userId"), (#"{"userId":7,"stageArn":"$STAGE"}"#, "userId"),
        (#"{"userId":"","stageArn":"$STAGE"}"#, "userId"),
        (#"{"userId":"guest","stageArn":"arn:aws:ivs:us-east-1:123456789012:channel/x"}"#, "stageArn"),
        (#"{"userId":"guest"}"#, "stageArn"),
        (#"{"userId":"guest","stageArn":"$STAGE","username":true}"#, "username"),
        (#"{"userId":"guest","stageArn":"$STAGE","broadcastType":"\#(String(repeating: "x", count: 65))"}"#, "broadcastType"),
        (#"{"userId":"guest","stageArn":"$STAGE","chatArn":5}"#, "chatArn"),
        (#"{"userId":"host","stageArn":"$STAGE"}"#, "userId"),
    ])
    func badInviteBodies(body: String, field: String) {
        let result = invite(body)
        #expect(result.status == 400)
        #expect(result.body["message"]?.stringValue?.hasPrefix(field) == true, "\(result.body)")
        #expect(stages.issued.isEmpty)
    }

    @Test func unknownStageIsNotFound() {
        let result = invite(#"{"userId":"guest","stageArn":"arn:aws:ivs:us-east-1:123456789012:stage/Nope"}"#)
        #expect(result.status == 404)
        #expect(result.body["message"]?.stringValue?.hasPrefix("stageArn") == true)
    }

    @Test func stageLookupsAreCached() {
        let handler = handler()
        #expect(invite(#"{"userId":"a","stageArn":"$STAGE"}"#, to: handler).status == 201)
        #expect(invite(#"{"userId":"b","stageArn":"$STAGE"}"#, to: handler).status == 201)
        #expect(stages.stageLookups == 1)
        configuration.stageCacheSeconds = 0
        let uncached = self.handler()
        _ = invite(#"{"userId":"a","stageArn":"$STAGE"}"#, to: uncached)
        _ = invite(#"{"userId":"b","stageArn":"$STAGE"}"#, to: uncached)
        #expect(stages.stageLookups == 3)
    }

    @Test func inviteeListsAndJoins() {
        #expect(invite(#"{"userId":"guest","username":"Guest","stageArn":"$STAGE"}"#).status == 201)
        let list = send("GET", "/multihost/invites", caller: "guest")
        #expect(list.status == 200)
        #expect(list.body == .object([("invites", .array([.object([
            ("stageArn", .string(Self.stage)), ("stage", .string("demo")), ("inviterId", .string("host")),
            ("username", .string("Guest")), ("broadcastType", .string("realtime")), ("expiresAt", .string("2026-01-01T01:00:00Z")),
        ])]))]))
        let join = send("POST", "/multihost/join", body: #"{"stageArn":"\#(Self.stage)"}"#, caller: "guest")
        #expect(join.status == 200)
        #expect(join.body == .object([("token", .string("SECRET-TOKEN-1")), ("participantId", .string("participant1")),
                                      ("expirationTime", .string("2026-01-01T01:00:00Z"))]))
    }

    @Test func nobodyElseCanJoinOrList() {
        #expect(invite(#"{"userId":"guest","stageArn":"$STAGE"}"#).status == 201)
        let join = send("POST", "/multihost/join", body: #"{"stageArn":"\#(Self.stage)"}"#, caller: "host")
        #expect(join.status == 404)
        #expect(join.body["message"]?.stringValue?.contains("no invite") == true)
        #expect(send("GET", "/multihost/invites", caller: "intruder").body == .object([("invites", .array([]))]))
    }

    @Test func expiredInviteIsRefusedAndRemoved() {
        #expect(invite(#"{"userId":"guest","stageArn":"$STAGE"}"#).status == 201)
        let later = handler(now: Self.expiry)
        let join = send("POST", "/multihost/join", body: #"{"stageArn":"\#(Self.stage)"}"#, caller: "guest", to: later)
        #expect(join.status == 404)
        #expect(join.body["message"]?.stringValue?.contains("expired") == true)
        #expect(store.deleted == ["guest \(Self.stage)"])
        #expect(invite(#"{"userId":"guest","stageArn":"$STAGE"}"#).status == 201)
        #expect(send("GET", "/multihost/invites", caller: "guest", to: later).body == .object([("invites", .array([]))]))
    }

    @Test func joinUsesTheDefaultStageWhenTheBodyIsEmpty() {
        configuration.defaultStage = Self.stage
        #expect(invite(#"{"userId":"guest"}"#).status == 201)
        #expect(send("POST", "/multihost/join", body: nil, caller: "guest").status == 200)
        configuration.defaultStage = nil
        #expect(send("POST", "/multihost/join", body: nil, caller: "guest").status == 400)
    }

    @Test func upstreamFailuresHideDetails() {
        stages.failure = AWSError.service(AWSServiceError(service: "ivs-realtime", operation: "GetStage", type: "ThrottlingException",
                                                          message: "internal detail", status: 429, requestId: "r", attempts: 3))
        var result = invite(#"{"userId":"guest","stageArn":"$STAGE"}"#)
        #expect(result.status == 429, "throttled: the client comes back after Retry-After")
        #expect(result.response.headers.contains { $0.key == "retry-after" })
        stages.failure = AWSError.service(AWSServiceError(service: "ivs-realtime", operation: "GetStage", type: "InternalServerException",
                                                          message: "internal detail", status: 500, requestId: "r", attempts: 2))
        result = invite(#"{"userId":"guest","stageArn":"$STAGE"}"#)
        #expect(result.status == 503 && result.response.headers.contains { $0.key == "retry-after" })
        #expect(result.body["message"]?.stringValue?.contains("internal detail") == false)
        stages.failure = AWSError.service(AWSServiceError(service: "ivs-realtime", operation: "GetStage", type: "AccessDeniedException",
                                                          message: "internal detail", status: 403, requestId: "r", attempts: 1))
        result = invite(#"{"userId":"guest","stageArn":"$STAGE"}"#)
        #expect(result.status == 502)
        stages.failure = nil
        chat.failure = AWSError.service(AWSServiceError(service: "ivschat", operation: "SendEvent", type: "InternalServerException",
                                                        message: "x", status: 500, requestId: nil, attempts: 3))
        result = invite(#"{"userId":"guest","stageArn":"$STAGE"}"#)
        #expect(result.status == 503)
        #expect(result.body["message"]?.stringValue?.contains("saved") == true)
        store.failure = AWSError.service(AWSServiceError(service: "dynamodb", operation: "Query", type: "ResourceNotFoundException",
                                                         message: "x", status: 400, requestId: nil, attempts: 1))
        #expect(send("GET", "/multihost/invites", caller: "guest").status == 502)
    }

    @Test func routingAndHeaders() {
        configuration.allowedOrigin = "https://app.example.com"
        let unknown = send("GET", "/elsewhere")
        #expect(unknown.status == 404)
        #expect(unknown.response.headers.first { $0.key == "access-control-allow-origin" }?.value == "https://app.example.com")
        let wrongMethod = send("DELETE", "/multihost/invite")
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.response.headers.first { $0.key == "allow" }?.value == "POST, OPTIONS")
        #expect(send("OPTIONS", "/multihost/invite", caller: nil).status == 204)
        // Behind a stage or base path, with a trailing slash.
        #expect(send("GET", "/prod/api/multihost/invites/", caller: "guest").status == 200)
    }

    @Test func handleReadsAnHTTPAPIEvent() throws {
        let body = #"{"userId":"guest","stageArn":"\#(Self.stage)"}"#
        let event = #"""
        {"version":"2.0","routeKey":"POST /multihost/invite","rawPath":"/multihost/invite","isBase64Encoded":true,
         "body":"\#(base64(body))",
         "requestContext":{"http":{"method":"POST","path":"/multihost/invite"},"authorizer":{"jwt":{"claims":{"sub":"host"}}}}}
        """#
        let context = InvocationContext(requestId: "r", deadlineEpochMilliseconds: Int64.max / 2)
        let output = try JSONValue.parse(handler().handle(Array(event.utf8), context: context))
        #expect(output["statusCode"] == .int(201))
        #expect(output["headers"]?["content-type"] == .string("application/json"))
        let inner = try JSONValue.parse(output["body"]?.stringValue ?? "")
        #expect(inner["userId"] == .string("guest"))
        #expect(throws: LambdaError.self) { try handler().handle(Array(#"{"detail":{}}"#.utf8), context: context) }
    }
}

/// Standard base64 with padding, for building test events.
func base64(_ text: String) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    let bytes = Array(text.utf8)
    var out = ""
    for i in stride(from: 0, to: bytes.count, by: 3) {
        let chunk = Array(bytes[i..<min(i + 3, bytes.count)])
        let n = chunk.enumerated().reduce(0) { $0 | Int($1.element) << (16 - 8 * $1.offset) }
        for j in 0..<4 { out.append(j <= chunk.count ? alphabet[(n >> (18 - 6 * j)) & 63] : "=") }
    }
    return out
}

@Suite struct MultihostInviteRequestTests {
    @Test func base64Decoding() {
        #expect(Base64.decode("aGVsbG8=") == Array("hello".utf8))
        #expect(Base64.decode("aGVsbG8") == Array("hello".utf8))
        #expect(Base64.decode("aGVs\nbG8h") == Array("hello!".utf8))
        #expect(Base64.decode("") == [])
        #expect(Base64.decode("-_8=") == [0xFB, 0xFF])
        #expect(Base64.decode("+/8=") == [0xFB, 0xFF])
        #expect(Base64.decode("aGVsbG8*") == nil)
        #expect(Base64.decode("a") == nil)
        #expect(Base64.decode("aG=Vs") == nil)
        #expect(Base64.decode("aGVsbG9=") == nil)  // non-zero fill bits
        for text in ["", "a", "ab", "abc", "abcd", "{\"userId\":\"ü\"}"] { #expect(Base64.decode(base64(text)) == Array(text.utf8)) }
    }

    @Test func readsAnEvent() throws {
        let event = try JSONValue.parse(#"""
        {"rawPath":"/prod/multihost/join/","body":"{}","requestContext":{"http":{"method":"post"},
         "authorizer":{"jwt":{"claims":{"sub":"u1","exp":1999999999,"groups":["a"]}}}}}
        """#)
        let request = try HTTPAPIRequest(event: event)
        #expect(request.method == "POST" && request.path == "/prod/multihost/join")
        #expect(request.claims == ["sub": "u1", "exp": "1999999999"])
        #expect(request.matches("POST", "/multihost/join") && !request.matches("POST", "/multihost/invite"))
        #expect(!HTTPAPIRequest(method: "GET", path: "/xmultihost/invites").matchesPath("/multihost/invites"))
        #expect(throws: LambdaError.self) {
            try HTTPAPIRequest(event: JSONValue.parse(#"{"isBase64Encoded":true,"body":"*","requestContext":{"http":{"method":"POST"}}}"#))
        }
    }

    @Test func responseShape() {
        let response = HTTPAPIResponse(statusCode: 400, headers: [("content-type", "application/json")], body: .object([("message", .string("m"))]))
        #expect(String(decoding: response.serialized(), as: UTF8.self)
            == #"{"statusCode":400,"headers":{"content-type":"application/json"},"body":"{\"message\":\"m\"}"}"#)
    }

    @Test func configuration() throws {
        func read(_ env: [String: String]) throws(InitError) -> MultihostInviteConfiguration {
            try MultihostInviteConfiguration.fromEnvironment { env[$0] }
        }
        let defaults = try read(["INVITES_TABLE": "invites"])
        #expect(defaults.allowedOrigin == "*" && defaults.identityClaim == "sub")
        #expect(defaults.inviteDurationMinutes == 60 && defaults.stageCacheSeconds == 60)
        #expect(defaults.defaultStage == nil && defaults.stageOwner == nil && defaults.defaultRoom == nil)
        let full = try read(["INVITES_TABLE": "invites", "DEFAULT_STAGE_ARN": MultihostInviteHandlerTests.stage,
                             "CHAT_ROOM_ARN": MultihostInviteHandlerTests.room, "STAGE_OWNER": "host", "IDENTITY_CLAIM": "username",
                             "CORS_ALLOWED_ORIGIN": "https://a.example", "INVITE_DURATION_MINUTES": "20160", "STAGE_CACHE_SECONDS": "0"])
        #expect(full.inviteDurationMinutes == 20160 && full.stageCacheSeconds == 0 && full.identityClaim == "username")
        for (env, variable) in [([:], "INVITES_TABLE"), (["INVITES_TABLE": "a"], "INVITES_TABLE"),
                                (["INVITES_TABLE": "t-1", "INVITE_DURATION_MINUTES": "0"], "INVITE_DURATION_MINUTES"),
                                (["INVITES_TABLE": "t-1", "INVITE_DURATION_MINUTES": "x"], "INVITE_DURATION_MINUTES"),
                                (["INVITES_TABLE": "t-1", "STAGE_CACHE_SECONDS": "-1"], "STAGE_CACHE_SECONDS"),
                                (["INVITES_TABLE": "t-1", "DEFAULT_STAGE_ARN": "stage"], "DEFAULT_STAGE_ARN"),
                                (["INVITES_TABLE": "t-1", "CHAT_ROOM_ARN": MultihostInviteHandlerTests.stage], "CHAT_ROOM_ARN")] {
            do {
                _ = try read(env)
                Issue.record("expected an init error for \(env)")
            } catch {
                #expect(error.errorType == "Runtime.InvalidConfiguration")
                #expect(error.errorMessage.hasPrefix(variable), "\(error.errorMessage)")
            }
        }
    }

    @Test func inviteItemRoundTrip() {
        let invite = Invite(inviteeId: "guest", stageArn: MultihostInviteHandlerTests.stage, stageName: "demo", inviterId: "host",
                            username: nil, broadcastType: "video", expirationTime: "2026-01-01T01:00:00Z", expiresAt: 1_767_229_200,
                            participants: [JoinedParticipant(participantId: "p", tokenExpiresAt: 1_767_226_200)], revoked: true)
        let item = DynamoDBInviteStore.item(invite)
        #expect(DynamoDBValue.int64(from: item["expiresAt"]) == 1_767_229_200)
        #expect(item["username"] == nil && item["token"] == nil)
        #expect(DynamoDBInviteStore.invite(from: item) == invite)
        var fresh = invite
        fresh.participants = []
        fresh.revoked = false
        #expect(DynamoDBInviteStore.item(fresh)["participants"] == nil && DynamoDBInviteStore.item(fresh)["revoked"] == nil)
        #expect(DynamoDBInviteStore.invite(from: DynamoDBInviteStore.item(fresh)) == fresh)
    }
}

/// Chat tokens (`ChatTokenRoutes.swift`).
extension MultihostInviteHandlerTests {
    // MARK: - Chat tokens

    static let channel = "arn:aws:ivs:us-east-1:123456789012:channel/AbCdEf012345"
    static let channelRoom = "arn:aws:ivschat:us-east-1:123456789012:room/ChannelRoom1"

    func chatToken(_ body: String = "{}", caller: String? = "viewer", claims: [String: String] = [:], path: String = "/chat/token",
                   to handler: MultihostInviteHandler? = nil) -> (status: Int, body: JSONValue, text: String) {
        var all = claims
        if let caller { all["sub"] = caller }
        let request = HTTPAPIRequest(method: "POST", path: path, body: Array(body.utf8), claims: all)
        let response = (handler ?? self.handler()).respond(to: request, call: AWSCallContext(deadline: Int64.max / 2))
        return (response.statusCode, response.body ?? .null, String(decoding: response.serialized(), as: UTF8.self))
    }

    @Test func chatTokenRoomComesFromStageChannelOrConfigurationNeverTheClient() {
        let stageRoom = "arn:aws:ivschat:us-east-1:123456789012:room/StageRoom1"
        stages.stages[Self.stage]?.tags["chatRoomArn"] = stageRoom
        configuration.defaultRoom = Self.room
        configuration.roomsByChannel = [Self.channel: Self.channelRoom]
        rooms.rooms[Self.channelRoom] = ChatRoomDetails(arn: Self.channelRoom, name: "c", tags: [:])
        rooms.rooms[stageRoom] = ChatRoomDetails(arn: stageRoom, name: "s", tags: [:])
        let handler = handler()
        #expect(chatToken(#"{"stageArn":"\#(Self.stage)"}"#, to: handler).body["roomArn"] == .string(stageRoom))
        #expect(chatToken(#"{"channelArn":"\#(Self.channel)"}"#, to: handler).body["roomArn"] == .string(Self.channelRoom))
        let unmapped = "arn:aws:ivs:us-east-1:123456789012:channel/Other1"
        #expect(chatToken(#"{"channelArn":"\#(unmapped)"}"#, to: handler).body["roomArn"] == .string(Self.room))
        #expect(chatToken(#"{"roomArn":"arn:aws:ivschat:us-east-1:123456789012:room/Mine"}"#, to: handler).body["roomArn"] == .string(Self.room))
        #expect(rooms.issued.map(\.room) == [stageRoom, Self.channelRoom, Self.room, Self.room])
        #expect(rooms.issued.allSatisfy { $0.userId == "viewer" && $0.minutes == 60 })
    }

    @Test func chatTokenIsTheCallersWithUsernameAndModerationForTheRoomsOwnerOnly() {
        configuration.defaultRoom = Self.room
        configuration.chatSessionMinutes = 180
        let handler = handler()
        let viewer = chatToken(caller: "viewer", claims: ["username": "Vee"], to: handler)
        #expect(viewer.status == 200)
        #expect(viewer.body["userId"] == .string("viewer") && viewer.body["token"] == .string("SECRET-CHAT-1"))
        #expect(viewer.body["capabilities"] == .array([.string("SEND_MESSAGE")]))
        #expect(rooms.issued[0].attributes == ["username": "Vee", "isGuest": "false"] && rooms.issued[0].minutes == 180)
        #expect(viewer.body["isAdmin"] == .bool(false) && viewer.body["username"] == .string("Vee"))
        let owner = chatToken(caller: "host", to: handler)
        #expect(rooms.issued[1].capabilities == [.sendMessage, .disconnectUser, .deleteMessage])
        #expect(owner.body["capabilities"]?.arrayValue?.count == 3 && owner.body["isAdmin"] == .bool(true))
        // The room's tags are looked up once for both (cached).
        #expect(rooms.lookups == 1)
        #expect(chatToken(caller: nil, to: handler).status == 401)
    }

    @Test func chatTokenFailuresAreClearAnswers() {
        #expect(chatToken().status == 400)  // no room configured at all
        configuration.defaultRoom = "arn:aws:ivschat:us-east-1:123456789012:room/Gone"
        let missing = chatToken()
        #expect(missing.status == 404 && missing.body["message"]?.stringValue?.contains("does not exist") == true)
        configuration.defaultRoom = Self.room
        #expect(chatToken(#"{"channelArn":"arn:aws:ivs:us-east-1:123456789012:stage/X"}"#).status == 400)
        #expect(chatToken(#"{"stageArn":"arn:aws:ivs:us-east-1:123456789012:stage/Nope"}"#).status == 404)
        #expect(chatToken(#"{"chatArn":"arn:aws:ivschat:us-east-1:123456789012:room/Other"}"#).status == 403)
        #expect(chatToken(#"{"chatArn":"\#(Self.room)"}"#).status == 200)
        rooms.failure = AWSError.service(AWSServiceError(service: "ivschat", operation: "CreateChatToken", type: "ThrottlingException",
                                                         message: "slow down", status: 429, requestId: nil, attempts: 3))
        let busy = chatToken()
        #expect(busy.status == 429 && !busy.text.contains("SECRET"))
        rooms.failure = nil
        #expect(chatToken(caller: String(repeating: "x", count: 129)).status == 400)
        configuration.allowGuests = true
        rooms.rooms[Self.room] = nil  // the guest path never looks the room up: CreateChatToken says it is gone
        let gone = chatToken(caller: nil, path: "/chat/guest-token")
        #expect(gone.status == 404 && gone.body["message"]?.stringValue?.contains("does not exist") == true)
    }

    @Test func guestsOnlyWhenAllowedAndNeverUnderAClaimedIdentity() {
        configuration.defaultRoom = Self.room
        #expect(chatToken(caller: nil, path: "/chat/guest-token").status == 403)
        #expect(chatToken(caller: nil, path: "/multihost/guest-viewer-token").status == 403)
        configuration.allowGuests = true
        configuration.guestStages = [Self.stage]
        let handler = handler()
        let guest = chatToken(caller: "host", claims: ["username": "H"], path: "/chat/guest-token", to: handler)
        #expect(guest.status == 200)
        let id = guest.body["userId"]?.stringValue ?? ""
        #expect(id.hasPrefix("guest-") && id.count == 22)
        #expect(rooms.issued.last?.capabilities == [] && rooms.issued.last?.attributes == ["isGuest": "true"])
        #expect(rooms.lookups == 0)
        let watch = chatToken(#"{"stageArn":"\#(Self.stage)"}"#, caller: nil, path: "/multihost/guest-viewer-token", to: handler)
        #expect(watch.status == 200 && stages.capabilities.last == [.subscribe] && stages.issued.last?.userId.hasPrefix("guest-") == true)
        let get = HTTPAPIRequest(method: "GET", path: "/chat/guest-token")
        #expect(handler.respond(to: get, call: AWSCallContext(deadline: Int64.max / 2)).statusCode == 405, "the route exists under POST only")
    }

    @Test func chatConfigurationFromEnvironment() throws {
        let env = ["INVITES_TABLE": "t-1", "ALLOW_GUESTS": "true", "CHAT_SESSION_MINUTES": "15", "USERNAME_CLAIM": "cognito:username",
                   "CHANNEL_ROOM_MAP": #"{"\#(Self.channel)":"\#(Self.channelRoom)"}"#]
        let c = try MultihostInviteConfiguration.fromEnvironment { env[$0] }
        #expect(c.allowGuests && c.chatSessionMinutes == 15 && c.usernameClaim == "cognito:username" && c.roomsByChannel == [Self.channel: Self.channelRoom])
        for env in [["ALLOW_GUESTS": "maybe"], ["CHAT_SESSION_MINUTES": "181"], ["CHANNEL_ROOM_MAP": #"{"c":"not-a-room"}"#]] {
            let all = env.merging(["INVITES_TABLE": "t-1"]) { $1 }
            #expect(throws: InitError.self) { try MultihostInviteConfiguration.fromEnvironment { all[$0] } }
        }
    }

    @Test func channelStateIsPublicValidatedAndReadFromOurOwnState() {
        channels.states[Self.channel] = ChannelState(channelArn: Self.channel, live: true, eventId: "e1", eventTime: "2026-11-21T10:23:43Z",
                                                     eventEpochSeconds: 1_795_256_623, startTime: "2026-11-21T10:23:43Z", streamId: "st-1")
        let handler = handler()
        let on = chatToken(#"{"channelArn":"\#(Self.channel)"}"#, caller: nil, path: "/channel/state", to: handler)
        #expect(on.status == 200)
        #expect(on.body == .object([("channelArn", .string(Self.channel)), ("live", .bool(true)), ("stateTime", .string("2026-11-21T10:23:43Z")),
                                    ("eventId", .string("e1")), ("startTime", .string("2026-11-21T10:23:43Z"))]))
        // Nothing is kept in the process: the next answer is the stored state again.
        _ = chatToken(#"{"channelArn":"\#(Self.channel)"}"#, caller: nil, path: "/channel/state", to: handler)
        #expect(channels.reads == 2)
        channels.states[Self.channel] = ChannelState(channelArn: Self.channel, live: false, eventId: "e2", eventTime: "2026-11-21T11:00:00Z",
                                                     eventEpochSeconds: 1_795_258_800)
        #expect(chatToken(#"{"channelArn":"\#(Self.channel)"}"#, caller: nil, path: "/channel/state", to: handler).body
            == .object([("channelArn", .string(Self.channel)), ("live", .bool(false)), ("stateTime", .string("2026-11-21T11:00:00Z")),
                        ("eventId", .string("e2"))]))
        // A channel never seen: offline, with no time to order by.
        let other = "arn:aws:ivs:us-east-1:123456789012:channel/Quiet1"
        #expect(chatToken(#"{"channelArn":"\#(other)"}"#, caller: nil, path: "/channel/state", to: handler).body
            == .object([("channelArn", .string(other)), ("live", .bool(false))]))
        #expect(chatToken(#"{"channelArn":"arn:aws:ivs:us-east-1:123456789012:stage/X"}"#, caller: nil, path: "/channel/state", to: handler).status == 400)
        #expect(chatToken("{}", caller: nil, path: "/channel/state", to: handler).status == 400)
        #expect(chatToken("nope", caller: nil, path: "/channel/state", to: handler).status == 400)
        // With CHANNEL_ROOM_MAP, only its channels are this deployment's.
        configuration.roomsByChannel = [Self.channel: Self.channelRoom]
        #expect(chatToken(#"{"channelArn":"\#(other)"}"#, caller: nil, path: "/channel/state", to: self.handler()).status == 404)
        #expect(chatToken(#"{"channelArn":"\#(Self.channel)"}"#, caller: nil, path: "/channel/state", to: self.handler()).status == 200)
    }

    @Test func channelStateFailuresAreRetryableAnswers() {
        channels.failure = throttling("dynamodb", "GetItem")
        let answer = send("POST", "/channel/state", body: #"{"channelArn":"\#(Self.channel)"}"#, caller: nil)
        #expect(answer.status == 429)
        let retryAfter = answer.response.headers.first { $0.key == "retry-after" }.flatMap { Int($0.value) }
        #expect(retryAfter.map { (1...2).contains($0) } == true)
        let noTable = MultihostInviteHandler(configuration: configuration, stages: stages, store: store, chat: chat, rooms: rooms, channelStates: nil)
        #expect(chatToken(#"{"channelArn":"\#(Self.channel)"}"#, caller: nil, path: "/channel/state", to: noTable).status == 404)
    }
}
