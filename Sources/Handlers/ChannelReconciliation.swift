import AWSCore
import AWSServices
import Essentials
import JSON
import LambdaRuntime

/// The account's live streams, as the reconciliation reads them: the seam between `StreamStateHandler`
/// and IVS (`ListStreams`).
public protocol LiveStreamListing: AnyObject {
    /// One page of live streams; `nextToken` nil on the last page.
    func liveStreams(nextToken: String?, call: AWSCallContext) throws -> (streams: [LiveStream], nextToken: String?)
}

extension IVSClient: LiveStreamListing {
    public func liveStreams(nextToken: String?, call: AWSCallContext) throws -> (streams: [LiveStream], nextToken: String?) {
        try listStreams(nextToken: nextToken, deadline: call.deadline, traceId: call.traceId)
    }
}

/// How a deployment learns the channels that were live before it existed, or whose Stream Start
/// EventBridge never delivered: an EventBridge schedule invokes `streamStarted` with a `Scheduled
/// Event` (every 5 minutes in the template), and each live stream `ListStreams` shows is recorded as
/// live since its `startTime`, under the same conditional write as events (`ChannelState.supersedes`):
/// a newer recorded event (an End) wins. At most `maxPages` calls of `ListStreams` (5 TPS per
/// account) per run. Channels live in our table but absent from the list (a missed End) are left to
/// their next event: only what IVS shows as live is written.
extension StreamStateHandler {
    static let maxPages = 10

    func reconcile(context: InvocationContext) throws -> [UInt8] {
        guard let channelStates, let streams else {
            return skipped("no state table or IVS client: nothing to reconcile (set STATE_TABLE)")
        }
        var token: String?
        var seen = 0, recorded = 0
        for _ in 0..<Self.maxPages {
            let page: (streams: [LiveStream], nextToken: String?)
            do { page = try streams.liveStreams(nextToken: token, call: context.awsCall) } catch {
                throw LambdaError("IVS.ListStreamsFailed", "ListStreams failed: \(error)")
            }
            for stream in page.streams where stream.state == "LIVE" {
                seen += 1
                guard IVSConstraints.channelARNProblem(stream.channelArn) == nil, let start = stream.startTime,
                      let epoch = UTCTimestamp.parseISO8601(start) else { continue }
                let state = ChannelState(channelArn: stream.channelArn, live: true, eventId: "ListStreams:" + (stream.streamId ?? start),
                                         eventTime: start, eventEpochSeconds: epoch, startTime: start, streamId: stream.streamId)
                do {
                    if try channelStates.record(state, call: context.awsCall) == .recorded { recorded += 1 }
                } catch {
                    throw LambdaError("DynamoDB.PutItemFailed", "recording the state of \(stream.channelArn) failed: \(error)")
                }
            }
            token = page.nextToken
            if token == nil { break }
        }
        Log.info("reconciled channel states: \(seen) live stream(s) listed, \(recorded) recorded as live")
        return JSONValue.object([("reconciled", .bool(true)), ("liveStreams", .int(seen)), ("recorded", .int(recorded))]).serialized()
    }
}
