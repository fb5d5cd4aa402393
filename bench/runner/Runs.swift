import AWSCore
import Foundation
import JSON
import LocalHarness

/// A runtime under test: A is our `bootstrap`, B the Python peer (awslambdaric + boto3).
struct Runtime {
    let key: String
    let name: String
    let command: [String]
    let environment: [String: String]
}

/// A benchmark failure: a run that did not do the job (no outcome, wrong answer, nothing sent).
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One cold start: process start → first `/next` request, and → first Stream Start answered, and
/// the CPU the process had used when that answer arrived.
struct ColdSample {
    let firstNextMs: Double
    let firstAnsweredMs: Double
    let cpuMs: Double
}

extension ColdSample {
    /// The timings of `function`'s first invocation `requestId` (process start → first `/next`, → its
    /// answer) and `cpuNanoseconds`; ends the process.
    init(_ function: LocalFunction, requestId: String, cpuNanoseconds: UInt64, runtime: Runtime) throws {
        guard let timing = function.emulator.takeTiming(requestId: requestId),
              let firstNext = function.emulator.firstNextRequestAt else { throw BenchError("\(runtime.name): no timing recorded") }
        let start = function.process.startedAt
        function.process.terminate()
        self.init(firstNextMs: Double(firstNext - start) / 1e6, firstAnsweredMs: Double(timing.completed - start) / 1e6,
                  cpuMs: Double(cpuNanoseconds) / 1e6)
    }
}

/// How a run reaches the IVS stand-in (issue #14).
enum Transport: String, CaseIterable {
    /// Plain HTTP (what the figures before issue #14 measured).
    case http
    /// HTTPS, trusting AWS's endpoints through the built-in Amazon roots (the test CA stands in for
    /// them: `IVS_CHAT_EVENTS_TEST_AWS_ROOTS` = the five Amazon roots + the test CA). The peer has no
    /// such mode: it runs with the full bundle.
    case httpsBuiltInRoots
    /// HTTPS, trusting a CA bundle the size of Amazon Linux's (this machine's full bundle + the test CA):
    /// what Lambda did before issue #14, and what boto3 does (`AWS_CA_BUNDLE`).
    case httpsFullBundle
}

/// One warm run: per-invocation latencies (µs, `/next` answered → `/response` received) after the
/// warm-up, and resident set sizes.
struct WarmSample {
    let latenciesMicroseconds: [Double]
    /// RSS (KiB) after that many invocations.
    let rssAfter: [(invocations: Int, kib: Int)]
    let peakRSSKiB: Int
    /// The process's own CPU per timed invocation (µs), from `/proc` schedstat.
    let cpuMicrosecondsPerInvocation: Double
}

/// Runs a runtime under the same Runtime API emulator and IVS stand-in, on the same events.
final class Bench {
    static let room = "arn:aws:ivschat:us-east-1:123456789012:room/BenchRoom0001"

    let standIn: IVSStandIn
    /// The same stand-in's twin over HTTPS, its certificate from `pki`.
    let tlsStandIn: IVSStandIn
    let pki: TestPKI
    /// This machine's full CA bundle with the test CA appended (the size of Amazon Linux's bundle).
    let fullBundle: String
    /// The five Amazon roots with the test CA appended: what the built-in roots mode trusts.
    let amazonRootsAndTestCA: String
    let streamStart: [UInt8]
    /// The `event` attribute IVS Chat must receive: the Stream Start event as compact JSON.
    let expectedAttribute: String

    init(streamStartEvent: [UInt8]) throws {
        standIn = try IVSStandIn()
        pki = try TestPKI()
        tlsStandIn = try IVSStandIn(tls: try pki.serverIdentity())
        let system = ["/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt"].first { FileManager.default.fileExists(atPath: $0) }
        fullBundle = try pki.bundle(named: "full-bundle.pem", appendingTo: system)
        let roots = pki.directory + "/amazon-roots.pem"
        try AmazonRoots.pem.write(toFile: roots, atomically: true, encoding: .utf8)
        amazonRootsAndTestCA = try pki.bundle(named: "aws-roots-and-test-ca.pem", appendingTo: roots)
        streamStart = streamStartEvent
        expectedAttribute = try JSONValue.parse(streamStartEvent).compactText
    }

    func standIn(for transport: Transport) -> IVSStandIn { transport == .http ? standIn : tlsStandIn }

    private func environment(_ runtime: Runtime, transport: Transport = .http, extra: [String: String] = [:]) -> [String: String] {
        var trust: [String: String] = [:]
        switch transport {
        case .http: break
        case .httpsBuiltInRoots where runtime.key == "A": trust = ["IVS_CHAT_EVENTS_TEST_AWS_ROOTS": amazonRootsAndTestCA]
        case .httpsBuiltInRoots, .httpsFullBundle: trust = ["SSL_CERT_FILE": fullBundle, "AWS_CA_BUNDLE": fullBundle]
        }
        return standIn(for: transport).environment
            .merging(trust) { $1 }
            // Lambda sets both AWS_REGION and AWS_DEFAULT_REGION (boto3 reads the latter).
            .merging(["CHAT_ROOM_ARN": Self.room, "AWS_DEFAULT_REGION": IVSStandIn.region]) { $1 }
            .merging(runtime.environment) { $1 }
            .merging(extra) { $1 }
    }

