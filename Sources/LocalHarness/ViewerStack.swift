import Foundation
import JSON

/// The whole local world of the viewer page, on loopback: the IVS stand-in (control plane and the
/// chat messaging WebSocket, plain HTTP so a browser connects without trusting a test CA), a moto
/// DynamoDB with the invites table, the four functions (the real `bootstrap`, each under its own
/// Runtime API emulator; `messageReview` is the room's message review handler, invoked by the chat
/// stand-in with IVS Chat's 200 ms and the room's fallback) and the `LocalAPIGateway` serving `web/`. Used by `make viewer`
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
    public let reviewFunction: LocalFunction
    public let gateway: LocalAPIGateway

    /// The review rules of the local room: `badword` denied, `darn` masked, links only to example.com.
    public static let reviewRules = [
        "REVIEW_BLOCKED_TERMS": #"[{"term": "badword", "action": "deny"}, {"term": "darn", "action": "mask"}]"#,
        "REVIEW_LINK_POLICY": "allowlist", "REVIEW_ALLOWED_DOMAINS": "example.com",
    ]

    /// Starts everything; `port` is the page's port (0: any free one), `webRoot` the page's files.
    /// `reviewRules`: the review function's rules (`REVIEW_…` variables); `reviewFallbackAllows`: the room's
    /// `fallbackResult` (true: ALLOW).
    public init(port: Int = 0, webRoot: String = BuildProducts.packageRoot + "/web", moto: MotoServer? = nil,
                command: [String] = [BuildProducts.path("bootstrap")], echoLogs: Bool = false,
                reviewRules: [String: String] = ViewerStack.reviewRules, reviewFallbackAllows: Bool = true) throws {
        ivs = try IVSStandIn()
        var started: [LocalFunction] = []
        var madeSandbox: MultihostSandbox?
        do {
            sandbox = try MultihostSandbox(ivs: ivs, moto: moto, table: "ivs-chat-events-viewer-\(UUID().uuidString.prefix(8))")
            madeSandbox = sandbox  // it also tells the stand-in the room and its owner
            var env = sandbox.environment
            env["CHAT_ROOM_ARN"] = Self.roomArn
            env["AWS_LAMBDA_LOG_LEVEL"] = "INFO"
            // The sample stage, so an invite without a stageArn (as `make viewer` prints it) is for it.
            env["DEFAULT_STAGE_ARN"] = MultihostSandbox.stageArn
            streamFunction = try LocalFunction(handler: "streamStarted", environment: env, command: command, echoLogs: echoLogs)
            started.append(streamFunction)
            env["ALLOW_GUESTS"] = "true"
            env["GUEST_STAGE_ARNS"] = MultihostSandbox.stageArn  // the page's stage: guests may watch it
            inviteFunction = try LocalFunction(handler: "api", environment: env, command: command, echoLogs: echoLogs)
            started.append(inviteFunction)
            stageFunction = try LocalFunction(handler: "stageUpdated", environment: env, command: command, echoLogs: echoLogs)
            started.append(stageFunction)
            reviewFunction = try LocalFunction(handler: "messageReview", environment: env.merging(reviewRules) { $1 }, command: command, echoLogs: echoLogs)
            started.append(reviewFunction)
            let reviewer = reviewFunction
            ivs.messaging.setReviewHandler(room: Self.roomArn, .init(fallbackAllows: reviewFallbackAllows) { request, budget in
                let outcome = reviewer.emulator.invoke(RuntimeAPIEmulator.Invocation(event: request, timeoutMilliseconds: Int64(budget)),
                                                       waitLimitSeconds: Double(budget) / 1000)
                if case let .response(body) = outcome { return body }
                return nil
            })
            let config = JSONValue.object([
                ("apiBaseUrl", .string("")), ("chatEndpoint", .string(ivs.messagingURL)), ("region", .string(IVSStandIn.region)),
                ("channelArn", .string(Self.channelArn)), ("stageArn", .string(MultihostSandbox.stageArn)),
                ("player", .string("video")), ("playbackUrl", .string("/media/test-clip.webm")), ("localSignIn", .bool(true)),
            ])
            gateway = try LocalAPIGateway(
                port: port, webRoot: webRoot, api: .init(inviteFunction),
                eventRules: ["IVS Stream State Change": .init(streamFunction), "IVS Stage Update": .init(stageFunction)],
                publicRoutes: ["/chat/guest-token", "/multihost/guest-viewer-token", "/channel/state"], pageConfig: config)
        } catch {
            for f in started { f.stop() }
            madeSandbox?.stop()
            ivs.stop()
            throw error
        }
    }

    /// The page's address.
    public var url: String { gateway.url }

    /// The commands `make viewer` prints, in order, to send events into the page (each as EventBridge
    /// or API Gateway would hand it to the real `bootstrap`): `(what, shell command)`. `curl --fail`,
    /// so a command that does not work says so. Tested as printed (`ViewerCommandTests`).
    public func sampleCommands(root: String = BuildProducts.packageRoot) -> [(what: String, command: String)] {
        let host = gateway.signIn(userId: MultihostSandbox.broadcaster, username: "host")
        let post = "curl -sS --fail-with-body -H 'Content-Type: application/json'"
        return [
            ("Stream Start", "\(post) --data @\(root)/events/stream-start.json \(url)/local/events"),
            ("Stream End", "\(post) --data @\(root)/events/stream-end.json \(url)/local/events"),
            ("Invite", "\(post) -H 'Authorization: Bearer \(host)' --data '{\"userId\":\"\(MultihostSandbox.guest)\"}' \(url)/multihost/invite"),
        ]
    }

    /// Stops the page's server, the functions and the stand-ins.
    public func stop() {
        gateway.stop()
        for f in [streamFunction, inviteFunction, stageFunction, reviewFunction] { f.stop() }
        sandbox.stop()
        ivs.stop()
    }
}
