import AWSCore
import Foundation
import JSON

/// Function instances behind one name, as Lambda runs several at once: each instance (the real
/// `bootstrap` under its own Runtime API emulator) serves one invocation at a time; an invocation
/// waits for a free one.
public final class FunctionPool: @unchecked Sendable {
    public let functions: [LocalFunction]
    private var free: [Int]
    private let condition = NSCondition()

    public init(handler: String, count: Int, environment: [String: String]) throws {
        var started: [LocalFunction] = []
        do {
            for _ in 0..<count { started.append(try LocalFunction(handler: handler, environment: environment)) }
        } catch {
            for f in started { f.stop() }
            throw error
        }
        functions = started
        free = Array(started.indices)
    }

    /// Invokes a free instance (waiting for one) with `timeoutMilliseconds` as the function's timeout.
    public func invoke(_ event: [UInt8], timeoutMilliseconds: Int64 = 10_000) -> RuntimeAPIEmulator.Outcome {
        condition.lock()
        while free.isEmpty { condition.wait() }
        let i = free.removeLast()
        condition.unlock()
        defer {
            condition.lock()
            free.append(i)
            condition.signal()
            condition.unlock()
        }
        return functions[i].invoke(event, timeoutMilliseconds: timeoutMilliseconds)
    }

    public func stop() { for f in functions { f.stop() } }
}

/// `make crowd`: a crowd of simulated viewers against the real `bootstrap`, with the IVS stand-in
/// enforcing AWS's account-wide API rates (scaled by `scale`, so a 2-core machine can run it). Each
/// viewer follows the page's algorithm (`ViewerCore`: chat token, connect, channel state, full-jitter
/// backoff honouring `Retry-After`, never giving up) on a thread of its own, through a pool of API
/// function instances; stream events go through a pool of `streamStarted` instances, with Lambda's
/// asynchronous retries (two) and a dead-letter count.
public final class CrowdWorld: @unchecked Sendable {
    /// What to run.
    public struct Settings: Sendable {
        public var scale = 0.05
        public var viewers = 300
        /// Share of viewers signed in (the others are guests).
        public var signedInShare = 0.5
        public var apiInstances = 6
        public var streamInstances = 6
        /// Channels going live at the top of the hour.
        public var channels = 40
        public init() {}
    }

    public static let channel = ViewerStack.channelArn
    public static let room = MultihostSandbox.roomArn

    public let settings: Settings
    public let ivs: IVSStandIn
    public let sandbox: MultihostSandbox
    public let api: FunctionPool
    public let streams: FunctionPool
    private let lock = NSLock()
    private var answers: [Int: Int] = [:]
    private var throttledWithoutRetryAfter = 0
    private var eventCounter = 0

    public init(settings: Settings, moto: MotoServer? = nil) throws {
        self.settings = settings
        ivs = try IVSStandIn()
        do {
            sandbox = try MultihostSandbox(ivs: ivs, moto: moto, table: "crowd-\(UUID().uuidString.prefix(8))")
        } catch { ivs.stop(); throw error }
        var env = sandbox.environment
        env["CHAT_ROOM_ARN"] = Self.room
        env["ALLOW_GUESTS"] = "true"
        env["AWS_LAMBDA_LOG_LEVEL"] = "WARN"
        do {
            api = try FunctionPool(handler: "api", count: settings.apiInstances, environment: env)
            do { streams = try FunctionPool(handler: "streamStarted", count: settings.streamInstances, environment: env) } catch {
                api.stop(); throw error
            }
        } catch { sandbox.stop(); ivs.stop(); throw error }
        ivs.enforceQuotas(scale: settings.scale)
    }

    public func stop() {
        api.stop()
        streams.stop()
        sandbox.stop()
        ivs.stop()
    }

    /// The account-wide CreateChatToken rate, scaled: what bounds how fast viewers can (re)connect.
    public var chatTokenRate: Double { IVSStandIn.accountRates["CreateChatToken"]! * settings.scale }

    // MARK: - Calls, as API Gateway would make them

