// The per-invocation cost of metrics (bench/metrics/run.sh): see BENCHMARKS.md, "Metrics".
import Essentials
import JSON
import Glibc

func cpuNanos() -> UInt64 { var ts = timespec(); clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec) }
let devnull = open("/dev/null", O_WRONLY)
let recorder = MetricsRecorder(configuration: MetricsConfiguration(namespace: "IVSChatEvents", service: "ivs-chat-events-prod"))
var sink = 0
func invocation(_ kind: Int, write doWrite: Bool) {
    recorder.reset()
    switch kind {
    case 0: // streamStarted: one event sent
        recorder.add(.chatEventsSent, 1, "STREAM_STARTED")
    case 1: // API: chat token
        recorder.add(.apiRequests); recorder.add(.apiThrottled, 0); recorder.add(.apiServerErrors, 0)
        recorder.add(.tokensIssued, 1, "Chat")
    default: // API invite: the busiest line
        recorder.add(.tokensIssued, 1, "InviteParticipant"); recorder.add(.chatEventsSent, 1, "StreamCat:MultihostInvite"); recorder.add(.invites)
        recorder.add(.apiRequests); recorder.add(.apiThrottled, 0); recorder.add(.apiServerErrors, 0)
        recorder.add(.upstreamThrottles, 1, "GetStage")
    }
    let now = Clock.epochMilliseconds()
    let line = recorder.emfLine(epochMilliseconds: now, level: Log.metricsLevel,
                                requestId: "8f5c2a4e-6b1d-4c3e-9a7f-0d2e1b3c4a5f", traceId: "Root=1-6b0d0565-72b88fd0f0cd1e1061e7ff33;Parent=1;Sampled=1", coldStart: false)!
    sink &+= line.utf8.count
    if doWrite { var l = line + "\n"; l.withUTF8 { _ = write(devnull, $0.baseAddress, $0.count) } }
}
for kind in 0..<3 {
    for doWrite in [false, true] {
        for _ in 0..<20_000 { invocation(kind, write: doWrite) }
        var best = Double.infinity
        for _ in 0..<5 {
            let n = 100_000
            let t0 = cpuNanos()
            for _ in 0..<n { invocation(kind, write: doWrite) }
            best = min(best, Double(cpuNanos() - t0) / Double(n))
        }
        print("kind \(["streamStarted (1 metric)", "chat token (4 metrics)", "invite (7 metrics, 4 directives)"][kind]) write=\(doWrite): \(String(Int(best))) ns CPU per invocation (best of 5 × 100k)")
    }
}
print(sink > 0 ? "" : "x")
