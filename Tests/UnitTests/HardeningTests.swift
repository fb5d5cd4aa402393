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

    let stages = FakeStages()
    let store = FakeInviteStore()
    let chat = FakeChat()
    let rooms = FakeChatRooms()
    let channels = FakeChannels()
    var configuration = MultihostInviteConfiguration(table: "invites")

    init() {
        stages.stages[Self.stage] = StageDetails(arn: Self.stage, name: "demo", tags: [OwnerTag.defaultKey: "host", "chatRoomArn": Self.room])
        rooms.rooms[Self.room] = ChatRoomDetails(arn: Self.room, name: "demo", tags: [OwnerTag.defaultKey: "host"])
    }

    func handler() -> MultihostInviteHandler {
        MultihostInviteHandler(configuration: configuration, stages: stages, store: store, chat: chat, rooms: rooms, channels: channels,
                               now: { MultihostInviteHandlerTests.now })
    }

    func send(_ method: String, _ path: String, body: String? = nil, claims: [String: String],
              to handler: MultihostInviteHandler? = nil) -> (status: Int, body: JSONValue) {
        let request = HTTPAPIRequest(method: method, path: path, body: Array((body ?? "").utf8), claims: claims)
        let response = (handler ?? self.handler()).respond(to: request, call: AWSCallContext(deadline: Int64.max / 2))
        return (response.statusCode, response.body ?? .null)
    }

    func send(_ method: String, _ path: String, body: String? = nil, caller: String?) -> (status: Int, body: JSONValue) {
        send(method, path, body: body, claims: caller.map { ["sub": $0] } ?? [:])
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
        #expect(stages.stageLookups == 0 && stages.issued.isEmpty && channels.lookups == 0 && rooms.issued.isEmpty && store.items.isEmpty)
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
            #expect(HTTPAPIRequest.bodySize(of: event(text, base64: true)) >= n, "\(n)")
            #expect(HTTPAPIRequest.bodySize(of: event(text, base64: true)) <= n + 2, "\(n)")
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
        #expect(stages.issued.count == 1 && stages.revoked.isEmpty && store.items.count == 1)
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
}
