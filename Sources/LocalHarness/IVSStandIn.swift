import AWSCore
import AWSServices
import Essentials
import Foundation
import JSON

/// A local stand-in for Amazon IVS Chat (`/SendEvent`, `/CreateChatToken`, `/GetRoom`, and the
/// messaging WebSocket: `messaging`) and IVS real-time (`/CreateParticipantToken`, `/GetStage`,
/// `/DisconnectParticipant`) on one loopback port. It checks every request's SigV4
/// signature against `accessKeyId`/`secretAccessKey` and the services' input constraints, answers
/// like the services, records the events each room received, and fails on request (scripted faults).
///
/// Point clients at it with `environment` (`AWS_ENDPOINT_URL_IVSCHAT`, `AWS_ENDPOINT_URL_IVS_REALTIME`,
/// the test credentials and region).
public final class IVSStandIn: @unchecked Sendable {
    /// The credentials it accepts (AWS's documentation example key).
    public static let accessKeyId = "AKIDEXAMPLE"
    public static let secretAccessKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    public static let region = "us-east-1"

    /// A stage `GetStage` knows.
    public struct StageInfo: Sendable {
        public var name: String
        public var tags: [String: String]
        public var activeSessionId: String?
        public init(name: String, tags: [String: String] = [:], activeSessionId: String? = nil) {
            self.name = name
            self.tags = tags
            self.activeSessionId = activeSessionId
        }
    }

    /// A room `GetRoom` knows.
    public struct RoomInfo: Sendable {
        public var name: String
        public var tags: [String: String]
        public init(name: String, tags: [String: String] = [:]) {
            self.name = name
            self.tags = tags
        }
    }

    /// An event a room received through `SendEvent`.
    public struct ReceivedEvent: Sendable, Equatable {
        public let room: String
        public let eventName: String
        public let attributes: [String: String]
        /// The id answered.
        public let id: String
        /// The request's `X-Amzn-Trace-Id`, if it had one.
        public let traceId: String?

        public init(room: String, eventName: String, attributes: [String: String], id: String, traceId: String? = nil) {
            self.room = room
            self.eventName = eventName
            self.attributes = attributes
            self.id = id
            self.traceId = traceId
        }
    }

    /// A scripted failure for the next request of an operation.
    public enum Fault: Sendable {
        /// Answer with this status and error type (`x-amzn-ErrorType` and body).
        case error(status: Int, type: String, message: String = "scripted fault")
        /// Wait, then answer normally.
        case delay(milliseconds: Int)
        /// Close the connection without answering.
        case dropConnection
        /// Send part of an answer, then reset the connection.
        case resetMidResponse
    }

    /// Operations it serves, by path.
    public static let chatOperations = ["SendEvent", "CreateChatToken", "GetRoom", "DisconnectUser"]
    public static let realTimeOperations = ["CreateParticipantToken", "GetStage", "DisconnectParticipant"]
    /// IVS low-latency (channels), signed as `ivs` like real-time.
    public static let channelOperations = ["GetStream", "ListStreams"]

    private let lock = NSLock()
    private var server: HTTPServer?
    private var stages: [String: StageInfo]
    private var rooms: [String: RoomInfo] = [:]
    /// Live channels: channel ARN → stream start time (ISO 8601).
    private var liveChannels: [String: String] = [:]
    /// The chat messaging endpoint (WebSocket at `url`, `ws://` for `http://`): tokens and connected clients.
    public let messaging = ChatMessagingStandIn()
    private var faults: [String: [Fault]] = [:]
    /// Quota-faithful mode: per-operation token buckets (`enforceQuotas`); nil: unlimited.
    private var quotas: [String: TokenBucket]?
    private var throttled: [String: Int] = [:]
    /// Accepted calls per operation per whole second of the monotonic clock (for the crowd's rate checks).
    private var acceptedBySecond: [String: [Int64: Int]] = [:]
    private var counts: [String: Int] = [:]
    private var received: [ReceivedEvent] = []
    private var badSignatures = 0
    /// Participant ids issued, by stage; and those revoked by `DisconnectParticipant`.
    private var participants: [String: Set<String>] = [:]
    private var revokedParticipants: [(stageArn: String, participantId: String, reason: String)] = []
    private var disconnectedUsers: [(room: String, userId: String, reason: String)] = []
    private var connected: Set<String> = []
    private var unusedAreUnknown = false
    /// DynamoDB items `GetItem` answers: table → pk → item.
    private var dynamoDBItems: [String: [String: JSONValue]] = [:]

