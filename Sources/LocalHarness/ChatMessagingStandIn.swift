import AWSServices
import Foundation
import JSON

/// The IVS Chat messaging side of `IVSStandIn`: what `wss://edge.ivschat.<region>.amazonaws.com` does
/// for a client. A client opens a WebSocket with a chat token from `CreateChatToken` as its
/// subprotocol; a token connects once and only until it expires, and an unknown, used or expired one
/// is refused at the handshake (401). Every `SendEvent` to a room reaches the room's connected clients
/// as the service's `EVENT` frame; what clients send is answered with an `ERROR` frame (the stand-in
/// delivers events; it does not relay messages).
public final class ChatMessagingStandIn: @unchecked Sendable {
    /// A token `CreateChatToken` issued.
    struct IssuedToken {
        let room: String
        let userId: String
        let capabilities: [String]
        let expires: Date
        let sessionEnds: Date
        var used = false
    }

    /// A connected client.
    public struct Client: Sendable {
        public let room: String
        public let userId: String
        public let capabilities: [String]
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
    func issue(_ token: String, room: String, userId: String, capabilities: [String], sessionMinutes: Int) -> (expires: Date, sessionEnds: Date) {
        let now = Date()
        return lock.withLock {
            let issued = IssuedToken(room: room, userId: userId, capabilities: capabilities, expires: now.addingTimeInterval(lifetime),
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
                                connection: connection, sessionEnds: accepted.issued.sessionEnds)
            lock.withLock { clients[id] = client }
            connection.onClose { [weak self] in self?.lock.withLock { _ = self?.clients.removeValue(forKey: id) } }
            connection.onText { [weak connection] text in
                let requestId = (try? JSONValue.parse(Array(text.utf8)))?["RequestId"]?.stringValue ?? ""
                let error = JSONValue.object([
                    ("ErrorCode", .int(400)), ("ErrorMessage", .string("the local stand-in delivers events only; it does not relay client requests")),
                    ("Id", .string(IVSStandIn.randomString(12))), ("RequestId", .string(requestId)), ("Type", .string("ERROR")),
                ])
                connection?.send(text: error.compactText)
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

    /// The clients connected now.
    public var connectedClients: [Client] { lock.withLock { Array(clients.values) } }

    /// Handshakes refused for a missing, unknown, used or expired token.
    public var refusedHandshakes: Int { lock.withLock { refused } }

    /// Closes every connection (as the service does when it goes away).
    public func closeAll() {
        for client in lock.withLock({ Array(clients.values) }) { client.connection.close(code: 1001, reason: "going away") }
    }
}
