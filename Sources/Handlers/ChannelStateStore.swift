import AWSCore
import AWSServices
import Essentials
import JSON

/// A channel's latest state as our own stream events set it: live or offline, since the event at
/// `eventTime`. Kept by `streamStarted`, read by `POST /channel/state`: no IVS control-plane call
/// (GetStream, 5 TPS per account) is on a viewer's path.
public struct ChannelState: Sendable, Equatable {
    public var channelArn: String
    public var live: Bool
    /// The EventBridge event that set this state: its `id` and `time` (ISO 8601, whole seconds).
    public var eventId: String
    public var eventTime: String
    /// `eventTime` in epoch seconds: the order states are kept in.
    public var eventEpochSeconds: Int64
    /// When live: the stream's start (the Stream Start event's time) and id.
    public var startTime: String?
    public var streamId: String?

    public init(channelArn: String, live: Bool, eventId: String, eventTime: String, eventEpochSeconds: Int64,
                startTime: String? = nil, streamId: String? = nil) {
        self.channelArn = channelArn
        self.live = live
        self.eventId = eventId
        self.eventTime = eventTime
        self.eventEpochSeconds = eventEpochSeconds
        self.startTime = startTime
        self.streamId = streamId
    }

    /// Whether `self` may replace `stored`: a later event; the same event again (a repeat is
    /// idempotent); or, within the same second (EventBridge times have whole seconds), an End over a
    /// Start: a stream that started and ended within one second has ended.
    public func supersedes(_ stored: ChannelState?) -> Bool {
        guard let stored else { return true }
        if eventId == stored.eventId { return true }
        if eventEpochSeconds != stored.eventEpochSeconds { return eventEpochSeconds > stored.eventEpochSeconds }
        return !live && stored.live
    }
}

/// What a conditional state write did.
public enum ChannelStateWrite: Sendable, Equatable {
    /// Stored: the event is the newest the channel has seen (or a repeat of it).
    case recorded
    /// Refused: the channel already has a newer state (a late or out-of-order event).
    case superseded
}

/// Where channel states are kept: the seam between the handlers and DynamoDB.
public protocol ChannelStateStoring: AnyObject {
    /// Stores `state` only when it `supersedes` the stored one, atomically (concurrent writers included).
    func record(_ state: ChannelState, call: AWSCallContext) throws -> ChannelStateWrite
    /// The channel's stored state; nil when no stream event of it was ever recorded.
    func state(channelArn: String, call: AWSCallContext) throws -> ChannelState?
}

/// Channel states in the state table (partition key `pk` (S) = `channel#<channel ARN>`, TTL
/// `expiresAt`): one item per channel. An offline state expires `offlineRetentionDays` after its
/// event (a channel unseen since reads as never seen: offline); a live one never expires.
public final class DynamoDBChannelStateStore: ChannelStateStoring {
    public static let keyPrefix = "channel#"
    public static let offlineRetentionDays: Int64 = 30

    private let dynamoDB: DynamoDBClient
    private let table: String
    /// The table's name.
    public var tableName: String { table }

    public init(dynamoDB: DynamoDBClient, table: String) {
        self.dynamoDB = dynamoDB
        self.table = table
    }

    /// `PutItem` under the condition that spells out `ChannelState.supersedes` against the stored item.
    public func record(_ state: ChannelState, call: AWSCallContext) throws -> ChannelStateWrite {
        var condition = "attribute_not_exists(pk) OR eventEpoch < :t OR eventId = :id"
        var values: DynamoDBItem = [":t": DynamoDBValue.number(state.eventEpochSeconds), ":id": DynamoDBValue.string(state.eventId)]
        if !state.live {
            condition += " OR (eventEpoch = :t AND live = :live)"
            values[":live"] = DynamoDBValue.bool(true)
        }
        do {
            try dynamoDB.putItem(table: table, item: Self.item(state), conditionExpression: condition,
                                 expressionAttributeValues: values, deadline: call.deadline, traceId: call.traceId)
            return .recorded
        } catch {
            if error.serviceError?.type == "ConditionalCheckFailedException" { return .superseded }
            throw error
        }
    }

    public func state(channelArn: String, call: AWSCallContext) throws -> ChannelState? {
        // Strongly consistent: a viewer reconnecting right after an End must not read the Start before it.
        try dynamoDB.getItem(table: table, key: ["pk": DynamoDBValue.string(Self.keyPrefix + channelArn)], consistentRead: true,
                             deadline: call.deadline, traceId: call.traceId).flatMap(Self.state(from:))
    }

    /// The table item for `state`.
    public static func item(_ state: ChannelState) -> DynamoDBItem {
        var item: DynamoDBItem = [
            "pk": DynamoDBValue.string(keyPrefix + state.channelArn), "live": DynamoDBValue.bool(state.live),
            "eventId": DynamoDBValue.string(state.eventId), "eventTime": DynamoDBValue.string(state.eventTime),
            "eventEpoch": DynamoDBValue.number(state.eventEpochSeconds),
        ]
        if let start = state.startTime { item["startTime"] = DynamoDBValue.string(start) }
        if let stream = state.streamId { item["streamId"] = DynamoDBValue.string(stream) }
        if !state.live { item["expiresAt"] = DynamoDBValue.number(state.eventEpochSeconds + offlineRetentionDays * 86_400) }
        return item
    }

    /// The state in a table item; nil when a field is missing.
    public static func state(from item: DynamoDBItem) -> ChannelState? {
        guard let key = DynamoDBValue.string(from: item["pk"]), key.hasPrefix(keyPrefix),
              let live = DynamoDBValue.bool(from: item["live"]), let id = DynamoDBValue.string(from: item["eventId"]),
              let time = DynamoDBValue.string(from: item["eventTime"]), let epoch = DynamoDBValue.int64(from: item["eventEpoch"]) else {
            return nil
        }
        return ChannelState(channelArn: String(key.dropFirst(keyPrefix.count)), live: live, eventId: id, eventTime: time,
                            eventEpochSeconds: epoch, startTime: DynamoDBValue.string(from: item["startTime"]),
                            streamId: DynamoDBValue.string(from: item["streamId"]))
    }
}
