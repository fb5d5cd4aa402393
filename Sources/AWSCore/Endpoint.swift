import Essentials
import HTTPTransport

/// An AWS service as this package calls it: default host, signing name, endpoint override and protocol.
public struct AWSService: Sendable, Equatable {
    /// How operations travel.
    public enum WireProtocol: Sendable, Equatable {
        /// POST `/<Operation>`, `Content-Type: application/json` (IVS, IVS Chat, IVS real-time).
        case restJSON
        /// POST `/`, `Content-Type: application/x-amz-json-1.0`, `X-Amz-Target: <prefix>.<Operation>` (DynamoDB).
        case json10(targetPrefix: String)
    }

    /// Short name for messages (`ivschat`, `ivs-realtime`, `dynamodb`).
    public let name: String
    /// The default host is `<hostPrefix>.<region>.amazonaws.com`.
    public let hostPrefix: String
    /// The SigV4 signing name.
    public let signingName: String
    /// The service-specific endpoint override variable (`AWS_ENDPOINT_URL_<SERVICE>`).
    public let endpointVariable: String
    public let wireProtocol: WireProtocol

    public init(name: String, hostPrefix: String, signingName: String, endpointVariable: String, wireProtocol: WireProtocol) {
        self.name = name
        self.hostPrefix = hostPrefix
        self.signingName = signingName
        self.endpointVariable = endpointVariable
        self.wireProtocol = wireProtocol
    }

    public static let ivsChat = AWSService(name: "ivschat", hostPrefix: "ivschat", signingName: "ivschat",
                                           endpointVariable: "AWS_ENDPOINT_URL_IVSCHAT", wireProtocol: .restJSON)
    public static let ivs = AWSService(name: "ivs", hostPrefix: "ivs", signingName: "ivs",
                                       endpointVariable: "AWS_ENDPOINT_URL_IVS", wireProtocol: .restJSON)
    public static let ivsRealTime = AWSService(name: "ivs-realtime", hostPrefix: "ivsrealtime", signingName: "ivs",
                                               endpointVariable: "AWS_ENDPOINT_URL_IVS_REALTIME", wireProtocol: .restJSON)
    public static let dynamoDB = AWSService(name: "dynamodb", hostPrefix: "dynamodb", signingName: "dynamodb",
                                            endpointVariable: "AWS_ENDPOINT_URL_DYNAMODB",
                                            wireProtocol: .json10(targetPrefix: "DynamoDB_20120810"))
}

/// Where a service's requests go: base URL, and the `Host` header value that is signed.
public struct AWSEndpoint: Sendable, Equatable {
    /// `scheme://host[:port][/base]`, without a trailing slash.
    public let url: String
    /// `host[:port]` as sent in `Host` (the port only when it is not the scheme's default).
    public let host: String
    /// The URL's path (`""` or `/base`), put before operation paths.
    public let basePath: String
    /// `scheme://host[:port]`.
    public let origin: String
    /// Whether this is the service's own AWS endpoint, not an override (`AWS_ENDPOINT_URL*`).
    public let isServiceDefault: Bool

    /// Parses an endpoint URL (`https://…` or, for local stand-ins, `http://…`).
    public init(url: String, isServiceDefault: Bool = false) throws(AWSConfigurationError) {
        let scheme: String
        var rest: Substring
        if url.hasPrefix("https://") { scheme = "https"; rest = url.dropFirst(8) }
        else if url.hasPrefix("http://") { scheme = "http"; rest = url.dropFirst(7) }
        else { throw AWSConfigurationError("endpoint URL \(url) must start with https:// or http://") }
        while rest.hasSuffix("/") { rest = rest.dropLast() }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = String(rest[..<slash])
        let path = String(rest[slash...])
        // A host is required: `http://:4566` names only a port (found by fuzzing, issue #12).
        guard !authority.isEmpty, !authority.hasPrefix(":"), !authority.contains("@"), !authority.contains("?"), !path.contains("?"), !path.contains("#") else {
            throw AWSConfigurationError("endpoint URL \(url) is not of the form scheme://host[:port][/path]")
        }
        let defaultPort = scheme == "https" ? ":443" : ":80"
        if authority.hasSuffix(defaultPort) { authority.removeLast(defaultPort.count) }
        self.origin = "\(scheme)://\(authority)"
        self.url = origin + path
        self.host = authority
        self.basePath = path
        self.isServiceDefault = isServiceDefault
    }

