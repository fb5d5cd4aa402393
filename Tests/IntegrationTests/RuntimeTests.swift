import Foundation
import JSON
import LocalHarness
import Testing

/// The runtime loop, driven through the real `bootstrap` binary and the Runtime API emulator,
/// with the diagnostic `test.*` handlers.
@Suite struct RuntimeTests {
    static let testEnv = ["IVS_CHAT_EVENTS_TEST_HANDLERS": "1"]

    func start(_ handler: String, env: [String: String] = [:], runtimeAPI: ((String) -> String)? = nil,
               prepare: (RuntimeAPIEmulator) -> Void = { _ in }) throws -> LocalFunction {
        try LocalFunction(handler: handler, environment: Self.testEnv.merging(env) { $1 }, runtimeAPI: runtimeAPI, prepare: prepare)
    }

    func json(_ outcome: RuntimeAPIEmulator.Outcome) throws -> JSONValue {
        try JSONValue.parse(outcome.text)
    }

    @Test func returnsTheHandlersResponse() throws {
        let function = try start("test.echo")
        defer { function.stop() }
        let outcome = function.invoke(#"{ "hello" : [1, 2.50, "x"] }"#)
        #expect(outcome == .response(Array(#"{"hello":[1,2.50,"x"]}"#.utf8)))
    }

    @Test func reportsAHandlerErrorAndKeepsServing() throws {
        let function = try start("test.fail")
        defer { function.stop() }
        let outcome = function.invoke(#"{"message":"boom"}"#)
        guard case let .error(type, _) = outcome else { Issue.record("expected an error, got \(outcome)"); return }
        #expect(type == "Test.Requested")
        let body = try json(outcome)
        #expect(body["errorMessage"] == .string("boom"))
        #expect(body["errorType"] == .string("Test.Requested"))
        #expect(body["stackTrace"] == .array([]))
        // The process goes on serving.
        let second = function.invoke(#"{"message":"again"}"#)
        #expect(try json(second)["errorMessage"] == .string("again"))
        #expect(function.process.isRunning)
    }

    @Test func nonJSONPayloadIsAFunctionErrorNotACrash() throws {
        let function = try start("test.echo")
        defer { function.stop() }
        let outcome = function.invoke("this is not json")
        guard case let .error(type, _) = outcome else { Issue.record("expected an error, got \(outcome)"); return }
        #expect(type == "Event.InvalidJSON")
        #expect(try json(outcome)["errorMessage"]?.stringValue?.contains("not JSON") == true)
        #expect(function.invoke(#"{"ok":true}"#) == .response(Array(#"{"ok":true}"#.utf8)))
    }

    @Test func unknownHandlerIsAnInitErrorAndExitsNonZero() throws {
        let function = try start("noSuchThing")
        defer { function.stop() }
        let report = function.emulator.waitForInitError()
        #expect(report?.type == "Runtime.NoSuchHandler")
        let body = try JSONValue.parse(report?.body ?? [])
        #expect(body["errorMessage"]?.stringValue?.contains("noSuchThing") == true)
        #expect(body["errorMessage"]?.stringValue?.contains("streamStarted") == true)
        #expect(function.process.waitForExit() != 0)
        #expect(function.emulator.nextRequestCount == 0)
    }

    @Test func contextCarriesEveryNextHeader() throws {
        let function = try start("test.context")
        defer { function.stop() }
        let invocation = RuntimeAPIEmulator.Invocation(
            event: Array("{}".utf8), requestId: "req-123", timeoutMilliseconds: 5000,
            traceId: "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
            functionArn: "arn:aws:lambda:us-east-1:123456789012:function:f",
            clientContext: #"{"client":{}}"#, cognitoIdentity: #"{"cognitoIdentityId":"id"}"#, tenantId: "tenant-7")
        let body = try json(function.emulator.invoke(invocation))
        #expect(body["requestId"] == .string("req-123"))
        let remaining = body["remainingMs"]?.intValue ?? -1
        #expect(remaining > 0 && remaining <= 5000)
        #expect(body["functionArn"] == .string("arn:aws:lambda:us-east-1:123456789012:function:f"))
        #expect(body["traceId"] == .string("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"))
        #expect(body["traceEnv"] == .string("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"))
        #expect(body["clientContext"] == .string(#"{"client":{}}"#))
        #expect(body["cognitoIdentity"] == .string(#"{"cognitoIdentityId":"id"}"#))
        #expect(body["tenantId"] == .string("tenant-7"))

        // The next invocation without a trace header must not inherit the previous one.
        let second = try json(function.emulator.invoke(.init(event: Array("{}".utf8), traceId: nil)))
        #expect(second["traceEnv"] == .null)
        #expect(second["tenantId"] == .null)
    }

    @Test func oversizedResponseBecomesThatInvocationsError() throws {
        let function = try start("test.large")
        defer { function.stop() }
        let outcome = function.invoke(#"{"bytes":7000000}"#)
        guard case let .error(type, _) = outcome else { Issue.record("expected an error, got \(outcome)"); return }
        #expect(type == "Function.ResponseSizeTooLarge")
        // Just under the limit still goes through, and the process survived.
        let fits = function.invoke(#"{"bytes":6291556}"#)
        guard case let .response(body) = fits else { Issue.record("expected a response, got \(fits)"); return }
        #expect(body.count == 6_291_556)
    }

    @Test func transientNextFailuresAreRetried() throws {
        let function = try start("test.echo", prepare: { $0.injectNextFaults([.drop, .status(502)]) })
        defer { function.stop() }
        #expect(function.invoke(#"{"n":1}"#) == .response(Array(#"{"n":1}"#.utf8)))
        #expect(function.emulator.nextRequestCount >= 3)
        #expect(function.process.isRunning)
    }

    @Test func aDroppedResponseConnectionIsTriedOnceMore() throws {
        let function = try start("test.echo", prepare: { $0.injectResponseDrops(1) })
        defer { function.stop() }
        #expect(function.invoke(#"{"kept":true}"#) == .response(Array(#"{"kept":true}"#.utf8)))
        #expect(function.process.isRunning)
    }

    @Test func containerErrorMakesTheRuntimeExit() throws {
        let function = try start("test.echo", prepare: { $0.injectNextFaults([.status(500)]) })
        defer { function.stop() }
        let status = function.process.waitForExit()
        #expect(status == 1, "the runtime exits by itself with status 1 (not killed)")
        #expect(function.emulator.nextRequestCount == 1)
    }

    @Test func runtimeAPIWithSchemeAndBasePath() throws {
        let function = try start("test.echo", runtimeAPI: { "http://\($0)/.rt/" })
        defer { function.stop() }
        #expect(function.invoke(#"{"a":"b"}"#) == .response(Array(#"{"a":"b"}"#.utf8)))
    }

    @Test func proxyVariablesAreIgnoredForTheRuntimeAPI() throws {
        let dead = "http://127.0.0.1:9"
        let function = try start("test.echo", env: ["http_proxy": dead, "HTTP_PROXY": dead, "all_proxy": dead, "ALL_PROXY": dead])
        defer { function.stop() }
        #expect(function.invoke(#"{"via":"direct"}"#) == .response(Array(#"{"via":"direct"}"#.utf8)))
    }

    @Test func jsonLogsCarryLevelAndRequestId() throws {
        let function = try start("test.fail", env: ["AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "DEBUG"])
        defer { function.stop() }
        _ = function.emulator.invoke(.init(event: Array(#"{"message":"logged"}"#.utf8), requestId: "req-log"))
        function.stop()
        let lines = function.process.lines.compactMap { try? JSONValue.parse($0) }
        #expect(!lines.isEmpty)
        #expect(lines.count == function.process.lines.count, "every line is one JSON object: \(function.process.lines)")
        let errorLine = lines.first { $0["level"] == .string("ERROR") }
        #expect(errorLine?["requestId"] == .string("req-log"))
        #expect(errorLine?["message"]?.stringValue?.contains("logged") == true)
        #expect(errorLine?["timestamp"]?.stringValue?.hasSuffix("Z") == true)
    }

    @Test func logLevelFiltersLines() throws {
        let function = try start("test.echo", env: ["AWS_LAMBDA_LOG_LEVEL": "ERROR"])
        defer { function.stop() }
        _ = function.invoke("not json")   // logs one ERROR line
        _ = function.invoke("{}")         // would log a DEBUG line
        function.stop()
        // The cold start's metric line is not a log line: it is written at any level (README, "Metrics").
        let logLines = function.process.lines.filter { !EMF.isEMF($0) }
        #expect(logLines.count == 1)
        #expect(logLines.first?.contains("ERROR") == true)
        #expect(function.process.lines.count == 2 && EMF.isEMF(function.process.lines.last ?? ""))
    }
}
