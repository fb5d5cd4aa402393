import CCrypto
import CCurl
import Essentials

/// One libcurl easy handle, reused for every request it makes, so connections stay alive
/// (and TLS sessions are reused) across Lambda invocations. Options that never change are set once,
/// when the connection is made; a request sets only what is its own (URL, method, headers, body,
/// time-out). Not thread-safe: one per thread.
public final class CurlConnection {
    /// How a connection is set up.
    public struct Options: Sendable {
        /// Connect timeout in milliseconds.
        public var connectTimeoutMilliseconds: Int = 1000
        /// Ignore `http_proxy` and friends (the Runtime API must never go through a proxy).
        public var bypassProxy: Bool = false
        /// Which certificate authorities HTTPS trusts.
        public var trust: TLSTrust
        /// `User-Agent` header, or nil for none.
        public var userAgent: String?

        public init(connectTimeoutMilliseconds: Int = 1000, bypassProxy: Bool = false,
                    trust: TLSTrust = .caBundle(nil), userAgent: String? = nil) {
            self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
            self.bypassProxy = bypassProxy
            self.trust = trust
            self.userAgent = userAgent
        }
    }

    private let handle: UnsafeMutableRawPointer
    private let options: Options
    /// The trust in force: `options.trust` until a store's fallback was taken.
    private var trust: TLSTrust
    private let sink = ResponseSink()
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
    /// Whether `CURLOPT_CUSTOMREQUEST` is set (cleared again for GET and POST).
    private var customMethod = false

