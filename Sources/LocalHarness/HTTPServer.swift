import CCrypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A request received by `HTTPServer`.
public struct ServerRequest: Sendable {
    public var method: String
    /// The request target: path and query as received.
    public var target: String
    /// Header fields with lower-cased names, in order.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// When its last bytes were read from the socket, in `MonotonicClock` nanoseconds (for timing).
    public var receivedAt: UInt64 = 0

    /// The path without the query string.
    public var path: String { target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? target }

    /// The first header named `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name == lower }?.value
    }
}

/// What the server does with a request: answer it, or fail the connection on purpose (for fault tests).
public enum ServerReply: Sendable {
    case respond(status: Int, headers: [(String, String)], body: [UInt8])
    /// Close the connection without answering.
    case dropConnection
    /// Answer with only part of the headers, then reset the connection.
    case resetMidResponse
    /// Accept a WebSocket upgrade (RFC 6455), naming `subprotocol` when the client offered one;
    /// `session` gets the connection (to keep, and to set its callbacks; it must not send from there)
    /// just before the 101 answer goes out; the connection's thread then reads its frames until it
    /// closes. Plain-HTTP servers only.
    case webSocket(subprotocol: String?, session: @Sendable (WebSocketConnection) -> Void)

    /// A JSON answer.
    public static func json(_ status: Int, _ body: String, headers: [(String, String)] = []) -> ServerReply {
        .respond(status: status, headers: [("Content-Type", "application/json")] + headers, body: Array(body.utf8))
    }
}

/// A server's TLS identity: its certificate chain and private key, loaded into an OpenSSL server context.
public final class TLSServerIdentity: @unchecked Sendable {
    /// The `SSL_CTX *`.
    let context: OpaquePointer

    /// Loads PEM files (the chain: leaf first, then intermediates).
    public init(certificateChainFile: String, privateKeyFile: String) throws {
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw ServerError("SSL_CTX_new failed") }
        guard SSL_CTX_use_certificate_chain_file(context, certificateChainFile) == 1,
              SSL_CTX_use_PrivateKey_file(context, privateKeyFile, SSL_FILETYPE_PEM) == 1 else {
            SSL_CTX_free(context)
            throw ServerError("cannot load the TLS certificate \(certificateChainFile) / key \(privateKeyFile)")
        }
        self.context = context
    }

    deinit { SSL_CTX_free(context) }
}

/// A small threaded HTTP/1.1 server on the loopback interface, for the local Runtime API emulator
/// and the AWS stand-ins. One thread per connection, keep-alive, `Content-Length` bodies; HTTPS
/// when given a `TLSServerIdentity`.
public final class HTTPServer: @unchecked Sendable {
    public typealias Handler = @Sendable (ServerRequest) -> ServerReply

    /// The port it listens on (chosen by the system when 0 was asked for).
    public let port: Int
    private let listener: Int32
    private let handler: Handler
    private let tls: TLSServerIdentity?
    private let lock = NSLock()
    private var connections: Set<Int32> = []
    private var stopped = false

    /// TLS handshakes that failed (the client refused the certificate, or spoke plain HTTP).
    public var failedHandshakes: Int { lock.lock(); defer { lock.unlock() }; return handshakeFailures }
    private var handshakeFailures = 0

