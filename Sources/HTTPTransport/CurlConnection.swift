import CCurl

/// One libcurl easy handle, reused for every request it makes, so connections stay alive
/// (and TLS sessions are reused) across Lambda invocations. Not thread-safe: one per thread.
public final class CurlConnection {
    /// How a connection is set up.
    public struct Options: Sendable {
        /// Connect timeout in milliseconds.
        public var connectTimeoutMilliseconds: Int = 1000
        /// Ignore `http_proxy` and friends (the Runtime API must never go through a proxy).
        public var bypassProxy: Bool = false
        /// CA bundle file for TLS, or nil for libcurl's default.
        public var caBundlePath: String?
        /// `User-Agent` header, or nil for none.
        public var userAgent: String?

        public init(connectTimeoutMilliseconds: Int = 1000, bypassProxy: Bool = false,
                    caBundlePath: String? = nil, userAgent: String? = nil) {
            self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
            self.bypassProxy = bypassProxy
            self.caBundlePath = caBundlePath
            self.userAgent = userAgent
        }
    }

    private let handle: UnsafeMutableRawPointer
    private let options: Options
    private let sink = ResponseSink()
    private var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

    private static let globalInit: Bool = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK }()

    public init(options: Options = Options()) {
        _ = CurlConnection.globalInit
        guard let h = curl_easy_init() else { fatalError("curl_easy_init failed: out of memory") }
        handle = h
        self.options = options
    }

    deinit { curl_easy_cleanup(handle) }

    /// Performs `request`. `timeoutMilliseconds` bounds the whole exchange; nil means no limit
    /// (the Runtime API's `/next`, where the process is frozen between invocations).
    public func perform(_ request: HTTPRequest, timeoutMilliseconds: Int64? = nil) throws(HTTPTransportError) -> HTTPResponse {
        curl_easy_reset(handle)
        sink.reset()
        let h = handle
        func set(_ option: CURLoption, _ value: Int) { _ = ccurl_setopt_long(h, option, value) }

        errorBuffer[0] = 0
        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(headerList) }
        // Never wait for "100 Continue".
        headerList = curl_slist_append(headerList, "Expect:")
        for field in request.headers {
            headerList = field.value.isEmpty
                ? curl_slist_append(headerList, field.name + ";")
                : curl_slist_append(headerList, field.name + ": " + field.value)
        }

        let result: CURLcode = request.url.withCString { url in
            errorBuffer.withUnsafeMutableBufferPointer { errorBuf in
                request.body.withUnsafeBufferPointer { body in
                    _ = ccurl_setopt_ptr(h, CURLOPT_URL, url)
                    _ = ccurl_setopt_ptr(h, CURLOPT_ERRORBUFFER, errorBuf.baseAddress)
                    set(CURLOPT_NOSIGNAL, 1)
                    set(CURLOPT_TCP_NODELAY, 1)
                    set(CURLOPT_CONNECTTIMEOUT_MS, max(1, options.connectTimeoutMilliseconds))
                    if let timeout = timeoutMilliseconds { set(CURLOPT_TIMEOUT_MS, Int(max(1, timeout))) }
                    if options.bypassProxy {
                        _ = ccurl_setopt_ptr(h, CURLOPT_PROXY, "")
                        _ = ccurl_setopt_ptr(h, CURLOPT_NOPROXY, "*")
                    }
                    if let ca = options.caBundlePath { _ = ca.withCString { ccurl_setopt_ptr(h, CURLOPT_CAINFO, $0) } }
                    if let agent = options.userAgent { _ = agent.withCString { ccurl_setopt_ptr(h, CURLOPT_USERAGENT, $0) } }
                    _ = ccurl_setopt_ptr(h, CURLOPT_HTTPHEADER, headerList)

                    switch request.method {
                    case "GET": set(CURLOPT_HTTPGET, 1)
                    case "HEAD": set(CURLOPT_NOBODY, 1)
                    default:
                        if request.method != "POST" { _ = request.method.withCString { ccurl_setopt_ptr(h, CURLOPT_CUSTOMREQUEST, $0) } }
                        set(CURLOPT_POST, 1)
                        _ = ccurl_setopt_off(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
                        // An empty body still needs a valid pointer.
                        _ = ccurl_setopt_ptr(h, CURLOPT_POSTFIELDS, body.baseAddress.map { UnsafeRawPointer($0) } ?? UnsafeRawPointer(emptyBody))
                    }

                    let context = Unmanaged.passUnretained(sink).toOpaque()
                    _ = ccurl_setopt_write(h, CURLOPT_WRITEFUNCTION, curlWriteBody)
                    _ = ccurl_setopt_ptr(h, CURLOPT_WRITEDATA, context)
                    _ = ccurl_setopt_write(h, CURLOPT_HEADERFUNCTION, curlWriteHeader)
                    _ = ccurl_setopt_ptr(h, CURLOPT_HEADERDATA, context)
                    return curl_easy_perform(h)
                }
            }
        }

        guard result == CURLE_OK else {
            let detail = errorBuffer[0] != 0
                ? String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                : String(cString: curl_easy_strerror(result))
            throw HTTPTransportError(kind: Self.kind(of: result), message: "\(request.method) \(Self.redactedTarget(request.url)): \(detail)")
        }
        var status = 0
        _ = ccurl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: sink.headers, body: sink.body)
    }

    private static func kind(of code: CURLcode) -> HTTPTransportError.Kind {
        switch code {
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: return .connect
        case CURLE_OPERATION_TIMEDOUT: return .timeout
        case CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE,
             CURLE_WEIRD_SERVER_REPLY, CURLE_HTTP2, CURLE_HTTP2_STREAM, CURLE_SSL_CONNECT_ERROR:
            return .connection
        default: return .local
        }
    }

    /// Scheme, host and path only: never a query string in an error message.
    static func redactedTarget(_ url: String) -> String {
        if let q = url.firstIndex(of: "?") { return String(url[..<q]) }
        return url
    }
}

nonisolated(unsafe) private let emptyBody = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)

/// Collects one response's headers and body.
private final class ResponseSink {
    var headers: [(name: String, value: String)] = []
    var body: [UInt8] = []

    func reset() {
        headers.removeAll(keepingCapacity: true)
        body.removeAll(keepingCapacity: true)
    }

    func addHeaderLine(_ line: UnsafeBufferPointer<UInt8>) {
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
