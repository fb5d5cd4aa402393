import Foundation

/// Everything `local-invoke` starts: the IVS stand-in, then the function under the Runtime API
/// emulator with its AWS endpoints pointed at the stand-in, test credentials, and a demo room
/// (unless the caller's environment names its own).
public final class LocalSession: @unchecked Sendable {
    /// The chat room used when the caller sets none.
    public static let demoRoom = "arn:aws:ivschat:us-east-1:123456789012:room/LocalDemoRoom"

    public let ivs: IVSStandIn
    public let function: LocalFunction
    /// For `multihostInvite`: the sample stage on the stand-in and a moto DynamoDB with the invites table.
    public let multihost: MultihostSandbox?
    private var reportedEvents = 0

    public init(handler: String, environment: [String: String], command: [String] = [BuildProducts.path("bootstrap")],
                echoLogs: Bool = true) throws {
        ivs = try IVSStandIn()
        var env = ivs.environment
        env["CHAT_ROOM_ARN"] = Self.demoRoom
        env["AWS_LAMBDA_LOG_LEVEL"] = "INFO"
        multihost = handler == "multihostInvite" ? try MultihostSandbox(ivs: ivs) : nil
        env.merge(multihost?.environment ?? [:]) { $1 }
        env.merge(environment) { $1 }
        do {
            function = try LocalFunction(handler: handler, environment: env, command: command, echoLogs: echoLogs)
        } catch { multihost?.stop(); throw error }
    }

    /// What the stand-in services received since the last call, as readable lines.
    public func drainServiceLog() -> [String] {
        let lines = ivs.eventLines()
        defer { reportedEvents = lines.count }
        return Array(lines.dropFirst(reportedEvents))
    }

    /// Stops everything; returns the function's exit status.
    public func stop() -> Int32 {
        defer { ivs.stop(); multihost?.stop() }
        return function.stop()
    }
}