    /// Starts listening on 127.0.0.1:`port` (0: any free port) and serving on background threads,
    /// over TLS when `tls` is given.
    public init(port: Int = 0, tls: TLSServerIdentity? = nil, handler: @escaping Handler) throws {
        self.handler = handler
        self.tls = tls
        // SSL_write writes with write(2), which raises SIGPIPE when the client is gone (plain sends use
        // MSG_NOSIGNAL): the local tools that serve (tests, make viewer, crowd, bench) ignore it and see EPIPE.
        if tls != nil { signal(SIGPIPE, SIG_IGN) }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ServerError("socket: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw ServerError("bind/listen on 127.0.0.1:\(port): \(reason)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.port = Int(UInt16(bigEndian: actual.sin_port))
        self.listener = fd
        let thread = Thread { [self] in acceptLoop() }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// `http://127.0.0.1:<port>`, or `https://` with TLS.
    public var baseURL: String { "\(tls == nil ? "http" : "https")://127.0.0.1:\(port)" }

    /// Stops accepting and shuts every open connection down. Only the accept thread closes the
    /// listening socket and only a connection's own thread closes it, so a descriptor number is
    /// never closed twice or reused under a live thread.
    public func stop() {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return }
        stopped = true
        shutdown(listener, Int32(SHUT_RDWR))
        for fd in connections { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    deinit { stop() }

    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            lock.lock()
            if stopped {
                lock.unlock()
                if fd >= 0 { close(fd) }
                close(listener)
                return
            }
            if fd < 0 {
                lock.unlock()
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            connections.insert(fd)
            lock.unlock()
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let thread = Thread { [self] in serve(fd) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer {
            lock.lock(); connections.remove(fd); lock.unlock()
            close(fd)
        }
        let channel: Channel
        if let tls {
            guard let ssl = SSL_new(tls.context) else { return }
            SSL_set_fd(ssl, fd)
            guard SSL_accept(ssl) == 1 else {
                SSL_free(ssl)
                lock.lock(); handshakeFailures += 1; lock.unlock()
                return
            }
            channel = Channel(fd: fd, ssl: ssl)
        } else {
            channel = Channel(fd: fd, ssl: nil)
        }
        var reader = SocketReader(channel: channel)
        while let request = reader.readRequest() {
            let reply = handler(request)
            switch reply {
            case .dropConnection:
                return
            case .resetMidResponse:
                _ = channel.send(Array("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"partial\":".utf8))
                var l = linger(l_onoff: 1, l_linger: 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
                return
            case let .webSocket(subprotocol, session):
                guard tls == nil, let key = request.header("sec-websocket-key") else {
                    _ = channel.send(Array("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".utf8))
                    return
                }
                var head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                head += "Sec-WebSocket-Accept: \(WebSocketConnection.acceptValue(forKey: key))\r\n"
                if let subprotocol { head += "Sec-WebSocket-Protocol: \(subprotocol)\r\n" }
                let connection = WebSocketConnection(channel: channel, buffered: reader.takeBuffered())
                // Registered before the client learns it is open; no frame goes out ahead of the 101.
                guard connection.open(handshake: Array((head + "\r\n").utf8), session: session) else { return }
                connection.readUntilClosed()
                return
            case let .respond(status, headers, body):
                var head = "HTTP/1.1 \(status) \(reasonPhrase(status))\r\n"
                for (name, value) in headers { head += "\(name): \(value)\r\n" }
                head += "Content-Length: \(body.count)\r\n\r\n"
                if !channel.send(Array(head.utf8) + body) { return }
                if request.header("connection")?.lowercased() == "close" { return }
            }
        }
    }
}

/// A monotonic clock (CLOCK_MONOTONIC), comparable across the emulator, the stand-ins and `LambdaProcess`.
public enum MonotonicClock {
    /// Nanoseconds since an arbitrary fixed point.
    public static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// A server set-up failure.
public struct ServerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One accepted connection's bytes: the socket itself, or a TLS session over it.
final class Channel {
    let fd: Int32
    private let ssl: OpaquePointer?

    init(fd: Int32, ssl: OpaquePointer?) {
        self.fd = fd
        self.ssl = ssl
    }

    deinit { if let ssl { SSL_free(ssl) } }

    /// Reads up to `count` bytes; 0 at the end, negative on error.
    func receive(_ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
        if let ssl { return Int(SSL_read(ssl, buffer, Int32(count))) }
        while true {
            let n = recv(fd, buffer, count, 0)
            if n < 0 && errno == EINTR { continue }
            return n
        }
    }

    /// Writes all of `bytes`.
    func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n: Int
                if let ssl { n = Int(SSL_write(ssl, raw.baseAddress! + offset, Int32(raw.count - offset))) }
                else { n = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL)) }
                if n < 0, ssl == nil, errno == EINTR { continue }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
    }
}

private func reasonPhrase(_ status: Int) -> String {
    switch status {
    case 200: "OK"
    case 201: "Created"
    case 202: "Accepted"
    case 204: "No Content"
    case 400: "Bad Request"
    case 101: "Switching Protocols"
    case 401: "Unauthorized"
    case 403: "Forbidden"
    case 404: "Not Found"
    case 413: "Payload Too Large"
    case 429: "Too Many Requests"
    case 500: "Internal Server Error"
    case 502: "Bad Gateway"
    case 503: "Service Unavailable"
    default: "Status"
    }
}

/// Buffered reads of HTTP/1.1 requests from one socket.
private struct SocketReader {
    let channel: Channel
    var buffer: [UInt8] = []
    var start = 0
    /// When the last successful read returned.
    var lastReadAt: UInt64 = 0

    init(channel: Channel) { self.channel = channel }

    mutating func fill() -> Bool {
        if start > 65536 { buffer.removeFirst(start); start = 0 }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { channel.receive($0.baseAddress!, $0.count) }
        if n <= 0 { return false }
        lastReadAt = MonotonicClock.nanoseconds()
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }

    /// Bytes read past the last request (the first frames of an upgraded connection).
    mutating func takeBuffered() -> [UInt8] {
        defer { buffer = []; start = 0 }
        return Array(buffer[start...])
    }

    mutating func readRequest() -> ServerRequest? {
        // Head.
        var headEnd: Int?
        while headEnd == nil {
            if buffer.count - start >= 4 {
                var i = start
                while i + 3 < buffer.count {
                    if buffer[i] == 13, buffer[i + 1] == 10, buffer[i + 2] == 13, buffer[i + 3] == 10 { headEnd = i; break }
                    i += 1
                }
            }
            if headEnd == nil, !fill() { return nil }
        }
        let head = String(decoding: buffer[start..<headEnd!], as: UTF8.self)
        start = headEnd! + 4
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        var headers: [(name: String, value: String)] = []
        var contentLength = 0
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers.append((name, value))
            if name == "content-length" { contentLength = Int(value) ?? 0 }
        }
        while buffer.count - start < contentLength { if !fill() { return nil } }
        let body = Array(buffer[start..<(start + contentLength)])
        start += contentLength
        return ServerRequest(method: String(requestLine[0]), target: String(requestLine[1]), headers: headers, body: body,
                             receivedAt: lastReadAt)
    }
}
