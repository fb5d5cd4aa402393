import Essentials
import HTTPTransport
import JSON
#if canImport(Glibc)
import Glibc
#endif

/// Where a process's AWS credentials come from, shared by every client and worker: fixed
/// credentials (environment variables, shared file), or the container credentials endpoint that
/// long-lived environments use (`AWS_CONTAINER_CREDENTIALS_FULL_URI` or `_RELATIVE_URI`, with
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN` or `_TOKEN_FILE`), refreshed before they expire as the AWS
/// SDKs do: from 15 minutes before expiry a refresh is tried and its failure tolerated; from 10
/// minutes before, a failed refresh fails the call. Thread-safe: a lock guards the cache and the one
/// connection to the endpoint, so concurrent workers fetch once.
public final class AWSCredentialsProvider: @unchecked Sendable, CustomStringConvertible {
    /// The container credentials endpoint.
    public struct ContainerEndpoint: Sendable {
        /// The full URL.
        public var url: String
        /// The `Authorization` value, or nil.
        public var authorizationToken: String?
        /// A file holding the `Authorization` value, read at every fetch (it may be rotated); wins over the token.
        public var authorizationTokenFile: String?

        public init(url: String, authorizationToken: String? = nil, authorizationTokenFile: String? = nil) {
            self.url = url
            self.authorizationToken = authorizationToken
            self.authorizationTokenFile = authorizationTokenFile
        }
    }

    /// Seconds before expiry when a refresh is tried (a failure keeps the cached credentials).
    public static let advisoryRefreshSeconds: Int64 = 15 * 60
    /// Seconds before expiry when a refresh must succeed.
    public static let mandatoryRefreshSeconds: Int64 = 10 * 60

    private let fixed: AWSCredentials?
    private let endpoint: ContainerEndpoint?
    private let clock: @Sendable () -> Int64
    private var lock = pthread_mutex_t()
    private var cached: AWSCredentials?
    /// Epoch seconds when `cached` expires.
    private var expiration: Int64 = .max
    private var connection: CurlConnection?

    /// Fixed credentials.
    public init(_ credentials: AWSCredentials) {
        fixed = credentials
        endpoint = nil
        clock = { Clock.epochSeconds() }
        pthread_mutex_init(&lock, nil)
    }

    /// Credentials from a container credentials endpoint; `clock` gives epoch seconds (tests move it).
    public init(container endpoint: ContainerEndpoint, clock: @escaping @Sendable () -> Int64 = { Clock.epochSeconds() }) {
        fixed = nil
        self.endpoint = endpoint
        self.clock = clock
        pthread_mutex_init(&lock, nil)
    }

    deinit { pthread_mutex_destroy(&lock) }

    public var description: String {
        if let fixed { return "fixed credentials (\(fixed.source))" }
        return "container credentials endpoint \(CurlConnection.redactedTarget(endpoint?.url ?? ""))"
    }

    /// The credentials to sign with now, fetched or refreshed when due.
    public func credentials() throws(AWSCredentialsError) -> AWSCredentials {
        if let fixed { return fixed }
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        let now = clock()
        if let cached, now < expiration - Self.advisoryRefreshSeconds { return cached }
        do {
            let (fresh, expires) = try fetch()
            cached = fresh
            expiration = expires
            return fresh
        } catch {
            if let cached, now < expiration - Self.mandatoryRefreshSeconds {
                Log.warn("credentials refresh failed (\(error)); using the current ones until \(Self.mandatoryRefreshSeconds / 60) minutes before they expire")
                return cached
            }
            throw error
        }
    }

    /// GET the endpoint; parse `{AccessKeyId, SecretAccessKey, Token, Expiration}`.
    private func fetch() throws(AWSCredentialsError) -> (AWSCredentials, Int64) {
        guard let endpoint else { throw AWSCredentialsError("no credentials endpoint") }
        var headers: [(name: String, value: String)] = []
        if let file = endpoint.authorizationTokenFile {
            guard let bytes = Files.read(file) else { throw AWSCredentialsError("cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \(file)") }
            // The file's value without surrounding white space or line ends.
            let value = bytes.drop { $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 }.reversed().drop { $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 }.reversed()
            headers.append(("Authorization", String(decoding: Array(value), as: UTF8.self)))
        } else if let token = endpoint.authorizationToken {
            headers.append(("Authorization", token))
        }
        if connection == nil { connection = CurlConnection(options: .init(connectTimeoutMilliseconds: 1000, bypassProxy: true)) }
        let target = CurlConnection.redactedTarget(endpoint.url)
        var lastProblem = ""
        // The SDKs try the endpoint up to 3 times.
        for attempt in 1...3 {
            do {
                let response = try connection!.perform(HTTPRequest(method: "GET", url: endpoint.url, headers: headers), timeoutMilliseconds: 2000)
                guard response.status == 200 else {
                    lastProblem = "HTTP \(response.status)"
                    if response.status < 500 { break }
                    continue
                }
                return try Self.parse(response.body, from: target)
            } catch let error as AWSCredentialsError {
                throw error
            } catch {
                lastProblem = "\(error)"
                if attempt < 3 { Clock.sleep(milliseconds: 50 * Int64(attempt)) }
            }
        }
        throw AWSCredentialsError("container credentials endpoint \(target): \(lastProblem)")
    }

    /// Reads the endpoint's answer. Never echoes its values. (SPI for the fuzz targets.)
    @_spi(Fuzzing) public static func parse(_ body: [UInt8], from target: String) throws(AWSCredentialsError) -> (AWSCredentials, Int64) {
        guard let json = try? JSONValue.parse(body), let id = json["AccessKeyId"]?.stringValue, !id.isEmpty,
              let secret = json["SecretAccessKey"]?.stringValue, !secret.isEmpty else {
            throw AWSCredentialsError("container credentials endpoint \(target): the answer lacks AccessKeyId or SecretAccessKey")
        }
        var expires = Int64.max
        if let text = json["Expiration"]?.stringValue {
            guard let parsed = UTCTimestamp.parseISO8601(text) else {
                throw AWSCredentialsError("container credentials endpoint \(target): Expiration \(text.prefix(40)) is not an ISO 8601 time")
            }
            expires = parsed
        }
        return (AWSCredentials(accessKeyId: id, secretAccessKey: secret, sessionToken: json["Token"]?.stringValue,
                               source: "container credentials endpoint"), expires)
    }

    /// The provider the environment names: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` (and the
    /// shared credentials file) first, as the SDKs order them; then the container credentials endpoint.
    public static func resolve(lookup: (String) -> String? = Environment.nonEmpty) throws(AWSConfigurationError) -> AWSCredentialsProvider {
        let full = lookup("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        let relative = lookup("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        if lookup("AWS_ACCESS_KEY_ID") == nil, full != nil || relative != nil {
            let url = full ?? "http://169.254.170.2" + (relative ?? "")
            if full != nil, let problem = containerURLProblem(url) { throw AWSConfigurationError("AWS_CONTAINER_CREDENTIALS_FULL_URI: \(problem)") }
            return AWSCredentialsProvider(container: ContainerEndpoint(url: url, authorizationToken: lookup("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
                                                                       authorizationTokenFile: lookup("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")))
        }
        return AWSCredentialsProvider(try AWSCredentials.resolve(lookup: lookup))
    }

    /// Why a full URI may not be used: as the SDKs require, HTTPS, or HTTP to a loopback literal
    /// (`127.0.0.0/8` written as an IPv4 address, `::1`, `localhost`) or the container endpoints ECS,
    /// EKS and Lambda document (`169.254.170.2`, `169.254.170.23`, `fd00:ec2::23`) only: credentials
    /// never travel in clear text off the machine. No URL may carry userinfo (`user@host`): with it,
    /// `http://127.0.0.1@attacker.example/` names the host after the `@`.
    public static func containerURLProblem(_ url: String) -> String? {
        let scheme: String
        if url.hasPrefix("https://") { scheme = "https" } else if url.hasPrefix("http://") { scheme = "http" } else {
            return "\(url) is not an http(s) URL"
        }
        let authority = url.dropFirst(scheme.count + 3).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if authority.contains("@") { return "the URL may not carry userinfo ('@' before the host)" }
        guard !authority.isEmpty else { return "\(url) names no host" }
        if scheme == "https" { return nil }
        var host: Substring
        var port: Substring = ""
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return "\(url) has an unterminated IPv6 address" }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let rest = authority[authority.index(after: close)...]
            if !rest.isEmpty { guard rest.hasPrefix(":") else { return "\(url) has a malformed port" }; port = rest.dropFirst() }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            port = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard port.allSatisfy({ $0.isASCII && $0.isNumber }) else { return "\(url) has a malformed port" }
        let name = host.lowercased()
        if name == "localhost" || name == "::1" || name == "169.254.170.2" || name == "169.254.170.23" || name == "fd00:ec2::23"
            || isLoopbackIPv4Literal(name) { return nil }
        return "plain HTTP is allowed to loopback and the container endpoints only, not \(host)"
    }

    /// Whether `host` is a dotted-quad IPv4 literal (four decimal octets 0-255) in `127.0.0.0/8`.
    static func isLoopbackIPv4Literal(_ host: String) -> Bool {
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets[0] == "127" else { return false }
        return octets.allSatisfy { octet in
            (1...3).contains(octet.count) && octet.allSatisfy { $0.isASCII && $0.isNumber } && (Int(octet) ?? 256) <= 255
        }
    }
}

/// Credentials could not be had from their source. Never holds a credential.
public struct AWSCredentialsError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
