import AWSCore
import Foundation

/// Everything `local-invoke` starts: the IVS stand-in, then the function under the Runtime API
/// emulator with its AWS endpoints pointed at the stand-in, test credentials, and a demo room
/// (unless the caller's environment names its own). With `tls` (the default) the stand-in serves
/// HTTPS with a certificate from a throw-away CA that stands in for Amazon's roots, so the function
/// takes the same TLS path as on Lambda (built-in roots, in-memory trust store).
public final class LocalSession: @unchecked Sendable {
    /// The chat room used when the caller sets none.
    public static let demoRoom = "arn:aws:ivschat:us-east-1:123456789012:room/LocalDemoRoom"

    public let ivs: IVSStandIn
    public let function: LocalFunction
    /// For `multihostInvite`: the sample stage on the stand-in and a moto DynamoDB with the invites table.
    public let multihost: MultihostSandbox?
    /// The throw-away CA behind the stand-in's certificate (with `tls`).
    public let pki: TestPKI?
    private var reportedEvents = 0

    public init(handler: String, environment: [String: String], command: [String] = [BuildProducts.path("bootstrap")],
                echoLogs: Bool = true, tls: Bool = true) throws {
        pki = tls ? try TestPKI(name: "ivs-chat-events local CA (stands in for Amazon's roots)") : nil
        ivs = try IVSStandIn(tls: try pki?.serverIdentity())
        var env = ivs.environment
        if let pki {
            let roots = pki.directory + "/amazon-roots.pem"
            try AmazonRoots.pem.write(toFile: roots, atomically: true, encoding: .utf8)
            env["IVS_CHAT_EVENTS_TEST_AWS_ROOTS"] = try pki.bundle(named: "aws-roots.pem", appendingTo: roots)
        }
        env["CHAT_ROOM_ARN"] = Self.demoRoom
        ivs.setRoom(Self.demoRoom, IVSStandIn.RoomInfo(name: "local-demo"))
        env["AWS_LAMBDA_LOG_LEVEL"] = "INFO"
        multihost = handler == "api" || handler == "multihostInvite" ? try MultihostSandbox(ivs: ivs) : nil
        // stageUpdated: the sample stage (owner and room tags) without the invites table.
        if handler == "stageUpdated" { ivs.setStage(MultihostSandbox.stageArn, MultihostSandbox.stage) }
        env.merge(multihost?.environment ?? [:]) { $1 }
        env.merge(environment) { $1 }
        do {
            function = try LocalFunction(handler: handler, environment: env, command: command, echoLogs: echoLogs)
        } catch { multihost?.stop(); pki?.remove(); throw error }
    }

    /// What the stand-in services received since the last call, as readable lines.
    public func drainServiceLog() -> [String] {
        let lines = ivs.eventLines()
        defer { reportedEvents = lines.count }
        return Array(lines.dropFirst(reportedEvents))
    }

    /// Stops everything; returns the function's exit status.
    public func stop() -> Int32 {
        defer { ivs.stop(); multihost?.stop(); pki?.remove() }
        return function.stop()
    }
}
