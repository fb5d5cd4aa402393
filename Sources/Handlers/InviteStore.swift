import AWSCore
import AWSServices
import Essentials
import JSON

/// A stage invite as kept server-side. The participant token is a `Secret`: it never prints.
public struct Invite: Sendable, Equatable {
    public var inviteeId: String
    public var stageArn: String
    public var stageName: String
    public var inviterId: String
    public var username: String?
    public var broadcastType: String?
    public var token: Secret
    public var participantId: String
    /// The token's expiry, ISO 8601 (as IVS gave it).
    public var expirationTime: String
    /// The token's expiry in epoch seconds (the table's TTL attribute).
    public var expiresAt: Int64

    public init(inviteeId: String, stageArn: String, stageName: String, inviterId: String, username: String?,
                broadcastType: String?, token: Secret, participantId: String, expirationTime: String, expiresAt: Int64) {
        self.inviteeId = inviteeId
        self.stageArn = stageArn
        self.stageName = stageName
        self.inviterId = inviterId
        self.username = username
        self.broadcastType = broadcastType
        self.token = token
        self.participantId = participantId
        self.expirationTime = expirationTime
        self.expiresAt = expiresAt
    }

    /// Whether it has expired at `epochSeconds` (DynamoDB's TTL deletes lazily, so expired items can still be read).
    public func isExpired(at epochSeconds: Int64) -> Bool { expiresAt <= epochSeconds }
}

/// Where invites are kept: the seam between `MultihostInviteHandler` and DynamoDB.
public protocol InviteStoring: AnyObject {
    /// Stores `invite`, replacing an earlier one for the same invitee and stage.
    func put(_ invite: Invite, call: AWSCallContext) throws
    /// The invite of `inviteeId` to `stageArn`, if one is stored.
    func invite(inviteeId: String, stageArn: String, call: AWSCallContext) throws -> Invite?
    /// Every stored invite of `inviteeId` (expired ones included).
    func invites(inviteeId: String, call: AWSCallContext) throws -> [Invite]
    /// Removes the invite of `inviteeId` to `stageArn`.
    func delete(inviteeId: String, stageArn: String, call: AWSCallContext) throws
}

/// Invites in a DynamoDB table: partition key `inviteeId` (S), sort key `stageArn` (S), TTL `expiresAt` (N).
public final class DynamoDBInviteStore: InviteStoring {
    /// Pages `invites(inviteeId:)` reads at most (an invitee rarely has more than a handful).
    static let maxPages = 10

    private let dynamoDB: DynamoDBClient
    private let table: String

    public init(dynamoDB: DynamoDBClient, table: String) {
        self.dynamoDB = dynamoDB
        self.table = table
    }

    public func put(_ invite: Invite, call: AWSCallContext) throws {
        try dynamoDB.putItem(table: table, item: Self.item(invite), deadline: call.deadline, traceId: call.traceId, metrics: call.metrics)
    }

    public func invite(inviteeId: String, stageArn: String, call: AWSCallContext) throws -> Invite? {
        try dynamoDB.getItem(table: table, key: Self.key(inviteeId, stageArn), consistentRead: true, deadline: call.deadline, traceId: call.traceId, metrics: call.metrics)
            .flatMap(Self.invite(from:))
    }

    public func invites(inviteeId: String, call: AWSCallContext) throws -> [Invite] {
        var invites: [Invite] = []
        var start: DynamoDBItem?
        for _ in 0..<Self.maxPages {
            let page = try dynamoDB.query(table: table, keyConditionExpression: "inviteeId = :invitee",
                                          expressionAttributeValues: [":invitee": DynamoDBValue.string(inviteeId)],
                                          exclusiveStartKey: start, consistentRead: true, deadline: call.deadline, traceId: call.traceId, metrics: call.metrics)
            invites += page.items.compactMap(Self.invite(from:))
            guard let next = page.lastEvaluatedKey else { break }
            start = next
        }
        return invites
    }

    public func delete(inviteeId: String, stageArn: String, call: AWSCallContext) throws {
        try dynamoDB.deleteItem(table: table, key: Self.key(inviteeId, stageArn), deadline: call.deadline, traceId: call.traceId, metrics: call.metrics)
    }

    static func key(_ inviteeId: String, _ stageArn: String) -> DynamoDBItem {
        ["inviteeId": DynamoDBValue.string(inviteeId), "stageArn": DynamoDBValue.string(stageArn)]
    }

    /// The table item for `invite`.
    public static func item(_ invite: Invite) -> DynamoDBItem {
        var item = key(invite.inviteeId, invite.stageArn)
        item["stageName"] = DynamoDBValue.string(invite.stageName)
        item["inviterId"] = DynamoDBValue.string(invite.inviterId)
        if let username = invite.username { item["username"] = DynamoDBValue.string(username) }
        if let broadcastType = invite.broadcastType { item["broadcastType"] = DynamoDBValue.string(broadcastType) }
        item["token"] = DynamoDBValue.string(invite.token.reveal)
        item["participantId"] = DynamoDBValue.string(invite.participantId)
        item["expirationTime"] = DynamoDBValue.string(invite.expirationTime)
        item["expiresAt"] = DynamoDBValue.number(invite.expiresAt)
        return item
    }

    /// The invite in a table item; nil when a key, the token or the expiry is missing.
    public static func invite(from item: DynamoDBItem) -> Invite? {
        func s(_ name: String) -> String? { DynamoDBValue.string(from: item[name]) }
        guard let invitee = s("inviteeId"), let stage = s("stageArn"), let token = s("token"),
              let expiresAt = DynamoDBValue.int64(from: item["expiresAt"]) else { return nil }
        return Invite(inviteeId: invitee, stageArn: stage, stageName: s("stageName") ?? "", inviterId: s("inviterId") ?? "",
                      username: s("username"), broadcastType: s("broadcastType"), token: Secret(token),
                      participantId: s("participantId") ?? "",
                      expirationTime: s("expirationTime") ?? UTCTimestamp(epochMilliseconds: expiresAt * 1000).iso8601,
                      expiresAt: expiresAt)
    }
}
