import Foundation

/// A local Lambda Runtime API (2018-06-01, with its 2026 additions), as Lambda serves it to a custom
/// runtime: hands out invocations on `/next` (to several waiting workers at once, as on Lambda Managed
/// Instances), each with a `Lambda-Runtime-Invocation-Id`; collects `/response`, `/error` and
/// `/init/error`; enforces the 6 MB response limit; with `enforceDeadlines`, times invocations out and
/// answers a late `/response` or `/error` with 410 Gone; and can be told to fail requests for fault tests.
public final class RuntimeAPIEmulator: @unchecked Sendable {
    /// One event to hand to the function, with the headers Lambda sends along.
    public struct Invocation: Sendable {
        public var requestId: String
        public var event: [UInt8]
        /// Time the function gets, from when `/next` hands it out.
        public var timeoutMilliseconds: Int64
        public var traceId: String?
        public var functionArn: String
        public var clientContext: String?
        public var cognitoIdentity: String?
        public var tenantId: String?
        /// `Lambda-Runtime-Invocation-Id` (nil: the header is not sent, as before 2026).
        public var invocationId: String?

        public init(event: [UInt8], requestId: String = UUID().uuidString.lowercased(), timeoutMilliseconds: Int64 = 3000,
                    traceId: String? = "Root=1-\(String(UInt32(Date().timeIntervalSince1970), radix: 16))-\(RuntimeAPIEmulator.randomHex(24));Sampled=0",
                    functionArn: String = "arn:aws:lambda:us-east-1:123456789012:function:ivs-chat-events-local",
                    clientContext: String? = nil, cognitoIdentity: String? = nil, tenantId: String? = nil,
                    invocationId: String? = "inv-" + RuntimeAPIEmulator.randomHex(16)) {
            self.requestId = requestId
            self.event = event
            self.timeoutMilliseconds = timeoutMilliseconds
            self.traceId = traceId
            self.functionArn = functionArn
            self.clientContext = clientContext
            self.cognitoIdentity = cognitoIdentity
            self.tenantId = tenantId
            self.invocationId = invocationId
        }
    }

    /// The headers a runtime sent with an invocation's `/response` or `/error`.
    public struct AnswerHeaders: Sendable, Equatable {
        public var invocationId: String?
        public var contentType: String?
        public init(invocationId: String?, contentType: String?) {
            self.invocationId = invocationId
            self.contentType = contentType
        }
    }

    /// How an invocation ended.
    public enum Outcome: Sendable, Equatable {
        /// The function's response body.
        case response([UInt8])
        /// A function error: the `Lambda-Runtime-Function-Error-Type` header and the JSON body.
        case error(type: String, body: [UInt8])
        /// No outcome: the runtime exited or stopped answering.
        case noOutcome(String)
        /// The deadline passed first (with `enforceDeadlines`): a later answer gets 410 Gone.
        case timedOut

        /// The response or error body as text.
        public var text: String {
            switch self {
            case let .response(b), let .error(_, b): String(decoding: b, as: UTF8.self)
            case let .noOutcome(why): why
            case .timedOut: "the invocation timed out"
            }
        }
    }

    /// A fault to serve on a `/next` request instead of an invocation.
    public enum NextFault: Sendable {
        /// Close the connection without answering.
        case drop
        /// Answer with this status.
        case status(Int)
    }

    /// Bytes Lambda accepts in a buffered response (the emulator's 6 MiB + 100).
    public static let maxResponseBytes = 6 * 1024 * 1024 + 100

    private let condition = NSCondition()
    private var pending: [Invocation] = []
    private var inFlight: [String: Invocation] = [:]
    private var outcomes: [String: Outcome] = [:]
    private var nextFaults: [NextFault] = []
    private var responseFaults: [Int] = []
    private var responseDrops = 0
    private var initErrorReport: (type: String, body: [UInt8])?
    private var initErrorReports = 0
    private var nextCount = 0
    private var firstNextAt: UInt64?
    private var timings: [String: Timing] = [:]
    /// Deadlines (epoch ms) of invocations handed out.
    private var deadlines: [String: Int64] = [:]
    private var closed = false
    private var answerHeaders: [String: AnswerHeaders] = [:]
    /// Invocations that timed out; a late answer to one gets 410.
    private var expired: Set<String> = []
    private var goneAnswers = 0
    private var nextWaiting = 0
    private var maxNextWaiting = 0
    private var maxInFlight = 0
    private var server: HTTPServer!

