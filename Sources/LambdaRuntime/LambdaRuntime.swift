import Essentials
#if canImport(Glibc)
import Glibc
#endif

/// The runtime loop: builds the handler named by `_HANDLER`, then serves invocations one at a
/// time until Lambda stops the process. Start-up failures go to `/runtime/init/error`.
public enum LambdaRuntime {
    /// Makes the handler for a `_HANDLER` name, or throws `InitError` (unknown name, bad configuration).
    public typealias HandlerFactory = (String) throws(InitError) -> LambdaHandler

    /// Runs the runtime; returns only to exit, with the process exit status.
    public static func run(makeHandler: HandlerFactory) -> Int32 {
        Log.configureFromEnvironment()
        guard let runtimeAPI = Environment.nonEmpty("AWS_LAMBDA_RUNTIME_API") else {
            Log.fatal("AWS_LAMBDA_RUNTIME_API is not set: this program runs as an AWS Lambda custom runtime")
            return 2
        }
        let client = RuntimeAPIClient(runtimeAPI: runtimeAPI)

        let handler: LambdaHandler
        do {
            handler = try makeHandler(Environment.get("_HANDLER") ?? "")
        } catch {
            Log.fatal("init failed: \(error)")
            do { try client.sendInitError(type: error.errorType, message: error.errorMessage) } catch {
                Log.error("could not report the init error: \(error)")
            }
            return 1
        }

        while true {
            do {
                try serveOne(handler, client)
            } catch {
                Log.fatal("Runtime API: \(error); exiting")
                return 1
            }
        }
    }

    /// Waits for one invocation, runs the handler and posts its outcome.
    static func serveOne(_ handler: LambdaHandler, _ client: RuntimeAPIClient) throws(RuntimeAPIClient.Failure) {
        let (event, context) = try client.next()
        Log.requestId = context.requestId
        Environment.set("_X_AMZN_TRACE_ID", context.traceId)
        defer { Log.requestId = nil }

        let output: [UInt8]
        do {
            output = try handler.handle(event, context: context)
        } catch {
            let (type, message) = describe(error)
            Log.error("\(type): \(message)")
            try client.sendError(requestId: context.requestId, type: type, message: message)
            return
        }

        switch try client.sendResponse(requestId: context.requestId, body: output) {
        case .accepted:
            break
        case .tooLarge:
            let message = "response of \(output.count) bytes is larger than Lambda accepts (6 MB)"
            Log.error(message)
            try client.sendError(requestId: context.requestId, type: "Function.ResponseSizeTooLarge", message: message)
        case let .rejected(status):
            Log.error("Runtime API rejected the response with \(status)")
        }
    }

    /// The error type and message reported for a thrown error.
    static func describe(_ error: Error) -> (type: String, message: String) {
        if let functionError = error as? FunctionError { return (functionError.errorType, functionError.errorMessage) }
        return ("Function.\(String(describing: type(of: error)))", String(describing: error))
    }
}
