import AWSCore
import AWSServices
import Handlers
import JSON
import LambdaRuntime
import Testing

/// Records `DisconnectUser` calls.
final class FakeModeration: ChatModeration {
    var disconnected: [(room: String, userId: String)] = []
    var failure: Error?
    func disconnectUser(roomArn: String, userId: String, reason: String, call: AWSCallContext) throws {
        if let failure { throw failure }
        disconnected.append((roomArn, userId))
    }
}

@Suite final class ModerationRoutesTests {
    static let room = MultihostInviteHandlerTests.room
    let base = MultihostInviteHandlerTests()
    let bans = FakeBans()
    let moderation = FakeModeration()

    init() { base.configuration.defaultRoom = Self.room }

    func handler(bans: BanStoring? = nil) -> MultihostInviteHandler {
        MultihostInviteHandler(configuration: base.configuration, stages: base.stages, store: base.store, chat: base.chat, rooms: base.rooms,
                               channelStates: nil, bans: bans ?? self.bans, moderation: moderation, now: { MultihostInviteHandlerTests.now })
    }

    func send(_ method: String, _ path: String, _ body: String?, caller: String? = "host") -> (status: Int, body: JSONValue) {
        let r = base.send(method, path, body: body, caller: caller, to: handler())
        return (r.status, r.body)
    }

    @Test func ownerBansForAWhileAndTheUserIsDisconnected() throws {
        let r = send("POST", "/chat/ban", #"{"userId":"troll","durationMinutes":60}"#)
        #expect(r.status == 201)
        #expect(r.body["expiresAt"] == .string("2026-01-01T01:00:00Z") && r.body["roomArn"] == .string(Self.room))
        let ban = try #require(bans.bans[Self.room + "#troll"])
        #expect(ban.bannedBy == "host" && ban.expiresAt == MultihostInviteHandlerTests.now + 3600)
        #expect(moderation.disconnected.count == 1 && moderation.disconnected[0].userId == "troll" && moderation.disconnected[0].room == Self.room)
        let list = send("GET", "/chat/bans", nil)
        #expect(list.status == 200 && list.body["bans"] == .array([.object([("userId", .string("troll")), ("expiresAt", .string("2026-01-01T01:00:00Z"))])]))
        #expect(send("POST", "/chat/unban", #"{"userId":"troll"}"#).status == 204)
        #expect(bans.bans.isEmpty)
        #expect(send("GET", "/chat/bans", nil).body["bans"] == .array([]))
    }

    @Test func banWithoutEnd() {
        let r = send("POST", "/chat/ban", #"{"userId":"troll"}"#)
        #expect(r.status == 201 && r.body["expiresAt"] == nil)
        #expect(bans.bans[Self.room + "#troll"]?.expiresAt == nil)
    }

    @Test func onlyTheOwnerModeratesComparedByteForByte() {
        // "host" precomposed vs a caller whose id only looks the same is someone else.
        base.rooms.rooms[Self.room] = ChatRoomDetails(arn: Self.room, name: "demo", tags: [OwnerTag.defaultKey: "h\u{00F6}st"])
        #expect(send("POST", "/chat/ban", #"{"userId":"troll"}"#, caller: "ho\u{0308}st").status == 403)
        #expect(send("POST", "/chat/ban", #"{"userId":"troll"}"#, caller: "viewer").status == 403)
        #expect(send("POST", "/chat/unban", #"{"userId":"troll"}"#, caller: "viewer").status == 403)
        #expect(send("GET", "/chat/bans", nil, caller: "viewer").status == 403)
        #expect(send("POST", "/chat/ban", #"{"userId":"troll"}"#, caller: nil).status == 401)
        #expect(bans.bans.isEmpty && moderation.disconnected.isEmpty)
        #expect(send("POST", "/chat/ban", #"{"userId":"troll"}"#, caller: "h\u{00F6}st").status == 201)
    }

    @Test func badInputIs4xx() {
        for body in ["", "[]", #"{}"#, #"{"userId":""}"#, #"{"userId":5}"#, #"{"userId":"troll","durationMinutes":0}"#,
                     #"{"userId":"troll","durationMinutes":"5"}"#, #"{"userId":"troll","durationMinutes":525601}"#, #"{"userId":"host"}"#,
                     #"{"userId":"troll","channelArn":"nope"}"#] {
            let status = send("POST", "/chat/ban", body).status
            #expect(status == 400, "\(body) → \(status)")
        }
        #expect(send("POST", "/chat/ban", #"{"userId":"troll","chatArn":"arn:aws:ivschat:us-east-1:123456789012:room/Other"}"#).status == 403)
        #expect(send("GET", "/chat/ban", nil).status == 405)
        #expect(bans.bans.isEmpty && moderation.disconnected.isEmpty)
    }

    @Test func withoutAStateTableThereAreNoBans() {
        let h = MultihostInviteHandler(configuration: base.configuration, stages: base.stages, store: base.store, chat: base.chat,
                                       rooms: base.rooms, channelStates: nil)
        #expect(base.send("POST", "/chat/ban", body: #"{"userId":"troll"}"#, to: h).status == 404)
    }

    @Test func aFailedDisconnectKeepsTheBanAndSaysSo() {
        moderation.failure = LambdaError("Test.Down", "down")
        let r = send("POST", "/chat/ban", #"{"userId":"troll"}"#)
        #expect(r.status == 502)
        #expect(r.body["message"]?.stringValue?.contains("ban is saved") == true)
        #expect(bans.bans[Self.room + "#troll"] != nil)
    }
}
