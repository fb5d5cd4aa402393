import Essentials
import Synchronization

/// The process's cold start: the first invocation any worker takes records `ColdStart` = 1 and
/// `InitDuration`, by `Handler`. `InitDuration` is our share of Lambda's Init Duration: from
/// `LambdaRuntime.run` (the program's first statement) to init's end (every worker's handler built:
/// configuration read, credentials and TLS trust loaded), not the loading of the binary before it.
final class ColdStart: Sendable {
    private let pending = Atomic<Bool>(true)
    private let handler: String
    private let initMilliseconds: Double

    /// Call when init is done (every handler built): the init duration is measured up to now.
    init(handler: String, startedNanoseconds: UInt64) {
        self.handler = handler
        initMilliseconds = Double(Clock.monotonicNanoseconds() &- startedNanoseconds) / 1_000_000
    }

    /// True exactly once per process: for the first invocation.
    func take() -> Bool { pending.exchange(false, ordering: .relaxed) }

    func record(into metrics: MetricsRecorder) {
        metrics.add(.coldStart, 1, handler)
        metrics.add(.initDuration, initMilliseconds, handler)
    }
}

extension Worker {
    /// Writes what the invocation recorded as one EMF line (none when it recorded nothing).
    func emitMetrics(_ context: InvocationContext, coldStart: Bool) {
        guard let metrics = context.metrics, !metrics.isEmpty else { return }
        let now = Clock.epochMilliseconds()
        if let line = metrics.emfLine(epochMilliseconds: now, level: Log.metricsLevel, requestId: context.requestId,
                                      traceId: context.traceId, coldStart: coldStart) {
            Log.sink(line)
        }
    }
}
