import Foundation
import LocalHarness

/// Throughput with several workers (issue #13, Lambda Managed Instances): the stand-in delays every
/// SendEvent by `delayMilliseconds` (a service round trip), `invocations` Stream Starts are queued at
/// once, and the time until the last is answered gives invocations per second.
struct ConcurrencySample {
    let workers: Int
    let invocationsPerSecond: Double
    let rssKiB: Int
    let threads: Int
}

extension Bench {
    func concurrency(_ runtime: Runtime, workers: Int, invocations: Int, delayMilliseconds: Int) throws -> ConcurrencySample {
        standIn.reset()
        standIn.inject(Array(repeating: .delay(milliseconds: delayMilliseconds), count: invocations + 8), for: "SendEvent")
        var env = standIn.environment.merging(["CHAT_ROOM_ARN": Self.room, "AWS_DEFAULT_REGION": IVSStandIn.region]) { $1 }
            .merging(runtime.environment) { $1 }
        env["AWS_LAMBDA_MAX_CONCURRENCY"] = String(workers)
        let function = try LocalFunction(handler: "streamStarted", environment: env, command: runtime.command)
        defer { function.stop() }
        guard function.emulator.waitForWaitingNextRequests(workers, waitLimitSeconds: 30) else {
            throw BenchError("\(runtime.name): \(workers) workers did not all ask for an invocation")
        }
        let batch = (0..<invocations).map { _ in RuntimeAPIEmulator.Invocation(event: streamStart, timeoutMilliseconds: 60_000) }
        let start = MonotonicClock.nanoseconds()
        for invocation in batch { function.emulator.submit(invocation) }
        for invocation in batch {
            guard case .response = function.emulator.waitForOutcome(requestId: invocation.requestId, waitLimitSeconds: 120) else {
                throw BenchError("\(runtime.name) with \(workers) workers: an invocation failed")
            }
        }
        let seconds = Double(MonotonicClock.nanoseconds() - start) / 1e9
        guard standIn.events.count == invocations else { throw BenchError("the stand-in received \(standIn.events.count) of \(invocations) events") }
        return ConcurrencySample(workers: workers, invocationsPerSecond: Double(invocations) / seconds,
                                 rssKiB: function.process.currentRSSKiB ?? 0, threads: function.process.threadCount ?? 0)
    }
}
