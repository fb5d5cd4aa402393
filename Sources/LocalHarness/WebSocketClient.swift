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
    private var frames: WebSocketFrames

    /// Connects to `url` (`ws://127.0.0.1:<port>`) offering `subprotocol`; throws only when the TCP
    /// connection or the HTTP exchange fails (a refusal is a `status` other than 101).
    /// What `receive()` read: a text message, the end of the connection, or nothing within the read limit.
    public enum Received: Equatable {
        case text(String)
        case closed
        case timedOut
    }

    /// The last `recv` failure's errno (to tell a read time-out from a closed connection).
    private final class ErrnoBox: @unchecked Sendable { var value: Int32 = 0 }
    private let lastErrno = ErrnoBox()

    public init(url: String, subprotocol offered: String?, readTimeoutMilliseconds: Int = 10_000) throws {
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
        var timeout = timeval(tv_sec: readTimeoutMilliseconds / 1000, tv_usec: (readTimeoutMilliseconds % 1000) * 1000)
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
        let box = lastErrno
        frames = WebSocketFrames(buffered: status == 101 ? buffer : [], maxPayload: 1 << 24) {
            let n = recv(fd, $0, $1, 0)
            box.value = n < 0 ? errno : 0
            return n
        }
    }

    deinit { close(fd) }

    /// The next text message, or nil when the connection closed or nothing came within the socket's
    /// 10-second read limit.
    public func receiveText() -> String? {
        while let (opcode, payload) = frames.next(requireMask: false) {
            switch opcode {
            case 0x1: return String(decoding: payload, as: UTF8.self)
            case 0x8: return nil
            default: continue
            }
        }
        return nil
    }

    /// The next text message, `.closed` when the connection ended, `.timedOut` when nothing came
    /// within the read limit (the connection stays usable: frames are small and arrive whole).
    public func receive() -> Received {
        while let (opcode, payload) = frames.next(requireMask: false) {
            switch opcode {
            case 0x1: return .text(String(decoding: payload, as: UTF8.self))
            case 0x8: return .closed
            default: continue
            }
        }
        return lastErrno.value == EAGAIN || lastErrno.value == EWOULDBLOCK ? .timedOut : .closed
    }

    /// Sends a text message (masked, as a client must).
    public func send(text: String) {
        let frame = WebSocketFrames.encode(opcode: 0x1, payload: Array(text.utf8), mask: [1, 2, 3, 4])
        _ = frame.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
