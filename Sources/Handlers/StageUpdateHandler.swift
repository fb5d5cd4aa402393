import AWSCore
import AWSServices
import Essentials
import JSON
import LambdaRuntime

/// `_HANDLER=stageUpdated`: a real-time stage goes live when its owner publishes. EventBridge's
/// `IVS Stage Update` events `Participant Published` / `Participant Unpublished` of the stage's owner
/// become `StreamCat:RealTimeUpdate` with `isLive` `"true"` / `"false"` in the stage's chat room, so
/// real-time viewers join and leave the stage without relying on the host's browser (StreamCat sends
/// it from the host's page). A guest publishing changes nothing.
///
/// EventBridge delivers at least once, late and out of order: the attributes carry the EventBridge
/// event's `id` and `time` (and the stage `sessionId`), so clients drop repeats and anything older
/// than what they acted on, as for `STREAM_STARTED`.
public final class StageUpdateHandler: LambdaHandler {
    /// The chat event StreamCat's clients listen for.
    public static let chatEventName = "StreamCat:RealTimeUpdate"

    /// Configuration, read from the environment at start-up: `CHAT_ROOM_ARN` (the room of stages
    /// without a `chatRoomArn` tag), `DEFAULT_STAGE_ARN` and `STAGE_OWNER` (the owner of that stage when
    /// it has no ownership tag), `OWNER_TAG_KEY` (the ownership tag, default `ivs-chat-events:owner`),
    /// `STAGE_CACHE_SECONDS` (0-3600, default 60).
    public struct Configuration: Sendable {
        public var defaultRoom: String?
        public var defaultStage: String?
        public var stageOwner: String?
        public var stageCacheSeconds: Int
        public var ownerTagKey: String
        /// `STATE_TABLE`: where stage tags are shared with the other functions' instances.
        public var stateTable: String?

        public init(defaultRoom: String? = nil, defaultStage: String? = nil, stageOwner: String? = nil, stageCacheSeconds: Int = 60,
                    ownerTagKey: String = OwnerTag.defaultKey, stateTable: String? = nil) {
            self.defaultRoom = defaultRoom
            self.defaultStage = defaultStage
            self.stageOwner = stageOwner
            self.stageCacheSeconds = stageCacheSeconds
            self.ownerTagKey = ownerTagKey
            self.stateTable = stateTable
        }

        public static func fromEnvironment(lookup: (String) -> String? = Environment.nonEmpty) throws(InitError) -> Configuration {
            let stage = lookup("DEFAULT_STAGE_ARN")
            if let stage, let problem = IVSConstraints.stageARNProblem(stage) { throw .invalidConfiguration("DEFAULT_STAGE_ARN \(problem)") }
            var seconds = 60
            if let text = lookup("STAGE_CACHE_SECONDS") {
                guard let n = Int(text), (0...3600).contains(n) else {
                    throw .invalidConfiguration("STAGE_CACHE_SECONDS must be a whole number from 0 to 3600 (is '\(text)')")
                }
                seconds = n
            }
            return Configuration(defaultRoom: try HandlerRegistry.configuredRoom(lookup: lookup), defaultStage: stage,
                                 stageOwner: lookup("STAGE_OWNER"), stageCacheSeconds: seconds, ownerTagKey: try OwnerTag.key(lookup: lookup),
                                 stateTable: try StreamStateConfiguration.stateTable(lookup: lookup))
        }
    }

    private let configuration: Configuration
    private let stageCache: StageCache
    private let chat: ChatEventSending

    /// `metadata`: stage tags shared by all instances (nil: this process asks `GetStage` itself).
    public init(configuration: Configuration, stages: StageService, chat: ChatEventSending, metadata: SharedMetadataStoring? = nil) {
        self.configuration = configuration
        stageCache = StageCache(service: stages, seconds: configuration.stageCacheSeconds, store: metadata)
        self.chat = chat
    }

    public func handle(_ payload: [UInt8], context: InvocationContext) throws -> [UInt8] {
        let event: JSONValue
        do { event = try JSONValue.parse(payload) } catch {
            throw LambdaError("Event.InvalidJSON", "the event is not JSON: \(error)")
        }
        guard event.objectValue != nil, let detail = event["detail"], detail.objectValue != nil else {
            throw LambdaError("Event.InvalidShape", "expected an EventBridge event (a JSON object with a 'detail' object)")
        }
        guard event["source"]?.stringValue == "aws.ivs", event["detail-type"]?.stringValue == "IVS Stage Update" else {
            return skipped("not an IVS Stage Update")
        }
        let isLive: String
        switch detail["event_name"]?.stringValue {
        case "Participant Published": isLive = "true"
        case "Participant Unpublished": isLive = "false"
        case let other: return skipped("stage event '\(other ?? "(none)")' does not change whether the stage is live")
        }
        guard let stageArn = event["resources"]?.arrayValue?.first?.stringValue, IVSConstraints.stageARNProblem(stageArn) == nil else {
            throw LambdaError("Event.InvalidShape", "'resources' must start with the stage's ARN")
        }
        let stage: StageDetails
        do { stage = try stageCache.stage(arn: stageArn, call: context.awsCall) } catch {
            if (error as? AWSError)?.serviceError?.type == "ResourceNotFoundException" { return skipped("stage \(stageArn) no longer exists") }
            throw LambdaError("IVSRealTime.GetStageFailed", "GetStage \(stageArn) failed: \(error)")
        }
        guard let owner = stage.owner(tagKey: configuration.ownerTagKey, defaultStage: configuration.defaultStage, stageOwner: configuration.stageOwner) else {
            return skipped("stage \(stageArn) has no owner: tag it with '\(configuration.ownerTagKey)'")
        }
        guard let publisher = detail["user_id"]?.stringValue, sameIdentity(publisher, owner) else { return skipped("a participant other than the stage's owner published or stopped") }
        guard let room = stage.chatRoom(defaultRoom: configuration.defaultRoom) else {
            return skipped("stage \(stageArn) has no chat room: tag it with 'chatRoomArn' or set CHAT_ROOM_ARN")
        }
        var attributes = ["isLive": isLive, "stageArn": stage.arn, "stage": stage.displayName]
        for (key, value) in [("eventId", event["id"]), ("time", event["time"]), ("sessionId", detail["session_id"])] {
            if let text = value?.stringValue, text.utf8.count <= 128 { attributes[key] = text }
        }
        let id: String
        do {
            id = try chat.sendEvent(roomIdentifier: room, eventName: Self.chatEventName, attributes: attributes, call: context.awsCall)
        } catch {
            throw LambdaError("IVSChat.SendEventFailed", "SendEvent \(Self.chatEventName) to \(room) failed: \(error)")
        }
        Log.info("sent \(Self.chatEventName) isLive=\(isLive) for \(stage.arn) to \(room): chat event \(id)")
        return JSONValue.object([("sent", .bool(true)), ("eventName", .string(Self.chatEventName)), ("isLive", .bool(isLive == "true")),
                                 ("room", .string(room)), ("chatEventId", .string(id))]).serialized()
    }

    private func skipped(_ reason: String) -> [UInt8] {
        Log.info("nothing sent: \(reason)")
        return JSONValue.object([("sent", .bool(false)), ("reason", .string(reason))]).serialized()
    }
}
