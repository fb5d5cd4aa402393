import Essentials
import HTTPTransport
import JSON

/// The Lambda Runtime API (version 2018-06-01, with its 2026 additions) over one kept-alive libcurl
/// handle: `/next`, `/response`, `/error` and `/init/error`. One per worker thread.
public final class RuntimeAPIClient {
    /// Why a Runtime API call failed.
    public enum Failure: Error, CustomStringConvertible {
        /// The Runtime API answered 500 (container error): the runtime must exit promptly.
        case containerError(String)
        /// The call could not be made or got an unexpected answer.
        case unexpected(String)

        public var description: String {
            switch self {
            case let .containerError(m): "container error: \(m)"
            case let .unexpected(m): m
            }
        }
    }

    /// The result of posting a response or an error.
    public enum ResponseOutcome: Equatable {
        case accepted
        /// 413: the response is larger than Lambda accepts.
        case tooLarge
        /// 410 Gone: the invocation timed out or was superseded; the answer was not taken (never re-send it).
        case gone
        /// 400/403: rejected for this invocation (logged; the runtime goes on).
        case rejected(Int)
    }

    /// `http://host:port/2018-06-01`.
    public let baseURL: String
    private let connection: CurlConnection
    /// Pauses between `/next` attempts that failed without an answer.
    private let nextRetryDelaysMilliseconds: [Int64] = [5, 50, 250]

    /// `runtimeAPI` as in `AWS_LAMBDA_RUNTIME_API`: `host:port`, `[ipv6]:port`, or a URL with
    /// scheme and base path (`http://[::]:9000/.rt`).
    public init(runtimeAPI: String) {
        baseURL = RuntimeAPIClient.baseURL(for: runtimeAPI)
        connection = CurlConnection(options: .init(connectTimeoutMilliseconds: 1000, bypassProxy: true))
    }

    /// The versioned base URL for an `AWS_LAMBDA_RUNTIME_API` value.
    public static func baseURL(for runtimeAPI: String) -> String {
        var base = runtimeAPI.trimmingSpaces
        if !base.hasPrefix("http://") && !base.hasPrefix("https://") { base = "http://" + base }
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/2018-06-01"
    }

    /// Waits (without a timeout) for the next invocation. Failures other than a 500 (no answer,
    /// a dropped connection, an unexpected status) are retried a few times with growing pauses;
    /// a 500 is a container error and ends the runtime.
    public func next() throws(Failure) -> (event: [UInt8], context: InvocationContext) {
        var attempt = 0
        while true {
            let problem: String
            do {
                let response = try connection.perform(HTTPRequest(method: "GET", url: baseURL + "/runtime/invocation/next"))
                if response.status == 200, let requestId = response.header("Lambda-Runtime-Aws-Request-Id"), !requestId.isEmpty {
                    return (response.body, Self.context(requestId: requestId, from: response))
                }
                if response.status == 500 { throw Failure.containerError("/next answered 500: \(response.text.prefixForLog)") }
                problem = response.status == 200
                    ? "/next answered without Lambda-Runtime-Aws-Request-Id"
                    : "/next answered \(response.status): \(response.text.prefixForLog)"
            } catch let error as Failure {
                throw error
            } catch {
                problem = "/next failed: \(error)"
            }
            guard attempt < nextRetryDelaysMilliseconds.count else {
                throw Failure.unexpected("\(problem) (after \(attempt + 1) attempts)")
            }
            Log.warn("\(problem); retrying")
            Clock.sleep(milliseconds: nextRetryDelaysMilliseconds[attempt])
            attempt += 1
        }
    }

