import AWSCore
import AWSServices
import Essentials
import LambdaRuntime

/// The handlers this one binary serves, by `_HANDLER` name.
public enum HandlerRegistry {
    /// Production handlers.
    public static let names = ["streamStarted", "multihostInvite", "stageUpdated"]

    /// Makes the handler named `name`, reading its configuration from the environment.
    /// Diagnostic handlers (`test.*`) exist only when `IVS_CHAT_EVENTS_TEST_HANDLERS=1`.
    public static func make(_ name: String) throws(InitError) -> LambdaHandler {
        switch name {
        case "streamStarted":
            let configuration = try StreamStateConfiguration.fromEnvironment()
            let aws = try awsConfiguration()
            return StreamStateHandler(configuration: configuration, chat: try initStep { () throws(AWSConfigurationError) in
                try IVSChatClient(configuration: aws)
            })
        case "multihostInvite":
            let configuration = try MultihostInviteConfiguration.fromEnvironment()
            let aws = try awsConfiguration()
            return try initStep { () throws(AWSConfigurationError) in
                let chat = try IVSChatClient(configuration: aws)
                return MultihostInviteHandler(configuration: configuration, stages: try IVSRealTimeClient(configuration: aws),
                                              store: DynamoDBInviteStore(dynamoDB: try DynamoDBClient(configuration: aws), table: configuration.table),
                                              chat: chat, rooms: chat, channels: try IVSClient(configuration: aws))
            }
        case "stageUpdated":
            let configuration = try StageUpdateHandler.Configuration.fromEnvironment()
            let aws = try awsConfiguration()
            return try initStep { () throws(AWSConfigurationError) in
                StageUpdateHandler(configuration: configuration, stages: try IVSRealTimeClient(configuration: aws), chat: try IVSChatClient(configuration: aws))
            }
        default:
            if Environment.get("IVS_CHAT_EVENTS_TEST_HANDLERS") == "1", let handler = DiagnosticHandler(name: name) {
                return handler
            }
            if name.isEmpty { throw InitError("Runtime.NoSuchHandler", "_HANDLER is not set; known handlers: \(names.joined(separator: ", "))") }
            throw InitError.noSuchHandler(name, known: names)
        }
    }

    /// The configured default chat room: `CHAT_ROOM_ARN` (or the original sample's `DEMO_CHAT_ARN`),
    /// nil when unset, an init error when it is not an IVS Chat room ARN.
    static func configuredRoom(lookup: (String) -> String? = Environment.nonEmpty) throws(InitError) -> String? {
        let room = lookup("CHAT_ROOM_ARN") ?? lookup("DEMO_CHAT_ARN")
        if let room, let problem = IVSConstraints.roomARNProblem(room) { throw .invalidConfiguration("CHAT_ROOM_ARN: \(problem)") }
        return room
    }

    /// Credentials and region from the environment, as an init error when missing.
    static func awsConfiguration() throws(InitError) -> AWSClientConfiguration {
        try initStep { () throws(AWSConfigurationError) in try AWSClientConfiguration.fromEnvironment() }
    }

    /// Runs a set-up step, turning AWS configuration problems into init errors.
    static func initStep<T>(_ step: () throws(AWSConfigurationError) -> T) throws(InitError) -> T {
        do { return try step() } catch { throw .invalidConfiguration("\(error)") }
    }
}