    /// Time invocations out at their deadline, as Lambda does (off by default: local tools and
    /// benchmarks may run a function far slower, e.g. under a profiler).
    public var enforceDeadlines: Bool {
        get { condition.lock(); defer { condition.unlock() }; return enforcing }
        set { condition.lock(); enforcing = newValue; condition.unlock() }
    }
    private var enforcing = false

    /// Starts serving on 127.0.0.1 (any free port unless given).
    public init(port: Int = 0) throws {
        server = try HTTPServer(port: port) { [weak self] request in self?.route(request) ?? .dropConnection }
    }

    /// `127.0.0.1:<port>`: the value for `AWS_LAMBDA_RUNTIME_API`.
    public var address: String { "127.0.0.1:\(server.port)" }

    /// When things happened for one invocation, in `MonotonicClock` nanoseconds (for `bench`).
    public struct Timing: Sendable {
        /// When `/next` handed the invocation out (the answer is written right after).
        public var nextAnswered: UInt64
        /// When the last bytes of its `/response` or `/error` request were read.
        public var completed: UInt64 = 0
    }

    /// When the first `/next` request arrived (its last bytes were read), in `MonotonicClock` nanoseconds.
    public var firstNextRequestAt: UInt64? { condition.lock(); defer { condition.unlock() }; return firstNextAt }

    /// The timing of a completed invocation (each is kept until asked for once).
    public func takeTiming(requestId: String) -> Timing? {
        condition.lock(); defer { condition.unlock() }
        return timings.removeValue(forKey: requestId)
    }

    /// The headers sent with the answer to `requestId` (kept until asked for once).
    public func takeAnswerHeaders(requestId: String) -> AnswerHeaders? {
        condition.lock(); defer { condition.unlock() }
        return answerHeaders.removeValue(forKey: requestId)
    }

    /// Answers refused with 410 Gone (late, or with another invocation's id).
    public var goneAnswerCount: Int { condition.lock(); defer { condition.unlock() }; return goneAnswers }

    /// The most `/next` requests that were waiting at the same time (workers ready for an invocation).
    public var maxConcurrentNextRequests: Int { condition.lock(); defer { condition.unlock() }; return maxNextWaiting }

    /// The most invocations handed out and not yet answered at the same time.
    public var maxConcurrentInvocations: Int { condition.lock(); defer { condition.unlock() }; return maxInFlight }

    /// Waits until `count` `/next` requests are waiting at once (all workers ready), or the limit passes.
    public func waitForWaitingNextRequests(_ count: Int, waitLimitSeconds: Double = 30) -> Bool {
        condition.lock(); defer { condition.unlock() }
        let limit = Date(timeIntervalSinceNow: waitLimitSeconds)
        while nextWaiting < count { if closed || !condition.wait(until: limit) { return nextWaiting >= count } }
        return true
    }

    /// How many `/next` requests arrived so far.
    public var nextRequestCount: Int { condition.lock(); defer { condition.unlock() }; return nextCount }

    /// The init error reported, if any: (error type header, JSON body).
    public var initError: (type: String, body: [UInt8])? { condition.lock(); defer { condition.unlock() }; return initErrorReport }

    /// How many init errors were posted.
    public var initErrorCount: Int { condition.lock(); defer { condition.unlock() }; return initErrorReports }

    /// Serve these faults, in order, to the next `/next` requests.
    public func injectNextFaults(_ faults: [NextFault]) {
        condition.lock(); nextFaults += faults; condition.unlock()
    }

    /// Close the connection of the next `count` response/error posts without answering.
    public func injectResponseDrops(_ count: Int) {
        condition.lock(); responseDrops += count; condition.unlock()
    }

