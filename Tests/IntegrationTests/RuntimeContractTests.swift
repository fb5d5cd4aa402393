import Foundation
import JSON
import LocalHarness
import Testing

/// The 2026 Runtime API contract (issue #13), through the real `bootstrap` and the emulator:
/// invocation ids, 410 Gone, `Content-Type`, time-outs while the handler runs, and Lambda Managed
/// Instances' concurrent workers.
@Suite struct RuntimeContractTests {
    static let testEnv = ["IVS_CHAT_EVENTS_TEST_HANDLERS": "1"]

    func start(_ handler: String, env: [String: String] = [:], prepare: (RuntimeAPIEmulator) -> Void = { _ in }) throws -> LocalFunction {
        try LocalFunction(handler: handler, environment: Self.testEnv.merging(env) { $1 }, prepare: prepare)
    }

    func invoke(_ f: LocalFunction, _ text: String, invocationId: String? = "inv-1", timeoutMilliseconds: Int64 = 3000)
        -> (RuntimeAPIEmulator.Invocation, RuntimeAPIEmulator.Outcome) {
        let invocation = RuntimeAPIEmulator.Invocation(event: Array(text.utf8), timeoutMilliseconds: timeoutMilliseconds,
                                                       invocationId: invocationId)
        return (invocation, f.emulator.invoke(invocation, waitLimitSeconds: 30))
    }