    /// One HTTP API call through the pool: status, `Retry-After` (seconds) and body.
    func call(_ path: String, body: String, caller: String?) -> (status: Int, retryAfter: Double?, body: JSONValue) {
        let claims: [(key: String, value: JSONValue)] = caller.map { [("sub", .string($0)), ("username", .string($0))] } ?? []
        let event = LocalAPIGateway.httpAPIEvent(method: "POST", path: path, body: Array(body.utf8),
                                                 authorizer: claims.isEmpty ? [] : [("jwt", .object([("claims", .object(claims))]))],
                                                 requestId: "crowd-\(UUID().uuidString.prefix(8))")
        let outcome = api.invoke(event.serialized())
        guard case let .response(bytes) = outcome, let answer = try? JSONValue.parse(bytes), let status = answer["statusCode"]?.intValue else {
            record(502, retryAfter: nil)  // API Gateway answers a failed invocation with 502
            return (502, nil, .null)
        }
        let retryAfter = ViewerCore.parseRetryAfter(answer["headers"]?["retry-after"]?.stringValue)
        record(status, retryAfter: retryAfter)
        let text = answer["body"]?.stringValue ?? ""
        return (status, retryAfter, (try? JSONValue.parse(Array(text.utf8))) ?? .null)
    }

    private func record(_ status: Int, retryAfter: Double?) {
        lock.withLock {
            answers[status, default: 0] += 1
            if status == 429 && retryAfter == nil { throttledWithoutRetryAfter += 1 }
        }
    }

    /// Client-visible answers by status since the last call, and 429s without `Retry-After`.
    func takeAnswers() -> (byStatus: [Int: Int], throttledWithoutRetryAfter: Int) {
        lock.withLock {
            defer { answers = [:]; throttledWithoutRetryAfter = 0 }
            return (answers, throttledWithoutRetryAfter)
        }
    }

    /// A Stream Start / Stream End of `channel` at `time`, with a fresh event id.
    func streamEvent(_ name: String, channel: String = CrowdWorld.channel, time: String) -> [UInt8] {
        let n = lock.withLock { eventCounter += 1; return eventCounter }
        let id = "crowd-\(n)-\(UUID().uuidString.prefix(8))"
        return Array(#"{"version":"0","id":"\#(id)","detail-type":"IVS Stream State Change","source":"aws.ivs","account":"123456789012","time":"\#(time)","region":"us-east-1","resources":["\#(channel)"],"detail":{"event_name":"\#(name)","channel_name":"crowd","stream_id":"st-\#(n)"}}"#.utf8)
    }

    /// Delivers an event as EventBridge and Lambda's asynchronous invocation do: up to two retries
    /// after a failed invocation (1 s, then 2 s later: Lambda waits minutes; scaled), then the
    /// dead-letter queue. Returns the attempts made and whether it ended in the DLQ.
    func deliver(_ event: [UInt8]) -> (attempts: Int, deadLettered: Bool) {
        for attempt in 1...3 {
            if case .response = streams.invoke(event) { return (attempt, false) }
            if attempt < 3 { Thread.sleep(forTimeInterval: Double(attempt)) }
        }
        return (3, true)
    }
}

/// One simulated viewer: the page's connection cycle on a thread of its own.
final class SimulatedViewer: @unchecked Sendable {
    let id: Int
    let signedIn: Bool
    private unowned let world: CrowdWorld
    private let lock = NSLock()
    private var stopped = false
    private var socket: WebSocketClient?
    private var seen = Set<String>()
    private(set) var state = ViewerCore.State()
    /// Monotonic nanoseconds of each connection opened, and of each change of what it shows.
    private(set) var connections: [UInt64] = []
    private(set) var changes: [(at: UInt64, live: Bool)] = []
    private(set) var connected = false
    private(set) var failedCalls = 0
    let done = DispatchSemaphore(value: 0)

    init(id: Int, signedIn: Bool, world: CrowdWorld) {
        self.id = id
        self.signedIn = signedIn
        self.world = world
    }

    func start() {
        let thread = Thread { [self] in run(); done.signal() }
        thread.stackSize = 256 * 1024
        thread.start()
    }

    func stop() { lock.withLock { stopped = true } }
    private var isStopped: Bool { lock.withLock { stopped } }

