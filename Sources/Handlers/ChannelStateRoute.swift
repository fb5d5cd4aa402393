import AWSCore
import AWSServices
import Essentials
import JSON

/// IVS channels as the state route uses them: the seam between `MultihostInviteHandler` and the service.
public protocol ChannelStateService: AnyObject {
    /// The channel's current stream, nil when it is not broadcasting (`GetStream`).
    func liveStream(channelArn: String, call: AWSCallContext) throws -> LiveStream?
}

extension IVSClient: ChannelStateService {
    public func liveStream(channelArn: String, call: AWSCallContext) throws -> LiveStream? {
        try getStream(channelArn: channelArn, deadline: call.deadline, traceId: call.traceId)
    }
}

/// `POST /channel/state {channelArn}` (no authorizer: whether a channel is live is public): what a
/// viewer needs when it opens the page mid-broadcast or reconnects after missing events:
/// `{channelArn, live, startTime?}`. `startTime` orders the answer against STREAM_STARTED /
/// STREAM_ENDED events the client already acted on. "Live" answers are kept 5 seconds in a warm
/// process, so a crowd arriving when a broadcast starts costs one `GetStream` per 5 seconds (its quota
/// is a few per second); "offline" ones are not kept.
extension MultihostInviteHandler {
    static let channelStateSeconds = 5

    func channelState(_ request: HTTPAPIRequest, call: AWSCallContext) throws(APIFailure) -> HTTPAPIResponse {
        let body = try APIFailure.jsonObject(request.body, expected: "{\"channelArn\": …}")
        guard let channelArn = try body.string("channelArn", maxLength: 128) else {
            throw .badRequest("channelArn is required: the channel whose state to read")
        }
        if let problem = IVSConstraints.channelARNProblem(channelArn) { throw .badRequest("channelArn \(problem)") }
        let stream: LiveStream?
        do {
            // Only "live" is kept: a kept "offline" would hide a stream that just started from a viewer
            // who connected after its STREAM_STARTED went out.
            stream = try channelStateCache.value(for: channelArn, keep: { $0 != nil }) {
                try channels.liveStream(channelArn: channelArn, call: call)
            }
        } catch { throw .upstream("GetStream", error, notFound: "no channel \(channelArn)") }
        let live = stream.flatMap { $0.state == "LIVE" ? $0 : nil }
        var members: [(key: String, value: JSONValue)] = [("channelArn", .string(channelArn)), ("live", .bool(live != nil))]
        if let start = live?.startTime { members.append(("startTime", .string(start))) }
        return HTTPAPIResponse(statusCode: 200, body: .object(members))
    }
}
