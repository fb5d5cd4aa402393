import AWSServices
import Essentials
import JSON
import LambdaRuntime

/// Configuration of `streamStarted`, read from the environment at start-up:
/// - `CHAT_ROOM_ARN` (or the original sample's `DEMO_CHAT_ARN`): the default room;
/// - `CHANNEL_ROOM_MAP`: optional JSON object, IVS channel ARN → chat room ARN;
/// - `STREAM_EVENT_MAP`: optional JSON object, stream `event_name` → chat event name
///   (default `{"Stream Start":"STREAM_STARTED","Stream End":"STREAM_ENDED"}`);
/// - `STATE_TABLE`: optional, the DynamoDB table where channel states are recorded (key `pk`, TTL `expiresAt`).
public struct StreamStateConfiguration: Sendable {
    public static let defaultEventMap: [(String, String)] = [("Stream Start", "STREAM_STARTED"), ("Stream End", "STREAM_ENDED")]

    public var defaultRoom: String?
    public var roomsByChannel: [String: String]
    public var chatEventNames: [String: String]
    public var stateTable: String?

    public init(defaultRoom: String?, roomsByChannel: [String: String] = [:],
                chatEventNames: [String: String] = Dictionary(uniqueKeysWithValues: defaultEventMap), stateTable: String? = nil) {
        self.defaultRoom = defaultRoom
        self.roomsByChannel = roomsByChannel
        self.chatEventNames = chatEventNames
        self.stateTable = stateTable
    }

    /// Reads and checks the configuration; any problem is an init error naming the variable.
    /// `lookup` reads a variable (the process environment unless replaced, e.g. by tests and fuzzing).
    public static func fromEnvironment(lookup: (String) -> String? = Environment.nonEmpty) throws(InitError) -> StreamStateConfiguration {
        let room = try HandlerRegistry.configuredRoom(lookup: lookup)
        let rooms = try channelRoomMap(lookup: lookup)
        guard room != nil || !rooms.isEmpty else {
            throw .invalidConfiguration("no chat room configured: set CHAT_ROOM_ARN (an arn:aws:ivschat:…:room/… ARN) or CHANNEL_ROOM_MAP")
        }
        var names = Dictionary(uniqueKeysWithValues: defaultEventMap)
        if let text = lookup("STREAM_EVENT_MAP") {
            names = [:]
            for (streamEvent, chatEvent) in try stringMap(text, variable: "STREAM_EVENT_MAP") {
                guard (1...100).contains(chatEvent.count) else {
                    throw .invalidConfiguration("STREAM_EVENT_MAP: chat event name for '\(streamEvent)' must be 1 to 100 characters")
                }
                names[streamEvent] = chatEvent
            }
        }
        return StreamStateConfiguration(defaultRoom: room, roomsByChannel: rooms, chatEventNames: names,
                                        stateTable: try stateTable(lookup: lookup))
    }

    /// The chat event to send for a stream state `event_name`, if any.
    public func chatEventName(forStreamEvent name: String) -> String? { chatEventNames[name] }

    /// The room for a channel ARN: its own, else the default.
    public func room(forChannel channel: String?) -> String? {
        if let channel, let room = roomsByChannel[channel] { return room }
        return defaultRoom
    }

    /// `STATE_TABLE`: nil when unset; an init error when it is not a table name.
    static func stateTable(lookup: (String) -> String?) throws(InitError) -> String? {
        guard let table = lookup("STATE_TABLE") else { return nil }
        if let problem = MultihostInviteConfiguration.tableNameProblem(table) { throw .invalidConfiguration("STATE_TABLE \(problem)") }
        return table
    }

    /// `CHANNEL_ROOM_MAP`: IVS channel ARN → chat room ARN (empty when unset); an init error names a bad room.
    static func channelRoomMap(lookup: (String) -> String? = Environment.nonEmpty) throws(InitError) -> [String: String] {
        var rooms: [String: String] = [:]
        guard let text = lookup("CHANNEL_ROOM_MAP") else { return rooms }
        for (channel, value) in try stringMap(text, variable: "CHANNEL_ROOM_MAP") {
            if let problem = IVSConstraints.roomARNProblem(value) {
                throw .invalidConfiguration("CHANNEL_ROOM_MAP: room for \(channel): \(problem)")
            }
            rooms[channel] = value
        }
        return rooms
    }

    private static func stringMap(_ text: String, variable: String) throws(InitError) -> [(String, String)] {
        let value: JSONValue
        do { value = try JSONValue.parse(text) } catch { throw .invalidConfiguration("\(variable) is not JSON: \(error)") }
        guard let members = value.objectValue else { throw .invalidConfiguration("\(variable) must be a JSON object") }
        var pairs: [(String, String)] = []
        for (key, v) in members {
            guard let s = v.stringValue else { throw .invalidConfiguration("\(variable): value for '\(key)' must be a string") }
            pairs.append((key, s))
        }
        return pairs
    }
}