    /// What the scenario reads, under the lock.
    func snapshot() -> (connected: Bool, live: Bool, connections: [UInt64], changes: [(at: UInt64, live: Bool)]) {
        lock.withLock { (connected, state.live, connections, changes) }
    }

    private func sleep(milliseconds: Int) {
        let end = MonotonicClock.nanoseconds() + UInt64(milliseconds) * 1_000_000
        while !isStopped, MonotonicClock.nanoseconds() < end { Thread.sleep(forTimeInterval: min(0.05, Double(milliseconds) / 1000)) }
    }

    private func run() {
        var failures = 0
        let body = #"{"channelArn":"\#(CrowdWorld.channel)"}"#
        while !isStopped {
            let token = world.call(signedIn ? "/chat/token" : "/chat/guest-token", body: body, caller: signedIn ? "viewer-\(id)" : nil)
            guard token.status == 200, let chatToken = token.body["token"]?.stringValue,
                  let ws = try? WebSocketClient(url: world.ivs.messagingURL, subprotocol: chatToken, readTimeoutMilliseconds: 100),
                  ws.status == 101 else {
                failures += 1
                lock.withLock { failedCalls += 1 }
                sleep(milliseconds: ViewerCore.backoffDelay(attempt: failures - 1, retryAfterSeconds: token.retryAfter, random: .random(in: 0..<1)))
                continue
            }
            failures = 0
            lock.withLock {
                socket = ws
                connected = true
                connections.append(MonotonicClock.nanoseconds())
            }
            var open = syncState(ws, body: body)
            while open, !isStopped {
                switch ws.receive() {
                case let .text(text): handle(frame: text)
                case .timedOut: continue
                case .closed: open = false
                }
            }
            lock.withLock { connected = false; socket = nil }
            if isStopped { break }
            failures += 1
            sleep(milliseconds: ViewerCore.backoffDelay(attempt: failures - 1, retryAfterSeconds: nil, random: .random(in: 0..<1)))
        }
    }

    /// `/channel/state` until answered, while the socket stays open (frames are handled meanwhile).
    /// Returns whether the socket is still open.
    private func syncState(_ ws: WebSocketClient, body: String) -> Bool {
        var failures = 0
        while !isStopped {
            let answer = world.call("/channel/state", body: body, caller: nil)
            if answer.status == 200 {
                let (next, changed) = ViewerCore.applyChannelState(state, live: answer.body["live"]?.boolValue == true,
                                                                  stateTime: answer.body["stateTime"]?.stringValue)
                apply(next, changed: changed)
                return true
            }
            failures += 1
            let wait = ViewerCore.backoffDelay(attempt: failures - 1, retryAfterSeconds: answer.retryAfter, random: .random(in: 0..<1))
            let end = MonotonicClock.nanoseconds() + UInt64(wait) * 1_000_000
            while MonotonicClock.nanoseconds() < end, !isStopped {
                switch ws.receive() {
                case let .text(text): handle(frame: text)
                case .timedOut: continue
                case .closed: return false
                }
            }
        }
        return false
    }

    private func handle(frame text: String) {
        guard let frame = try? JSONValue.parse(Array(text.utf8)), frame["Type"]?.stringValue == "EVENT",
              let name = frame["EventName"]?.stringValue, name == "STREAM_STARTED" || name == "STREAM_ENDED",
              let event = (frame["Attributes"]?["event"]?.stringValue).flatMap({ try? JSONValue.parse(Array($0.utf8)) }),
              event["resources"]?.arrayValue?.contains(.string(CrowdWorld.channel)) == true else { return }
        if let id = event["id"]?.stringValue {
            if seen.contains(id) { return }
            seen.insert(id)
        }
        let (next, changed, _) = ViewerCore.applyStreamEvent(state, live: name == "STREAM_STARTED", eventTime: event["time"]?.stringValue)
        apply(next, changed: changed)
    }

    private func apply(_ next: ViewerCore.State, changed: Bool) {
        lock.withLock {
            state = next
            if changed { changes.append((MonotonicClock.nanoseconds(), next.live)) }
        }
    }
}
