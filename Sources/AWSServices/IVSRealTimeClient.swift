import AWSCore
import Essentials
import JSON

/// What a stage participant may do.
public enum ParticipantCapability: String, Sendable, CaseIterable {
    case publish = "PUBLISH"
    case subscribe = "SUBSCRIBE"
}

/// A participant token from `CreateParticipantToken`. The token itself is a `Secret`: it never prints.
public struct ParticipantToken: Sendable {
    public let participantId: String?
    public let token: Secret
    public let userId: String?
    public let attributes: [String: String]
    public let durationMinutes: Int?
    public let capabilities: [ParticipantCapability]
    /// ISO 8601, as the service sent it.
    public let expirationTime: String?

    /// `expirationTime` as epoch seconds.
    public var expirationEpochSeconds: Int64? { expirationTime.flatMap(UTCTimestamp.parseISO8601) }

    public init(participantId: String?, token: Secret, userId: String?, attributes: [String: String],
                durationMinutes: Int?, capabilities: [ParticipantCapability], expirationTime: String?) {
        self.participantId = participantId
        self.token = token
        self.userId = userId
        self.attributes = attributes
        self.durationMinutes = durationMinutes
        self.capabilities = capabilities
        self.expirationTime = expirationTime
    }
}

/// A stage from `GetStage`.
public struct Stage: Sendable, Equatable {
    public let arn: String
    public let name: String
    public let activeSessionId: String?
    public let tags: [String: String]

    public init(arn: String, name: String, activeSessionId: String?, tags: [String: String]) {
        self.arn = arn
        self.name = name
        self.activeSessionId = activeSessionId
        self.tags = tags
    }
}

/// Amazon IVS real-time (stages): `CreateParticipantToken` and `GetStage`.
public final class IVSRealTimeClient {
    public let client: AWSClient

    public init(client: AWSClient) { self.client = client }

    /// A client for the endpoint the environment names (`AWS_ENDPOINT_URL_IVS_REALTIME`, …).
    public convenience init(configuration: AWSClientConfiguration, lookup: (String) -> String? = Environment.nonEmpty) throws(AWSConfigurationError) {
        self.init(client: try AWSClient(service: .ivsRealTime, configuration: configuration, lookup: lookup))
    }

    /// Creates a token for a participant of the stage (service defaults: both capabilities, 720 minutes).
    public func createParticipantToken(stageArn: String, userId: String? = nil, attributes: [String: String] = [:],
                                       capabilities: [ParticipantCapability] = [], durationMinutes: Int? = nil,
                                       deadline: Int64, traceId: String? = nil, metrics: MetricsRecorder? = nil) throws(AWSError) -> ParticipantToken {
        let op = "CreateParticipantToken"
        try AWSError.check(IVSConstraints.stageARNProblem(stageArn), operation: op, field: "stageArn")
        if let userId { try AWSError.check(IVSConstraints.lengthProblem(userId, min: 0, max: 128), operation: op, field: "userId") }
        try AWSError.check(IVSConstraints.attributesProblem(attributes), operation: op, field: "attributes")
        if let minutes = durationMinutes { try AWSError.check(IVSConstraints.rangeProblem(minutes, 1...20160), operation: op, field: "duration") }
        var input: [(key: String, value: JSONValue)] = [("stageArn", .string(stageArn))]
        if let userId { input.append(("userId", .string(userId))) }
        if !attributes.isEmpty { input.append(("attributes", .stringMap(attributes))) }
        if !capabilities.isEmpty { input.append(("capabilities", .array(capabilities.map { .string($0.rawValue) }))) }
        if let minutes = durationMinutes { input.append(("duration", .int(minutes))) }
        let output = try client.call(op, input: .object(input), deadline: deadline, traceId: traceId, metrics: metrics)
        let t = output["participantToken"]
        return ParticipantToken(
            participantId: t?["participantId"]?.stringValue,
            token: Secret(try requireString(t?["token"], "participantToken.token", service: client.service.name, operation: op)),
            userId: t?["userId"]?.stringValue,
            attributes: t?["attributes"]?.stringMap ?? [:],
            durationMinutes: t?["duration"]?.intValue,
            capabilities: (t?["capabilities"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap(ParticipantCapability.init) },
            expirationTime: t?["expirationTime"]?.stringValue)
    }

    /// Disconnects a participant and revokes it from the stage for good (also a token not used yet).
    public func disconnectParticipant(stageArn: String, participantId: String, reason: String? = nil,
                                      deadline: Int64, traceId: String? = nil, metrics: MetricsRecorder? = nil) throws(AWSError) {
        let op = "DisconnectParticipant"
        try AWSError.check(IVSConstraints.stageARNProblem(stageArn), operation: op, field: "stageArn")
        try AWSError.check(IVSConstraints.lengthProblem(participantId, min: 1, max: 64), operation: op, field: "participantId")
        if let reason { try AWSError.check(IVSConstraints.lengthProblem(reason, min: 0, max: 128), operation: op, field: "reason") }
        var input: [(key: String, value: JSONValue)] = [("stageArn", .string(stageArn)), ("participantId", .string(participantId))]
        if let reason { input.append(("reason", .string(reason))) }
        _ = try client.call(op, input: .object(input), deadline: deadline, traceId: traceId, metrics: metrics)
    }

    /// The stage's name, active session and tags.
    public func getStage(arn: String, deadline: Int64, traceId: String? = nil, metrics: MetricsRecorder? = nil) throws(AWSError) -> Stage {
        let op = "GetStage"
        try AWSError.check(IVSConstraints.stageARNProblem(arn), operation: op, field: "arn")
        let output = try client.call(op, input: .object([("arn", .string(arn))]), deadline: deadline, traceId: traceId, metrics: metrics)
        let s = output["stage"]
        return Stage(arn: try requireString(s?["arn"], "stage.arn", service: client.service.name, operation: op),
                     name: s?["name"]?.stringValue ?? "",
                     activeSessionId: s?["activeSessionId"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
                     tags: s?["tags"]?.stringMap ?? [:])
    }
}
