import Essentials

/// One SigV4 signature: what was signed and the resulting header values.
public struct SigV4Signature: Sendable {
    /// The canonical request, as hashed.
    public let canonicalRequest: String
    /// The string to sign.
    public let stringToSign: String
    /// Lower-case hex signature.
    public let signature: String
    /// `host;x-amz-date;…`.
    public let signedHeaders: String
    /// The `Authorization` header value. It holds no secret, but do not log it anyway.
    public let authorization: String
}

/// Signs AWS requests with Signature Version 4 (header form), for one set of credentials,
/// one region and one signing name. It caches the day's signing key and reuses its buffers,
/// so it is not thread-safe: one per thread (clients own theirs).
public final class SigV4Signer {
    /// How a request is signed.
    public struct Options: Sendable {
        /// Remove `.`/`..` segments and repeated slashes from the path before signing (all services but S3).
        public var normalizePath: Bool
        /// Add and sign `x-amz-content-sha256` (the body's hash).
        public var addContentSHA256Header: Bool
        /// Send `X-Amz-Security-Token` without signing it (a few services want that).
        public var omitSessionTokenFromSignature: Bool

        public init(normalizePath: Bool = true, addContentSHA256Header: Bool = false, omitSessionTokenFromSignature: Bool = false) {
            self.normalizePath = normalizePath
            self.addContentSHA256Header = addContentSHA256Header
            self.omitSessionTokenFromSignature = omitSessionTokenFromSignature
        }
    }

    public let credentials: AWSCredentials
    public let region: String
    /// The signing name (`ivschat`, `ivs`, `dynamodb`).
    public let service: String

    private var cachedDateStamp: [UInt8] = []
    private var cachedSigningKey: [UInt8] = []
    private var cachedSecond: Int64 = .min
    private var cachedAmzDate = ""
    private var canonical: [UInt8] = []
    private var toSign: [UInt8] = []
    private var sortedHeaders: [(name: [UInt8], value: [UInt8])] = []
    private let secretKeyBytes: [UInt8]

    public init(credentials: AWSCredentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
        secretKeyBytes = Array(("AWS4" + credentials.secretAccessKey.reveal).utf8)
        canonical.reserveCapacity(1024)
        toSign.reserveCapacity(256)
    }

    /// Signs a request at `epochSeconds`. `headers` are the fields to sign (include `Host`;
    /// leave out `User-Agent` and `X-Amzn-Trace-Id`). Returns the fields to add to the request,
    /// in order: `X-Amz-Security-Token` (with a session token), `X-Amz-Date`,
    /// `x-amz-content-sha256` (when asked for) and `Authorization`.
    public func sign(method: String, path: String, query: String = "", headers: [(name: String, value: String)],
                     body: [UInt8], epochSeconds: Int64, options: Options = Options()) -> [(name: String, value: String)] {
        signInDetail(method: method, path: path, query: query, headers: headers, body: body,
                     epochSeconds: epochSeconds, options: options).added
    }

    /// `sign`, also returning the signature's parts (canonical request, string to sign).
    public func signInDetail(method: String, path: String, query: String = "", headers: [(name: String, value: String)],
                             body: [UInt8], epochSeconds: Int64, options: Options = Options())
        -> (added: [(name: String, value: String)], signature: SigV4Signature) {
        let amzDate = amzDate(epochSeconds)
        let payloadHash = body.isEmpty ? emptyPayloadHash : Digest.sha256Hex(body)
        var added: [(name: String, value: String)] = []
        var signed = headers
        if let token = credentials.sessionToken {
            added.append(("X-Amz-Security-Token", token.reveal))
            if !options.omitSessionTokenFromSignature { signed.append(("x-amz-security-token", token.reveal)) }
        }
        added.append(("X-Amz-Date", amzDate))
        signed.append(("x-amz-date", amzDate))
        if options.addContentSHA256Header {
            added.append(("x-amz-content-sha256", payloadHash))
            signed.append(("x-amz-content-sha256", payloadHash))
        }
        let signature = computeSignature(method: method, path: path, query: query, signedHeaders: signed,
                                         payloadHash: payloadHash, amzDate: amzDate, normalizePath: options.normalizePath)
        added.append(("Authorization", signature.authorization))
        return (added, signature)
    }