    /// Starts the runtime with a Stream Start already queued (as Lambda does for a cold start) and
    /// times it; checks that the stand-in received the expected SendEvent. `quota` runs it under a CPU quota.
    func cold(_ runtime: Runtime, transport: Transport = .http, quota: CPUQuota? = nil) throws -> ColdSample {
        let standIn = standIn(for: transport)
        standIn.reset()
        let invocation = RuntimeAPIEmulator.Invocation(event: streamStart)
        let function = try LocalFunction(handler: "streamStarted", environment: environment(runtime, transport: transport),
                                         command: (quota?.wrapper ?? []) + runtime.command, prepare: { $0.submit(invocation) })
        defer { function.stop() }
        let outcome = function.emulator.waitForOutcome(requestId: invocation.requestId, waitLimitSeconds: 120)
        let cpu = function.process.cpuNanoseconds ?? 0
        try checkStreamStart(outcome, runtime, function, standIn: standIn, expectedEvents: 1)
        return try ColdSample(function, requestId: invocation.requestId, cpuNanoseconds: cpu, runtime: runtime)
    }

    /// Starts the runtime, sends `warmup + count` invocations one after another and keeps the
    /// latencies of the last `count`; samples RSS after each of `rssCheckpoints` invocations.
    /// `handler` "streamStarted" checks every SendEvent; "test.echo" the echoed body; "multihostInvite" a 201.
    func warm(_ runtime: Runtime, handler: String = "streamStarted", event: [UInt8]? = nil, extraEnvironment: [String: String] = [:],
              transport: Transport = .http, warmup: Int, count: Int, rssCheckpoints: [Int] = []) throws -> WarmSample {
        let standIn = standIn(for: transport)
        standIn.reset()
        let event = event ?? streamStart
        let extra = (handler.hasPrefix("test.") ? ["IVS_CHAT_EVENTS_TEST_HANDLERS": "1"] : [:]).merging(extraEnvironment) { $1 }
        let function = try LocalFunction(handler: handler, environment: environment(runtime, transport: transport, extra: extra),
                                         command: runtime.command)
        defer { function.stop() }
        let echoed = handler == "test.echo" ? Array(try JSONValue.parse(event).serialized()) : nil
        var latencies: [Double] = []
        latencies.reserveCapacity(count)
        var rss: [(Int, Int)] = []
        var cpuAtWarmupEnd: UInt64 = 0
        for i in 1...(warmup + count) {
            let invocation = RuntimeAPIEmulator.Invocation(event: event, traceId: "Root=1-00000000-000000000000000000000000;Sampled=0")
            function.emulator.submit(invocation)
            let outcome = function.emulator.waitForOutcome(requestId: invocation.requestId, waitLimitSeconds: 60)
            if let echoed {
                guard case let .response(body) = outcome, body == echoed else {
                    throw BenchError("\(runtime.name) \(handler): unexpected outcome: \(outcome.text.prefix(300))")
                }
            } else if handler == "multihostInvite" {
                guard case let .response(body) = outcome, (try? JSONValue.parse(body))?["statusCode"]?.intValue == 201 else {
                    throw BenchError("\(runtime.name) invite \(i): unexpected outcome: \(outcome.text.prefix(300))")
                }
            } else if case .response = outcome {} else {
                throw BenchError("\(runtime.name) \(handler): invocation \(i) failed: \(outcome.text.prefix(300))")
            }
            guard let timing = function.emulator.takeTiming(requestId: invocation.requestId) else {
                throw BenchError("\(runtime.name): no timing for invocation \(i)")
            }
            if i > warmup { latencies.append(Double(timing.completed - timing.nextAnswered) / 1e3) }
            if rssCheckpoints.contains(i) { rss.append((i, function.process.currentRSSKiB ?? 0)) }
            if i == warmup { cpuAtWarmupEnd = function.process.cpuNanoseconds ?? 0 }
        }
        let cpuPerInvocation = Double((function.process.cpuNanoseconds ?? 0) - cpuAtWarmupEnd) / 1e3 / Double(count)
        let peak = function.process.peakRSSKiB ?? 0
        function.process.terminate()
        if handler == "streamStarted" {
            let sent = standIn.events
            guard sent.count == warmup + count,
                  sent.allSatisfy({ $0.eventName == "STREAM_STARTED" && $0.attributes["event"] == expectedAttribute && $0.room == Self.room })
            else { throw BenchError("\(runtime.name): the stand-in received \(sent.count) events, not \(warmup + count) identical STREAM_STARTED ones") }
        }
        return WarmSample(latenciesMicroseconds: latencies, rssAfter: rss, peakRSSKiB: peak, cpuMicrosecondsPerInvocation: cpuPerInvocation)
    }

    /// Checks a Stream Start outcome and the SendEvent the stand-in received for it.
    private func checkStreamStart(_ outcome: RuntimeAPIEmulator.Outcome, _ runtime: Runtime, _ function: LocalFunction,
                                  standIn: IVSStandIn, expectedEvents: Int) throws {
        guard case let .response(body) = outcome, let answer = try? JSONValue.parse(body), answer["sent"]?.boolValue == true else {
            let logs = function.process.lines.suffix(20).joined(separator: "\n")
            throw BenchError("\(runtime.name): Stream Start not handled: \(outcome.text.prefix(500))\n\(logs)")
        }
        let sent = standIn.events
        guard sent.count == expectedEvents, let last = sent.last, last.room == Self.room,
              last.eventName == "STREAM_STARTED", last.attributes["event"] == expectedAttribute else {
            throw BenchError("\(runtime.name): the stand-in did not receive the expected SendEvent: \(standIn.eventLines())")
        }
    }
}
