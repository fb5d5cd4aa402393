import AWSServices
import Foundation
import JSON

/// The IVS Chat messaging side of `IVSStandIn`: what `wss://edge.ivschat.<region>.amazonaws.com` does
/// for a client. A client opens a WebSocket with a chat token from `CreateChatToken` as its
/// subprotocol; a token connects once and only until it expires, and an unknown, used or expired one
/// is refused at the handshake (401). Every `SendEvent` to a room reaches the room's connected clients
/// as the service's `EVENT` frame. A client's `SEND_MESSAGE` (`{"Action", "RequestId", "Content",
/// "Attributes"}`) is refused with the service's `ERROR` frame (403) unless its token has `SEND_MESSAGE`;
/// else it goes through the room's message review handler, if it has one (`setReviewHandler`: invoked
/// with IVS Chat's request, 200 ms, the room's fallback on a time-out, an error or an invalid answer),
/// and reaches every client of the room as a `MESSAGE` frame with the reviewed content and
/// attributes, or the sender gets a 406 `ERROR` (with the handler's `Reason`). Other actions get a 400 `ERROR`.
public final class ChatMessagingStandIn: @unchecked Sendable {
    /// A token `CreateChatToken` issued.
    struct IssuedToken {
        let room: String
        let userId: String
        let capabilities: [String]
        let attributes: [String: String]
        let expires: Date
        let sessionEnds: Date
        var used = false
    }

    /// A connected client.
    public struct Client: Sendable {
        public let room: String
        public let userId: String
        public let capabilities: [String]
        let attributes: [String: String]
        let connection: WebSocketConnection
        let sessionEnds: Date
    }

    private let lock = NSLock()
    private var tokens: [String: IssuedToken] = [:]
    private var clients: [ObjectIdentifier: Client] = [:]
    private var refused = 0
    /// How long a new token may be used to connect (the service's tokens last an hour or less).
    public var tokenLifetimeSeconds: Double {
        get { lock.withLock { lifetime } }
        set { lock.withLock { lifetime = newValue } }
    }
    private var lifetime: Double = 3600

    init() {}

    /// Records a token just issued; returns its expiry.
    func issue(_ token: String, room: String, userId: String, capabilities: [String], sessionMinutes: Int,
               attributes: [String: String] = [:]) -> (expires: Date, sessionEnds: Date) {
        let now = Date()
        return lock.withLock {
            let issued = IssuedToken(room: room, userId: userId, capabilities: capabilities, attributes: attributes, expires: now.addingTimeInterval(lifetime),
                                     sessionEnds: now.addingTimeInterval(Double(sessionMinutes) * 60))
            tokens[token] = issued
            return (issued.expires, issued.sessionEnds)
        }
    }

    /// The answer to a WebSocket handshake: the upgrade, or 401 as the service refuses a bad token.
    /// While true, connections are refused as if the network were gone (a train tunnel, a closed
    /// laptop lid): clients cannot reconnect, and what is sent meanwhile never reaches them.
    public var outage: Bool {
        get { lock.withLock { inOutage } }
        set { lock.withLock { inOutage = newValue } }
    }
    private var inOutage = false

