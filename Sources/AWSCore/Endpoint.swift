import Essentials

/// An AWS service as this package calls it: default host, signing name, endpoint override and protocol.
public struct AWSService: Sendable, Equatable {
    /// How operations travel.
    public enum WireProtocol: Sendable, Equatable {
        /// POST `/<Operation>`, `Content-Type: application/json` (IVS Chat, IVS real-time).
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

    /// Parses an endpoint URL (`https://…` or, for local stand-ins, `http://…`).
    public init(url: String) throws(AWSConfigurationError) {
        let scheme: String
        var rest: Substring
        if url.hasPrefix("https://") { scheme = "https"; rest = url.dropFirst(8) }
        else if url.hasPrefix("http://") { scheme = "http"; rest = url.dropFirst(7) }
        else { throw AWSConfigurationError("endpoint URL \(url) must start with https:// or http://") }
        while rest.hasSuffix("/") { rest = rest.dropLast() }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = String(rest[..<slash])
        let path = String(rest[slash...])
        guard !authority.isEmpty, !authority.contains("@"), !authority.contains("?"), !path.contains("?"), !path.contains("#") else {
            throw AWSConfigurationError("endpoint URL \(url) is not of the form scheme://host[:port][/path]")
        }
        let defaultPort = scheme == "https" ? ":443" : ":80"
        if authority.hasSuffix(defaultPort) { authority.removeLast(defaultPort.count) }
        self.origin = "\(scheme)://\(authority)"
        self.url = origin + path
        self.host = authority
        self.basePath = path
    }

    /// The endpoint for `service`: `AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL`,
    /// else `https://<prefix>.<region>.amazonaws.com`.
    public static func resolve(for service: AWSService, region: String,
                               lookup: (String) -> String? = Environment.nonEmpty) throws(AWSConfigurationError) -> AWSEndpoint {
        if let url = lookup(service.endpointVariable) ?? lookup("AWS_ENDPOINT_URL") { return try AWSEndpoint(url: url) }
        return try AWSEndpoint(url: "https://\(service.hostPrefix).\(region).amazonaws.com")
    }
}

/// The CA bundle handed to libcurl, found explicitly so one binary works on Amazon Linux and Debian.
public enum CABundle {
    /// Candidates in order: `SSL_CERT_FILE`, `CURL_CA_BUNDLE`, Amazon Linux's two paths, Debian's.
    public static func locate(lookup: (String) -> String? = Environment.nonEmpty,
                              isReadable: (String) -> Bool = Files.isReadable) -> String? {
        let candidates = [lookup("SSL_CERT_FILE"), lookup("CURL_CA_BUNDLE"),
                          "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-bundle.crt",
                          "/etc/ssl/certs/ca-certificates.crt"]
        for case let path? in candidates where isReadable(path) { return path }
        return nil
    }

    /// The bundle for this process, resolved once (nil: libcurl's default).
    public static let path: String? = locate()
}
