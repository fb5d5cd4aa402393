import CCrypto
import Foundation

/// The server side of one WebSocket connection (RFC 6455) accepted by `HTTPServer`: text frames out
/// (from any thread), client frames in on the connection's thread (masked, as clients must send
/// them), pings answered, the close handshake honoured. Enough for the local IVS Chat stand-in.
public final class WebSocketConnection: @unchecked Sendable {
    private let channel: Channel
    /// Read by the connection's own thread only.
    private var frames: WebSocketFrames
    private let writeLock = NSLock()
    private let stateLock = NSLock()
    private var closed = false
    private var onText: (@Sendable (String) -> Void)?
    private var onClose: (@Sendable () -> Void)?

    init(channel: Channel, buffered: [UInt8]) {
        self.channel = channel
        frames = WebSocketFrames(buffered: buffered, maxPayload: 1 << 20) { [channel] in channel.receive($0, $1) }
        // A client that stops reading must not stall the sender (a SendEvent) for long.
        var limit = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(channel.fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }

    /// `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`: base64(SHA-1(key + the RFC's GUID)).
    static func acceptValue(forKey key: String) -> String {
        let input = Array((key.trimmingCharacters(in: .whitespaces) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8)
        var digest = [UInt8](repeating: 0, count: 20)
        _ = SHA1(input, input.count, &digest)
        return Data(digest).base64EncodedString()
    }

    /// Hands the connection to `session`, then sends the handshake answer, both under the write lock,
    /// so that the session knows the connection before the client does and no frame precedes the answer.
    func open(handshake: [UInt8], session: (WebSocketConnection) -> Void) -> Bool {
        let sent = writeLock.withLock {
            session(self)
            return channel.send(handshake)
        }
        if !sent { finish() }
        return sent
    }

    /// Whether the connection is still open.
    public var isOpen: Bool { stateLock.withLock { !closed } }

    /// Called with each text message the client sends (set it in the session callback).
    public func onText(_ handler: @escaping @Sendable (String) -> Void) { stateLock.withLock { onText = handler } }

    /// Called once when the connection ends, whichever side ends it.
    public func onClose(_ handler: @escaping @Sendable () -> Void) { stateLock.withLock { onClose = handler } }

    /// Sends one text message; false when the connection is gone.
    @discardableResult
    public func send(text: String) -> Bool { sendFrame(opcode: 0x1, payload: Array(text.utf8)) }

    /// Sends a close frame with `code` and `reason`, then ends the connection.
    public func close(code: UInt16 = 1000, reason: String = "") {
        _ = sendFrame(opcode: 0x8, payload: [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8.prefix(120)))
        finish()
    }

    /// Writes under `writeLock`, and only while open: `finish` marks the connection closed under the same
    /// lock, so no frame reaches the descriptor after it (which `HTTPServer` then closes and may reuse).
    private func sendFrame(opcode: UInt8, payload: [UInt8]) -> Bool {
        let frame = WebSocketFrames.encode(opcode: opcode, payload: payload)
        return writeLock.withLock { isOpen && channel.send(frame) }
    }

    /// Marks the connection closed and shuts the socket down, once, under `writeLock`; then tells
    /// `onClose`. The connection's own thread calls it last, before `HTTPServer` closes the descriptor,
    /// and waits here for any other thread's `finish`, so the descriptor is never shut down once reused.
    private func finish() {
        var callback: (@Sendable () -> Void)?
        writeLock.withLock {
            let first = stateLock.withLock { () -> Bool in
                guard !closed else { return false }
                closed = true
                callback = onClose
                return true
            }
            if first { shutdown(channel.fd, Int32(SHUT_RDWR)) }
        }
        callback?()
    }

    /// Reads frames until the connection closes (run by `HTTPServer` on the connection's thread).
    func readUntilClosed() {
        defer { finish() }
        // Clients must mask their frames (RFC 6455 §5.1).
        while let (opcode, payload) = frames.next(requireMask: true) {
            switch opcode {
            case 0x1:
                let handler = stateLock.withLock { onText }
                handler?(String(decoding: payload, as: UTF8.self))
            case 0x8:
                _ = sendFrame(opcode: 0x8, payload: Array(payload.prefix(2)))
                return
            case 0x9: _ = sendFrame(opcode: 0xA, payload: payload)
            default: break  // binary, pong, continuation: not used by chat clients
            }
        }
    }

}

/// RFC 6455 framing, shared by the server side (`WebSocketConnection`) and the test client
/// (`WebSocketClient`): final frames out, frames in from a byte stream.
struct WebSocketFrames {
    private var buffered: [UInt8]
    private let maxPayload: Int
    /// Reads up to `count` bytes into the buffer; 0 or less at the end of the stream.
    private let receive: (UnsafeMutableRawPointer, Int) -> Int

    /// `buffered`: bytes already read past the handshake.
    init(buffered: [UInt8], maxPayload: Int, receive: @escaping (UnsafeMutableRawPointer, Int) -> Int) {
        self.buffered = buffered
        self.maxPayload = maxPayload
        self.receive = receive
    }

    /// A final frame with `opcode`, masked with `mask` when given (as a client must send it).
    static func encode(opcode: UInt8, payload: [UInt8], mask: [UInt8]? = nil) -> [UInt8] {
        let maskBit: UInt8 = mask == nil ? 0 : 0x80
        var frame: [UInt8] = [0x80 | opcode]
        switch payload.count {
        case ..<126: frame.append(maskBit | UInt8(payload.count))
        case ..<65536: frame += [maskBit | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default: frame.append(maskBit | 127); frame += (0..<8).reversed().map { UInt8((payload.count >> ($0 * 8)) & 0xFF) }
        }
        guard let mask else { return frame + payload }
        return frame + mask + payload.enumerated().map { $0.element ^ mask[$0.offset & 3] }
    }

    /// The next frame, unmasked; nil at the end of the stream or on a protocol error: a length below 0
    /// or over `maxPayload`, or with `requireMask` an unmasked frame.
    mutating func next(requireMask: Bool) -> (opcode: UInt8, payload: [UInt8])? {
        guard let head = read(2) else { return nil }
        let masked = head[1] & 0x80 != 0
        var length = Int(head[1] & 0x7F)
        if length == 126 {
            guard let b = read(2) else { return nil }
            length = Int(b[0]) << 8 | Int(b[1])
        } else if length == 127 {
            guard let b = read(8) else { return nil }
            length = b.reduce(0) { $0 << 8 | Int($1) }
        }
        guard masked || !requireMask, length >= 0, length <= maxPayload else { return nil }
        let mask = masked ? read(4) : nil
        guard !masked || mask != nil, var payload = read(length) else { return nil }
        if let mask { for i in payload.indices { payload[i] ^= mask[i & 3] } }
        return (head[0] & 0x0F, payload)
    }

    private mutating func read(_ count: Int) -> [UInt8]? {
        while buffered.count < count {
            var chunk = [UInt8](repeating: 0, count: 16384)
            let n = chunk.withUnsafeMutableBytes { receive($0.baseAddress!, $0.count) }
            if n <= 0 { return nil }
            buffered += chunk[0..<n]
        }
        defer { buffered.removeFirst(count) }
        return Array(buffered[0..<count])
    }
}
