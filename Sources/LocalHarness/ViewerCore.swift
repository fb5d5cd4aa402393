import Essentials

/// The viewer page's decisions (web/viewer-core.js), copied to Swift for the crowd simulation
/// (`make crowd`): how long to wait before a retry, how to read `Retry-After`, and whether a
/// `/channel/state` answer or a stream event changes what the page shows. The browser test runs
/// both on one table of inputs (`ViewerBrowserTests.swiftCopyDecidesAsThePage`): change them together.
public enum ViewerCore {
    public static let baseMilliseconds = 1000
    public static let capMilliseconds = 30_000
    public static let retryAfterCapSeconds = 60.0

    /// What the page shows: live or not, as of `time` (epoch milliseconds of the newest state acted
    /// on; -∞ before any).
    public struct State: Sendable, Equatable {
        public var live: Bool
        public var time: Double
        public init(live: Bool = false, time: Double = -.infinity) {
            self.live = live
            self.time = time
        }
    }

    /// The wait before the next retry in milliseconds: `Retry-After` (capped at 60 s) plus up to a
    /// second of jitter when the server gave one, else full jitter over 1 s doubling per failure up to 30 s.
    public static func backoffDelay(attempt: Int, retryAfterSeconds: Double?, random: Double) -> Int {
        if let r = retryAfterSeconds, r.isFinite, r >= 0 {
            return Int(min(retryAfterCapSeconds, r) * 1000) + Int((random * 1000).rounded(.down))
        }
        let bound = min(Double(capMilliseconds), Double(baseMilliseconds) * pow2(min(attempt, 20)))
        return Int((random * bound).rounded(.down))
    }

    /// `Retry-After` as delay-seconds (ASCII digits, surrounding whitespace trimmed), else nil.
    public static func parseRetryAfter(_ header: String?) -> Double? {
        guard let header else { return nil }
        let trimmed = header.trimmingWhitespace()
        guard !trimmed.isEmpty, trimmed.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Double(trimmed)
    }

    /// A `/channel/state` answer applied: only when its `stateTime` is readable and not older than `current`.
    public static func applyChannelState(_ current: State, live: Bool, stateTime: String?) -> (state: State, changed: Bool) {
        guard let t = parseTime(stateTime), t >= current.time else { return (current, false) }
        return (State(live: live, time: t), live != current.live)
    }

    /// A STREAM_STARTED (`live`) / STREAM_ENDED event applied, by its EventBridge `time`.
    public static func applyStreamEvent(_ current: State, live: Bool, eventTime: String?) -> (state: State, changed: Bool, stale: Bool) {
        guard let t = parseTime(eventTime) else { return (State(live: live, time: current.time), live != current.live, false) }
        if t < current.time { return (current, false, true) }
        return (State(live: live, time: t), live != current.live, false)
    }

    /// ISO 8601 to epoch milliseconds (the inputs the page's `Date.parse` sees from us: whole seconds, UTC).
    public static func parseTime(_ text: String?) -> Double? {
        text.flatMap(UTCTimestamp.parseISO8601).map { Double($0) * 1000 }
    }

    private static func pow2(_ n: Int) -> Double { Double(1 << n) }
}

extension String {
    /// Without leading and trailing spaces, tabs and line breaks.
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...end])
    }
}
