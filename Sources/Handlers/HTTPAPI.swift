import JSON
import LambdaRuntime

/// An API Gateway HTTP API request (payload format 2.0): method, path, body and the JWT
/// authorizer's claims. Only the fields the handlers use are read.
public struct HTTPAPIRequest: Sendable {
    /// `GET`, `POST`, … (upper case).
    public let method: String
    /// `rawPath`, without a trailing `/`.
    public let path: String
    /// The body's bytes, base64-decoded when `isBase64Encoded`; empty when there is none.
    public let body: [UInt8]
    /// `requestContext.authorizer.jwt.claims`: the caller's identity, as the authorizer verified it.
    public let claims: [String: String]

    public init(method: String, path: String, body: [UInt8] = [], claims: [String: String] = [:]) {
        self.method = method.uppercased()
        self.path = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        self.body = body
        self.claims = claims
    }

    /// Reads an HTTP API v2 event; an event of another shape is a function error (not an HTTP answer).
    public init(event: JSONValue) throws(LambdaError) {
        guard let http = event["requestContext"]?["http"], let method = http["method"]?.stringValue else {
            throw LambdaError("Event.InvalidShape", "expected an API Gateway HTTP API event (payload format 2.0) with requestContext.http.method")
        }
        let path = event["rawPath"]?.stringValue ?? http["path"]?.stringValue ?? "/"
        var body: [UInt8] = []
        if let text = event["body"]?.stringValue {
            if event["isBase64Encoded"]?.boolValue == true {
                guard let decoded = Base64.decode(text) else { throw LambdaError("Event.InvalidBody", "body is not valid base64") }
                body = decoded
            } else {
                body = Array(text.utf8)
            }
        }
        var claims: [String: String] = [:]
        for (key, value) in event["requestContext"]?["authorizer"]?["jwt"]?["claims"]?.objectValue ?? [] {
            switch value {
            case let .string(s): claims[key] = s
            case let .number(n): claims[key] = n
            case let .bool(b): claims[key] = b ? "true" : "false"
            default: break
            }
        }
        self.init(method: method, path: path, body: body, claims: claims)
    }

    /// The most bytes the event's body can hold, from its text alone (nothing decoded or parsed): its
    /// UTF-8 length, or when base64-encoded 3/4 of it without the padding (line breaks are counted:
    /// an upper bound); 0 without a body.
    public static func bodySize(of event: JSONValue) -> Int {
        guard let text = event["body"]?.stringValue else { return 0 }
        var length = text.utf8.count
        guard event["isBase64Encoded"]?.boolValue == true else { return length }
        for c in text.utf8.reversed().prefix(2) {
            guard c == UInt8(ascii: "=") else { break }
            length -= 1
        }
        return length * 3 / 4
    }

    /// Whether this is `method` on `route` (`/multihost/invite`), also behind a stage or base-path
    /// prefix (`/prod/multihost/invite`, `/api/multihost/invite`).
    public func matches(_ method: String, _ route: String) -> Bool {
        self.method == method && matchesPath(route)
    }

    /// Whether `route` exists under any method.
    public func matchesPath(_ route: String) -> Bool { path == route || path.hasSuffix(route) }
}

/// An HTTP API (payload format 2.0) response with a JSON body.
public struct HTTPAPIResponse: Sendable {
    public var statusCode: Int
    public var headers: [(key: String, value: String)]
    public var body: JSONValue?

    public init(statusCode: Int, headers: [(key: String, value: String)] = [], body: JSONValue?) {
        self.statusCode = statusCode
        self.headers = headers
        self.body = body
    }

    /// An error answer: `{"message": …}`.
    public static func error(_ statusCode: Int, _ message: String) -> HTTPAPIResponse {
        HTTPAPIResponse(statusCode: statusCode, body: .object([("message", .string(message))]))
    }

    /// `{"statusCode":…,"headers":{…},"body":"<json text>"}`.
    public func serialized() -> [UInt8] {
        var members: [(key: String, value: JSONValue)] = [("statusCode", .int(statusCode))]
        members.append(("headers", .object(headers.map { ($0.key, .string($0.value)) })))
        if let body { members.append(("body", .string(body.compactText))) }
        return JSONValue.object(members).serialized()
    }
}

/// Standard base64 (RFC 4648 §4) decoding, as API Gateway encodes binary bodies. Also accepts the
/// URL-safe alphabet, missing padding and line breaks.
public enum Base64 {
    private static let table: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { t[Int(c)] = UInt8(i) }
        t[Int(UInt8(ascii: "-"))] = 62
        t[Int(UInt8(ascii: "_"))] = 63
        return t
    }()

    /// The bytes `text` encodes, or nil when it is not base64.
    public static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 3 / 4)
        var buffer: UInt32 = 0, bits = 0, padding = 0
        for c in text.utf8 {
            if c == 10 || c == 13 { continue }
            if c == UInt8(ascii: "=") { padding += 1; continue }
            let v = table[Int(c)]
            guard v != 0xFF, padding == 0 else { return nil }
            buffer = buffer << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        // Leftover bits must be the zero fill of a final partial group (2 or 4 bits), never a lone character.
        guard bits == 0 || ((bits == 2 || bits == 4) && buffer & ((1 << UInt32(bits)) - 1) == 0), padding <= 2 else { return nil }
        return out
    }
}