    /// The endpoint for `service`: `AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL`,
    /// else `https://<prefix>.<region>.amazonaws.com`.
    public static func resolve(for service: AWSService, region: String,
                               lookup: (String) -> String? = Environment.nonEmpty) throws(AWSConfigurationError) -> AWSEndpoint {
        if let url = lookup(service.endpointVariable) ?? lookup("AWS_ENDPOINT_URL") { return try AWSEndpoint(url: url) }
        return try AWSEndpoint(url: "https://\(service.hostPrefix).\(region).amazonaws.com", isServiceDefault: true)
    }
}

/// Which certificate authorities AWS calls trust (issue #14). AWS's own endpoints are trusted
/// through the Amazon Trust Services roots built into the binary (`AmazonRoots`), so a cold start
/// does not parse the system's whole CA bundle (~140 certificates, ~25–50 ms of CPU with OpenSSL
/// 3.0); what a user configured keeps its meaning:
/// - a CA bundle named by `AWS_CA_BUNDLE`, `SSL_CERT_FILE` or `CURL_CA_BUNDLE` is trusted, alone,
///   for every endpoint;
/// - an endpoint override (`AWS_ENDPOINT_URL*`) is trusted through the system bundle;
/// - if an AWS endpoint's certificate does not chain to the built-in roots, the connection warns
///   and falls back to the system bundle (`TLSTrust.store`).
public struct TLSTrustPolicy: Sendable {
    /// The CA bundle the user configured, trusted exactly as configured.
    public var userBundle: String?
    /// The operating system's bundle: Amazon Linux's, else Debian's (nil: libcurl's default).
    public var systemBundle: String?
    /// The roots of AWS's endpoints, built once; nil: the system bundle serves them too.
    public var awsRoots: TrustStore?
    /// Test seam: endpoint overrides count as AWS endpoints (with `awsRoots` standing in for Amazon's).
    public var overridesUseAWSRoots: Bool

    public init(userBundle: String? = nil, systemBundle: String? = nil, awsRoots: TrustStore? = nil,
                overridesUseAWSRoots: Bool = false) {
        self.userBundle = userBundle
        self.systemBundle = systemBundle
        self.awsRoots = awsRoots
        self.overridesUseAWSRoots = overridesUseAWSRoots
    }

    /// The system bundle only (no built-in roots): what a client gets unless it asks for more.
    public static let system = TLSTrustPolicy(systemBundle: locateSystemBundle())

    /// The trust for one endpoint.
    public func trust(for endpoint: AWSEndpoint) -> TLSTrust {
        if let userBundle { return .caBundle(userBundle) }
        if let awsRoots, endpoint.isServiceDefault || overridesUseAWSRoots { return .store(awsRoots, fallbackCABundle: systemBundle) }
        return .caBundle(systemBundle)
    }

    /// The policy for this process: the user's bundle when one is set, else the built-in Amazon roots
    /// (built here, during init). `IVS_CHAT_EVENTS_TEST_AWS_ROOTS` (tests and benchmarks only) names a
    /// PEM file whose certificates stand in for Amazon's, for endpoint overrides too.
    public static func fromEnvironment(lookup: (String) -> String? = Environment.nonEmpty,
                                       isReadable: (String) -> Bool = Files.isReadable) throws(AWSConfigurationError) -> TLSTrustPolicy {
        var policy = TLSTrustPolicy(systemBundle: locateSystemBundle(isReadable: isReadable))
        for variable in ["AWS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE"] {
            guard let path = lookup(variable) else { continue }
            guard isReadable(path) else { throw AWSConfigurationError("\(variable)=\(path): the CA bundle cannot be read") }
            policy.userBundle = path
            return policy
        }
        if let path = lookup("IVS_CHAT_EVENTS_TEST_AWS_ROOTS") {
            guard let bytes = Files.read(path) else { throw AWSConfigurationError("IVS_CHAT_EVENTS_TEST_AWS_ROOTS=\(path) cannot be read") }
            do { policy.awsRoots = try TrustStore(pem: String(decoding: bytes, as: UTF8.self)) } catch {
                throw AWSConfigurationError("IVS_CHAT_EVENTS_TEST_AWS_ROOTS=\(path): \(error)")
            }
            policy.overridesUseAWSRoots = true
        } else {
            policy.awsRoots = AmazonRoots.makeStore()
        }
        return policy
    }

    /// Amazon Linux's two paths, then Debian's: the first readable one.
    public static func locateSystemBundle(isReadable: (String) -> Bool = Files.isReadable) -> String? {
        ["/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt"].first(where: isReadable)
    }
}
