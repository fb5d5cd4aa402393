import AWSCore
import Essentials
import JSON

/// What a chat token lets its holder do.
public enum ChatCapability: String, Sendable, CaseIterable {
    case sendMessage = "SEND_MESSAGE"
    case disconnectUser = "DISCONNECT_USER"
    case deleteMessage = "DELETE_MESSAGE"
}

/// A chat token from `CreateChatToken`. The token itself is a `Secret`: it never prints.
public struct ChatToken: Sendable {
    public let token: Secret
    public let tokenExpirationTime: String?
    public let sessionExpirationTime: String?

    public init(token: Secret, tokenExpirationTime: String?, sessionExpirationTime: String?) {
        self.token = token
        self.tokenExpirationTime = tokenExpirationTime
        self.sessionExpirationTime = sessionExpirationTime
    }
}

/// A chat room as `GetRoom` shows it: what the token routes need (its tags name its owner).
public struct ChatRoomDetails: Sendable, Equatable {
    public var arn: String
    public var name: String
    public var tags: [String: String]

    public init(arn: String, name: String, tags: [String: String]) {
        self.arn = arn
        self.name = name
        self.tags = tags
    }
}

/// Amazon IVS Chat: `SendEvent`, `CreateChatToken`, `GetRoom` and `DisconnectUser`.
public final class IVSChatClient {
    public let client: AWSClient

    public init(client: AWSClient) { self.client = client }

    /// A client for the endpoint the environment names (`AWS_ENDPOINT_URL_IVSCHAT`, …).
    public convenience init(configuration: AWSClientConfiguration, lookup: (String) -> String? = Environment.nonEmpty) throws(AWSConfigurationError) {
        self.init(client: try AWSClient(service: .ivsChat, configuration: configuration, lookup: lookup))
    }

    /// Sends a custom event to every client connected to the room; returns the event id.
    public func sendEvent(roomIdentifier: String, eventName: String, attributes: [String: String] = [:], deadline: Int64, traceId: String? = nil, metrics: MetricsRecorder? = nil) throws(AWSError) -> String {
        let op = "SendEvent"
        try AWSError.check(IVSConstraints.roomARNProblem(roomIdentifier), operation: op, field: "roomIdentifier")
        try AWSError.check(IVSConstraints.lengthProblem(eventName, min: 1, max: 100), operation: op, field: "eventName")
        try AWSError.check(IVSConstraints.attributesProblem(attributes), operation: op, field: "attributes")
        var input: [(key: String, value: JSONValue)] = [("roomIdentifier", .string(roomIdentifier)), ("eventName", .string(eventName))]
        if !attributes.isEmpty { input.append(("attributes", .stringMap(attributes))) }
        let output = try client.call(op, input: .object(input), deadline: deadline, traceId: traceId, metrics: metrics)
        return try requireString(output["id"], "id", service: client.service.name, operation: op)
    }

    /// Creates a token for `userId` to connect to the room.
    public func createChatToken(roomIdentifier: String, userId: String, capabilities: [ChatCapability] = [],
                                sessionDurationInMinutes: Int? = nil, attributes: [String: String] = [:],
                                deadline: Int64, traceId: String? = nil, metrics: MetricsRecorder? = nil) throws(AWSError) -> ChatToken {
        let op = "CreateChatToken"
        try AWSError.check(IVSConstraints.roomARNProblem(roomIdentifier), operation: op, field: "roomIdentifier")
        try AWSError.check(IVSConstraints.lengthProblem(userId, min: 1, max: 128), operation: op, field: "userId")
        if let minutes = sessionDurationInMinutes {
            try AWSError.check(IVSConstraints.rangeProblem(minutes, 1...180), operation: op, field: "sessionDurationInMinutes")
        }
        try AWSError.check(IVSConstraints.attributesProblem(attributes), operation: op, field: "attributes")
        var input: [(key: String, value: JSONValue)] = [("roomIdentifier", .string(roomIdentifier)), ("userId", .string(userId))]
        if !capabilities.isEmpty { input.append(("capabilities", .array(capabilities.map { .string($0.rawValue) }))) }
        if let minutes = sessionDurationInMinutes { input.append(("sessionDurationInMinutes", .int(minutes))) }
        if !attributes.isEmpty { input.append(("attributes", .stringMap(attributes))) }
        let output = try client.call(op, input: .object(input), deadline: deadline, traceId: traceId, metrics: metrics)
        return ChatToken(token: Secret(try requireString(output["token"], "token", service: client.service.name, operation: op)),
                         tokenExpirationTime: output["tokenExpirationTime"]?.stringValue,
                         sessionExpirationTime: output["sessionExpirationTime"]?.stringValue)
    }

    /// The room's name and tags.
    public func getRoom(arn: String, deadline: Int64, traceId: String? = nil, metrics: MetricsRecorder? = nil) throws(AWSError) -> ChatRoomDetails {
        let op = "GetRoom"
        try AWSError.check(IVSConstraints.roomARNProblem(arn), operation: op, field: "identifier")
        let output = try client.call(op, input: .object([("identifier", .string(arn))]), deadline: deadline, traceId: traceId, metrics: metrics)
        return ChatRoomDetails(arn: output["arn"]?.stringValue ?? arn, name: output["name"]?.stringValue ?? "",
                               tags: output["tags"]?.stringMap ?? [:])
    }

    /// Disconnects every connection of `userId` from the room (a moderation action; 100 TPS per account).
    /// `reason` (at most 256 characters) is shown to the user's clients.
    public func disconnectUser(roomIdentifier: String, userId: String, reason: String? = nil, deadline: Int64, traceId: String? = nil) throws(AWSError) {
        let op = "DisconnectUser"
        try AWSError.check(IVSConstraints.roomARNProblem(roomIdentifier), operation: op, field: "roomIdentifier")
        try AWSError.check(IVSConstraints.lengthProblem(userId, min: 1, max: 128), operation: op, field: "userId")
        if let reason { try AWSError.check(IVSConstraints.lengthProblem(reason, min: 0, max: 256), operation: op, field: "reason") }
        var input: [(key: String, value: JSONValue)] = [("roomIdentifier", .string(roomIdentifier)), ("userId", .string(userId))]
        if let reason { input.append(("reason", .string(reason))) }
        _ = try client.call(op, input: .object(input), deadline: deadline, traceId: traceId)
    }
}