    /// Whether `DisconnectParticipant` answers `ResourceNotFoundException` for a participant whose token
    /// was issued but never used to connect (`markConnected`): what real IVS may do (issue 22, unverified).
    /// Default false: every issued participant is known.
    public var unusedParticipantsAreUnknown: Bool {
        get { lock.withLock { unusedAreUnknown } }
        set { lock.withLock { unusedAreUnknown = newValue } }
    }

    /// Records that `participantId` connected to its stage (there is no real-time media here).
    public func markConnected(_ participantId: String) { lock.withLock { _ = connected.insert(participantId) } }

    /// Starts serving on 127.0.0.1:`port` (0: any free port), over HTTPS when `tls` is given.
    public init(port: Int = 0, stages: [String: StageInfo] = [:], tls: TLSServerIdentity? = nil) throws {
        self.stages = stages
        server = try HTTPServer(port: port, tls: tls) { [weak self] request in
            guard let self else { return .dropConnection }
            return self.handle(request)
        }
    }

    deinit { server?.stop() }

    /// `http://127.0.0.1:<port>` (`https://` with TLS).
    public var url: String { server?.baseURL ?? "" }

    /// TLS handshakes that failed (a client refused its certificate).
    public var failedHandshakes: Int { server?.failedHandshakes ?? 0 }

    /// The variables that point the AWS clients at this stand-in.
    public var environment: [String: String] {
        ["AWS_ENDPOINT_URL_IVSCHAT": url, "AWS_ENDPOINT_URL_IVS_REALTIME": url, "AWS_ENDPOINT_URL_IVS": url,
         "AWS_ACCESS_KEY_ID": Self.accessKeyId, "AWS_SECRET_ACCESS_KEY": Self.secretAccessKey, "AWS_REGION": Self.region]
    }

    /// Where chat clients connect: `ws://127.0.0.1:<port>` (the service's `wss://edge.ivschat.<region>.amazonaws.com`).
    public var messagingURL: String { url.replacingOccurrences(of: "http", with: "ws") }

    /// Stops serving.
    public func stop() {
        messaging.closeAll()
        server?.stop()
    }

    /// Queues faults for the next requests of `operation` (`SendEvent`, `GetStage`, …), in order.
    public func inject(_ faults: [Fault], for operation: String) {
        lock.withLock { self.faults[operation, default: []].append(contentsOf: faults) }
    }

    /// The account-wide API rates of IVS, IVS real-time and IVS Chat (requests per second; not
    /// adjustable: ../shared/FACTS.md, "Account-wide API quotas").
    public static let accountRates: [String: Double] = [
        "GetStream": 5, "ListStreams": 5, "GetStage": 5, "DisconnectParticipant": 5, "GetRoom": 5, "DisconnectUser": 100,
        "CreateParticipantToken": 50, "SendEvent": 100, "CreateChatToken": 200,
    ]

    /// Quota-faithful mode: each operation of `accountRates` gets a token bucket refilling at its rate
    /// times `scale` (so a 2-core machine can run a crowd at a fraction of AWS's size), holding at most
    /// one second of it (the burst); a call finding it empty is answered 429 `ThrottlingException`,
    /// as the services answer, and not done.
    public func enforceQuotas(scale: Double) {
        let now = MonotonicClock.nanoseconds()
        lock.withLock {
            quotas = Self.accountRates.mapValues { TokenBucket(rate: $0 * scale, burst: max(1, $0 * scale), now: now) }
            throttled = [:]
            acceptedBySecond = [:]
        }
    }

