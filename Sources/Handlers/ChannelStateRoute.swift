import AWSCore
import AWSServices
import Essentials
import JSON

/// `POST /channel/state {channelArn}` (no authorizer: whether a channel is live is public): what a
/// viewer needs when it opens the page mid-broadcast or reconnects after missing events. Answered from
/// the state `streamStarted` keeps from our own stream events (`ChannelStateStore.swift`), never from
/// IVS's control plane: `{channelArn, live, stateTime?, eventId?, startTime?}`.
/// - `stateTime` is the time of the stream event that set the state: the page orders the answer
///   against the events it acted on, "live" and "offline" alike.
/// - A channel no event was ever recorded for (a new deployment, or one offline for 30 days) answers
///   `{live: false}` without `stateTime`: the page keeps what it knows. A new deployment learns the
///   channels already live from the scheduled reconciliation (`ChannelReconciliation.swift`).
/// - Another region's or account's channel answers 400; with `CHANNEL_ROOM_MAP`, only its channels
///   are this deployment's: others answer 404.
/// - Nothing is kept in the warm process: every answer is the stored state (one DynamoDB read).
extension MultihostInviteHandler {
    func channelState(_ request: HTTPAPIRequest, call: AWSCallContext) throws(APIFailure) -> HTTPAPIResponse {
        let body = try APIFailure.jsonObject(request.body, expected: "{\"channelArn\": …}")
        guard let channelArn = try body.string("channelArn", maxLength: 128) else {
            throw .badRequest("channelArn is required: the channel whose state to read")
        }
        if let problem = IVSConstraints.channelARNProblem(channelArn) { throw .badRequest("channelArn \(problem)") }
        try requireInScope(channelArn, field: "channelArn")
        if !configuration.roomsByChannel.isEmpty, configuration.roomsByChannel[channelArn] == nil {
            throw .notFound("channel \(channelArn) is not one of this deployment's (CHANNEL_ROOM_MAP)")
        }
        guard let channelStates else {
            throw .notFound("this deployment keeps no channel state (STATE_TABLE is not set)")
        }
        let state: ChannelState?
        do { state = try channelStates.state(channelArn: channelArn, call: call) } catch { throw .upstream("GetItem", error) }
        var members: [(key: String, value: JSONValue)] = [("channelArn", .string(channelArn)), ("live", .bool(state?.live == true))]
        if let state {
            members.append(("stateTime", .string(state.eventTime)))
            members.append(("eventId", .string(state.eventId)))
            if state.live, let start = state.startTime { members.append(("startTime", .string(start))) }
        }
        return HTTPAPIResponse(statusCode: 200, body: .object(members))
    }
}