    /// The signature of a request whose signed fields (including `x-amz-date`) are all in
    /// `signedHeaders`: the building block of `sign`, and what a verifier calls.
    public func computeSignature(method: String, path: String, query: String, signedHeaders: [(name: String, value: String)],
                                 payloadHash: String, amzDate: String, normalizePath: Bool = true) -> SigV4Signature {
        // Canonical request.
        canonical.removeAll(keepingCapacity: true)
        canonical.append(contentsOf: method.utf8)
        canonical.append(10)
        appendCanonicalPath(path, normalize: normalizePath)
        canonical.append(10)
        appendCanonicalQuery(query)
        canonical.append(10)
        canonicalizeHeaders(signedHeaders)
        var signedList: [UInt8] = []
        signedList.reserveCapacity(64)
        var i = 0
        while i < sortedHeaders.count {
            let name = sortedHeaders[i].name
            canonical.append(contentsOf: name)
            canonical.append(58)
            canonical.append(contentsOf: sortedHeaders[i].value)
            i += 1
            while i < sortedHeaders.count, sortedHeaders[i].name == name {
                canonical.append(44)
                canonical.append(contentsOf: sortedHeaders[i].value)
                i += 1
            }
            canonical.append(10)
            if !signedList.isEmpty { signedList.append(59) }
            signedList.append(contentsOf: name)
        }
        canonical.append(10)
        canonical.append(contentsOf: signedList)
        canonical.append(10)
        canonical.append(contentsOf: payloadHash.utf8)

        // String to sign.
        let dateStamp = Array(amzDate.utf8.prefix(8))
        toSign.removeAll(keepingCapacity: true)
        toSign.append(contentsOf: "AWS4-HMAC-SHA256\n".utf8)
        toSign.append(contentsOf: amzDate.utf8)
        toSign.append(10)
        let scopeStart = toSign.count
        toSign.append(contentsOf: dateStamp)
        toSign.append(47)
        toSign.append(contentsOf: region.utf8)
        toSign.append(47)
        toSign.append(contentsOf: service.utf8)
        toSign.append(contentsOf: "/aws4_request".utf8)
        let scope = String(decoding: toSign[scopeStart...], as: UTF8.self)
        toSign.append(10)
        toSign.append(contentsOf: Hex.encode(canonical.withUnsafeBytes { Digest.sha256($0) }).utf8)

        let key = signingKey(dateStamp: dateStamp)
        let signature = Hex.encode(key.withUnsafeBytes { k in toSign.withUnsafeBytes { Digest.hmacSHA256(key: k, data: $0) } })
        let signedHeaderNames = String(decoding: signedList, as: UTF8.self)
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyId)/\(scope), SignedHeaders=\(signedHeaderNames), Signature=\(signature)"
        return SigV4Signature(canonicalRequest: String(decoding: canonical, as: UTF8.self),
                              stringToSign: String(decoding: toSign, as: UTF8.self),
                              signature: signature, signedHeaders: signedHeaderNames, authorization: authorization)
    }

    /// `X-Amz-Date` for `epochSeconds` (cached for the current second).
    public func amzDate(_ epochSeconds: Int64) -> String {
        if epochSeconds != cachedSecond {
            cachedSecond = epochSeconds
            cachedAmzDate = UTCTimestamp(epochMilliseconds: epochSeconds * 1000).amzDate
        }
        return cachedAmzDate
    }

    /// The day's signing key, derived once per date.
    private func signingKey(dateStamp: [UInt8]) -> [UInt8] {
        if dateStamp == cachedDateStamp { return cachedSigningKey }
        var key = Digest.hmacSHA256(key: secretKeyBytes, data: dateStamp)
        key = Digest.hmacSHA256(key: key, data: Array(region.utf8))
        key = Digest.hmacSHA256(key: key, data: Array(service.utf8))
        key = Digest.hmacSHA256(key: key, data: Array("aws4_request".utf8))
        cachedDateStamp = dateStamp
        cachedSigningKey = key
        return key
    }

    private func canonicalizeHeaders(_ headers: [(name: String, value: String)]) {
        sortedHeaders.removeAll(keepingCapacity: true)
        for field in headers {
            var name = Array(field.name.utf8)
            for j in name.indices where name[j] >= 65 && name[j] <= 90 { name[j] += 32 }
            // Trim, and collapse runs of white space (folded lines included) to one space.
            var value: [UInt8] = []
            value.reserveCapacity(field.value.utf8.count)
            var pendingSpace = false
            for b in field.value.utf8 {
                if b == 32 || b == 9 || b == 10 || b == 13 {
                    pendingSpace = !value.isEmpty
                } else {
                    if pendingSpace { value.append(32); pendingSpace = false }
                    value.append(b)
                }
            }
            sortedHeaders.append((name, value))
        }
        // Stable sort by name: repeated fields keep their order.
        if sortedHeaders.count > 1 {
            for i in 1..<sortedHeaders.count {
                let item = sortedHeaders[i]
                var j = i
                while j > 0, item.name.lexicographicallyPrecedes(sortedHeaders[j - 1].name) {
                    sortedHeaders[j] = sortedHeaders[j - 1]
                    j -= 1
                }
                sortedHeaders[j] = item
            }
        }
    }

    private func appendCanonicalPath(_ path: String, normalize: Bool) {
        if path.isEmpty { canonical.append(47); return }
        guard normalize else {
            percentEncode(path.utf8, keepSlash: true, into: &canonical)
            return
        }
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            if segment == "." { continue }
            if segment == ".." { if !segments.isEmpty { segments.removeLast() }; continue }
            segments.append(segment)
        }
        canonical.append(47)
        for (n, segment) in segments.enumerated() {
            if n > 0 { canonical.append(47) }
            percentEncode(segment.utf8, keepSlash: false, into: &canonical)
        }
        if !segments.isEmpty, path.utf8.last == 47 { canonical.append(47) }
    }

    private func appendCanonicalQuery(_ query: String) {
        guard !query.isEmpty else { return }
        var pairs: [(key: [UInt8], value: [UInt8])] = []
        for part in query.utf8.split(separator: 38, omittingEmptySubsequences: true) {
            var key: [UInt8] = []
            var value: [UInt8] = []
            if let eq = part.firstIndex(of: 61) {
                percentEncode(percentDecode(part[..<eq]), keepSlash: false, into: &key)
                percentEncode(percentDecode(part[part.index(after: eq)...]), keepSlash: false, into: &value)
            } else {
                percentEncode(percentDecode(part), keepSlash: false, into: &key)
            }
            pairs.append((key, value))
        }
        pairs.sort { $0.key == $1.key ? $0.value.lexicographicallyPrecedes($1.value) : $0.key.lexicographicallyPrecedes($1.key) }
        for (n, pair) in pairs.enumerated() {
            if n > 0 { canonical.append(38) }
            canonical.append(contentsOf: pair.key)
            canonical.append(61)
            canonical.append(contentsOf: pair.value)
        }
    }
}