    /// Calls answered 429 by the quota of `operation`.
    public func throttledCount(for operation: String) -> Int { lock.withLock { throttled[operation, default: 0] } }

    /// The most calls of `operation` accepted within any one whole second (quota mode).
    public func peakAcceptedPerSecond(for operation: String) -> Int { lock.withLock { acceptedBySecond[operation]?.values.max() ?? 0 } }

    /// Accepted calls of `operation` in quota mode.
    public func acceptedCount(for operation: String) -> Int { lock.withLock { acceptedBySecond[operation]?.values.reduce(0, +) ?? 0 } }

    private func admit(_ operation: String) -> Bool {
        let now = MonotonicClock.nanoseconds()
        return lock.withLock {
            guard quotas != nil, let bucket = quotas?[operation] else { return true }
            guard bucket.take(now: now) else {
                throttled[operation, default: 0] += 1
                return false
            }
            acceptedBySecond[operation, default: [:]][Int64(now / 1_000_000_000), default: 0] += 1
            return true
        }
    }

    /// Adds or replaces a stage `GetStage` knows.
    public func setStage(_ arn: String, _ info: StageInfo) { lock.withLock { stages[arn] = info } }

    /// Makes the channel live since `startTime` (ISO 8601), or offline with nil, for `GetStream`.
    public func setStream(_ channelArn: String, startTime: String?) { lock.withLock { liveChannels[channelArn] = startTime } }

    /// Adds or replaces a room `GetRoom` knows.
    public func setRoom(_ arn: String, _ info: RoomInfo) { lock.withLock { rooms[arn] = info } }

    /// Requests received for `operation` (bad signatures included).
    public func requestCount(for operation: String) -> Int { lock.withLock { counts[operation, default: 0] } }

    /// Requests received in all.
    public var totalRequests: Int { lock.withLock { counts.values.reduce(0, +) } }

    /// Requests refused for a bad signature.
    public var rejectedSignatures: Int { lock.withLock { badSignatures } }

    /// Every event received, in order.
    public var events: [ReceivedEvent] { lock.withLock { received } }

    /// The events `room` received, in order.
    public func events(inRoom room: String) -> [ReceivedEvent] { events.filter { $0.room == room } }

    /// One human-readable line per event received: `<room> <- <eventName> {key=value, …}`.
    public func eventLines() -> [String] {
        events.map { e in
            let attributes = e.attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
            return "\(e.room) <- \(e.eventName) {\(attributes)}"
        }
    }

    /// Forgets events, counts and pending faults.
    public func reset() {
        lock.withLock { received = []; counts = [:]; faults = [:]; badSignatures = 0 }
    }

    // MARK: - Serving

    private func handle(_ request: ServerRequest) -> ServerReply {
        if request.method == "GET", request.header("upgrade")?.lowercased() == "websocket" { return messaging.handshake(request) }
        if request.method == "POST", request.path == "/", let target = request.header("x-amz-target"), target.hasPrefix(Self.dynamoDBTargetPrefix) {
            return dynamoDB(request, operation: String(target.dropFirst(Self.dynamoDBTargetPrefix.count)))
        }
        let operation = String(request.path.dropFirst())
        let isChat = Self.chatOperations.contains(operation)
        guard request.method == "POST", isChat || Self.realTimeOperations.contains(operation) || Self.channelOperations.contains(operation) else {
            return Self.error(404, "UnknownOperationException", "no operation at \(request.method) \(request.path)", realTime: false)
        }
        let fault: Fault? = lock.withLock {
            counts[operation, default: 0] += 1
            return faults[operation]?.isEmpty == false ? faults[operation]!.removeFirst() : nil
        }
        if fault == nil, !admit(operation) {
            return Self.error(429, "ThrottlingException", "Rate exceeded for \(operation)", realTime: !isChat)
        }
        if let problem = Self.signatureProblem(request, signingName: isChat ? "ivschat" : "ivs") {
            lock.withLock { badSignatures += 1 }
            return Self.error(403, "InvalidSignatureException", problem, realTime: !isChat)
        }
        switch fault {
        case let .error(status, type, message)?: return Self.error(status, type, message, realTime: !isChat)
        case let .delay(milliseconds)?: Thread.sleep(forTimeInterval: Double(milliseconds) / 1000)
        case .dropConnection?: return .dropConnection
        case .resetMidResponse?: return .resetMidResponse
        case nil: break
        }
        guard let input = try? JSONValue.parse(request.body), input.objectValue != nil else {
            return Self.error(400, "ValidationException", "body is not a JSON object", realTime: !isChat)
        }
        switch operation {
        case "SendEvent": return sendEvent(input, traceId: request.header("X-Amzn-Trace-Id"))
        case "CreateChatToken": return createChatToken(input)
        case "GetRoom": return getRoom(input)
        case "DisconnectUser": return disconnectUser(input)
        case "GetStream": return getStream(input)
        case "ListStreams": return listStreams(input)
        case "CreateParticipantToken": return createParticipantToken(input)
        case "DisconnectParticipant": return disconnectParticipant(input)
        default: return getStage(input)
        }
    }

