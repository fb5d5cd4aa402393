import Foundation
import HTTPTransport
import JSON
import LocalHarness
import Testing

/// The review handler through the real binary, invoked as IVS Chat invokes it, and moderation end to
/// end: bans through the API routes (stored in moto's DynamoDB, `DisconnectUser` on the stand-in),
/// messages through the chat stand-in and the review function.
@Suite struct MessageReviewIntegrationTests {
    typealias S = MultihostSandbox

    static func request(_ content: String, user: String = "viewer-1", room: String = S.roomArn) -> String {
        #"{"Content":\#(JSONValue.quoted(content)),"MessageId":"AbCdEf123456","RoomArn":"\#(room)","Attributes":{"k":"v"},"Sender":{"Attributes":{"username":"v"},"UserId":"\#(user)","Ip":"203.0.113.7"}}"#
    }

    static func answer(_ outcome: RuntimeAPIEmulator.Outcome) throws -> JSONValue {
        guard case let .response(body) = outcome else { throw TestFailure("no response: \(outcome.text)") }
        return try JSONValue.parse(body)
    }

    struct TestFailure: Error, CustomStringConvertible { let description: String; init(_ d: String) { description = d } }

    @Test func reviewsAsIVSChatInvokesItWithoutLoggingContent() throws {
        let function = try LocalFunction(handler: "messageReview", environment: ViewerStack.reviewRules.merging(["AWS_LAMBDA_LOG_LEVEL": "DEBUG"]) { $1 })
        defer { function.stop() }
        let allowed = try Self.answer(function.invoke(Self.request("hello secret-words-7 there")))
        #expect(allowed.compactText == #"{"ReviewResult":"ALLOW","Content":"hello secret-words-7 there","Attributes":{"k":"v"}}"#)
        let masked = try Self.answer(function.invoke(Self.request("oh DÀRN it")))
        #expect(masked["ReviewResult"] == .string("ALLOW") && masked["Content"] == .string("oh **** it"))
        let denied = try Self.answer(function.invoke(Self.request("b\u{0430}dword")))
        #expect(denied.compactText == #"{"ReviewResult":"DENY","Attributes":{"Reason":"message contains a blocked term"}}"#)
        let link = try Self.answer(function.invoke(Self.request("see https://evil.example.net/x")))
        #expect(link["ReviewResult"] == .string("DENY"))
        #expect(try Self.answer(function.invoke("not json"))["ReviewResult"] == .string("DENY"))
        // Logged by message id and user id; never the content.
        let deadline = Date().addingTimeInterval(10)
        while function.process.lines.filter({ $0.contains("review AbCdEf123456 by viewer-1") }).count < 4, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        let logs = function.process.lines.joined(separator: "\n")
        #expect(logs.contains("review AbCdEf123456 by viewer-1: DENY"))
        #expect(!logs.contains("secret-words-7") && !logs.contains("DÀRN") && !logs.contains("evil.example"))
    }

    @Test(arguments: [("REVIEW_LINK_POLICY", "sometimes"), ("REVIEW_BLOCKED_TERMS", "[{\"term\":1}]"), ("REVIEW_MAX_LENGTH", "0"),
                      ("REVIEW_BAN_LOOKUP_MS", "500")])
    func badConfigurationIsAnInitErrorNamingTheVariable(variable: String, value: String) throws {
        let function = try LocalFunction(handler: "messageReview", environment: [variable: value])
        defer { function.stop() }
        let error = try #require(function.emulator.waitForInitError())
        #expect(error.type == "Runtime.InvalidConfiguration")
        #expect(String(decoding: error.body, as: UTF8.self).contains(variable))
    }

    /// A token for `user` (nil: a guest) from the local API gateway, as the page gets it.
    static func chatToken(_ stack: ViewerStack, user: String?) throws -> JSONValue {
        var headers = [("Content-Type", "application/json")]
        if let user { headers.append(("Authorization", "Bearer \(stack.gateway.signIn(userId: user, username: user))")) }
        let response = try CurlConnection().perform(HTTPRequest(method: "POST", url: stack.url + (user == nil ? "/chat/guest-token" : "/chat/token"),
                                                                headers: headers, body: Array("{}".utf8)))
        return try JSONValue.parse(response.body)
    }

    static func api(_ stack: ViewerStack, _ method: String, _ path: String, body: String?, as user: String) throws -> (status: Int, body: JSONValue) {
        let response = try CurlConnection().perform(HTTPRequest(
            method: method, url: stack.url + path,
            headers: [("Authorization", "Bearer \(stack.gateway.signIn(userId: user, username: user))"), ("Content-Type", "application/json")],
            body: body.map { Array($0.utf8) } ?? []))
        return (response.status, response.body.isEmpty ? .null : try JSONValue.parse(response.body))
    }

    /// The next frame of `type` (skipping others), or nil when the connection closed or went quiet.
    static func next(_ type: String, from client: WebSocketClient) -> JSONValue? {
        while case let .text(text) = client.receive() {
            if let frame = try? JSONValue.parse(text), frame["Type"] == .string(type) { return frame }
        }
        return nil
    }

