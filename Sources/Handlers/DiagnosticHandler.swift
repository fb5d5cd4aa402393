import Essentials
import JSON
import LambdaRuntime

/// Handlers for testing the runtime itself through the real binary; enabled only with
/// `IVS_CHAT_EVENTS_TEST_HANDLERS=1`, never in a deployment.
///
/// - `test.echo`: returns the event, re-serialised compactly (so non-JSON input is an error).
/// - `test.fail`: throws a function error whose message is the event's `message`.
/// - `test.context`: returns what the runtime told the handler (request id, remaining time, trace id…).
/// - `test.large`: returns a response of the event's `bytes` size (for the 6 MB limit).
/// - `test.sleep`: sleeps the event's `ms`, logs a line, then returns `{"requestId", "sleptMs"}` (concurrency, time-outs).
final class DiagnosticHandler: LambdaHandler {
    private let name: String

    init?(name: String) {
        guard ["test.echo", "test.fail", "test.context", "test.large", "test.sleep"].contains(name) else { return nil }
        self.name = name
    }

    func handle(_ event: [UInt8], context: InvocationContext) throws -> [UInt8] {
        let value: JSONValue
        do { value = try JSONValue.parse(event) } catch {
            throw LambdaError("Event.InvalidJSON", "the event is not JSON: \(error)")
        }
        switch name {
        case "test.fail":
            throw LambdaError("Test.Requested", value["message"]?.stringValue ?? "failure requested")
        case "test.context":
            func optional(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
            return JSONValue.object([
                ("requestId", .string(context.requestId)),
                ("deadlineMs", .int(context.deadlineEpochMilliseconds)),
                ("remainingMs", .int(context.remainingMilliseconds)),
                ("functionArn", optional(context.invokedFunctionArn)),
                ("traceId", optional(context.traceId)),
                ("traceEnv", optional(Environment.get("_X_AMZN_TRACE_ID"))),
                ("clientContext", optional(context.clientContext)),
                ("cognitoIdentity", optional(context.cognitoIdentity)),
                ("tenantId", optional(context.tenantId)),
                ("invocationId", optional(context.invocationId)),
            ]).serialized()
        case "test.sleep":
            let ms = value["ms"]?.intValue ?? 0
            Clock.sleep(milliseconds: Int64(ms))
            Log.info("slept \(ms) ms")
            return JSONValue.object([("requestId", .string(context.requestId)), ("sleptMs", .int(Int64(ms)))]).serialized()
        case "test.large":
            let size = value["bytes"]?.intValue ?? 7_000_000
            return [34] + [UInt8](repeating: 120, count: max(0, size - 2)) + [34]
        default:
            Log.debug("echo \(event.count) bytes")
            return value.serialized()
        }
    }
}
