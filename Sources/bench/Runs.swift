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

/// One cold start: process start → first `/next` request, and → first Stream Start answered.
struct ColdSample {
    let firstNextMs: Double
    let firstAnsweredMs: Double
}

/// One warm run: per-invocation latencies (µs, `/next` answered → `/response` received) after the
/// warm-up, and resident set sizes.
struct WarmSample {
    let latenciesMicroseconds: [Double]
    /// RSS (KiB) after that many invocations.
    let rssAfter: [(invocations: Int, kib: Int)]
    let peakRSSKiB: Int
}

/// Runs a runtime under the same Runtime API emulator and IVS stand-in, on the same events.
final class Bench {
    static let room = "arn:aws:ivschat:us-east-1:123456789012:room/BenchRoom0001"

    let standIn: IVSStandIn
    let streamStart: [UInt8]
    /// The `event` attribute IVS Chat must receive: the Stream Start event as compact JSON.
    let expectedAttribute: String

    init(streamStartEvent: [UInt8]) throws {
        standIn = try IVSStandIn()
        streamStart = streamStartEvent
        expectedAttribute = try JSONValue.parse(streamStartEvent).compactText
    }

    private func environment(_ runtime: Runtime, extra: [String: String] = [:]) -> [String: String] {
        standIn.environment
            // Lambda sets both AWS_REGION and AWS_DEFAULT_REGION (boto3 reads the latter).
            .merging(["CHAT_ROOM_ARN": Self.room, "AWS_DEFAULT_REGION": IVSStandIn.region]) { $1 }
            .merging(runtime.environment) { $1 }
            .merging(extra) { $1 }
    }

    /// Starts the runtime with a Stream Start already queued (as Lambda does for a cold start) and
    /// times it; checks that the stand-in received the expected SendEvent.
    func cold(_ runtime: Runtime) throws -> ColdSample {
        standIn.reset()
        let invocation = RuntimeAPIEmulator.Invocation(event: streamStart)
        let function = try LocalFunction(handler: "streamStarted", environment: environment(runtime),
                                         command: runtime.command, prepare: { $0.submit(invocation) })
        defer { function.stop() }
        let outcome = function.emulator.waitForOutcome(requestId: invocation.requestId, waitLimitSeconds: 60)
        try checkStreamStart(outcome, runtime, function, expectedEvents: 1)
        guard let timing = function.emulator.takeTiming(requestId: invocation.requestId),
              let firstNext = function.emulator.firstNextRequestAt else { throw BenchError("\(runtime.name): no timing recorded") }
        let start = function.process.startedAt
        return ColdSample(firstNextMs: Double(firstNext - start) / 1e6, firstAnsweredMs: Double(timing.completed - start) / 1e6)
    }

    /// Starts the runtime, sends `warmup + count` invocations one after another and keeps the
    /// latencies of the last `count`; samples RSS after each of `rssCheckpoints` invocations.
    /// `handler` "streamStarted" checks every SendEvent; "test.echo" the echoed body; "multihostInvite" a 201.
    func warm(_ runtime: Runtime, handler: String = "streamStarted", event: [UInt8]? = nil, extraEnvironment: [String: String] = [:],
              warmup: Int, count: Int, rssCheckpoints: [Int] = []) throws -> WarmSample {
        standIn.reset()
        let event = event ?? streamStart
        let extra = (handler.hasPrefix("test.") ? ["IVS_CHAT_EVENTS_TEST_HANDLERS": "1"] : [:]).merging(extraEnvironment) { $1 }
        let function = try LocalFunction(handler: handler, environment: environment(runtime, extra: extra), command: runtime.command)
        defer { function.stop() }
        let echoed = handler == "test.echo" ? Array(try JSONValue.parse(event).serialized()) : nil
        var latencies: [Double] = []
        latencies.reserveCapacity(count)
        var rss: [(Int, Int)] = []
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
        }
        let peak = function.process.peakRSSKiB ?? 0
        if handler == "streamStarted" {
            let sent = standIn.events
            guard sent.count == warmup + count,
                  sent.allSatisfy({ $0.eventName == "STREAM_STARTED" && $0.attributes["event"] == expectedAttribute && $0.room == Self.room })
            else { throw BenchError("\(runtime.name): the stand-in received \(sent.count) events, not \(warmup + count) identical STREAM_STARTED ones") }
        }
        return WarmSample(latenciesMicroseconds: latencies, rssAfter: rss, peakRSSKiB: peak)
    }

    /// Checks a Stream Start outcome and the SendEvent the stand-in received for it.
    private func checkStreamStart(_ outcome: RuntimeAPIEmulator.Outcome, _ runtime: Runtime, _ function: LocalFunction,
                                  expectedEvents: Int) throws {
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