    @Test func invocationIdIsEchoedOnResponseAndError() throws {
        let echo = try start("test.echo")
        defer { echo.stop() }
        let (ok, outcome) = invoke(echo, #"{"a":1}"#, invocationId: "inv-7f3a")
        #expect(outcome == .response(Array(#"{"a":1}"#.utf8)))
        #expect(echo.emulator.takeAnswerHeaders(requestId: ok.requestId) == .init(invocationId: "inv-7f3a", contentType: "application/json"))

        let (failed, error) = invoke(echo, "not json", invocationId: "inv-9b21")
        guard case .error("Event.InvalidJSON", _) = error else { Issue.record("expected an error, got \(error)"); return }
        #expect(echo.emulator.takeAnswerHeaders(requestId: failed.requestId)?.invocationId == "inv-9b21")

        // No id from /next: none sent back.
        let (plain, _) = invoke(echo, "{}", invocationId: nil)
        #expect(echo.emulator.takeAnswerHeaders(requestId: plain.requestId) == .init(invocationId: nil, contentType: "application/json"))
    }

    @Test func contextCarriesTheInvocationId() throws {
        let f = try start("test.context")
        defer { f.stop() }
        let (_, outcome) = invoke(f, "{}", invocationId: "inv-ctx")
        #expect(try JSONValue.parse(outcome.text)["invocationId"] == .string("inv-ctx"))
    }

    /// 410 to a response: logged with the request id, not re-sent, and the next invocation is served.
    @Test func goneResponseIsLoggedAndDropped() throws {
        let f = try start("test.echo", prepare: { $0.injectResponseStatuses([410]) ; $0.enforceDeadlines = true })
        defer { f.stop() }
        let (first, outcome) = invoke(f, #"{"n":1}"#, timeoutMilliseconds: 1500)
        #expect(outcome == .timedOut, "the refused response was not sent again: \(outcome)")
        let (_, second) = invoke(f, #"{"n":2}"#)
        #expect(second == .response(Array(#"{"n":2}"#.utf8)))
        #expect(f.process.isRunning)
        let warning = f.process.lines.first { $0.contains("410") }
        #expect(warning?.contains(first.requestId) == true && warning?.contains("WARN") == true, "\(f.process.lines)")
    }

    /// The invocation times out while its handler still runs; the late response gets 410 and the
    /// runtime goes on.
    @Test func lateAnswerAfterATimeoutGets410AndTheRuntimeGoesOn() throws {
        let f = try start("test.sleep", prepare: { $0.enforceDeadlines = true })
        defer { f.stop() }
        let (slow, outcome) = invoke(f, #"{"ms":800}"#, timeoutMilliseconds: 200)
        #expect(outcome == .timedOut)
        let (_, next) = invoke(f, #"{"ms":0}"#)
        #expect(try JSONValue.parse(next.text)["sleptMs"] == .int(0), "\(next)")
        #expect(f.emulator.goneAnswerCount == 1)
        #expect(f.process.lines.contains { $0.contains("410") && $0.contains(slow.requestId) })
        #expect(f.process.isRunning)
    }

    @Test func oneWorkerStartsNoThread() throws {
        let f = try start("test.echo")
        defer { f.stop() }
        _ = invoke(f, "{}")
        #expect(f.process.threadCount == 1)
        #expect(f.emulator.maxConcurrentNextRequests == 1)
    }

    /// N workers: init completes first (N handlers built), then N `/next` wait at once; 8 invocations of
    /// 300 ms overlap 4 at a time; each answer and each log line belongs to its own invocation.
    @Test func managedInstancesRunNConcurrentWorkers() throws {
        let f = try start("test.sleep", env: ["AWS_LAMBDA_MAX_CONCURRENCY": "4"])
        defer { f.stop() }
        #expect(f.emulator.waitForWaitingNextRequests(4), "4 workers wait on /next")
        #expect(f.process.threadCount == 4)
        let invocations = (0..<8).map { _ in RuntimeAPIEmulator.Invocation(event: Array(#"{"ms":300}"#.utf8)) }
        for invocation in invocations { f.emulator.submit(invocation) }
        for invocation in invocations {
            let outcome = f.emulator.waitForOutcome(requestId: invocation.requestId, waitLimitSeconds: 30)
            #expect(try JSONValue.parse(outcome.text)["requestId"] == .string(invocation.requestId), "\(outcome)")
        }
        #expect(f.emulator.maxConcurrentInvocations == 4)
        // Managed Instances log JSON; every handler line carries its own invocation's id.
        let slept = f.process.lines.compactMap { try? JSONValue.parse(Array($0.utf8)) }.filter { $0["message"] == .string("slept 300 ms") }
        #expect(Set(slept.compactMap { $0["requestId"]?.stringValue }) == Set(invocations.map(\.requestId)))
        #expect(slept.allSatisfy { $0["level"] == .string("INFO") && ($0["timestamp"]?.stringValue ?? "").hasSuffix("Z") })
    }

    /// Bad input and upstream faults on some invocations never touch the others in flight.
    @Test func badInputUnderConcurrencyStaysWithItsInvocation() throws {
        let f = try start("test.echo", env: ["AWS_LAMBDA_MAX_CONCURRENCY": "3"])
        defer { f.stop() }
        let bodies = (0..<30).map { i in i % 3 == 0 ? "not json \(i)" : (i % 3 == 1 ? #"{"i":\#(i)}"# : "[" + String(repeating: "1,", count: 50_000) + "1]") }
        let invocations = bodies.map { RuntimeAPIEmulator.Invocation(event: Array($0.utf8)) }
        for invocation in invocations { f.emulator.submit(invocation) }
        for (i, invocation) in invocations.enumerated() {
            let outcome = f.emulator.waitForOutcome(requestId: invocation.requestId, waitLimitSeconds: 30)
            if i % 3 == 0 {
                guard case .error("Event.InvalidJSON", _) = outcome else { Issue.record("\(i): \(outcome)"); continue }
            } else {
                #expect(outcome == .response(Array(bodies[i].utf8)), "\(i)")
            }
        }
        #expect(f.process.isRunning)
    }

    @Test func initErrorIsReportedOnceWithSeveralWorkers() throws {
        let f = try start("noSuchThing", env: ["AWS_LAMBDA_MAX_CONCURRENCY": "3"])
        defer { f.stop() }
        #expect(f.emulator.waitForInitError()?.type == "Runtime.NoSuchHandler")
        #expect(f.process.waitForExit() == 1)
        #expect(f.emulator.initErrorCount == 1)
        #expect(f.emulator.nextRequestCount == 0)
    }

    @Test func invalidConcurrencyIsAnInitError() throws {
        let f = try start("test.echo", env: ["AWS_LAMBDA_MAX_CONCURRENCY": "lots"])
        defer { f.stop() }
        let report = f.emulator.waitForInitError()
        #expect(report?.type == "Runtime.InvalidConfiguration")
        let message = String(decoding: report?.body ?? [], as: UTF8.self)
        #expect(message.contains("AWS_LAMBDA_MAX_CONCURRENCY"))
    }
}

/// The trace id travels with each invocation to its own AWS calls, never through the process
/// environment: 8 overlapping Stream Starts on 4 workers, each SendEvent carrying its invocation's trace.
@Suite struct ConcurrentTraceTests {
    @Test func eachSendEventCarriesItsOwnInvocationsTraceId() throws {
        let ivs = try IVSStandIn()
        defer { ivs.stop() }
        ivs.inject(Array(repeating: .delay(milliseconds: 150), count: 8), for: "SendEvent")
        var env = ivs.environment
        env["CHAT_ROOM_ARN"] = StreamStartedTests.room
        env["AWS_LAMBDA_MAX_CONCURRENCY"] = "4"
        let f = try LocalFunction(handler: "streamStarted", environment: env)
        defer { f.stop() }
        let template = try JSONValue.parse(try StreamStartedTests.sample("stream-start"))
        var traceOfEvent: [String: String] = [:]
        var invocations: [RuntimeAPIEmulator.Invocation] = []
        for i in 0..<8 {
            guard case var .object(members) = template else { Issue.record("sample is not an object"); return }
            let eventId = "evt-\(i)"
            members = members.map { $0.key == "id" ? ("id", .string(eventId)) : $0 }
            let trace = "Root=1-00000000-\(String(repeating: String(i), count: 24));Sampled=1"
            traceOfEvent[eventId] = trace
            invocations.append(RuntimeAPIEmulator.Invocation(event: JSONValue.object(members).serialized(), traceId: trace))
        }
        for invocation in invocations { f.emulator.submit(invocation) }
        for invocation in invocations {
            let outcome = f.emulator.waitForOutcome(requestId: invocation.requestId, waitLimitSeconds: 30)
            #expect(try JSONValue.parse(outcome.text)["sent"] == .bool(true), "\(outcome)")
        }
        #expect(f.emulator.maxConcurrentInvocations > 1, "the invocations overlapped")
        #expect(ivs.events.count == 8)
        for event in ivs.events {
            let id = try JSONValue.parse(event.attributes["event"] ?? "")["id"]?.stringValue ?? "?"
            #expect(event.traceId == traceOfEvent[id], "event \(id) carried \(event.traceId ?? "no trace")")
        }
    }
}
