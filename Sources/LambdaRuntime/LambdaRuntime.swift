import Essentials
#if canImport(Glibc)
import Glibc
#endif

/// The runtime: builds the handler named by `_HANDLER`, then serves invocations until Lambda stops
/// the process. Start-up failures go to `/runtime/init/error`.
///
/// With `AWS_LAMBDA_MAX_CONCURRENCY` = N > 1 (Lambda Managed Instances) it runs N workers in this
/// process, each a thread with its own `/next` loop, Runtime API connection and handler (so nothing a
/// handler owns is shared between threads). Unset or 1: one loop on the main thread, no thread started.
public enum LambdaRuntime {
    /// Makes the handler for a `_HANDLER` name, or throws `InitError` (unknown name, bad configuration).
    /// Called once per worker, before any worker asks for an invocation.
    public typealias HandlerFactory = (String) throws(InitError) -> LambdaHandler

    /// The most workers a process runs.
    public static let maxConcurrency = 1024

    /// Runs the runtime; returns only to exit, with the process exit status.
    public static func run(makeHandler: HandlerFactory) -> Int32 {
        Log.configureFromEnvironment()
        guard let runtimeAPI = Environment.nonEmpty("AWS_LAMBDA_RUNTIME_API") else {
            Log.fatal("AWS_LAMBDA_RUNTIME_API is not set: this program runs as an AWS Lambda custom runtime")
            return 2
        }
        let client = RuntimeAPIClient(runtimeAPI: runtimeAPI)

        // Init: every worker's handler is built (configuration checked) before any worker calls /next.
        var handlers: [LambdaHandler] = []
        do {
            let workers = try concurrency(Environment.get("AWS_LAMBDA_MAX_CONCURRENCY"))
            let name = Environment.get("_HANDLER") ?? ""
            for _ in 0..<workers { handlers.append(try makeHandler(name)) }
        } catch {
            Log.fatal("init failed: \(error)")
            do { try client.sendInitError(type: error.errorType, message: error.errorMessage) } catch {
                Log.error("could not report the init error: \(error)")
            }
            return 1
        }

        if handlers.count == 1 {
            return Worker(handler: handlers[0], client: client, setsTraceEnvironment: true).run()
        }
        // Workers 1…N-1 on threads of their own, worker 0 on this one. A worker that hits a Runtime API
        // failure ends the process, as a single loop does: Lambda then replaces the environment.
        for handler in handlers.dropFirst() {
            let worker = Worker(handler: handler, client: RuntimeAPIClient(runtimeAPI: runtimeAPI), setsTraceEnvironment: false)
            startThread { exit(worker.run()) }
        }
        Log.info("serving up to \(handlers.count) concurrent invocations (AWS_LAMBDA_MAX_CONCURRENCY)")
        return Worker(handler: handlers[0], client: client, setsTraceEnvironment: false).run()
    }

    /// The number of workers for an `AWS_LAMBDA_MAX_CONCURRENCY` value (unset or empty: 1).
    public static func concurrency(_ value: String?) throws(InitError) -> Int {
        guard let value, !value.isEmpty else { return 1 }
        guard let n = Int(value), n >= 1, n <= maxConcurrency else {
            throw .invalidConfiguration("AWS_LAMBDA_MAX_CONCURRENCY=\(value): expected a whole number from 1 to \(maxConcurrency)")
        }
        return n
    }

    /// The error type and message reported for a thrown error.
    static func describe(_ error: Error) -> (type: String, message: String) {
        if let functionError = error as? FunctionError { return (functionError.errorType, functionError.errorMessage) }
        return ("Function.\(String(describing: type(of: error)))", String(describing: error))
    }

    /// Runs `body` on a new thread (1 MiB of stack, like the main thread's work needs).
    private static func startThread(_ body: @escaping () -> Void) {
        final class Box { let body: () -> Void; init(_ body: @escaping () -> Void) { self.body = body } }
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setstacksize(&attributes, 1 << 20)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        let status = pthread_create(&thread, &attributes, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, context)
        pthread_attr_destroy(&attributes)
        if status != 0 {
            Log.fatal("could not start a worker thread (error \(status))")
            exit(1)
        }
    }
}

#if os(Linux)
/// glibc's `malloc_trim` (in `<malloc.h>`, which the Glibc module leaves out): gives free heap memory back to the system.
@_silgen_name("malloc_trim") private func glibcMallocTrim(_ pad: Int) -> Int32
#endif

/// One `/next` loop: takes an invocation, runs its handler, posts the outcome, again.
final class Worker {
    private let handler: LambdaHandler
    private let client: RuntimeAPIClient
    /// Whether to set `_X_AMZN_TRACE_ID` per invocation: only a lone worker may (the environment
    /// is process-wide); AWS calls get the trace id from the invocation's context either way.
    private let setsTraceEnvironment: Bool

    init(handler: LambdaHandler, client: RuntimeAPIClient, setsTraceEnvironment: Bool) {
        self.handler = handler
        self.client = client
        self.setsTraceEnvironment = setsTraceEnvironment
    }

    /// An event at least this large is followed by `malloc_trim`: its memory goes back to the system
    /// instead of staying with the warm process (glibc raises its thresholds after a large free).
    static let trimAfterEventBytes = 1 << 20

    /// Serves until a Runtime API failure; returns the exit status.
    func run() -> Int32 {
        while true {
            do {
                let eventBytes = try serveOne()
                #if os(Linux)
                if eventBytes >= Self.trimAfterEventBytes { _ = glibcMallocTrim(0) }
                #endif
            } catch {
                Log.fatal("Runtime API: \(error); exiting")
                return 1
            }
        }
    }

    /// Waits for one invocation, runs the handler and posts its outcome; returns the event's size.
    @discardableResult
    func serveOne() throws(RuntimeAPIClient.Failure) -> Int {
        let (event, context) = try client.next()
        Log.requestId = context.requestId
        if setsTraceEnvironment { Environment.set("_X_AMZN_TRACE_ID", context.traceId) }
        defer { Log.requestId = nil }

        let output: [UInt8]
        do {
            output = try handler.handle(event, context: context)
        } catch {
            let (type, message) = LambdaRuntime.describe(error)
            Log.error("\(type): \(message)")
            report(try client.sendError(for: context, type: type, message: message), context, what: "error report")
            return event.count
        }

        switch try client.sendResponse(for: context, body: output, contentType: handler.responseContentType) {
        case .tooLarge:
            let message = "response of \(output.count) bytes is larger than Lambda accepts (6 MB)"
            Log.error(message)
            report(try client.sendError(for: context, type: "Function.ResponseSizeTooLarge", message: message), context, what: "error report")
        case let outcome:
            report(outcome, context, what: "response")
        }
        return event.count
    }

    /// Logs an answer Lambda did not take; the worker goes on to the next invocation either way.
    private func report(_ outcome: RuntimeAPIClient.ResponseOutcome, _ context: InvocationContext, what: String) {
        switch outcome {
        case .accepted, .tooLarge:
            break
        case .gone:
            Log.warn("invocation \(context.requestId) timed out or was superseded: the Runtime API answered 410 Gone to its \(what), which was dropped")
        case let .rejected(status):
            Log.error("the Runtime API rejected the \(what) for \(context.requestId) with \(status)")
        }
    }
}
