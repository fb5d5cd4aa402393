import Foundation

/// A local Lambda Runtime API (2018-06-01), as Lambda serves it to a custom runtime: hands out
/// invocations on `/next`, collects `/response`, `/error` and `/init/error`, enforces the 6 MB
/// response limit, and can be told to fail `/next` for fault tests.
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

        public init(event: [UInt8], requestId: String = UUID().uuidString.lowercased(), timeoutMilliseconds: Int64 = 3000,
                    traceId: String? = "Root=1-\(String(UInt32(Date().timeIntervalSince1970), radix: 16))-\(RuntimeAPIEmulator.randomHex(24));Sampled=0",
                    functionArn: String = "arn:aws:lambda:us-east-1:123456789012:function:ivs-chat-events-local",
                    clientContext: String? = nil, cognitoIdentity: String? = nil, tenantId: String? = nil) {
            self.requestId = requestId
            self.event = event
            self.timeoutMilliseconds = timeoutMilliseconds
            self.traceId = traceId
            self.functionArn = functionArn
            self.clientContext = clientContext
            self.cognitoIdentity = cognitoIdentity
            self.tenantId = tenantId
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

        /// The response or error body as text.
        public var text: String {
            switch self {
            case let .response(b), let .error(_, b): String(decoding: b, as: UTF8.self)
            case let .noOutcome(why): why
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
    private var nextCount = 0
    private var firstNextAt: UInt64?
    private var timings: [String: Timing] = [:]
    private var closed = false
    private var server: HTTPServer!

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

    /// How many `/next` requests arrived so far.
    public var nextRequestCount: Int { condition.lock(); defer { condition.unlock() }; return nextCount }

    /// The init error reported, if any: (error type header, JSON body).
    public var initError: (type: String, body: [UInt8])? { condition.lock(); defer { condition.unlock() }; return initErrorReport }

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
            if !condition.wait(until: limit) { return .noOutcome("no answer within \(waitLimitSeconds) s") }
        }
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
        while pending.isEmpty {
            if closed { return .dropConnection }
            condition.wait()
        }
        let invocation = pending.removeFirst()
        inFlight[invocation.requestId] = invocation
        var headers: [(String, String)] = [
            ("Lambda-Runtime-Aws-Request-Id", invocation.requestId),
            ("Lambda-Runtime-Deadline-Ms", String(Int64(Date().timeIntervalSince1970 * 1000) + invocation.timeoutMilliseconds)),
            ("Lambda-Runtime-Invoked-Function-Arn", invocation.functionArn),
        ]
        if let t = invocation.traceId { headers.append(("Lambda-Runtime-Trace-Id", t)) }
        if let c = invocation.clientContext { headers.append(("Lambda-Runtime-Client-Context", c)) }
        if let c = invocation.cognitoIdentity { headers.append(("Lambda-Runtime-Cognito-Identity", c)) }
        if let t = invocation.tenantId { headers.append(("Lambda-Runtime-Aws-Tenant-Id", t)) }
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
        guard inFlight[requestId] != nil else {
            return .json(400, #"{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}"#)
        }
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
