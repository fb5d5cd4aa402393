import Essentials

/// What a function does with one invocation: takes the event's bytes, returns the response's bytes,
/// or throws. A thrown `FunctionError` keeps its type and message; any other error is reported with
/// its Swift type name.
///
/// With `AWS_LAMBDA_MAX_CONCURRENCY` > 1 (Lambda Managed Instances) the runtime makes one handler
/// per worker thread, so a handler and what it owns (AWS clients, connections, caches) are only
/// ever used by one thread at a time: no handler needs locks of its own.
public protocol LambdaHandler: AnyObject {
    func handle(_ event: [UInt8], context: InvocationContext) throws -> [UInt8]
    /// The `Content-Type` posted with responses (default `application/json`).
    var responseContentType: String { get }
}

extension LambdaHandler {
    public var responseContentType: String { "application/json" }
}

/// An error the function reports to Lambda with a type of its choosing (`Category.Reason` form,
/// e.g. `Event.InvalidJSON`) and a message safe to show to the caller.
public protocol FunctionError: Error {
    var errorType: String { get }
    var errorMessage: String { get }
}

/// A plain `FunctionError`.
public struct LambdaError: FunctionError, CustomStringConvertible {
    public let errorType: String
    public let errorMessage: String

    public init(_ errorType: String, _ errorMessage: String) {
        self.errorType = errorType
        self.errorMessage = errorMessage
    }

    public var description: String { "\(errorType): \(errorMessage)" }
}

/// A start-up failure: reported to `/runtime/init/error`, after which the process exits.
public struct InitError: Error, CustomStringConvertible {
    /// `Runtime.NoSuchHandler`, `Runtime.InvalidConfiguration`, …
    public let errorType: String
    public let errorMessage: String

    public init(_ errorType: String, _ errorMessage: String) {
        self.errorType = errorType
        self.errorMessage = errorMessage
    }

    /// An unknown `_HANDLER`.
    public static func noSuchHandler(_ name: String, known: [String]) -> InitError {
        InitError("Runtime.NoSuchHandler", "no handler named '\(name)'; known handlers: \(known.joined(separator: ", "))")
    }

    /// Missing or invalid configuration.
    public static func invalidConfiguration(_ message: String) -> InitError {
        InitError("Runtime.InvalidConfiguration", message)
    }

    public var description: String { "\(errorType): \(errorMessage)" }
}

/// Everything the Runtime API says about one invocation.
public struct InvocationContext: Sendable {
    public let requestId: String
    /// When Lambda stops the invocation, in epoch milliseconds.
    public let deadlineEpochMilliseconds: Int64
    public let invokedFunctionArn: String?
    public let traceId: String?
    public let clientContext: String?
    public let cognitoIdentity: String?
    public let tenantId: String?
    /// `Lambda-Runtime-Invocation-Id`: this attempt's opaque id, echoed on its `/response` or `/error`.
    public let invocationId: String?
    /// This invocation's metrics (its worker's recorder, reset for it), written as one EMF line when it
    /// ends; nil where no runtime serves it (unit tests).
    public var metrics: MetricsRecorder?

    public init(requestId: String, deadlineEpochMilliseconds: Int64, invokedFunctionArn: String? = nil,
                traceId: String? = nil, clientContext: String? = nil, cognitoIdentity: String? = nil,
                tenantId: String? = nil, invocationId: String? = nil, metrics: MetricsRecorder? = nil) {
        self.metrics = metrics
        self.requestId = requestId
        self.deadlineEpochMilliseconds = deadlineEpochMilliseconds
        self.invokedFunctionArn = invokedFunctionArn
        self.traceId = traceId
        self.clientContext = clientContext
        self.cognitoIdentity = cognitoIdentity
        self.tenantId = tenantId
        self.invocationId = invocationId
    }

    /// Milliseconds left before the deadline (negative once it has passed).
    public var remainingMilliseconds: Int64 { deadlineEpochMilliseconds - Clock.epochMilliseconds() }
}
