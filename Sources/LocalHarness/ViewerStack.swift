import Foundation
import JSON

/// The whole local world of the viewer page, on loopback: the IVS stand-in (control plane and the
/// chat messaging WebSocket, plain HTTP so a browser connects without trusting a test CA), a moto
/// DynamoDB with the invites table, the three functions (the real `bootstrap`, each under its own
/// Runtime API emulator) and the `LocalAPIGateway` serving `web/`. Used by `make viewer`
/// (`local-viewer`) and the browser test.
public final class ViewerStack: @unchecked Sendable {
    /// The sample channel (as in `events/stream-start.json`) and its room: the broadcaster's room,
    /// which the sample stage also names, so stream events and invites reach the same viewers.
    public static let channelArn = "arn:aws:ivs:us-east-1:123456789012:channel/12345678-1a23-4567-a1bc-1a2b34567890"
    public static let roomArn = MultihostSandbox.roomArn

    public let ivs: IVSStandIn
    public let sandbox: MultihostSandbox
    public let streamFunction: LocalFunction
    public let inviteFunction: LocalFunction
    public let stageFunction: LocalFunction
    public let gateway: LocalAPIGateway

    /// Starts everything; `port` is the page's port (0: any free one), `webRoot` the page's files.
    public init(port: Int = 0, webRoot: String = BuildProducts.packageRoot + "/web", moto: MotoServer? = nil,
                command: [String] = [BuildProducts.path("bootstrap")], echoLogs: Bool = false) throws {
        ivs = try IVSStandIn()
        var started: [LocalFunction] = []
        var madeSandbox: MultihostSandbox?
        do {
            sandbox = try MultihostSandbox(ivs: ivs, moto: moto, table: "ivs-chat-events-viewer-\(UUID().uuidString.prefix(8))")
            madeSandbox = sandbox  // it also tells the stand-in the room and its owner
            var env = sandbox.environment
            env["CHAT_ROOM_ARN"] = Self.roomArn
            env["AWS_LAMBDA_LOG_LEVEL"] = "INFO"
            streamFunction = try LocalFunction(handler: "streamStarted", environment: env, command: command, echoLogs: echoLogs)
            started.append(streamFunction)
            env["ALLOW_GUESTS"] = "true"
            env["GUEST_STAGE_ARNS"] = MultihostSandbox.stageArn  // the page's stage: guests may watch it
            inviteFunction = try LocalFunction(handler: "multihostInvite", environment: env, command: command, echoLogs: echoLogs)
            started.append(inviteFunction)
            stageFunction = try LocalFunction(handler: "stageUpdated", environment: env, command: command, echoLogs: echoLogs)
            started.append(stageFunction)
            let config = JSONValue.object([
                ("apiBaseUrl", .string("")), ("chatEndpoint", .string(ivs.messagingURL)), ("region", .string(IVSStandIn.region)),
                ("channelArn", .string(Self.channelArn)), ("stageArn", .string(MultihostSandbox.stageArn)),
                ("player", .string("video")), ("playbackUrl", .string("/media/test-clip.webm")), ("localSignIn", .bool(true)),
            ])
            gateway = try LocalAPIGateway(
                port: port, webRoot: webRoot, api: .init(inviteFunction),
                eventRules: ["IVS Stream State Change": .init(streamFunction), "IVS Stage Update": .init(stageFunction)],
                publicRoutes: ["/chat/guest-token", "/multihost/guest-viewer-token", "/channel/state"], pageConfig: config,
                eventObserver: { [ivs, mirror = ChannelStateMirror()] event in mirror.apply(event, to: ivs) })
        } catch {
            for f in started { f.stop() }
            madeSandbox?.stop()
            ivs.stop()
            throw error
        }
    }

    /// The page's address.
    public var url: String { gateway.url }

    /// Stops the page's server, the functions and the stand-ins.
    public func stop() {
        gateway.stop()
        for f in [streamFunction, inviteFunction, stageFunction] { f.stop() }
        sandbox.stop()
        ivs.stop()
    }
}

/// What IVS knows when it emits a stream event: the channel is live (or not) from the event's time on.
/// A late, older event (EventBridge delivers out of order) does not change the state.
final class ChannelStateMirror: @unchecked Sendable {
    private let lock = NSLock()
    private var newest: [String: String] = [:]

    func apply(_ event: JSONValue, to ivs: IVSStandIn) {
        guard event["detail-type"]?.stringValue == "IVS Stream State Change",
              let channel = event["resources"]?.arrayValue?.first?.stringValue,
              let time = event["time"]?.stringValue else { return }
        let live: Bool
        switch event["detail"]?["event_name"]?.stringValue {
        case "Stream Start": live = true
        case "Stream End": live = false
        default: return
        }
        lock.withLock {
            // ISO 8601 UTC times of one format order as strings.
            if let last = newest[channel], time < last { return }
            newest[channel] = time
            ivs.setStream(channel, startTime: live ? time : nil)
        }
    }
}
