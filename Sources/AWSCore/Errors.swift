import HTTPTransport
import JSON

/// Why an AWS call failed. Every case's `description` is safe to log (no credentials, signatures or tokens).
public enum AWSError: Error, Sendable, CustomStringConvertible {
    /// An input broke a service constraint; no request was sent.
    case invalidInput(AWSInputError)
    /// The service answered with an error.
    case service(AWSServiceError)
    /// No answer: connection or time-out trouble on the last attempt.
    case transport(AWSTransportError)
    /// The deadline left no time for (another) attempt.
    case deadlineExceeded(AWSDeadlineExceededError)
    /// A 2xx answer that could not be read.
    case invalidResponse(AWSResponseError)
    /// No credentials to sign with (their endpoint failed); no request was sent.
    case credentials(AWSCredentialsFailure)

    public var description: String {
        switch self {
        case let .invalidInput(e): e.description
        case let .service(e): e.description
        case let .transport(e): e.description
        case let .deadlineExceeded(e): e.description
        case let .invalidResponse(e): e.description
        case let .credentials(e): e.description
        }
    }

    /// Attempts made (0 when none was).
    public var attempts: Int {
        switch self {
        case .invalidInput: 0
        case let .service(e): e.attempts
        case let .transport(e): e.attempts
        case let .deadlineExceeded(e): e.attempts
        case let .invalidResponse(e): e.attempts
        case let .credentials(e): e.attempts
        }
    }

    /// The service error, if the service answered with one.
    public var serviceError: AWSServiceError? { if case let .service(e) = self { return e }; return nil }
}

/// A call that could not be signed: its credentials could not be fetched or refreshed.
public struct AWSCredentialsFailure: Error, Sendable, CustomStringConvertible {
    public let service: String
    public let operation: String
    public let message: String
    /// Attempts made before (0 when the first could not be signed).
    public let attempts: Int

    public init(service: String, operation: String, message: String, attempts: Int) {
        self.service = service
        self.operation = operation
        self.message = message
        self.attempts = attempts
    }

    public var description: String { "\(service) \(operation) failed: no credentials: \(message)" }
}

/// An input that breaks a service constraint, caught before any request.
public struct AWSInputError: Error, Sendable, CustomStringConvertible {
    public let operation: String
    /// The offending input field (`roomIdentifier`, `attributes`, …).
    public let field: String
    public let message: String

    public init(operation: String, field: String, message: String) {
        self.operation = operation
        self.field = field
        self.message = message
    }

    public var description: String { "\(operation): invalid \(field): \(message)" }
}

/// An error answer from an AWS service.
public struct AWSServiceError: Error, Sendable, CustomStringConvertible {
    public let service: String
    public let operation: String
    /// The error code (`ValidationException`, `ThrottlingException`, …), `HTTP <status>` when none was given.
    public let type: String
    public let message: String
    public let status: Int
    /// `x-amzn-RequestId`.
    public let requestId: String?
    public let attempts: Int

    public init(service: String, operation: String, type: String, message: String, status: Int, requestId: String?, attempts: Int) {
        self.service = service
        self.operation = operation
        self.type = type
        self.message = message
        self.status = status
        self.requestId = requestId
        self.attempts = attempts
    }

    /// Reads an error answer: type from `x-amzn-ErrorType` (up to `:`), else body `__type` (after `#`)
    /// or `code`; message from `message`, `Message` or `exceptionMessage`, made safe to log with
    /// `safeMessage` (`secrets`: the caller's credentials, removed wherever they are echoed, in the type and
    /// request id too).
    public init(service: String, operation: String, response: HTTPResponse, attempts: Int, redacting secrets: [String] = []) {
        let body = try? JSONValue.parse(response.body)
        var type = response.header("x-amzn-ErrorType").map { String($0.prefix { $0 != ":" }) } ?? ""
        if type.isEmpty, let t = body?["__type"]?.stringValue ?? body?["code"]?.stringValue {
            type = t.lastIndex(of: "#").map { String(t[t.index(after: $0)...]) } ?? t
        }
        if type.isEmpty { type = "HTTP \(response.status)" }
        let message = body?["message"]?.stringValue ?? body?["Message"]?.stringValue ?? body?["exceptionMessage"]?.stringValue
            // Redacted before it is cut: a cut through a credential would leave a part that no longer matches.
            ?? (body == nil ? String(Self.redact(secrets, in: response.text).prefix(200)) : "")
        let requestId = response.header("x-amzn-RequestId") ?? response.header("x-amz-request-id")
        self.init(service: service, operation: operation, type: Self.redact(secrets, in: type), message: Self.safeMessage(message, redacting: secrets),
                  status: response.status, requestId: requestId.map { Self.redact(secrets, in: $0) }, attempts: attempts)
    }

