import AWSCore
import AWSServices
import Essentials
import JSON

/// A stage invite as kept server-side: who may join which stage, until when, and the participants
/// the invitee joined as. Never a participant token: one is made when the invitee joins
/// (`POST /multihost/join`), handed to them, and forgotten (issue 22).
public struct Invite: Sendable, Equatable {
    public var inviteeId: String
    public var stageArn: String
    public var stageName: String
    public var inviterId: String
    public var username: String?
    public var broadcastType: String?
    /// The invite's expiry, ISO 8601.
    public var expirationTime: String
    /// The invite's expiry in epoch seconds (the table's TTL attribute).
    public var expiresAt: Int64
    /// The participants the invitee joined as (one per join), while their tokens may still be valid.
    public var participants: [JoinedParticipant]
    /// The host removed the invitee, but a participant could not be revoked yet: no new join.
    public var revoked: Bool

    public init(inviteeId: String, stageArn: String, stageName: String, inviterId: String, username: String?,
                broadcastType: String?, expirationTime: String, expiresAt: Int64, participants: [JoinedParticipant] = [],
                revoked: Bool = false) {
        self.inviteeId = inviteeId
        self.stageArn = stageArn
        self.stageName = stageName
        self.inviterId = inviterId
        self.username = username
        self.broadcastType = broadcastType
        self.expirationTime = expirationTime
        self.expiresAt = expiresAt
        self.participants = participants
        self.revoked = revoked
    }

    /// Whether it has expired at `epochSeconds` (DynamoDB's TTL deletes lazily, so expired items can still be read).
    public func isExpired(at epochSeconds: Int64) -> Bool { expiresAt <= epochSeconds }

    /// The participants whose tokens may still be valid at `epochSeconds`.
    public func liveParticipants(at epochSeconds: Int64) -> [JoinedParticipant] { participants.filter { $0.tokenExpiresAt > epochSeconds } }
}

/// A participant an invitee joined as: its id (what `DisconnectParticipant` revokes) and when the
/// token made for it expires.
public struct JoinedParticipant: Sendable, Equatable {
    public var participantId: String
    public var tokenExpiresAt: Int64

    public init(participantId: String, tokenExpiresAt: Int64) {
        self.participantId = participantId
        self.tokenExpiresAt = tokenExpiresAt
    }
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
        try dynamoDB.putItem(table: table, item: Self.item(invite), deadline: call.deadline, traceId: call.traceId)
    }

    public func invite(inviteeId: String, stageArn: String, call: AWSCallContext) throws -> Invite? {
        try dynamoDB.getItem(table: table, key: Self.key(inviteeId, stageArn), consistentRead: true, deadline: call.deadline, traceId: call.traceId)
            .flatMap(Self.invite(from:))
    }

    public func invites(inviteeId: String, call: AWSCallContext) throws -> [Invite] {
        var invites: [Invite] = []
        var start: DynamoDBItem?
        for _ in 0..<Self.maxPages {
            let page = try dynamoDB.query(table: table, keyConditionExpression: "inviteeId = :invitee",
                                          expressionAttributeValues: [":invitee": DynamoDBValue.string(inviteeId)],
                                          exclusiveStartKey: start, consistentRead: true, deadline: call.deadline, traceId: call.traceId)
            invites += page.items.compactMap(Self.invite(from:))
            guard let next = page.lastEvaluatedKey else { break }
            start = next
        }
        return invites
    }

    public func delete(inviteeId: String, stageArn: String, call: AWSCallContext) throws {
        try dynamoDB.deleteItem(table: table, key: Self.key(inviteeId, stageArn), deadline: call.deadline, traceId: call.traceId)
    }

    static func key(_ inviteeId: String, _ stageArn: String) -> DynamoDBItem {
        ["inviteeId": DynamoDBValue.string(inviteeId), "stageArn": DynamoDBValue.string(stageArn)]
    }

    /// The table item for `invite` (never a token).
    public static func item(_ invite: Invite) -> DynamoDBItem {
        var item = key(invite.inviteeId, invite.stageArn)
        item["stageName"] = DynamoDBValue.string(invite.stageName)
        item["inviterId"] = DynamoDBValue.string(invite.inviterId)
        if let username = invite.username { item["username"] = DynamoDBValue.string(username) }
        if let broadcastType = invite.broadcastType { item["broadcastType"] = DynamoDBValue.string(broadcastType) }
        item["expirationTime"] = DynamoDBValue.string(invite.expirationTime)
        item["expiresAt"] = DynamoDBValue.number(invite.expiresAt)
        if !invite.participants.isEmpty {
            item["participants"] = .object([("L", .array(invite.participants.map { p in
                .object([("M", .object([("participantId", DynamoDBValue.string(p.participantId)),
                                        ("tokenExpiresAt", DynamoDBValue.number(p.tokenExpiresAt))]))])
            }))])
        }
        if invite.revoked { item["revoked"] = DynamoDBValue.bool(true) }
        return item
    }

    /// The invite in a table item; nil when a key or the expiry is missing. An item written before
    /// issue 22 holds the token made at invite time and its participant: read as that participant,
    /// valid until the invite's expiry (the token itself is dropped, and gone from the table at the next write).
    public static func invite(from item: DynamoDBItem) -> Invite? {
        func s(_ name: String) -> String? { DynamoDBValue.string(from: item[name]) }
        guard let invitee = s("inviteeId"), let stage = s("stageArn"), let expiresAt = DynamoDBValue.int64(from: item["expiresAt"]) else { return nil }
        var participants: [JoinedParticipant] = (item["participants"]?["L"]?.arrayValue ?? []).compactMap { entry in
            guard let id = DynamoDBValue.string(from: entry["M"]?["participantId"]), !id.isEmpty,
                  let until = DynamoDBValue.int64(from: entry["M"]?["tokenExpiresAt"]) else { return nil }
            return JoinedParticipant(participantId: id, tokenExpiresAt: until)
        }
        if participants.isEmpty, s("token") != nil, let legacy = s("participantId"), !legacy.isEmpty {
            participants = [JoinedParticipant(participantId: legacy, tokenExpiresAt: expiresAt)]
        }
        return Invite(inviteeId: invitee, stageArn: stage, stageName: s("stageName") ?? "", inviterId: s("inviterId") ?? "",
                      username: s("username"), broadcastType: s("broadcastType"),
                      expirationTime: s("expirationTime") ?? UTCTimestamp(epochMilliseconds: expiresAt * 1000).iso8601,
                      expiresAt: expiresAt, participants: participants, revoked: DynamoDBValue.bool(from: item["revoked"]) ?? false)
    }
}
