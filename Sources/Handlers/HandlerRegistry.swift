import AWSCore
import AWSServices
import Essentials
import LambdaRuntime

/// The handlers this one binary serves, by `_HANDLER` name.
public enum HandlerRegistry {
    /// Production handlers.
    public static let names = ["streamStarted", "api", "stageUpdated", "messageReview"]
    /// Earlier names still accepted, so deployed functions keep working: `multihostInvite` is `api`.
    public static let aliases = ["multihostInvite": "api"]

    /// Makes the handler named `name`, reading its configuration from the environment.
    /// Diagnostic handlers (`test.*`) exist only when `IVS_CHAT_EVENTS_TEST_HANDLERS=1`.
    public static func make(_ name: String) throws(InitError) -> LambdaHandler {
        switch name {
        case "streamStarted":
            let configuration = try StreamStateConfiguration.fromEnvironment()
            let aws = try awsConfiguration(retry: eventRetry)
            return try initStep { () throws(AWSConfigurationError) in
                let table = try configuration.stateTable.map { t throws(AWSConfigurationError) in (try DynamoDBClient(configuration: aws), t) }
                return StreamStateHandler(configuration: configuration, chat: try IVSChatClient(configuration: aws),
                                          channelStates: table.map { DynamoDBChannelStateStore(dynamoDB: $0.0, table: $0.1) },
                                          streams: table == nil ? nil : try IVSClient(configuration: aws))
            }
        case "api", "multihostInvite":
            let configuration = try MultihostInviteConfiguration.fromEnvironment()
            let aws = try awsConfiguration(retry: requestRetry)
            return try initStep { () throws(AWSConfigurationError) in
                let chat = try IVSChatClient(configuration: aws)
                let dynamoDB = try DynamoDBClient(configuration: aws)
                return MultihostInviteHandler(configuration: configuration, stages: try IVSRealTimeClient(configuration: aws),
                                              store: DynamoDBInviteStore(dynamoDB: dynamoDB, table: configuration.table),
                                              chat: chat, rooms: chat,
                                              channelStates: configuration.stateTable.map { DynamoDBChannelStateStore(dynamoDB: dynamoDB, table: $0) },
                                              metadata: configuration.stateTable.map { DynamoDBSharedMetadataStore(dynamoDB: dynamoDB, table: $0) },
                                              bans: configuration.stateTable.map { DynamoDBBanStore(dynamoDB: dynamoDB, table: $0) },
                                              moderation: chat)
            }
        case "stageUpdated":
            let configuration = try StageUpdateHandler.Configuration.fromEnvironment()
            let aws = try awsConfiguration(retry: eventRetry)
            return try initStep { () throws(AWSConfigurationError) in
                let metadata = try configuration.stateTable.map { t throws(AWSConfigurationError) in
                    DynamoDBSharedMetadataStore(dynamoDB: try DynamoDBClient(configuration: aws), table: t)
                }
                return StageUpdateHandler(configuration: configuration, stages: try IVSRealTimeClient(configuration: aws),
                                          chat: try IVSChatClient(configuration: aws), metadata: metadata)
            }
        case "messageReview":
            // Cheap on purpose: IVS Chat's 200 ms include this cold start. Rules are compiled here;
            // AWS (DynamoDB, for bans) only when STATE_TABLE is set.
            let rules = try ReviewRules.fromEnvironment()
            let lookupMilliseconds = try MessageReviewHandler.banLookupMilliseconds()
            guard let table = try StreamStateConfiguration.stateTable(lookup: Environment.nonEmpty) else {
                return MessageReviewHandler(rules: rules)
            }
            let aws = try awsConfiguration(retry: reviewRetry)
            return try initStep { () throws(AWSConfigurationError) in
                MessageReviewHandler(rules: rules, bans: DynamoDBBanStore(dynamoDB: try DynamoDBClient(configuration: aws), table: table),
                                     banLookupMilliseconds: lookupMilliseconds)
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

    /// Retries of the HTTP API's AWS calls: a throttled call is not retried (the client gets 429 with
    /// `Retry-After` at once: a spent account-wide rate is not helped by a function that holds on to it,
    /// and its concurrency, while adding load); a lost connection or a 5xx gets one short retry, then 503.
    public static let requestRetry = RetryPolicy(maxAttempts: 2, baseDelayMilliseconds: 50, maxDelayMilliseconds: 50, retriesThrottling: false)
    /// Retries of the review handler's ban lookup: one quick retry of a lost connection, within the
    /// lookup's own deadline (`REVIEW_BAN_LOOKUP_MS`); a throttled lookup is not retried.
    public static let reviewRetry = RetryPolicy(maxAttempts: 2, baseDelayMilliseconds: 5, maxDelayMilliseconds: 5, retriesThrottling: false)
    /// Retries of the EventBridge-driven handlers: keep trying within the invocation's deadline (the
    /// template's `Timeout`), backing off up to 2 s; then the invocation fails and Lambda's
    /// asynchronous retries, then the dead-letter queue, take over.
    public static let eventRetry = RetryPolicy(maxAttempts: 12, baseDelayMilliseconds: 100, maxDelayMilliseconds: 2000)

    /// Credentials, region and TLS trust from the environment, as an init error when missing.
    static func awsConfiguration(retry: RetryPolicy) throws(InitError) -> AWSClientConfiguration {
        var aws = try initStep { () throws(AWSConfigurationError) in try AWSClientConfiguration.fromEnvironment() }
        aws.retry = retry
        return aws
    }

    /// Runs a set-up step, turning AWS configuration problems into init errors.
    static func initStep<T>(_ step: () throws(AWSConfigurationError) -> T) throws(InitError) -> T {
        do { return try step() } catch { throw .invalidConfiguration("\(error)") }
    }
}