    /// Answer the next response/error posts with these statuses instead of accepting them.
    public func injectResponseStatuses(_ statuses: [Int]) {
        condition.lock(); responseFaults += statuses; condition.unlock()
    }

    /// Queues `invocation` and waits until the function answers it, the runtime is declared gone
    /// (`close`), or `waitLimitSeconds` pass (a safety net against hung tests, not a measurement).
    public func invoke(_ invocation: Invocation, waitLimitSeconds: Double = 60) -> Outcome {
        submit(invocation)
        return waitForOutcome(requestId: invocation.requestId, waitLimitSeconds: waitLimitSeconds)
    }

    /// Queues `invocation` without waiting (e.g. before the runtime starts, for a cold start).
    public func submit(_ invocation: Invocation) {
        condition.lock(); pending.append(invocation); condition.broadcast(); condition.unlock()
    }

    /// Waits for the outcome of a submitted invocation (see `invoke`).
    public func waitForOutcome(requestId: String, waitLimitSeconds: Double = 60) -> Outcome {
        condition.lock()
        defer { condition.unlock() }
        let limit = Date(timeIntervalSinceNow: waitLimitSeconds)
        while outcomes[requestId] == nil {
            if closed { return .noOutcome("the runtime stopped before answering") }
            var until = limit
            if enforcing, let deadline = deadlines[requestId] {
                let due = Date(timeIntervalSince1970: Double(deadline) / 1000)
                if due <= Date() {
                    // Lambda ends the invocation; the handler may still be running in the runtime.
                    inFlight[requestId] = nil
                    deadlines[requestId] = nil
                    expired.insert(requestId)
                    return .timedOut
                }
                until = min(until, due)
            }
            if !condition.wait(until: until) && until == limit { return .noOutcome("no answer within \(waitLimitSeconds) s") }
        }
        deadlines[requestId] = nil
        return outcomes.removeValue(forKey: requestId)!
    }

    /// Queues an event and waits for its outcome.
    public func invoke(event: [UInt8], timeoutMilliseconds: Int64 = 3000) -> Outcome {
        invoke(Invocation(event: event, timeoutMilliseconds: timeoutMilliseconds))
    }

    /// Waits until an init error is reported or the runtime is closed.
    public func waitForInitError(waitLimitSeconds: Double = 30) -> (type: String, body: [UInt8])? {
        condition.lock()
        defer { condition.unlock() }
        let limit = Date(timeIntervalSinceNow: waitLimitSeconds)
        while initErrorReport == nil && !closed { if !condition.wait(until: limit) { break } }
        return initErrorReport
    }

    /// Declares the runtime gone: waiting callers return `.noOutcome`.
    public func runtimeExited() {
        condition.lock(); closed = true; condition.broadcast(); condition.unlock()
    }

    /// Stops the server.
    public func stop() {
        runtimeExited()
        server.stop()
    }

    // MARK: - Routing