    /// libcurl's (and so OpenSSL's) one-time set-up. First, OpenSSL is told not to fill its legacy
    /// table of every cipher name (`EVP_get_cipherbyname`'s), which `OPENSSL_init_ssl` otherwise does
    /// and its name map then copies at the first fetch: instructions of every cold start for names that
    /// neither libcurl, libssl (which fetches its ciphers from the providers by name) nor this code looks
    /// up. (Not the digests': certificate checks look those up by NID, and refuse a certificate whose
    /// signature digest they cannot find as "too weak".)
    private static let globalInit: Bool = {
        _ = OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_ADD_ALL_CIPHERS), nil)
        return curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
    }()

    public init(options: Options = Options()) {
        _ = CurlConnection.globalInit
        guard let h = curl_easy_init() else { fatalError("curl_easy_init failed: out of memory") }
        handle = h
        self.options = options
        trust = options.trust
        errorBuffer[0] = 0
        set(CURLOPT_NOSIGNAL, 1)
        set(CURLOPT_TCP_NODELAY, 1)
        set(CURLOPT_CONNECTTIMEOUT_MS, max(1, options.connectTimeoutMilliseconds))
        _ = ccurl_setopt_ptr(h, CURLOPT_ERRORBUFFER, errorBuffer)
        if options.bypassProxy {
            _ = ccurl_setopt_ptr(h, CURLOPT_PROXY, "")
            _ = ccurl_setopt_ptr(h, CURLOPT_NOPROXY, "*")
        }
        if let agent = options.userAgent { _ = agent.withCString { ccurl_setopt_ptr(h, CURLOPT_USERAGENT, $0) } }
        let context = Unmanaged.passUnretained(sink).toOpaque()
        _ = ccurl_setopt_write(h, CURLOPT_WRITEFUNCTION, curlWriteBody)
        _ = ccurl_setopt_ptr(h, CURLOPT_WRITEDATA, context)
        _ = ccurl_setopt_write(h, CURLOPT_HEADERFUNCTION, curlWriteHeader)
        _ = ccurl_setopt_ptr(h, CURLOPT_HEADERDATA, context)
        applyTrust()
    }

    deinit {
        curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }

    private func set(_ option: CURLoption, _ value: Int) { _ = ccurl_setopt_long(handle, option, value) }

    /// Points libcurl at the trust in force. A store replaces libcurl's CA loading altogether: no
    /// file is read, and the shared store is handed to each new TLS context.
    private func applyTrust() {
        switch trust {
        case let .caBundle(path):
            _ = ccurl_setopt_ssl_ctx(handle, nil)
            _ = ccurl_setopt_ptr(handle, CURLOPT_SSL_CTX_DATA, nil)
            if let path { _ = path.withCString { ccurl_setopt_ptr(handle, CURLOPT_CAINFO, $0) } }
        case let .store(store, _):
            _ = ccurl_setopt_ptr(handle, CURLOPT_CAINFO, nil)
            _ = ccurl_setopt_ptr(handle, CURLOPT_CAPATH, nil)
            _ = ccurl_setopt_ssl_ctx(handle, useTrustStore)
            _ = ccurl_setopt_ptr(handle, CURLOPT_SSL_CTX_DATA, Unmanaged.passUnretained(store).toOpaque())
        }
    }

    /// Performs `request`. `timeoutMilliseconds` bounds the whole exchange; nil means no limit
    /// (the Runtime API's `/next`, where the process is frozen between invocations).
    public func perform(_ request: HTTPRequest, timeoutMilliseconds: Int64? = nil) throws(HTTPTransportError) -> HTTPResponse {
        var result = attempt(request, timeoutMilliseconds: timeoutMilliseconds)
        if result == CURLE_PEER_FAILED_VERIFICATION, case let .store(_, fallback) = trust {
            // Nothing was sent: the handshake failed. A CA change at AWS costs speed, never availability.
            Log.warn("\(Self.redactedTarget(request.url)): the server's certificate does not chain to the built-in roots "
                     + "(\(errorText(result))); using the CA bundle \(fallback ?? "libcurl's default") from now on")
            trust = .caBundle(fallback)
            applyTrust()
            result = attempt(request, timeoutMilliseconds: timeoutMilliseconds)
        }
        guard result == CURLE_OK else {
            throw HTTPTransportError(kind: Self.kind(of: result),
                                     message: "\(request.method) \(Self.redactedTarget(request.url)): \(errorText(result))")
        }
        var status = 0
        _ = ccurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: sink.headers, body: sink.body)
    }

    /// libcurl's words for a failure: its error buffer, else the code's description.
    private func errorText(_ code: CURLcode) -> String {
        errorBuffer[0] != 0 ? String(cString: errorBuffer) : String(cString: curl_easy_strerror(code))
    }

    /// One exchange: sets the request's own options and performs it.
    private func attempt(_ request: HTTPRequest, timeoutMilliseconds: Int64?) -> CURLcode {
        sink.reset()
        errorBuffer[0] = 0
        let h = handle
        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(headerList) }
        // Never wait for "100 Continue".
        headerList = curl_slist_append(headerList, "Expect:")
        for field in request.headers {
            headerList = field.value.isEmpty
                ? curl_slist_append(headerList, field.name + ";")
                : curl_slist_append(headerList, field.name + ": " + field.value)
        }
        set(CURLOPT_TIMEOUT_MS, timeoutMilliseconds.map { Int(max(1, $0)) } ?? 0)
        _ = ccurl_setopt_ptr(h, CURLOPT_HTTPHEADER, headerList)
        let isCustom = request.method != "GET" && request.method != "POST" && request.method != "HEAD"
        if customMethod && !isCustom { _ = ccurl_setopt_ptr(h, CURLOPT_CUSTOMREQUEST, nil) }
        customMethod = isCustom

        let result: CURLcode = request.url.withCString { url in
            request.body.withUnsafeBufferPointer { body in
                _ = ccurl_setopt_ptr(h, CURLOPT_URL, url)
                switch request.method {
                case "GET": set(CURLOPT_HTTPGET, 1)
                case "HEAD": set(CURLOPT_HTTPGET, 1); set(CURLOPT_NOBODY, 1)
                default:
                    if isCustom { _ = request.method.withCString { ccurl_setopt_ptr(h, CURLOPT_CUSTOMREQUEST, $0) } }
                    set(CURLOPT_POST, 1)
                    _ = ccurl_setopt_off(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
                    // An empty body still needs a valid pointer.
                    _ = ccurl_setopt_ptr(h, CURLOPT_POSTFIELDS, body.baseAddress.map { UnsafeRawPointer($0) } ?? UnsafeRawPointer(emptyBody))
                }
                let code = curl_easy_perform(h)
                // The body pointer is valid only in here: never leave it behind.
                if request.method != "GET" && request.method != "HEAD" { _ = ccurl_setopt_ptr(h, CURLOPT_POSTFIELDS, nil) }
                if request.method == "HEAD" { set(CURLOPT_NOBODY, 0) }
                return code
            }
        }
        return result
    }

    private static func kind(of code: CURLcode) -> HTTPTransportError.Kind {
        switch code {
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: return .connect
        case CURLE_OPERATION_TIMEDOUT: return .timeout
        case CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE,
             CURLE_WEIRD_SERVER_REPLY, CURLE_HTTP2, CURLE_HTTP2_STREAM, CURLE_SSL_CONNECT_ERROR:
            return .connection
        // Certificate problems (untrusted, expired, wrong name) are `.local`: retrying will not help.
        default: return .local
        }
    }

    /// Scheme, host and path only: never a query string in an error message.
    public static func redactedTarget(_ url: String) -> String {
        if let q = url.firstIndex(of: "?") { return String(url[..<q]) }
        return url
    }
}