/// Hex SHA-256 of an empty body.
public let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

private let upperHex: [UInt8] = Array("0123456789ABCDEF".utf8)

/// RFC 3986 encoding as SigV4 wants it: everything but `A-Z a-z 0-9 - _ . ~` (and `/` when kept) as `%XX`.
func percentEncode<S: Sequence>(_ bytes: S, keepSlash: Bool, into out: inout [UInt8]) where S.Element == UInt8 {
    for b in bytes {
        let unreserved = (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || (b >= 48 && b <= 57)
            || b == 45 || b == 95 || b == 46 || b == 126 || (keepSlash && b == 47)
        if unreserved { out.append(b) } else {
            out.append(37)
            out.append(upperHex[Int(b >> 4)])
            out.append(upperHex[Int(b & 15)])
        }
    }
}

/// Decodes `%XX` escapes (malformed ones are kept as they are).
func percentDecode<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
    func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 65...70: return c - 55
        case 97...102: return c - 87
        default: return nil
        }
    }
    let a = Array(bytes)
    var out: [UInt8] = []
    out.reserveCapacity(a.count)
    var i = 0
    while i < a.count {
        if a[i] == 37, i + 2 < a.count, let h = hexValue(a[i + 1]), let l = hexValue(a[i + 2]) {
            out.append(h << 4 | l)
            i += 3
        } else {
            out.append(a[i])
            i += 1
        }
    }
    return out
}