    /// The invocation's context from the `/next` answer's headers (SPI for the fuzz targets).
    @_spi(Fuzzing) public static func context(requestId: String, from response: HTTPResponse) -> InvocationContext {
        InvocationContext(
            requestId: requestId,
            deadlineEpochMilliseconds: response.header("Lambda-Runtime-Deadline-Ms").flatMap { Int64($0) }
                ?? Clock.epochMilliseconds() + 3_000,
            invokedFunctionArn: response.header("Lambda-Runtime-Invoked-Function-Arn"),
            traceId: response.header("Lambda-Runtime-Trace-Id"),
            clientContext: response.header("Lambda-Runtime-Client-Context"),
            cognitoIdentity: response.header("Lambda-Runtime-Cognito-Identity"),
            tenantId: response.header("Lambda-Runtime-Aws-Tenant-Id"),
            invocationId: response.header("Lambda-Runtime-Invocation-Id"))
    }

    /// Posts the function's response for the invocation, with its `Content-Type` and, when `/next`
    /// gave one, its `Lambda-Runtime-Invocation-Id`.
    public func sendResponse(for context: InvocationContext, body: [UInt8], contentType: String = "application/json") throws(Failure) -> ResponseOutcome {
        let response = try post("/runtime/invocation/\(context.requestId)/response", body: body,
                                headers: Self.invocationHeaders(context) + [("Content-Type", contentType)])
        switch response.status {
        case 202: return .accepted
        case 413: return .tooLarge
        case 410: return .gone
        case 500: throw .containerError("/response answered 500: \(response.text.prefixForLog)")
        default: return .rejected(response.status)
        }
    }

    /// Posts a function error for the invocation (with its invocation id, as for a response).
    public func sendError(for context: InvocationContext, type: String, message: String) throws(Failure) -> ResponseOutcome {
        let response = try post("/runtime/invocation/\(context.requestId)/error", body: Self.errorBody(type: type, message: message),
                                headers: Self.invocationHeaders(context) + [("Content-Type", "application/json"),
                                                                            ("Lambda-Runtime-Function-Error-Type", type)])
        switch response.status {
        case 202: return .accepted
        case 410: return .gone
        case 500: throw .containerError("/error answered 500: \(response.text.prefixForLog)")
        default: return .rejected(response.status)
        }
    }

    /// `Lambda-Runtime-Invocation-Id`, echoed unchanged when `/next` sent one.
    private static func invocationHeaders(_ context: InvocationContext) -> [(name: String, value: String)] {
        context.invocationId.map { [("Lambda-Runtime-Invocation-Id", $0)] } ?? []
    }

    /// Reports a start-up failure.
    public func sendInitError(type: String, message: String) throws(Failure) {
        let response = try post("/runtime/init/error", body: Self.errorBody(type: type, message: message),
                                headers: [("Lambda-Runtime-Function-Error-Type", type)])
        guard response.status == 202 else {
            throw .unexpected("/init/error answered \(response.status)")
        }
    }

    /// `{"errorMessage": …, "errorType": …, "stackTrace": []}`.
    public static func errorBody(type: String, message: String) -> [UInt8] {
        JSONValue.object([("errorMessage", .string(message)), ("errorType", .string(type)), ("stackTrace", .array([]))]).serialized()
    }

    /// POSTs to the Runtime API; a connection that fails without an answer is tried once more, so
    /// a computed outcome is not lost to one dropped keep-alive connection.
    private func post(_ path: String, body: [UInt8], headers: [(name: String, value: String)]) throws(Failure) -> HTTPResponse {
        let request = HTTPRequest(method: "POST", url: baseURL + path, headers: headers, body: body)
        var attempt = 0
        while true {
            do {
                return try connection.perform(request, timeoutMilliseconds: 30_000)
            } catch {
                attempt += 1
                guard attempt < 2, error.kind == .connect || error.kind == .connection else {
                    throw .unexpected("POST \(path) failed: \(error)")
                }
                Log.warn("POST \(path) failed (\(error)); trying once more")
            }
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\n" || f == "\t" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\n" || l == "\t" || l == "\r" { s.removeLast() }
        return String(s)
    }

    /// At most 200 characters, for log lines about unexpected answers.
    var prefixForLog: String { count > 200 ? String(prefix(200)) + "…" : self }
}
