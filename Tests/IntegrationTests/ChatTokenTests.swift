import Essentials
import Foundation
import JSON
import LocalHarness
import Testing

/// Chat tokens through the real binary (`POST /chat/token`, `/chat/guest-token`,
/// `/multihost/guest-viewer-token`), and the IVS Chat messaging stand-in they connect to: a token
/// connects once and until it expires, an unknown one is refused, and every `SendEvent` reaches the
/// room's clients in the service's EVENT frame.
@Suite struct ChatTokenTests {
    typealias S = MultihostSandbox
    typealias Fixture = MultihostInviteTests.Fixture
    static let channel = ViewerStack.channelArn

    @Test func signedInUserGetsATokenUnderTheirIdentityAndTheOwnerModerates() throws {
        let f = try Fixture(env: ["CHAT_ROOM_ARN": S.roomArn])
        let viewer = try f.call("POST", "/chat/token", body: #"{"channelArn":"\#(Self.channel)"}"#, caller: S.guest)
        #expect(viewer.status == 200, "\(viewer.raw)")
        #expect(viewer.body["userId"] == .string(S.guest) && viewer.body["roomArn"] == .string(S.roomArn))
        #expect(viewer.body["capabilities"] == .array([.string("SEND_MESSAGE")]))
        let token = try #require(viewer.body["token"]?.stringValue)
        #expect(viewer.body["sessionExpirationTime"]?.stringValue != nil)

        let owner = try f.call("POST", "/chat/token", body: #"{"stageArn":"\#(S.stageArn)"}"#, caller: S.broadcaster)
        #expect(owner.status == 200, "\(owner.raw)")
        #expect(owner.body["capabilities"] == .array([.string("SEND_MESSAGE"), .string("DISCONNECT_USER"), .string("DELETE_MESSAGE")]))

        // The stand-in knows whose token it is; the function's logs (DEBUG) never carry it.
        let ws = try WebSocketClient(url: f.sandbox.ivs.messagingURL, subprotocol: token)
        #expect(ws.status == 101 && ws.subprotocol == token)
        let client = try #require(f.sandbox.ivs.messaging.connectedClients.first)
        #expect(client.userId == S.guest && client.room == S.roomArn && client.capabilities == ["SEND_MESSAGE"])
        // The log lines arrive on their own; wait (bounded) for the token's own line before looking.
        let deadline = Date().addingTimeInterval(10)
        while !f.function.process.lines.contains(where: { $0.contains("chat token for \(S.broadcaster)") }), Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(f.function.process.lines.contains { $0.contains("chat token for \(S.guest)") })
        #expect(!f.function.process.lines.joined().contains(token))
    }

    @Test func guestsGetReceiveOnlyTokensOnlyWhenAllowed() throws {
        let off = try Fixture(env: ["CHAT_ROOM_ARN": S.roomArn])
        let refused = try off.call("POST", "/chat/guest-token", body: "{}", caller: nil)
        #expect(refused.status == 403, "\(refused.raw)")
        #expect(refused.body["message"]?.stringValue?.contains("ALLOW_GUESTS") == true)

        let on = try Fixture(env: ["CHAT_ROOM_ARN": S.roomArn, "ALLOW_GUESTS": "true", "GUEST_STAGE_ARNS": S.stageArn])
        let first = try on.call("POST", "/chat/guest-token", body: "{}", caller: nil)
        let second = try on.call("POST", "/chat/guest-token", body: nil, caller: nil)
        #expect(first.status == 200 && second.status == 200, "\(first.raw) \(second.raw)")
        let id = try #require(first.body["userId"]?.stringValue)
        #expect(id.hasPrefix("guest-") && id.count == 22 && second.body["userId"]?.stringValue != id)
        #expect(first.body["capabilities"] == .array([]))
        // A guest route ignores claims: the caller cannot name who it is.
        let claimed = try on.call("POST", "/chat/guest-token", body: "{}", caller: S.broadcaster)
        #expect(claimed.body["userId"]?.stringValue?.hasPrefix("guest-") == true)
        #expect(on.sandbox.ivs.requestCount(for: "GetRoom") == 0)

        let watch = try on.call("POST", "/multihost/guest-viewer-token", body: #"{"stageArn":"\#(S.stageArn)"}"#, caller: nil)
        #expect(watch.status == 200, "\(watch.raw)")
        #expect(watch.body["token"]?.stringValue != nil && watch.body["stageArn"] == .string(S.stageArn))
    }

    @Test(arguments: [
        (#"{"stageArn":"arn:aws:ivs:us-east-1:123456789012:stage/Missing1"}"#, 404, "no stage"),
        (#"{"channelArn":"not-an-arn"}"#, 400, "channelArn"),
        (#"{"stageArn":"x","channelArn":"y"}"#, 400, "not both"),
        (#"{"roomArn":"arn:aws:ivschat:us-east-1:123456789012:room/Other"}"#, 200, ""),
        ("[1]", 400, "JSON object"),
    ])
    func badRequestsGetAClear4xxNeverAFunctionError(body: String, status: Int, message: String) throws {
        let f = try Fixture(env: ["CHAT_ROOM_ARN": S.roomArn])
        let result = try f.call("POST", "/chat/token", body: body, caller: S.guest)
        #expect(result.status == status, "\(result.raw)")
        if status == 200 {
            // A room the client names is not a choice it has: the configured room it is.
            #expect(result.body["roomArn"] == .string(S.roomArn))
        } else {
            #expect(result.body["message"]?.stringValue?.contains(message) == true, "\(result.raw)")
        }
        let anonymous = try f.call("POST", "/chat/token", body: "{}", caller: nil)
        #expect(anonymous.status == 401)
    }

    @Test func aTokenConnectsOnceAndOnlyUntilItExpires() throws {
        let f = try Fixture(env: ["CHAT_ROOM_ARN": S.roomArn])
        let token = try #require(try Self.token(from: f))
        let refusedBefore = f.sandbox.ivs.messaging.refusedHandshakes
        let first = try WebSocketClient(url: f.sandbox.ivs.messagingURL, subprotocol: token)
        let again = try WebSocketClient(url: f.sandbox.ivs.messagingURL, subprotocol: token)
        let unknown = try WebSocketClient(url: f.sandbox.ivs.messagingURL, subprotocol: "AQICAHnotatoken")
        let none = try WebSocketClient(url: f.sandbox.ivs.messagingURL, subprotocol: nil)
        #expect(first.status == 101)
        #expect(again.status == 401 && unknown.status == 401 && none.status == 401)
        f.sandbox.ivs.messaging.tokenLifetimeSeconds = 0
        // A token really issued (a missing one would be refused too, proving nothing).
        let unused: String = try #require(try Self.token(from: f))
        let expired = try WebSocketClient(url: f.sandbox.ivs.messagingURL, subprotocol: unused)
        #expect(expired.status == 401)
        #expect(f.sandbox.ivs.messaging.refusedHandshakes == refusedBefore + 4)
    }

    @Test func everySendEventReachesTheRoomsClientsInTheServiceFrame() throws {
        let f = try Fixture(env: ["CHAT_ROOM_ARN": S.roomArn])
        let token: String = try #require(try Self.token(from: f))
        let ws = try WebSocketClient(url: f.sandbox.ivs.messagingURL, subprotocol: token)
        #expect(ws.status == 101)
        // The invite's chat event, sent by the real binary.
        let invite = try f.call(try MultihostInviteTests.sample("invite"))
        #expect(invite.status == 201, "\(invite.raw)")
        let text = try #require(ws.receiveText())
        let frame = try JSONValue.parse(text)
        #expect(frame["Type"] == .string("EVENT") && frame["EventName"] == .string("StreamCat:MultihostInvite"))
        #expect(frame["Id"]?.stringValue == f.sandbox.ivs.events.last?.id && frame["RequestId"] != nil)
        #expect(frame["Attributes"]?["userId"] == .string(S.guest))
        #expect(frame["SendTime"]?.stringValue.flatMap(UTCTimestamp.parseISO8601) != nil)
        #expect(!text.contains("eyJ"), "no participant token in what every room member receives")
        // An action the service does not know gets its ERROR frame (400). (Messages: MessageReviewTests.)
        ws.send(text: #"{"Action":"NOT_AN_ACTION","RequestId":"r-1","Content":"hi"}"#)
        let error = try JSONValue.parse(try #require(ws.receiveText()))
        #expect(error["Type"] == .string("ERROR") && error["RequestId"] == .string("r-1") && error["ErrorCode"] == .int(400))
    }

    @Test func channelStateIsWhatStreamStartedRecordedNeverGetStream() throws {
        let f = try Fixture(env: ["CHAT_ROOM_ARN": S.roomArn])
        let streams = try LocalFunction(handler: "streamStarted", environment: f.sandbox.environment.merging(["CHAT_ROOM_ARN": S.roomArn]) { $1 })
        defer { streams.stop() }
        let body = #"{"channelArn":"\#(Self.channel)"}"#
        let unseen = try f.call("POST", "/channel/state", body: body, caller: nil)
        #expect(unseen.status == 200 && unseen.body == .object([("channelArn", .string(Self.channel)), ("live", .bool(false))]), "\(unseen.raw)")

        func event(_ name: String, _ id: String, _ time: String) throws -> JSONValue {
            let text = try String(contentsOfFile: BuildProducts.packageRoot + "/events/stream-start.json", encoding: .utf8)
            var e = try JSONValue.parse(Array(text.utf8))
            guard case var .object(members) = e else { return e }
            for i in members.indices {
                if members[i].key == "id" { members[i].value = .string(id) }
                if members[i].key == "time" { members[i].value = .string(time) }
                if members[i].key == "detail", case var .object(d) = members[i].value, let k = d.firstIndex(where: { $0.key == "event_name" }) {
                    d[k].value = .string(name)
                    members[i].value = .object(d)
                }
            }
            e = .object(members)
            return try JSONValue.parse(streams.invoke(e.serialized()).text)
        }
        #expect(try event("Stream Start", "start-1", "2026-11-30T10:00:00Z")["sent"] == .bool(true))
        let live = try f.call("POST", "/channel/state", body: body, caller: nil)
        #expect(live.body == .object([("channelArn", .string(Self.channel)), ("live", .bool(true)), ("stateTime", .string("2026-11-30T10:00:00Z")),
                                      ("eventId", .string("start-1")), ("startTime", .string("2026-11-30T10:00:00Z"))]), "\(live.raw)")
        #expect(try event("Stream End", "end-1", "2026-11-30T11:00:00Z")["sent"] == .bool(true))
        // The Start again, late: the state stays offline and the room gets nothing.
        let sent = f.sandbox.ivs.events.count
        #expect(try event("Stream Start", "start-1", "2026-11-30T10:00:00Z")["sent"] == .bool(false))
        #expect(f.sandbox.ivs.events.count == sent)
        let offline = try f.call("POST", "/channel/state", body: body, caller: nil)
        #expect(offline.body["live"] == .bool(false) && offline.body["stateTime"] == .string("2026-11-30T11:00:00Z"), "\(offline.raw)")
        #expect(f.sandbox.ivs.requestCount(for: "GetStream") == 0 && f.sandbox.ivs.rejectedSignatures == 0)
    }

    static func token(from f: Fixture) throws -> String? {
        try f.call("POST", "/chat/token", body: "{}", caller: S.guest).body["token"]?.stringValue
    }
}