nonisolated(unsafe) private let emptyBody = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)

/// `CURLOPT_SSL_CTX_FUNCTION`: hands the connection's `TrustStore` (the callback's data) to the new
/// TLS context, which takes a reference of its own.
private func useTrustStore(_ curl: UnsafeMutableRawPointer?, _ sslContext: UnsafeMutableRawPointer?,
                           _ data: UnsafeMutableRawPointer?) -> CURLcode {
    guard let sslContext, let data else { return CURLE_SSL_CERTPROBLEM }
    let store = Unmanaged<TrustStore>.fromOpaque(data).takeUnretainedValue()
    SSL_CTX_set1_cert_store(OpaquePointer(sslContext), store.store)
    return CURLE_OK
}

/// Collects one response's headers and body. SPI for the fuzz targets (Fuzz/, issue #12), which feed
/// it the header lines libcurl would.
@_spi(Fuzzing) public final class ResponseSink {
    public var headers: [(name: String, value: String)] = []
    public var body: [UInt8] = []

    /// The body capacity kept for the next response; a larger buffer (a large event) is let go, so a
    /// warm process does not keep the largest answer it ever got.
    public static let keptBodyCapacity = 256 * 1024

    public init() {}

    public func reset() {
        headers.removeAll(keepingCapacity: headers.capacity <= 64)
        if body.capacity > Self.keptBodyCapacity { body = [] } else { body.removeAll(keepingCapacity: true) }
    }

    public func addHeaderLine(_ line: UnsafeBufferPointer<UInt8>) {
        // A status line starts a new header block (redirects, 100 Continue): keep only the last.
        if line.starts(with: "HTTP/".utf8) { headers.removeAll(keepingCapacity: true); return }
        guard let colon = line.firstIndex(of: 58) else { return }
        var end = line.count
        while end > colon + 1, line[end - 1] == 10 || line[end - 1] == 13 || line[end - 1] == 32 || line[end - 1] == 9 { end -= 1 }
        var start = colon + 1
        while start < end, line[start] == 32 || line[start] == 9 { start += 1 }
        let name = String(decoding: UnsafeBufferPointer(rebasing: line[0..<colon]), as: UTF8.self)
        let value = String(decoding: UnsafeBufferPointer(rebasing: line[start..<end]), as: UTF8.self)
        headers.append((name, value))
    }
}

private func curlWriteBody(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?) -> Int {
    let n = size * count
    guard let data, let context else { return n }
    let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
    data.withMemoryRebound(to: UInt8.self, capacity: n) { sink.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: n)) }
    return n
}

private func curlWriteHeader(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?) -> Int {
    let n = size * count
    guard let data, let context else { return n }
    let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
    data.withMemoryRebound(to: UInt8.self, capacity: n) { sink.addHeaderLine(UnsafeBufferPointer(start: $0, count: n)) }
    return n
}
