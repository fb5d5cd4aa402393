import AWSCore
import AWSServices
import Essentials
import JSON
import LambdaRuntime

/// Sends an IVS Chat custom event to a room and returns its id: the seam between the handlers and
/// IVS Chat, so handlers can be unit-tested without a network.
public protocol ChatEventSending: AnyObject {
    func sendEvent(roomIdentifier: String, eventName: String, attributes: [String: String], call: AWSCallContext) throws -> String
}

extension IVSChatClient: ChatEventSending {
    public func sendEvent(roomIdentifier: String, eventName: String, attributes: [String: String], call: AWSCallContext) throws -> String {
        try sendEvent(roomIdentifier: roomIdentifier, eventName: eventName, attributes: attributes, deadline: call.deadline, traceId: call.traceId)
    }
}

extension InvocationContext {
    /// The deadline and trace header this invocation's AWS calls carry.
    public var awsCall: AWSCallContext { AWSCallContext(deadline: deadlineEpochMilliseconds, traceId: traceId) }
}

/// `_HANDLER=streamStarted`: turns EventBridge `IVS Stream State Change` events into IVS Chat
/// events (`Stream Start` → `STREAM_STARTED`, `Stream End` → `STREAM_ENDED` by default), carrying
/// the original event as the attribute `event`, so viewers' players start and stop on their own.
///
/// With a state table (`STATE_TABLE`) it first records the channel's state (live/offline, by
/// event time, conditionally: `ChannelStateStore.swift`), which `POST /channel/state` answers from.
/// An event older than the recorded state (EventBridge delivers late and out of order) changes
/// nothing and sends nothing; a repeat of the newest is sent again (clients drop it by id), so a
/// retry after a failed `SendEvent` still reaches the room. An EventBridge `Scheduled Event`
/// reconciles live channels from `ListStreams` (`ChannelReconciliation.swift`).
public final class StreamStateHandler: LambdaHandler {
    private let configuration: StreamStateConfiguration
    private let chat: ChatEventSending
    let channelStates: ChannelStateStoring?
    let streams: LiveStreamListing?

    public init(configuration: StreamStateConfiguration, chat: ChatEventSending, channelStates: ChannelStateStoring? = nil,
                streams: LiveStreamListing? = nil) {
        self.configuration = configuration
        self.chat = chat
        self.channelStates = channelStates
        self.streams = streams
    }

    public func handle(_ payload: [UInt8], context: InvocationContext) throws -> [UInt8] {
        let event: JSONValue
        do { event = try JSONValue.parse(payload) } catch {
            throw LambdaError("Event.InvalidJSON", "the event is not JSON: \(error)")
        }
        guard event.objectValue != nil else {
            throw LambdaError("Event.InvalidShape", "expected an EventBridge event (a JSON object), got \(event.kindName)")
        }
        let source = try field(event, "source")
        let detailType = try field(event, "detail-type")
        if source == "aws.events", detailType == "Scheduled Event" { return try reconcile(context: context) }
        guard source == "aws.ivs", detailType == "IVS Stream State Change" else {
            return skipped("not an IVS stream state change (source '\(source)', detail-type '\(detailType)')")
        }
        guard let detail = event["detail"], detail.objectValue != nil else {
            throw LambdaError("Event.InvalidShape", "'detail' must be an object")
        }
        guard let stateName = detail["event_name"]?.stringValue else {
            throw LambdaError("Event.InvalidShape", "'detail.event_name' must be a string")
        }
        let channel = event["resources"]?.arrayValue?.first?.stringValue
        if let channel, IVSConstraints.channelARNProblem(channel) == nil, let channelStates,
           let state = ChannelState(streamEvent: event, channelArn: channel, eventName: stateName) {
            let write: ChannelStateWrite
            do { write = try channelStates.record(state, call: context.awsCall) } catch {
                throw LambdaError("DynamoDB.PutItemFailed", "recording the state of \(channel) failed: \(error)")
            }
            if write == .superseded {
                return skipped("event \(state.eventId) (\(state.eventTime)) is older than the recorded state of \(channel): late or out of order")
            }
        }

        guard let chatEventName = configuration.chatEventName(forStreamEvent: stateName) else {
            return skipped("stream event '\(stateName)' is not mapped to a chat event")
        }
        guard let room = configuration.room(forChannel: channel) else {
            return skipped("no chat room configured for channel \(channel ?? "(none)")")
        }

        let attributes = ChatEventAttributes.forStreamEvent(event)
        let id: String
        do {
            id = try chat.sendEvent(roomIdentifier: room, eventName: chatEventName, attributes: attributes.values,
                                    call: context.awsCall)
        } catch let error as FunctionError {
            throw error
        } catch {
            throw LambdaError("IVSChat.SendEventFailed", "SendEvent \(chatEventName) to \(room) failed: \(error)")
        }
        Log.info("sent \(chatEventName) (\(attributes.size) attribute bytes\(attributes.reduced ? ", reduced" : "")) to \(room) for event \(event["id"]?.stringValue ?? "?"): chat event \(id)")
        return JSONValue.object([
            ("sent", .bool(true)),
            ("eventName", .string(chatEventName)),
            ("room", .string(room)),
            ("chatEventId", .string(id)),
            ("truncated", .bool(attributes.reduced)),
        ]).serialized()
    }

