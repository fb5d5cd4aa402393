import AWSCore
import AWSServices
import Essentials
import JSON

/// A user banned from a chat room, until `expiresAt` (epoch seconds) or for good (nil).
public struct Ban: Sendable, Equatable {
    public var roomArn: String
    public var userId: String
    public var bannedBy: String
    public var bannedAt: Int64
    public var expiresAt: Int64?

    public init(roomArn: String, userId: String, bannedBy: String, bannedAt: Int64, expiresAt: Int64?) {
        self.roomArn = roomArn
        self.userId = userId
        self.bannedBy = bannedBy
        self.bannedAt = bannedAt
        self.expiresAt = expiresAt
    }

    /// Whether the ban still holds at `now` (DynamoDB's TTL deletes late, so expiry is checked on read).
    public func isActive(at now: Int64) -> Bool { expiresAt.map { $0 > now } ?? true }
}

/// Where bans are kept: the seam between the handlers and DynamoDB.
public protocol BanStoring: AnyObject {
    func put(_ ban: Ban, call: AWSCallContext) throws
    /// The user's ban in the room, active or not (nil: never banned, or unbanned).
    func ban(roomArn: String, userId: String, call: AWSCallContext) throws -> Ban?
    func remove(roomArn: String, userId: String, call: AWSCallContext) throws
    /// The room's bans (expired ones included until unbanned or swept).
    func bans(roomArn: String, call: AWSCallContext) throws -> [Ban]
}

/// Bans in the state table (`STATE_TABLE`, key `pk` (S), TTL `expiresAt`):
/// - one item per ban, `pk` = `ban#<roomArn>#<userId>`: what the review handler reads, with one
///   `GetItem` per message; DynamoDB's TTL deletes it once expired;
/// - the room's list, `pk` = `banlist#<roomArn>`, one attribute per banned user (`u#<userId>`: its
///   `expiresAt`, 0 for a ban without end), for `GET /chat/bans` without a scan.
public final class DynamoDBBanStore: BanStoring {
    public static let keyPrefix = "ban#"
    public static let listPrefix = "banlist#"

    private let dynamoDB: DynamoDBClient
    private let table: String

    public init(dynamoDB: DynamoDBClient, table: String) {
        self.dynamoDB = dynamoDB
        self.table = table
    }

    public static func key(roomArn: String, userId: String) -> String { keyPrefix + roomArn + "#" + userId }

    public func put(_ ban: Ban, call: AWSCallContext) throws {
        var item: DynamoDBItem = [
            "pk": DynamoDBValue.string(Self.key(roomArn: ban.roomArn, userId: ban.userId)),
            "roomArn": DynamoDBValue.string(ban.roomArn), "userId": DynamoDBValue.string(ban.userId),
            "bannedBy": DynamoDBValue.string(ban.bannedBy), "bannedAt": DynamoDBValue.number(ban.bannedAt),
        ]
        if let expiresAt = ban.expiresAt { item["expiresAt"] = DynamoDBValue.number(expiresAt) }
        try dynamoDB.putItem(table: table, item: item, deadline: call.deadline, traceId: call.traceId)
        try dynamoDB.updateItem(table: table, key: ["pk": DynamoDBValue.string(Self.listPrefix + ban.roomArn)],
                                updateExpression: "SET #u = :e", expressionAttributeNames: ["#u": "u#" + ban.userId],
                                expressionAttributeValues: [":e": DynamoDBValue.number(ban.expiresAt ?? 0)],
                                deadline: call.deadline, traceId: call.traceId)
    }

    public func ban(roomArn: String, userId: String, call: AWSCallContext) throws -> Ban? {
        // Eventually consistent (half the cost, and a ban is seen within a second): this is per message.
        guard let item = try dynamoDB.getItem(table: table, key: ["pk": DynamoDBValue.string(Self.key(roomArn: roomArn, userId: userId))],
                                              deadline: call.deadline, traceId: call.traceId) else { return nil }
        return Ban(roomArn: roomArn, userId: userId, bannedBy: DynamoDBValue.string(from: item["bannedBy"]) ?? "",
                   bannedAt: DynamoDBValue.int64(from: item["bannedAt"]) ?? 0, expiresAt: DynamoDBValue.int64(from: item["expiresAt"]))
    }

    public func remove(roomArn: String, userId: String, call: AWSCallContext) throws {
        try dynamoDB.deleteItem(table: table, key: ["pk": DynamoDBValue.string(Self.key(roomArn: roomArn, userId: userId))],
                                deadline: call.deadline, traceId: call.traceId)
        try dynamoDB.updateItem(table: table, key: ["pk": DynamoDBValue.string(Self.listPrefix + roomArn)],
                                updateExpression: "REMOVE #u", expressionAttributeNames: ["#u": "u#" + userId],
                                deadline: call.deadline, traceId: call.traceId)
    }

    public func bans(roomArn: String, call: AWSCallContext) throws -> [Ban] {
        guard let item = try dynamoDB.getItem(table: table, key: ["pk": DynamoDBValue.string(Self.listPrefix + roomArn)], consistentRead: true,
                                              deadline: call.deadline, traceId: call.traceId) else { return [] }
        return item.compactMap { name, value -> Ban? in
            guard name.hasPrefix("u#"), let expires = DynamoDBValue.int64(from: value) else { return nil }
            return Ban(roomArn: roomArn, userId: String(name.dropFirst(2)), bannedBy: "", bannedAt: 0, expiresAt: expires == 0 ? nil : expires)
        }.sorted { $0.userId < $1.userId }
    }
}
