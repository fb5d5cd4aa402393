import Essentials

/// The SDKs' standard retry mode: a few attempts, exponential back-off with full jitter.
public struct RetryPolicy: Sendable {
    /// Attempts in all, the first included.
    public var maxAttempts: Int
    /// Back-off bound before the second attempt; it doubles per attempt.
    public var baseDelayMilliseconds: Int64
    /// Back-off bound cap.
    public var maxDelayMilliseconds: Int64
    /// Picks a delay in `0...bound` (random by default; tests make it deterministic).
    public var jitter: @Sendable (_ bound: Int64) -> Int64
    /// Whether throttling answers are retried (the SDKs do). Off on request paths: an account-wide
    /// rate that is spent is not helped by a function that waits on it, holding its concurrency.
    public var retriesThrottling: Bool

    public init(maxAttempts: Int = 3, baseDelayMilliseconds: Int64 = 100, maxDelayMilliseconds: Int64 = 20_000,
                retriesThrottling: Bool = true,
                jitter: @escaping @Sendable (_ bound: Int64) -> Int64 = { $0 > 0 ? Int64.random(in: 0...$0) : 0 }) {
        self.maxAttempts = maxAttempts
        self.baseDelayMilliseconds = baseDelayMilliseconds
        self.maxDelayMilliseconds = maxDelayMilliseconds
        self.retriesThrottling = retriesThrottling
        self.jitter = jitter
    }

    /// The sleep before attempt `attempt + 1`.
    public func delay(afterAttempt attempt: Int) -> Int64 {
        let shift = min(max(attempt - 1, 0), 30)
        let bound = min(maxDelayMilliseconds, baseDelayMilliseconds << Int64(shift))
        return min(max(jitter(bound), 0), bound)
    }
}

/// Wall-clock time and sleeping, injectable so retry tests run fast and deterministically.
public struct AWSClock: Sendable {
    /// Epoch milliseconds.
    public var now: @Sendable () -> Int64
    public var sleep: @Sendable (_ milliseconds: Int64) -> Void

    public init(now: @escaping @Sendable () -> Int64, sleep: @escaping @Sendable (_ milliseconds: Int64) -> Void) {
        self.now = now
        self.sleep = sleep
    }

    /// The real clock.
    public static let system = AWSClock(now: { Clock.epochMilliseconds() }, sleep: { Clock.sleep(milliseconds: $0) })
}
