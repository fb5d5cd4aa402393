import Essentials
import HTTPTransport
import JSON

/// What an AWS call takes from the invocation it serves: the deadline (epoch milliseconds) and the
/// X-Ray trace header. Passed explicitly, never through the process environment, so concurrent
/// invocations cannot see each other's.
public struct AWSCallContext: Sendable {
    public var deadline: Int64
    public var traceId: String?
    public init(deadline: Int64, traceId: String? = nil) {
        self.deadline = deadline
        self.traceId = traceId
    }
}

/// Settings shared by the service clients.
public struct AWSClientConfiguration: Sendable {
    /// Where credentials come from (shared by every client and worker of the process).
    public var credentials: AWSCredentialsProvider
    public var region: String
    /// `User-Agent`.
    public var userAgent: String
    /// Which certificate authorities each endpoint's TLS trusts.
    public var trust: TLSTrustPolicy
    public var connectTimeoutMilliseconds: Int
    /// Kept free before each call's deadline, so the caller can still report.
    public var deadlineMarginMilliseconds: Int64
    /// An attempt is not started (nor a back-off slept) unless this much time would be left for it.
    public var minimumAttemptMilliseconds: Int64
    public var retry: RetryPolicy
    public var clock: AWSClock

    /// `User-Agent` of this package.
    public static let defaultUserAgent = "ivs-chat-events/0.1.0"

    /// With fixed credentials.
    public init(credentials: AWSCredentials, region: String, userAgent: String = defaultUserAgent,
                trust: TLSTrustPolicy = .system, connectTimeoutMilliseconds: Int = 1000,
                deadlineMarginMilliseconds: Int64 = 50, minimumAttemptMilliseconds: Int64 = 20,
                retry: RetryPolicy = RetryPolicy(), clock: AWSClock = .system) {
        self.init(credentialsProvider: AWSCredentialsProvider(credentials), region: region, userAgent: userAgent, trust: trust,
                  connectTimeoutMilliseconds: connectTimeoutMilliseconds, deadlineMarginMilliseconds: deadlineMarginMilliseconds,
                  minimumAttemptMilliseconds: minimumAttemptMilliseconds, retry: retry, clock: clock)
    }

    public init(credentialsProvider credentials: AWSCredentialsProvider, region: String, userAgent: String = defaultUserAgent,
                trust: TLSTrustPolicy = .system, connectTimeoutMilliseconds: Int = 1000,
                deadlineMarginMilliseconds: Int64 = 50, minimumAttemptMilliseconds: Int64 = 20,
                retry: RetryPolicy = RetryPolicy(), clock: AWSClock = .system) {
        self.credentials = credentials
        self.region = region
        self.userAgent = userAgent
        self.trust = trust
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        self.deadlineMarginMilliseconds = deadlineMarginMilliseconds
        self.minimumAttemptMilliseconds = minimumAttemptMilliseconds
        self.retry = retry
        self.clock = clock
    }

    /// Credentials, region and TLS trust from the environment (see `AWSCredentialsProvider.resolve`,
    /// `AWSRegion.resolve`, `TLSTrustPolicy.fromEnvironment`). Builds the trust store and, from a
    /// credentials endpoint, fetches the first credentials now: call it during init, once per process.
    public static func fromEnvironment(lookup: (String) -> String? = Environment.nonEmpty) throws(AWSConfigurationError) -> AWSClientConfiguration {
        let provider = try AWSCredentialsProvider.resolve(lookup: lookup)
        do { _ = try provider.credentials() } catch { throw AWSConfigurationError("no AWS credentials: \(error)") }
        return AWSClientConfiguration(credentialsProvider: provider, region: try AWSRegion.resolve(lookup: lookup),
                                      trust: try TLSTrustPolicy.fromEnvironment(lookup: lookup))
    }
}

/// Calls one AWS service at one endpoint: signs, sends over one kept-alive connection, retries
/// (standard mode) within the caller's deadline, and turns error answers into `AWSError`.
/// Not thread-safe (its connection and signer buffers are its own): each runtime worker has its own clients.
public final class AWSClient {
    public let service: AWSService
    public let endpoint: AWSEndpoint
    public let configuration: AWSClientConfiguration
    private let connection: CurlConnection
    /// Rebuilt when the provider hands out new credentials (it caches their signing key).
    private var signer: SigV4Signer
    private let contentType: String
    private var signedHeaders: [(name: String, value: String)] = []