    private func sendEvent(_ input: JSONValue, traceId: String?) -> ServerReply {
        let room = input["roomIdentifier"]?.stringValue ?? ""
        let eventName = input["eventName"]?.stringValue ?? ""
        var problems = [("roomIdentifier", IVSConstraints.roomARNProblem(room)),
                        ("eventName", IVSConstraints.lengthProblem(eventName, min: 1, max: 100))]
        let attributes = Self.attributes(input["attributes"], into: &problems)
        if let reply = Self.validationFailure(problems, realTime: false) { return reply }
        let id = Self.randomString(12)
        lock.withLock { received.append(ReceivedEvent(room: room, eventName: eventName, attributes: attributes, id: id, traceId: traceId)) }
        messaging.deliver(room: room, id: id, eventName: eventName, attributes: attributes, sendTime: Self.iso8601(Date()))
        return Self.ok(.object([("id", .string(id))]))
    }

    private func createChatToken(_ input: JSONValue) -> ServerReply {
        let room = input["roomIdentifier"]?.stringValue ?? ""
        let userId = input["userId"]?.stringValue ?? ""
        let minutes = input["sessionDurationInMinutes"]?.intValue ?? 60
        var problems = [("roomIdentifier", IVSConstraints.roomARNProblem(room)),
                        ("userId", IVSConstraints.lengthProblem(userId, min: 1, max: 128)),
                        ("sessionDurationInMinutes", IVSConstraints.rangeProblem(minutes, 1...180)),
                        ("capabilities", Self.capabilitiesProblem(input["capabilities"], allowed: ChatCapability.allCases.map(\.rawValue)))]
        _ = Self.attributes(input["attributes"], into: &problems)
        if let reply = Self.validationFailure(problems, realTime: false) { return reply }
        let token = "AQICAH" + Self.randomString(120)
        let capabilities = input["capabilities"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let (expires, sessionEnds) = messaging.issue(token, room: room, userId: userId, capabilities: capabilities, sessionMinutes: minutes,
                                                     attributes: input["attributes"]?.stringMap ?? [:])
        return Self.ok(.object([("token", .string(token)),
                                ("tokenExpirationTime", .string(Self.iso8601(expires))),
                                ("sessionExpirationTime", .string(Self.iso8601(sessionEnds)))]))
    }

    /// As the service: a channel that is not live answers `ChannelNotBroadcasting` (404).
    private func getStream(_ input: JSONValue) -> ServerReply {
        let arn = input["channelArn"]?.stringValue ?? ""
        if let reply = Self.validationFailure([("channelArn", IVSConstraints.channelARNProblem(arn))], realTime: true) { return reply }
        guard let start = lock.withLock({ liveChannels[arn] }) else {
            return Self.error(404, "ChannelNotBroadcasting", "channel \(arn) is not broadcasting", realTime: true)
        }
        return Self.ok(.object([("stream", .object([
            ("channelArn", .string(arn)), ("streamId", .string("st-" + Self.randomString(21))), ("state", .string("LIVE")),
            ("health", .string("HEALTHY")), ("startTime", .string(start)), ("viewerCount", .int(0)),
            ("playbackUrl", .string("https://example.us-east-1.playback.live-video.net/api/video/v1/channel.m3u8")),
        ]))]))
    }

    /// The live channels, 100 at most per page (`nextToken` is the index of the next).
    private func listStreams(_ input: JSONValue) -> ServerReply {
        let all = lock.withLock { liveChannels.sorted { $0.key < $1.key } }
        let from = input["nextToken"]?.stringValue.flatMap { Int($0) } ?? 0
        let page = all.dropFirst(from).prefix(input["maxResults"]?.intValue ?? 100)
        var members: [(key: String, value: JSONValue)] = [("streams", .array(page.map { channel, start in
            .object([("channelArn", .string(channel)), ("streamId", .string("st-" + String(channel.suffix(8)))), ("state", .string("LIVE")),
                     ("health", .string("HEALTHY")), ("startTime", .string(start)), ("viewerCount", .int(0))])
        }))]
        if from + page.count < all.count { members.append(("nextToken", .string(String(from + page.count)))) }
        return Self.ok(.object(members))
    }

    private func getRoom(_ input: JSONValue) -> ServerReply {
        let arn = input["identifier"]?.stringValue ?? ""
        if let reply = Self.validationFailure([("identifier", IVSConstraints.roomARNProblem(arn))], realTime: false) { return reply }
        guard let room = lock.withLock({ rooms[arn] }) else {
            return Self.error(404, "ResourceNotFoundException", "room \(arn) not found", realTime: false)
        }
        return Self.ok(.object([
            ("arn", .string(arn)), ("id", .string(arn.split(separator: "/").last.map(String.init) ?? "")), ("name", .string(room.name)),
            ("maximumMessageLength", .int(500)), ("maximumMessageRatePerSecond", .int(10)),
            ("tags", .stringMap(room.tags)),
        ]))
    }

    private func createParticipantToken(_ input: JSONValue) -> ServerReply {
        let stageArn = input["stageArn"]?.stringValue ?? ""
        let userId = input["userId"]?.stringValue ?? ""
        let minutes = input["duration"]?.intValue ?? 720
        var problems = [("stageArn", IVSConstraints.stageARNProblem(stageArn)),
                        ("userId", IVSConstraints.lengthProblem(userId, min: 0, max: 128)),
                        ("duration", IVSConstraints.rangeProblem(minutes, 1...20160)),
                        ("capabilities", Self.capabilitiesProblem(input["capabilities"], allowed: ParticipantCapability.allCases.map(\.rawValue)))]
        let attributes = Self.attributes(input["attributes"], into: &problems)
        if let reply = Self.validationFailure(problems, realTime: true) { return reply }
        let capabilities = input["capabilities"]?.arrayValue ?? [.string("PUBLISH"), .string("SUBSCRIBE")]
        let participantId = Self.randomString(12)
        lock.withLock { _ = participants[stageArn, default: []].insert(participantId) }
        let token: [(key: String, value: JSONValue)] = [
            ("participantId", .string(participantId)),
            ("token", .string("eyJhbGciOiJLTVMiLCJ0eXAiOiJKV1QifQ." + Self.randomString(160))),
            ("userId", .string(userId)),
            ("attributes", .stringMap(attributes)),
            ("duration", .int(minutes)),
            ("capabilities", .array(capabilities)),
            ("expirationTime", .string(Self.iso8601(Date().addingTimeInterval(Double(minutes) * 60)))),
        ]
        return Self.ok(.object([("participantToken", .object(token))]))
    }

    /// As the service: an unknown participant is `ResourceNotFoundException`; a revoked one stays revoked.
    private func disconnectParticipant(_ input: JSONValue) -> ServerReply {
        let stageArn = input["stageArn"]?.stringValue ?? ""
        let participantId = input["participantId"]?.stringValue ?? ""
        let reason = input["reason"]?.stringValue ?? ""
        let problems = [("stageArn", IVSConstraints.stageARNProblem(stageArn)),
                        ("participantId", IVSConstraints.lengthProblem(participantId, min: 1, max: 64)),
                        ("reason", IVSConstraints.lengthProblem(reason, min: 0, max: 128))]
        if let reply = Self.validationFailure(problems, realTime: true) { return reply }
        let known = lock.withLock { () -> Bool in
            guard participants[stageArn]?.contains(participantId) == true, !unusedAreUnknown || connected.contains(participantId) else { return false }
            participants[stageArn]?.remove(participantId)
            revokedParticipants.append((stageArn, participantId, reason))
            return true
        }
        guard known else { return Self.error(404, "ResourceNotFoundException", "participant \(participantId) not found", realTime: true) }
        return .respond(status: 200, headers: [("Content-Type", "application/json")], body: [])
    }

    /// As the service: every client of the room gets the event `aws:DISCONNECT_USER` `{UserId, Reason}`,
    /// then the user's connections are closed. A user not connected is not an error.
    private func disconnectUser(_ input: JSONValue) -> ServerReply {
        let room = input["roomIdentifier"]?.stringValue ?? ""
        let userId = input["userId"]?.stringValue ?? ""
        let reason = input["reason"]?.stringValue ?? ""
        let problems = [("roomIdentifier", IVSConstraints.roomARNProblem(room)), ("userId", IVSConstraints.lengthProblem(userId, min: 1, max: 128)),
                        ("reason", IVSConstraints.lengthProblem(reason, min: 0, max: 256))]
        if let reply = Self.validationFailure(problems, realTime: false) { return reply }
        guard lock.withLock({ rooms[room] }) != nil else { return Self.error(404, "ResourceNotFoundException", "room \(room) not found", realTime: false) }
        lock.withLock { disconnectedUsers.append((room, userId, reason)) }
        messaging.disconnect(room: room, userId: userId, reason: reason, eventId: Self.randomString(12), sendTime: Self.iso8601(Date()))
        return Self.ok(.object([]))
    }

    /// Users disconnected by `DisconnectUser`, in order.
    public var disconnected: [(room: String, userId: String, reason: String)] { lock.withLock { disconnectedUsers } }

    /// Participants revoked by `DisconnectParticipant`, in order.
    public var revoked: [(stageArn: String, participantId: String, reason: String)] { lock.withLock { revokedParticipants } }

    private func getStage(_ input: JSONValue) -> ServerReply {
        let arn = input["arn"]?.stringValue ?? ""
        if let reply = Self.validationFailure([("arn", IVSConstraints.stageARNProblem(arn))], realTime: true) { return reply }
        guard let stage = lock.withLock({ stages[arn] }) else {
            return Self.error(404, "ResourceNotFoundException", "stage \(arn) not found", realTime: true)
        }
        let id = arn.split(separator: "/").last.map(String.init) ?? ""
        return Self.ok(.object([("stage", .object([
            ("arn", .string(arn)), ("name", .string(stage.name)),
            ("activeSessionId", .string(stage.activeSessionId ?? "")),
            ("tags", .stringMap(stage.tags)),
            ("endpoints", .object([("events", .string("wss://global.events.live-video.net")),
                                   ("whip", .string("https://\(id).global-bm.whip.live-video.net"))])),
        ]))]))
    }

    // MARK: - DynamoDB (GetItem only)

    static let dynamoDBTargetPrefix = "DynamoDB_20120810."

    /// Makes `GetItem` of `pk` in `table` answer `item` (DynamoDB JSON: `{"pk": {"S": …}, …}`); nil removes it.
    public func setDynamoDBItem(table: String, pk: String, item: JSONValue?) {
        lock.withLock { dynamoDBItems[table, default: [:]][pk] = item }
    }

    /// A tiny DynamoDB for the review bench (issue 19): `GetItem` by the key `pk` (S), answering `{}`
    /// (no item) or an item set with `setDynamoDBItem`, after checking the SigV4 signature (signing name
    /// `dynamodb`). Counted as `GetItem` in `requestCount(for:)`.
    private func dynamoDB(_ request: ServerRequest, operation: String) -> ServerReply {
        lock.withLock { counts[operation, default: 0] += 1 }
        func error(_ type: String, _ message: String) -> ServerReply {
            .respond(status: 400, headers: [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", UUID().uuidString.lowercased())],
                     body: Array(JSONValue.object([("__type", .string("com.amazonaws.dynamodb.v20120810#" + type)), ("message", .string(message))]).compactText.utf8))
        }
        if let problem = Self.signatureProblem(request, signingName: "dynamodb") {
            lock.withLock { badSignatures += 1 }
            return error("InvalidSignatureException", problem)
        }
        guard operation == "GetItem" else { return error("UnknownOperationException", "only GetItem is served here, not \(operation)") }
        guard let input = try? JSONValue.parse(request.body), let table = input["TableName"]?.stringValue, !table.isEmpty,
              let pk = input["Key"]?["pk"]?["S"]?.stringValue, !pk.isEmpty else {
            return error("ValidationException", "GetItem needs TableName and Key {\"pk\": {\"S\": …}}")
        }
        let item = lock.withLock { dynamoDBItems[table]?[pk] }
        let body: JSONValue = item.map { .object([("Item", $0)]) } ?? .object([])
        return .respond(status: 200, headers: [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", UUID().uuidString.lowercased())],
                        body: Array(body.compactText.utf8))
    }

    // MARK: - Checks and answers

    /// Why the request's SigV4 signature does not hold, or nil when it does.
    /// Used for every request; public so other stand-ins (DynamoDB) can check signatures the same way.
    public static func signatureProblem(_ request: ServerRequest, signingName: String) -> String? {
        guard let authorization = request.header("authorization"), authorization.hasPrefix("AWS4-HMAC-SHA256 ") else {
            return "missing or non-SigV4 Authorization header"
        }
        var fields: [String: String] = [:]
        for part in authorization.dropFirst("AWS4-HMAC-SHA256 ".count).split(separator: ",") {
            let item = part.trimmingCharacters(in: .whitespaces)
            if let eq = item.firstIndex(of: "=") { fields[String(item[..<eq])] = String(item[item.index(after: eq)...]) }
        }
        guard let credential = fields["Credential"], let signedList = fields["SignedHeaders"], let signature = fields["Signature"] else {
            return "Authorization header lacks Credential, SignedHeaders or Signature"
        }
        let scope = credential.split(separator: "/").map(String.init)
        guard scope.count == 5, scope[4] == "aws4_request" else { return "malformed credential scope" }
        guard scope[0] == accessKeyId else { return "unknown access key \(scope[0])" }
        guard scope[2] == region else { return "credential scope region \(scope[2]) is not \(region)" }
        guard scope[3] == signingName else { return "credential scope service \(scope[3]) is not \(signingName)" }
        guard let amzDate = request.header("x-amz-date"), amzDate.hasPrefix(scope[1]) else { return "X-Amz-Date missing or not on the scope's date" }
        let names = signedList.split(separator: ";").map(String.init)
        guard names.contains("host"), names.contains("x-amz-date") else { return "host and x-amz-date must be signed" }
        var signedHeaders: [(name: String, value: String)] = []
        for name in names {
            let values = request.headers.filter { $0.name == name }
            guard !values.isEmpty else { return "signed header \(name) is missing" }
            signedHeaders += values
        }
        if let epoch = parseAmzDate(amzDate), abs(epoch - Int64(Date().timeIntervalSince1970)) > 300 {
            return "signature expired or not yet valid: X-Amz-Date \(amzDate) is more than 5 minutes from now"
        }
        let query = request.target.firstIndex(of: "?").map { String(request.target[request.target.index(after: $0)...]) } ?? ""
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyId: accessKeyId, secretAccessKey: secretAccessKey),
                                 region: region, service: signingName)
        let expected = signer.computeSignature(method: request.method, path: request.path, query: query, signedHeaders: signedHeaders,
                                               payloadHash: Digest.sha256Hex(request.body), amzDate: amzDate)
        return expected.signature == signature
            ? nil : "The request signature we calculated does not match the signature you provided."
    }

    private static func parseAmzDate(_ s: String) -> Int64? {
        let b = Array(s)
        guard b.count == 16 else { return nil }
        let iso = "\(String(b[0..<4]))-\(String(b[4..<6]))-\(String(b[6..<8]))T\(String(b[9..<11])):\(String(b[11..<13])):\(String(b[13..<15]))Z"
        return UTCTimestamp.parseISO8601(iso)
    }

    /// The attributes map, noting a problem when it is not a string map or too big.
    private static func attributes(_ value: JSONValue?, into problems: inout [(String, String?)]) -> [String: String] {
        guard let value else { return [:] }
        guard let members = value.objectValue, members.allSatisfy({ $0.value.stringValue != nil }) else {
            problems.append(("attributes", "must be a map of strings to strings"))
            return [:]
        }
        var map: [String: String] = [:]
        for m in members { map[m.key] = m.value.stringValue }
        problems.append(("attributes", IVSConstraints.attributesProblem(map)))
        return map
    }

    private static func capabilitiesProblem(_ value: JSONValue?, allowed: [String]) -> String? {
        guard let value else { return nil }
        guard let items = value.arrayValue, items.allSatisfy({ $0.stringValue.map(allowed.contains) ?? false }) else {
            return "must be a list of \(allowed.joined(separator: ", "))"
        }
        return nil
    }

    private static func validationFailure(_ problems: [(String, String?)], realTime: Bool) -> ServerReply? {
        let found = problems.compactMap { p in p.1.map { (field: p.0, message: $0) } }
        guard !found.isEmpty else { return nil }
        let message = found.map { "\($0.field) \($0.message)" }.joined(separator: "; ")
        return error(400, "ValidationException", message, realTime: realTime, extra: [
            ("reason", .string("FIELD_VALIDATION_FAILED")),
            ("fieldList", .array(found.map { .object([("name", .string($0.field)), ("message", .string($0.message))]) })),
        ])
    }

    /// An error answer; IVS real-time puts the text in `exceptionMessage`, IVS Chat in `message`.
    private static func error(_ status: Int, _ type: String, _ message: String, realTime: Bool,
                              extra: [(key: String, value: JSONValue)] = []) -> ServerReply {
        let body = JSONValue.object([(realTime ? "exceptionMessage" : "message", .string(message))] + extra)
        return .json(status, body.compactText, headers: [("x-amzn-RequestId", UUID().uuidString.lowercased()),
                                                         ("x-amzn-ErrorType", "\(type):http://internal.amazon.com/coral/com.amazonaws.ivs/")])
    }

    private static func ok(_ body: JSONValue) -> ServerReply {
        .json(200, body.compactText, headers: [("x-amzn-RequestId", UUID().uuidString.lowercased())])
    }

    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

    static func randomString(_ length: Int) -> String { String((0..<length).map { _ in alphabet.randomElement()! }) }

    static func iso8601(_ date: Date) -> String {
        UTCTimestamp(epochMilliseconds: Int64(date.timeIntervalSince1970 * 1000)).iso8601
    }
}

/// A token bucket: `rate` tokens per second, at most `burst` kept. Not thread-safe (the stand-in locks).
final class TokenBucket {
    let rate: Double
    let burst: Double
    private var tokens: Double
    private var last: UInt64

    init(rate: Double, burst: Double, now: UInt64) {
        self.rate = rate
        self.burst = burst
        tokens = burst
        last = now
    }

    /// Takes one token when there is one.
    func take(now: UInt64) -> Bool {
        tokens = min(burst, tokens + Double(now &- last) / 1e9 * rate)
        last = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
