/// An HTTP request as handed to a `CurlConnection`.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    /// Header fields in the order they are sent.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String, url: String, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// An HTTP response: status, header fields (names as received) and body.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first header named `name`, compared case-insensitively.
    public func header(_ name: String) -> String? {
        // Compared in place: no lower-cased copies (this runs ~7 times per invocation on the `/next` answer).
        // By index, so the loop borrows the names instead of copying (retaining) each field.
        for i in headers.indices where headers[i].name.equalsIgnoringASCIICase(name) { return headers[i].value }
        return nil
    }

    /// The body as UTF-8 text.
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Why a request got no HTTP response.
public struct HTTPTransportError: Error, CustomStringConvertible, Sendable {
    /// The broad reason: it decides whether a retry can help.
    public enum Kind: Sendable, Equatable {
        /// The server could not be reached (refused, unresolved, connect timed out).
        case connect
        /// The request's time budget ran out before the answer was complete.
        case timeout
        /// The connection failed mid-request (reset, closed, malformed answer).
        case connection
        /// A local problem (bad URL, TLS set-up, out of memory): retrying will not help.
        case local
    }

    public let kind: Kind
    public let message: String

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

extension String {
    /// Whether the two are equal but for ASCII letter case, without allocating.
    public func equalsIgnoringASCIICase(_ other: String) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        // Contiguous UTF-8 (every native string): compare bytes in place.
        if let result = utf8.withContiguousStorageIfAvailable({ a in
            other.utf8.withContiguousStorageIfAvailable { b in Self.equalIgnoringASCIICase(a, b) }
        }), let result { return result }
        for (x, y) in zip(utf8, other.utf8) where x != y {
            let lx = x | 0x20
            guard lx == y | 0x20, lx >= 97, lx <= 122 else { return false }
        }
        return true
    }

    private static func equalIgnoringASCIICase(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        for i in 0..<a.count where a[i] != b[i] {
            let lx = a[i] | 0x20
            guard lx == b[i] | 0x20, lx >= 97, lx <= 122 else { return false }
        }
        return true
    }
}