    private func field(_ event: JSONValue, _ name: String) throws -> String {
        guard let value = event[name] else { throw LambdaError("Event.InvalidShape", "missing '\(name)': not an EventBridge event") }
        guard let text = value.stringValue else { throw LambdaError("Event.InvalidShape", "'\(name)' must be a string, got \(value.kindName)") }
        return text
    }

    func skipped(_ reason: String) -> [UInt8] {
        Log.info("nothing sent: \(reason)")
        return JSONValue.object([("sent", .bool(false)), ("reason", .string(reason))]).serialized()
    }
}

/// The attributes of a stream chat event: the original event as compact JSON under `event`, reduced
/// step by step (with `truncated: "true"`) until it fits IVS Chat's 1 KB attribute budget.
public struct ChatEventAttributes {
    /// IVS Chat's limit on all attribute keys and values together, in UTF-8 bytes.
    public static let budget = IVSConstraints.maxAttributesBytes

    public let values: [String: String]
    /// Whether the event had to be reduced to fit.
    public let reduced: Bool

    /// Key and value bytes together, as IVS Chat counts them.
    public var size: Int { IVSConstraints.attributesSize(values) }

    /// The attributes for `event`: as received when they fit; otherwise the fields clients use
    /// (`id`, `detail-type`, `source`, `account`, `time`, `region`, `resources`,
    /// `detail.event_name/channel_name/stream_id`), then fewer, until they fit.
    public static func forStreamEvent(_ event: JSONValue) -> ChatEventAttributes {
        let full = ChatEventAttributes(values: ["event": event.compactText], reduced: false)
        if full.size <= budget { return full }

        let detail = event["detail"] ?? .object([])
        let resources = event["resources"]?.arrayValue ?? []
        func pick(_ value: JSONValue, _ keys: [String]) -> JSONValue {
            .object(keys.compactMap { key in value[key].map { (key, $0) } })
        }
        func reducedEvent(resources: [JSONValue], detailKeys: [String], truncateChannel: Int? = nil) -> JSONValue {
            var d = pick(detail, detailKeys)
            if let limit = truncateChannel, case var .object(members) = d,
               let i = members.firstIndex(where: { $0.key == "channel_name" }), let name = members[i].value.stringValue {
                members[i].value = .string(String(name.unicodeScalars.prefix(limit)))
                d = .object(members)
            }
            let top = pick(event, ["id", "detail-type", "source", "account", "time", "region"])
            guard case var .object(members) = top else { return top }
            members.append(("resources", .array(resources)))
            members.append(("detail", d))
            return .object(members)
        }
        let candidates = [
            reducedEvent(resources: resources, detailKeys: ["event_name", "channel_name", "stream_id"]),
            reducedEvent(resources: Array(resources.prefix(1)), detailKeys: ["event_name", "channel_name", "stream_id"]),
            reducedEvent(resources: Array(resources.prefix(1)), detailKeys: ["event_name", "channel_name", "stream_id"], truncateChannel: 64),
            reducedEvent(resources: Array(resources.prefix(1)), detailKeys: ["event_name", "stream_id"]),
            pick(event, ["id"]),
        ]
        for candidate in candidates {
            let attempt = ChatEventAttributes(values: ["event": candidate.compactText, "truncated": "true"], reduced: true)
            if attempt.size <= budget { return attempt }
        }
        return ChatEventAttributes(values: ["event": "{}", "truncated": "true"], reduced: true)
    }
}

extension ChannelState {
    /// The state a `Stream Start` / `Stream End` event sets; nil for other events, or when the event
    /// has no `id` or no valid `time` (it cannot be ordered: it is sent, not recorded).
    init?(streamEvent event: JSONValue, channelArn: String, eventName: String) {
        let live: Bool
        switch eventName {
        case "Stream Start": live = true
        case "Stream End": live = false
        default: return nil
        }
        guard let id = event["id"]?.stringValue, !id.isEmpty, let time = event["time"]?.stringValue,
              let epoch = UTCTimestamp.parseISO8601(time) else { return nil }
        self.init(channelArn: channelArn, live: live, eventId: id, eventTime: time, eventEpochSeconds: epoch,
                  startTime: live ? time : nil, streamId: event["detail"]?["stream_id"]?.stringValue)
    }
}
