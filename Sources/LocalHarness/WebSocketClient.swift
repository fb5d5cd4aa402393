import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A minimal blocking WebSocket client (RFC 6455) for tests of the chat stand-in: opens
/// `ws://127.0.0.1:<port>/` offering a subprotocol (a chat token, as IVS Chat clients do) and reads
/// text frames.
public final class WebSocketClient {
    /// The handshake's HTTP status: 101 when the server accepted the connection.
    public let status: Int
    /// The subprotocol the server chose (`Sec-WebSocket-Protocol`).
    public let subprotocol: String?
    private let fd: Int32
    private var buffer: [UInt8]

    /// Connects to `url` (`ws://127.0.0.1:<port>`) offering `subprotocol`; throws only when the TCP
    /// connection or the HTTP exchange fails (a refusal is a `status` other than 101).
    public init(url: String, subprotocol offered: String?) throws {
        guard let port = url.split(separator: ":").last.flatMap({ Int($0.trimmingCharacters(in: CharacterSet(charactersIn: "/"))) }) else {
            throw ServerError("not a ws://127.0.0.1:<port> URL: \(url)")
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { close(fd); throw ServerError("connect to \(url): \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request = "GET / HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        request += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        if let offered { request += "Sec-WebSocket-Protocol: \(offered)\r\n" }
        request += "\r\n"
        _ = Array(request.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var buffer: [UInt8] = []
        var headEnd: Int?
        while headEnd == nil {
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { close(fd); throw ServerError("no handshake answer from \(url)") }
            buffer += chunk[0..<n]
            headEnd = (0..<max(0, buffer.count - 3)).first { buffer[$0] == 13 && buffer[$0 + 1] == 10 && buffer[$0 + 2] == 13 && buffer[$0 + 3] == 10 }
        }
        let head = String(decoding: buffer[0..<headEnd!], as: UTF8.self).components(separatedBy: "\r\n")
        self.fd = fd
        status = head.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        subprotocol = head.dropFirst().first { $0.lowercased().hasPrefix("sec-websocket-protocol:") }
            .map { String($0.dropFirst("sec-websocket-protocol:".count)).trimmingCharacters(in: .whitespaces) }
        buffer.removeFirst(headEnd! + 4)
        self.buffer = status == 101 ? buffer : []
    }

    deinit { close(fd) }

    /// The next text message, or nil when the connection closed or nothing came within the socket's
    /// 10-second read limit.
    public func receiveText() -> String? {
        while true {
            guard let head = read(2) else { return nil }
            var length = Int(head[1] & 0x7F)
            if length == 126 { guard let b = read(2) else { return nil }; length = Int(b[0]) << 8 | Int(b[1]) }
            else if length == 127 { guard let b = read(8) else { return nil }; length = b.reduce(0) { $0 << 8 | Int($1) } }
            guard length >= 0, length <= 1 << 24, let payload = read(length) else { return nil }
            switch head[0] & 0x0F {
            case 0x1: return String(decoding: payload, as: UTF8.self)
            case 0x8: return nil
            default: continue
            }
        }
    }

    /// Sends a text message (masked, as a client must).
    public func send(text: String) {
        let payload = Array(text.utf8)
        let mask: [UInt8] = [1, 2, 3, 4]
        var frame: [UInt8] = [0x81]
        if payload.count < 126 { frame.append(0x80 | UInt8(payload.count)) } else { frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)] }
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset & 3] }
        _ = frame.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    private func read(_ count: Int) -> [UInt8]? {
        while buffer.count < count {
            var chunk = [UInt8](repeating: 0, count: 16384)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return nil }
            buffer += chunk[0..<n]
        }
        defer { buffer.removeFirst(count) }
        return Array(buffer[0..<count])
    }
}