    func handshake(_ request: ServerRequest) -> ServerReply {
        if outage { return .json(503, #"{"ErrorCode":503,"ErrorMessage":"unreachable","Type":"ERROR"}"#) }
        let offered = (request.header("sec-websocket-protocol") ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let accepted: (token: String, issued: IssuedToken)? = lock.withLock {
            for token in offered {
                guard var issued = tokens[token], !issued.used, issued.expires > Date() else { continue }
                issued.used = true
                tokens[token] = issued
                return (token, issued)
            }
            refused += 1
            return nil
        }
        guard let accepted else {
            return .json(401, #"{"ErrorCode":401,"ErrorMessage":"the chat token is missing, unknown, already used or expired","Type":"ERROR"}"#)
        }
        return .webSocket(subprotocol: accepted.token) { [weak self] connection in
            guard let self else { return }
            let id = ObjectIdentifier(connection)
            let client = Client(room: accepted.issued.room, userId: accepted.issued.userId, capabilities: accepted.issued.capabilities,
                                attributes: accepted.issued.attributes, connection: connection, sessionEnds: accepted.issued.sessionEnds)
            lock.withLock { clients[id] = client }
            connection.onClose { [weak self] in self?.lock.withLock { _ = self?.clients.removeValue(forKey: id) } }
            connection.onText { [weak self] text in
                guard let self, let client = lock.withLock({ clients[id] }) else { return }
                received(text, from: client)
            }
        }
    }

    /// Sends a `SendEvent` to every client connected to `room`, as the service's `EVENT` frame.
    func deliver(room: String, id: String, eventName: String, attributes: [String: String], sendTime: String) {
        let frame = JSONValue.object([
            ("Type", .string("EVENT")), ("Id", .string(id)), ("RequestId", .string("")), ("EventName", .string(eventName)),
            ("Attributes", .stringMap(attributes)),
            ("SendTime", .string(sendTime)),
        ]).compactText
        let now = Date()
        for client in lock.withLock({ Array(clients.values) }) where client.room == room {
            if client.sessionEnds <= now { client.connection.close(code: 1000, reason: "session expired"); continue }
            client.connection.send(text: frame)
        }
    }

    // MARK: - Messages

    /// What the room's review handler is: `invoke` hands it IVS Chat's request and returns its answer,
    /// or nil when it gave none within the budget (a time-out or a function error).
    public struct ReviewHandler: Sendable {
        public var invoke: @Sendable (_ request: [UInt8], _ budgetMilliseconds: Int) -> [UInt8]?
        /// The room's `fallbackResult`: true for ALLOW.
        public var fallbackAllows: Bool
        public init(fallbackAllows: Bool, invoke: @escaping @Sendable (_ request: [UInt8], _ budgetMilliseconds: Int) -> [UInt8]?) {
            self.invoke = invoke
            self.fallbackAllows = fallbackAllows
        }
    }

    /// IVS Chat's budget for a review (not adjustable).
    public static let reviewBudgetMilliseconds = 200
    /// The room's maximum message length (the service's default and maximum, as `GetRoom` answers).
    public static let maximumMessageLength = 500

    /// One message's fate, for tests.
    public struct Reviewed: Sendable, Equatable {
        public let messageId: String
        public let userId: String
        /// `ALLOW`, `DENY`, or `FALLBACK_ALLOW` / `FALLBACK_DENY` when the handler gave no valid answer in time.
        public let outcome: String
    }

    private var reviewers: [String: ReviewHandler] = [:]
    private var reviewed: [Reviewed] = []

    /// Sets (or with nil removes) the room's message review handler.
    public func setReviewHandler(room: String, _ handler: ReviewHandler?) { lock.withLock { reviewers[room] = handler } }

    /// Every message reviewed (or delivered without review), in order.
    public var reviews: [Reviewed] { lock.withLock { reviewed } }

    private func received(_ text: String, from client: Client) {
        let request = try? JSONValue.parse(Array(text.utf8))
        let requestId = request?["RequestId"]?.stringValue ?? ""
        func error(_ code: Int, _ message: String, id: String = IVSStandIn.randomString(12)) {
            let frame = JSONValue.object([("ErrorCode", .int(code)), ("ErrorMessage", .string(message)), ("Id", .string(id)),
                                          ("RequestId", .string(requestId)), ("Type", .string("ERROR"))])
            client.connection.send(text: frame.compactText)
        }
        guard let request, request.objectValue != nil, let action = request["Action"]?.stringValue else { return error(400, "the request is malformed") }
        guard action == "SEND_MESSAGE" else { return error(400, "the local stand-in does not implement \(action)") }
        guard client.capabilities.contains("SEND_MESSAGE") else {
            return error(403, "the connection's capabilities do not permit this action")
        }
        guard let content = request["Content"]?.stringValue, !content.isEmpty else { return error(400, "Content is required") }
        guard content.count <= Self.maximumMessageLength else { return error(400, "messages must be at most \(Self.maximumMessageLength) characters") }
        let attributes = request["Attributes"]?.stringMap ?? [:]
        guard IVSConstraints.attributesProblem(attributes) == nil else { return error(413, "attributes are too large") }
        let messageId = IVSStandIn.randomString(12)
        var deliveredContent = content, deliveredAttributes = attributes
        var outcome = "ALLOW"
        if let reviewer = lock.withLock({ reviewers[client.room] }) {
            let reviewRequest = JSONValue.object([
                ("Content", .string(content)), ("MessageId", .string(messageId)), ("RoomArn", .string(client.room)),
                ("Attributes", .stringMap(attributes)),
                ("Sender", .object([("Attributes", .stringMap(client.attributes)), ("UserId", .string(client.userId)), ("Ip", .string("127.0.0.1"))])),
            ])
            let answer = reviewer.invoke(reviewRequest.serialized(), Self.reviewBudgetMilliseconds).flatMap { try? JSONValue.parse($0) }
            if let answer, let result = Self.validReviewResult(answer) {
                if result == "DENY" {
                    record(Reviewed(messageId: messageId, userId: client.userId, outcome: "DENY"))
                    return error(406, answer["Attributes"]?["Reason"]?.stringValue ?? "the message was denied by the room's review", id: messageId)
                }
                if let reviewedContent = answer["Content"]?.stringValue { deliveredContent = reviewedContent }
                if let reviewedAttributes = answer["Attributes"] { deliveredAttributes = reviewedAttributes.stringMap }
            } else if reviewer.fallbackAllows {
                outcome = "FALLBACK_ALLOW"
            } else {
                record(Reviewed(messageId: messageId, userId: client.userId, outcome: "FALLBACK_DENY"))
                return error(406, "the message could not be reviewed", id: messageId)
            }
        }
        record(Reviewed(messageId: messageId, userId: client.userId, outcome: outcome))
        let frame = JSONValue.object([
            ("Type", .string("MESSAGE")), ("Id", .string(messageId)), ("RequestId", .string(requestId)),
            ("Attributes", .stringMap(deliveredAttributes)), ("Content", .string(deliveredContent)),
            ("SendTime", .string(IVSStandIn.iso8601(Date()))),
            ("Sender", .object([("UserId", .string(client.userId)), ("Attributes", .stringMap(client.attributes))])),
        ]).compactText
        for other in lock.withLock({ Array(clients.values) }) where other.room == client.room { other.connection.send(text: frame) }
    }

    private func record(_ review: Reviewed) { lock.withLock { reviewed.append(review) } }

    /// The answer's `ReviewResult` when the whole answer is valid (as IVS Chat checks it), else nil.
    static func validReviewResult(_ answer: JSONValue) -> String? {
        guard let members = answer.objectValue, let result = answer["ReviewResult"]?.stringValue, result == "ALLOW" || result == "DENY" else { return nil }
        for (key, value) in members {
            switch key {
            case "ReviewResult": continue
            case "Content":
                guard let s = value.stringValue, !s.isEmpty, s.utf8.count <= 1024 else { return nil }
            case "Attributes":
                guard let object = value.objectValue, object.allSatisfy({ $0.value.stringValue != nil }),
                      IVSConstraints.attributesProblem(value.stringMap) == nil else { return nil }
            default: return nil
            }
        }
        return result
    }

    /// `DisconnectUser`: the room's clients get `aws:DISCONNECT_USER`, then the user's connections close.
    func disconnect(room: String, userId: String, reason: String, eventId: String, sendTime: String) {
        deliver(room: room, id: eventId, eventName: "aws:DISCONNECT_USER", attributes: ["UserId": userId, "Reason": reason], sendTime: sendTime)
        for client in lock.withLock({ Array(clients.values) }) where client.room == room && client.userId.utf8.elementsEqual(userId.utf8) {
            client.connection.close(code: 1000, reason: reason.isEmpty ? "disconnected" : String(reason.prefix(100)))
        }
    }

    /// The clients connected now.
    public var connectedClients: [Client] { lock.withLock { Array(clients.values) } }

    /// Handshakes refused for a missing, unknown, used or expired token.
    public var refusedHandshakes: Int { lock.withLock { refused } }

    /// Closes every connection (as the service does when it goes away).
    public func closeAll() {
        for client in lock.withLock({ Array(clients.values) }) { client.connection.close(code: 1001, reason: "going away") }
    }
}