    /// A service message fit for logs and error bodies: signature errors echo the canonical request
    /// (session token included) and the string to sign, so the message is cut before them; any
    /// echoed secret is replaced; the rest is limited to 300 characters.
    public static func safeMessage(_ raw: String, redacting secrets: [String] = []) -> String {
        var message = raw
        for marker in ["The Canonical String", "The String-to-Sign", "Canonical String for this request"] {
            if let r = message.firstRange(of: marker) { message = String(message[..<r.lowerBound]) }
        }
        message = redact(secrets, in: message)
        while let last = message.last, last == "\n" || last == " " { message.removeLast() }
        return message.count > 300 ? String(message.prefix(300)) + "…" : message
    }

    /// `text` with each secret (of 8 bytes or more) replaced by `<redacted>`, matched byte for byte: String
    /// matching compares characters, so a secret whose first or last character merges with its neighbour
    /// (a combining mark or joiner after it, a prepended mark before it) would not match, yet its bytes
    /// would reach the log (issue #12).
    static func redact(_ secrets: [String], in text: String) -> String {
        var bytes = Array(text.utf8)
        for secret in secrets where secret.utf8.count >= 8 {
            let needle = Array(secret.utf8)
            guard bytes.count >= needle.count else { continue }
            var out: [UInt8] = []
            var i = 0
            while i < bytes.count {
                if i + needle.count <= bytes.count, bytes[i] == needle[0], bytes[i..<(i + needle.count)].elementsEqual(needle) {
                    out.append(contentsOf: "<redacted>".utf8)
                    i += needle.count
                } else {
                    out.append(bytes[i])
                    i += 1
                }
            }
            bytes = out
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static let throttlingTypes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException", "TooManyRequestsException",
        "ProvisionedThroughputExceededException", "TransactionInProgressException", "RequestLimitExceeded",
        "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
        "EC2ThrottledException",
    ]
    static let transientTypes: Set<String> = ["RequestTimeout", "RequestTimeoutException", "InternalError", "InternalServerException"]

    /// Throttling (429 or a throttling code).
    public var isThrottling: Bool { status == 429 || Self.throttlingTypes.contains(type) }
    /// Whether the SDKs' standard retry mode retries it: throttling, 5xx and transient codes; never other 4xx.
    public var isRetryable: Bool { isThrottling || status >= 500 || Self.transientTypes.contains(type) }

    public var description: String {
        "\(service) \(operation) failed: \(type) (HTTP \(status)): \(message)"
            + (requestId.map { " [request id \($0)]" } ?? "") + (attempts > 1 ? " after \(attempts) attempts" : "")
    }
}

/// No answer from the service (connection refused or reset, time-out).
public struct AWSTransportError: Error, Sendable, CustomStringConvertible {
    public let service: String
    public let operation: String
    public let kind: HTTPTransportError.Kind
    public let message: String
    public let attempts: Int

    /// Connection and time-out failures are retried; local ones (bad URL, TLS set-up) are not.
    public var isRetryable: Bool { kind != .local }

    public var description: String {
        "\(service) \(operation) failed: no answer (\(kind)): \(message)" + (attempts > 1 ? " after \(attempts) attempts" : "")
    }
}

/// The call's deadline left no time for another attempt (or a back-off sleep).
public struct AWSDeadlineExceededError: Error, Sendable, CustomStringConvertible {
    public let service: String
    public let operation: String
    public let attempts: Int
    /// What the last attempt got, if one was made.
    public let lastError: String?

    public var description: String {
        "\(service) \(operation): deadline exceeded after \(attempts) attempt\(attempts == 1 ? "" : "s")"
            + (lastError.map { "; last: \($0)" } ?? "")
    }
}

/// A success answer whose body could not be read as the operation's output.
public struct AWSResponseError: Error, Sendable, CustomStringConvertible {
    public let service: String
    public let operation: String
    public let message: String
    public let attempts: Int

    public init(service: String, operation: String, message: String, attempts: Int = 1) {
        self.service = service
        self.operation = operation
        self.message = message
        self.attempts = attempts
    }

    public var description: String { "\(service) \(operation): unreadable answer: \(message)" }
}
