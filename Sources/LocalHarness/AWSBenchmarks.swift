import AWSCore
import AWSServices
import Essentials
import Foundation

/// Micro-benchmarks of the AWS layer, for a `bench` tool: each returns per-iteration times in microseconds.
public enum AWSBenchmarks {
    static let room = "arn:aws:ivschat:us-east-1:123456789012:room/AbCd1234"

    /// Signing one SendEvent request (fresh `X-Amz-Date` per second, cached signing key) as the client does it.
    public static func signSendEvent(iterations: Int = 20_000) -> [Double] {
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyId: IVSStandIn.accessKeyId, secretAccessKey: IVSStandIn.secretAccessKey,
                                                             sessionToken: String(repeating: "T", count: 600)),
                                 region: "us-east-1", service: "ivschat")
        let body = Array(#"{"roomIdentifier":"\#(room)","eventName":"STREAM_STARTED","attributes":{"event":"{\"event_name\":\"Stream Start\",\"channel_name\":\"Your Channel\"}"}}"#.utf8)
        let headers: [(name: String, value: String)] = [("Host", "ivschat.us-east-1.amazonaws.com"), ("Content-Type", "application/json")]
        var times: [Double] = []
        times.reserveCapacity(iterations)
        var sink = 0
        for _ in 0..<iterations {
            let start = Clock.monotonicNanoseconds()
            let added = signer.sign(method: "POST", path: "/SendEvent", headers: headers, body: body, epochSeconds: Clock.epochSeconds())
            times.append(Double(Clock.monotonicNanoseconds() - start) / 1000)
            sink &+= added.count
        }
        precondition(sink > 0)
        return times
    }

    /// SendEvent round trips to a local `IVSStandIn` over one kept-alive connection (signature checked by the stand-in).
    public static func sendEventRoundTrip(iterations: Int = 2_000) throws -> [Double] {
        let standIn = try IVSStandIn()
        defer { standIn.stop() }
        let env = standIn.environment
        let chat = try IVSChatClient(configuration: try AWSClientConfiguration.fromEnvironment(lookup: { env[$0] }), lookup: { env[$0] })
        var times: [Double] = []
        for _ in 0..<iterations {
            let start = Clock.monotonicNanoseconds()
            _ = try chat.sendEvent(roomIdentifier: room, eventName: "STREAM_STARTED", attributes: ["event": "{}"],
                                   deadline: Clock.epochMilliseconds() + 5000)
            times.append(Double(Clock.monotonicNanoseconds() - start) / 1000)
        }
        return times
    }

    /// The `p`-th percentile (0...1) of `values`.
    public static func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
    }
}
