import JSON
#if canImport(Glibc)
import Glibc
#endif

/// The function's log: plain lines by default, one JSON object per line when
/// `AWS_LAMBDA_LOG_FORMAT=JSON`, filtered by `AWS_LAMBDA_LOG_LEVEL`. Lines go to standard error,
/// each in one write. Never pass a token, credential or signature to it.
public enum Log {
    /// Severity, in increasing order.
    public enum Level: Int, Sendable, Comparable {
        case trace, debug, info, warn, error, fatal

        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }

        /// The name Lambda uses (`INFO`, `WARN`, …).
        public var name: String {
            switch self {
            case .trace: "TRACE"
            case .debug: "DEBUG"
            case .info: "INFO"
            case .warn: "WARN"
            case .error: "ERROR"
            case .fatal: "FATAL"
            }
        }

        /// Parses a level name as Lambda's `AWS_LAMBDA_LOG_LEVEL` spells it (any case; `WARNING` too).
        public init?(name: String) {
            switch name.uppercased() {
            case "TRACE": self = .trace
            case "DEBUG": self = .debug
            case "INFO": self = .info
            case "WARN", "WARNING": self = .warn
            case "ERROR": self = .error
            case "FATAL": self = .fatal
            default: return nil
            }
        }
    }

    /// Line format.
    public enum Format: Sendable { case text, json }

    /// Minimum level written.
    nonisolated(unsafe) public static var level: Level = .info
    /// Line format.
    nonisolated(unsafe) public static var format: Format = .text
    /// The invocation the calling thread is serving, stamped on every line it writes while set.
    /// Per thread: each runtime worker is one thread serving one invocation at a time, so concurrent
    /// invocations' lines each carry their own id.
    public static var requestId: String? {
        get { currentRequestId.value }
        set { currentRequestId.value = newValue }
    }
    private static let currentRequestId = ThreadLocal<String>()
    /// Where lines go (standard error unless replaced, e.g. by tests).
    nonisolated(unsafe) public static var sink: (String) -> Void = { writeLine(toStandardError: $0) }

    /// Reads `AWS_LAMBDA_LOG_FORMAT` and `AWS_LAMBDA_LOG_LEVEL`; call before any worker starts.
    /// Lambda Managed Instances (`AWS_LAMBDA_MAX_CONCURRENCY` set) always log JSON.
    public static func configureFromEnvironment() {
        format = Environment.get("AWS_LAMBDA_LOG_FORMAT")?.uppercased() == "JSON" || Environment.nonEmpty("AWS_LAMBDA_MAX_CONCURRENCY") != nil
            ? .json : .text
        if let name = Environment.nonEmpty("AWS_LAMBDA_LOG_LEVEL"), let parsed = Level(name: name) { level = parsed }
    }

    @inline(__always) public static func isEnabled(_ l: Level) -> Bool { l >= level }

    public static func trace(_ message: @autoclosure () -> String) { write(.trace, message) }
    public static func debug(_ message: @autoclosure () -> String) { write(.debug, message) }
    public static func info(_ message: @autoclosure () -> String) { write(.info, message) }
    public static func warn(_ message: @autoclosure () -> String) { write(.warn, message) }
    public static func error(_ message: @autoclosure () -> String) { write(.error, message) }
    public static func fatal(_ message: @autoclosure () -> String) { write(.fatal, message) }

    private static func write(_ l: Level, _ message: () -> String) {
        guard l >= level else { return }
        sink(formatLine(level: l, message: message(), requestId: requestId, format: format,
                        timestamp: UTCTimestamp.now().iso8601Milliseconds))
    }

    /// One log line, as written.
    public static func formatLine(level l: Level, message: String, requestId: String?, format: Format, timestamp: String) -> String {
        switch format {
        case .text:
            // One event, one line: a value with a line break or a terminal escape (a claim, an invitee
            // id) must not forge a line of its own nor rewrite the terminal.
            if let requestId { return "\(timestamp) \(escapingControls(requestId)) \(l.name) \(escapingControls(message))" }
            return "\(timestamp) \(l.name) \(escapingControls(message))"
        case .json:
            var line = "{\"timestamp\":\"\(timestamp)\",\"level\":\"\(l.name)\""
            if let requestId { line += ",\"requestId\":\(JSONValue.quoted(requestId))" }
            line += ",\"message\":\(JSONValue.quoted(message))"
            return line + powertoolsKeys(requestId: requestId) + "}"
        }
    }

    /// Whether `text` has a character `escapingControls` writes out, by its UTF-8 bytes (every log
    /// line passes here: no scalar decoding on the common path): C0 and DEL are single bytes, the C1
    /// controls `C2 80`–`C2 9F`, U+2028/U+2029 `E2 80 A8`/`A9` (lead bytes never occur as continuations).
    static func containsControls(_ text: String) -> Bool {
        var previous: UInt8 = 0, beforePrevious: UInt8 = 0
        for byte in text.utf8 {
            if byte < 0x20 || byte == 0x7F { return true }
            if previous == 0xC2, byte >= 0x80, byte <= 0x9F { return true }
            if beforePrevious == 0xE2, previous == 0x80, byte == 0xA8 || byte == 0xA9 { return true }
            beforePrevious = previous
            previous = byte
        }
        return false
    }

    /// `text` with its control characters written out: `\n`, `\r`, `\t`, and `\u{XX}` for the other
    /// C0 controls, DEL, the C1 controls and the Unicode line and paragraph separators (U+2028, U+2029).
    /// Text without any is returned as it is.
    public static func escapingControls(_ text: String) -> String {
        func isControl(_ v: UInt32) -> Bool { v < 0x20 || (v >= 0x7F && v <= 0x9F) || v == 0x2028 || v == 0x2029 }
        guard containsControls(text) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case let v where isControl(v): out += "\\u{" + String(v, radix: 16, uppercase: true) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// A value per thread (POSIX thread-specific data), without Foundation.
public final class ThreadLocal<Value>: @unchecked Sendable {
    private var key = pthread_key_t()

    public init() {
        pthread_key_create(&key) { box in if let box { Unmanaged<AnyObject>.fromOpaque(box).release() } }
    }

    /// The calling thread's value.
    public var value: Value? {
        get {
            guard let raw = pthread_getspecific(key) else { return nil }
            return (Unmanaged<AnyObject>.fromOpaque(raw).takeUnretainedValue() as! Box).value
        }
        set {
            if let old = pthread_getspecific(key) { Unmanaged<AnyObject>.fromOpaque(old).release() }
            pthread_setspecific(key, newValue.map { Unmanaged<AnyObject>.passRetained(Box($0)).toOpaque() })
        }
    }

    private final class Box {
        let value: Value
        init(_ value: Value) { self.value = value }
    }
}