    private func route(_ request: ServerRequest) -> ServerReply {
        guard let range = request.path.range(of: "/2018-06-01/") else { return .json(404, #"{"errorMessage":"unknown path"}"#) }
        let parts = request.path[range.upperBound...].split(separator: "/").map(String.init)
        switch (request.method, parts.count, parts.first) {
        case ("GET", 3, "runtime") where parts[1] == "invocation" && parts[2] == "next":
            return next(request)
        case ("POST", 4, "runtime") where parts[1] == "invocation" && (parts[3] == "response" || parts[3] == "error"):
            return complete(requestId: parts[2], isError: parts[3] == "error", request: request)
        case ("POST", 3, "runtime") where parts[1] == "init" && parts[2] == "error":
            condition.lock()
            initErrorReport = (request.header("Lambda-Runtime-Function-Error-Type") ?? "", request.body)
            initErrorReports += 1
            condition.broadcast()
            condition.unlock()
            return .json(202, #"{"status":"OK"}"#)
        default:
            return .json(404, #"{"errorMessage":"unknown path"}"#)
        }
    }

    private func next(_ request: ServerRequest) -> ServerReply {
        condition.lock()
        defer { condition.unlock() }
        if firstNextAt == nil { firstNextAt = request.receivedAt }
        nextCount += 1
        condition.broadcast()
        if !nextFaults.isEmpty {
            switch nextFaults.removeFirst() {
            case .drop: return .dropConnection
            case let .status(code): return .json(code, #"{"errorMessage":"injected fault","errorType":"Injected"}"#)
            }
        }
        nextWaiting += 1
        maxNextWaiting = max(maxNextWaiting, nextWaiting)
        condition.broadcast()
        while pending.isEmpty {
            if closed { nextWaiting -= 1; return .dropConnection }
            condition.wait()
        }
        nextWaiting -= 1
        let invocation = pending.removeFirst()
        inFlight[invocation.requestId] = invocation
        maxInFlight = max(maxInFlight, inFlight.count)
        let deadline = Int64(Date().timeIntervalSince1970 * 1000) + invocation.timeoutMilliseconds
        deadlines[invocation.requestId] = deadline
        var headers: [(String, String)] = [
            ("Lambda-Runtime-Aws-Request-Id", invocation.requestId),
            ("Lambda-Runtime-Deadline-Ms", String(deadline)),
            ("Lambda-Runtime-Invoked-Function-Arn", invocation.functionArn),
        ]
        if let t = invocation.traceId { headers.append(("Lambda-Runtime-Trace-Id", t)) }
        if let c = invocation.clientContext { headers.append(("Lambda-Runtime-Client-Context", c)) }
        if let c = invocation.cognitoIdentity { headers.append(("Lambda-Runtime-Cognito-Identity", c)) }
        if let t = invocation.tenantId { headers.append(("Lambda-Runtime-Aws-Tenant-Id", t)) }
        if let i = invocation.invocationId { headers.append(("Lambda-Runtime-Invocation-Id", i)) }
        timings[invocation.requestId] = Timing(nextAnswered: MonotonicClock.nanoseconds())
        return .respond(status: 200, headers: [("Content-Type", "application/json")] + headers, body: invocation.event)
    }

    private func complete(requestId: String, isError: Bool, request: ServerRequest) -> ServerReply {
        condition.lock()
        defer { condition.unlock() }
        if responseDrops > 0 {
            responseDrops -= 1
            return .dropConnection
        }
        if !responseFaults.isEmpty {
            let status = responseFaults.removeFirst()
            return .json(status, #"{"errorMessage":"injected fault","errorType":"Injected"}"#)
        }
        let gone = ServerReply.json(410, #"{"errorMessage":"Invocation timed out or was superseded","errorType":"InvocationGone"}"#)
        if expired.contains(requestId) {
            goneAnswers += 1
            condition.broadcast()
            return gone
        }
        guard let invocation = inFlight[requestId] else {
            return .json(400, #"{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}"#)
        }
        // An answer carrying another attempt's id is stale (optional both ways: an absent header is accepted).
        if let sent = request.header("Lambda-Runtime-Invocation-Id"), sent != invocation.invocationId {
            goneAnswers += 1
            condition.broadcast()
            return gone
        }
        answerHeaders[requestId] = AnswerHeaders(invocationId: request.header("Lambda-Runtime-Invocation-Id"),
                                                 contentType: request.header("Content-Type"))
        if !isError && request.body.count > Self.maxResponseBytes {
            return .json(413, #"{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}"#)
        }
        inFlight[requestId] = nil
        timings[requestId]?.completed = request.receivedAt
        outcomes[requestId] = isError
            ? .error(type: request.header("Lambda-Runtime-Function-Error-Type") ?? "", body: request.body)
            : .response(request.body)
        condition.broadcast()
        return .json(202, #"{"status":"OK"}"#)
    }

    /// `count` random hex digits.
    public static func randomHex(_ count: Int) -> String {
        String((0..<count).map { _ in "0123456789abcdef".randomElement()! })
    }
}