    @Test func chatThroughTheReviewBansAndGuests() throws {
        let stack = try ViewerStack(moto: MotoServer.shared())
        defer { stack.stop() }
        let owner = S.broadcaster, troll = "troll-1", reader = "reader-1"
        func connect(_ user: String?) throws -> (WebSocketClient, JSONValue) {
            let token = try Self.chatToken(stack, user: user)
            let client = try WebSocketClient(url: stack.ivs.messagingURL, subprotocol: token["token"]?.stringValue ?? "")
            #expect(client.status == 101)
            return (client, token)
        }
        let (ownerSocket, ownerToken) = try connect(owner)
        let (trollSocket, trollToken) = try connect(troll)
        let (readerSocket, _) = try connect(reader)
        let (guestSocket, guestToken) = try connect(nil)
        #expect(ownerToken["isAdmin"] == .bool(true) && trollToken["isAdmin"] == .bool(false) && guestToken["capabilities"] == .array([]))

        // A masked message reaches every client masked, in the service's MESSAGE frame.
        trollSocket.send(text: #"{"Action":"SEND_MESSAGE","RequestId":"r1","Content":"well darn","Attributes":{"color":"red"}}"#)
        for socket in [ownerSocket, trollSocket, readerSocket, guestSocket] {
            let frame = try #require(Self.next("MESSAGE", from: socket))
            #expect(frame["Content"] == .string("well ****") && frame["Attributes"] == .object([("color", .string("red"))]))
            #expect(frame["Sender"]?["UserId"] == .string(troll) && frame["RequestId"] == .string("r1") && frame["Id"]?.stringValue?.count == 12)
        }
        // A denied one reaches nobody; its sender gets a 406 with the reason.
        trollSocket.send(text: #"{"Action":"SEND_MESSAGE","RequestId":"r2","Content":"badword!"}"#)
        let refused = try #require(Self.next("ERROR", from: trollSocket))
        #expect(refused["ErrorCode"] == .int(406) && refused["RequestId"] == .string("r2"))
        #expect(refused["ErrorMessage"] == .string("message contains a blocked term"))
        readerSocket.send(text: #"{"Action":"SEND_MESSAGE","RequestId":"r3","Content":"after"}"#)
        #expect(Self.next("MESSAGE", from: ownerSocket)?["Content"] == .string("after"), "the denied message never arrived before the next one")

        // A guest cannot send (403), as the service refuses a token without SEND_MESSAGE.
        guestSocket.send(text: #"{"Action":"SEND_MESSAGE","RequestId":"g1","Content":"hi"}"#)
        let forbidden = try #require(Self.next("ERROR", from: guestSocket))
        #expect(forbidden["ErrorCode"] == .int(403) && forbidden["RequestId"] == .string("g1"))

        // Only the owner bans; a ban disconnects the user and denies their messages from then on.
        #expect(try Self.api(stack, "POST", "/chat/ban", body: #"{"userId":"\#(troll)"}"#, as: reader).status == 403)
        #expect(try Self.api(stack, "POST", "/chat/ban", body: #"{"userId":""}"#, as: owner).status == 400)
        let banned = try Self.api(stack, "POST", "/chat/ban", body: #"{"userId":"\#(troll)","durationMinutes":30}"#, as: owner)
        #expect(banned.status == 201, "\(banned.body.compactText)")
        #expect(stack.ivs.disconnected.map(\.userId) == [troll])
        let notice = try #require(Self.next("EVENT", from: readerSocket))
        #expect(notice["EventName"] == .string("aws:DISCONNECT_USER") && notice["Attributes"]?["UserId"] == .string(troll))
        var end = trollSocket.receive()
        while case .text = end { end = trollSocket.receive() }
        if case .closed = end {} else { Issue.record("the banned user's socket is not closed: \(end)") }
        let (again, _) = try connect(troll)
        again.send(text: #"{"Action":"SEND_MESSAGE","RequestId":"r4","Content":"i am back"}"#)
        let denied = try #require(Self.next("ERROR", from: again))
        #expect(denied["ErrorCode"] == .int(406) && denied["ErrorMessage"] == .string("you are banned from this room"))
        let list = try Self.api(stack, "GET", "/chat/bans", body: nil, as: owner)
        #expect(list.status == 200 && list.body["bans"]?.arrayValue?.first?["userId"] == .string(troll))
        #expect(try Self.api(stack, "GET", "/chat/bans", body: nil, as: troll).status == 403)

        // Unbanned: the next message goes through.
        #expect(try Self.api(stack, "POST", "/chat/unban", body: #"{"userId":"\#(troll)"}"#, as: owner).status == 204)
        again.send(text: #"{"Action":"SEND_MESSAGE","RequestId":"r5","Content":"sorry"}"#)
        #expect(Self.next("MESSAGE", from: again)?["Content"] == .string("sorry"))
        #expect(stack.ivs.messaging.reviews.map(\.outcome) == ["ALLOW", "DENY", "ALLOW", "DENY", "ALLOW"])
    }

    @Test func aReviewerThatGivesNoValidAnswerGetsTheRoomsFallback() throws {
        let stack = try ViewerStack(moto: MotoServer.shared(), reviewFallbackAllows: false)
        defer { stack.stop() }
        stack.ivs.messaging.setReviewHandler(room: ViewerStack.roomArn, .init(fallbackAllows: false) { _, _ in Array(#"{"ReviewResult":"MAYBE"}"#.utf8) })
        let token = try Self.chatToken(stack, user: "someone")
        let socket = try WebSocketClient(url: stack.ivs.messagingURL, subprotocol: token["token"]?.stringValue ?? "")
        socket.send(text: #"{"Action":"SEND_MESSAGE","RequestId":"f1","Content":"hello"}"#)
        #expect(Self.next("ERROR", from: socket)?["ErrorCode"] == .int(406))
        stack.ivs.messaging.setReviewHandler(room: ViewerStack.roomArn, .init(fallbackAllows: true) { _, _ in nil })
        socket.send(text: #"{"Action":"SEND_MESSAGE","RequestId":"f2","Content":"hello"}"#)
        #expect(Self.next("MESSAGE", from: socket)?["Content"] == .string("hello"))
        #expect(stack.ivs.messaging.reviews.map(\.outcome) == ["FALLBACK_DENY", "FALLBACK_ALLOW"])
    }
}