    public init(service: AWSService, endpoint: AWSEndpoint, configuration: AWSClientConfiguration) {
        self.service = service
        self.endpoint = endpoint
        self.configuration = configuration
        connection = CurlConnection(options: .init(connectTimeoutMilliseconds: configuration.connectTimeoutMilliseconds,
                                                   trust: configuration.trust.trust(for: endpoint), userAgent: configuration.userAgent))
        // Fixed credentials cannot fail; an endpoint's were fetched at init, and a failure here leaves a
        // placeholder that the first call replaces (or reports).
        let initial = (try? configuration.credentials.credentials()) ?? AWSCredentials(accessKeyId: "", secretAccessKey: "", source: "none yet")
        signer = SigV4Signer(credentials: initial, region: configuration.region, service: service.signingName)
        if case .json10 = service.wireProtocol { contentType = "application/x-amz-json-1.0" } else { contentType = "application/json" }
    }

    /// A client whose endpoint comes from the environment (`AWSEndpoint.resolve`).
    public convenience init(service: AWSService, configuration: AWSClientConfiguration,
                            lookup: (String) -> String? = Environment.nonEmpty) throws(AWSConfigurationError) {
        self.init(service: service, endpoint: try AWSEndpoint.resolve(for: service, region: configuration.region, lookup: lookup),
                  configuration: configuration)
    }

    /// Calls `operation` with a JSON `input` and returns its JSON output. `deadline` is epoch
    /// milliseconds (the invocation's deadline): no attempt or back-off goes past it, less the margin.
    /// `traceId` (the invocation's `Lambda-Runtime-Trace-Id`) is sent as `X-Amzn-Trace-Id`.
    public func call(_ operation: String, input: JSONValue, deadline: Int64, traceId: String? = nil) throws(AWSError) -> JSONValue {
        let body = input.serialized()
        let path: String
        var headers: [(name: String, value: String)] = [("Host", endpoint.host), ("Content-Type", contentType)]
        switch service.wireProtocol {
        case .restJSON:
            path = endpoint.basePath + "/" + operation
        case let .json10(prefix):
            path = endpoint.basePath.isEmpty ? "/" : endpoint.basePath
            headers.append(("X-Amz-Target", "\(prefix).\(operation)"))
        }
        let url = endpoint.origin + path
        let clock = configuration.clock
        let budgetEnd = deadline - configuration.deadlineMarginMilliseconds
        var attempt = 0
        var lastError: String?

        func deadlineError() -> AWSError {
            .deadlineExceeded(AWSDeadlineExceededError(service: service.name, operation: operation, attempts: attempt, lastError: lastError))
        }

        while true {
            let remaining = budgetEnd - clock.now()
            if remaining < configuration.minimumAttemptMilliseconds { throw deadlineError() }
            attempt += 1

            let credentials: AWSCredentials
            do { credentials = try configuration.credentials.credentials() } catch {
                throw .credentials(AWSCredentialsFailure(service: service.name, operation: operation, message: error.description, attempts: attempt))
            }
            if credentials.accessKeyId != signer.credentials.accessKeyId || credentials.secretAccessKey != signer.credentials.secretAccessKey {
                signer = SigV4Signer(credentials: credentials, region: configuration.region, service: service.signingName)
            }
            var request = HTTPRequest(method: "POST", url: url, headers: headers, body: body)
            request.headers += signer.sign(method: "POST", path: path, headers: headers, body: body, epochSeconds: clock.now() / 1000)
            if let traceId, !traceId.isEmpty { request.headers.append(("X-Amzn-Trace-Id", traceId)) }

            let retryable: Bool
            let failure: AWSError
            switch Result(catching: { () throws(HTTPTransportError) in try connection.perform(request, timeoutMilliseconds: remaining) }) {
            case let .success(response) where (200..<300).contains(response.status):
                if response.body.isEmpty { return .object([]) }
                do { return try JSONValue.parse(response.body) } catch {
                    throw .invalidResponse(AWSResponseError(service: service.name, operation: operation,
                                                            message: error.description, attempts: attempt))
                }
            case let .success(response):
                let error = AWSServiceError(service: service.name, operation: operation, response: response, attempts: attempt,
                                            redacting: credentials.secrets)
                retryable = error.isRetryable
                failure = .service(error)
            case let .failure(error):
                let transport = AWSTransportError(service: service.name, operation: operation, kind: error.kind,
                                                  message: error.message, attempts: attempt)
                retryable = transport.isRetryable
                failure = .transport(transport)
                // The time-out was the deadline's: say so.
                if error.kind == .timeout, clock.now() >= budgetEnd { lastError = transport.description; throw deadlineError() }
            }
            guard retryable, attempt < configuration.retry.maxAttempts,
                  configuration.retry.retriesThrottling || failure.serviceError?.isThrottling != true else { throw failure }
            lastError = failure.description
            let delay = configuration.retry.delay(afterAttempt: attempt)
            if clock.now() + delay + configuration.minimumAttemptMilliseconds > budgetEnd { throw deadlineError() }
            Log.debug("\(service.name) \(operation): attempt \(attempt) failed (\(failure)); retrying in \(delay) ms")
            clock.sleep(delay)
        }
    }
}
