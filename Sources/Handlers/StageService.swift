import AWSCore
import AWSServices
import Essentials
import LambdaRuntime

/// What the invite flow needs to know about a stage (from `GetStage`).
public struct StageDetails: Sendable, Equatable {
    public var arn: String
    public var name: String
    public var tags: [String: String]

    public init(arn: String, name: String, tags: [String: String]) {
        self.arn = arn
        self.name = name
        self.tags = tags
    }

    /// The name invitees' clients put in the join link: the stage's name, else its id.
    public var displayName: String {
        name.isEmpty ? arn.split(separator: "/").last.map(String.init) ?? arn : name
    }

    /// Who owns the stage: its ownership tag, `tagKey` (`OWNER_TAG_KEY`; an empty one: nobody).
    /// `stageOwner` (STAGE_OWNER) stands in only for the configured `defaultStage`, never for any
    /// other untagged stage of the account.
    public func owner(tagKey: String, defaultStage: String?, stageOwner: String?) -> String? {
        if let tag = tags[tagKey] { return tag.isEmpty ? nil : tag }
        return arn == defaultStage ? stageOwner : nil
    }

    /// The chat room the stage's events go to: its `chatRoomArn` tag, else `defaultRoom`; nil when
    /// neither is a room ARN.
    public func chatRoom(defaultRoom: String?) -> String? {
        let tagged = tags["chatRoomArn"].flatMap { $0.isEmpty ? nil : $0 }
        guard let room = tagged ?? defaultRoom, IVSConstraints.roomARNProblem(room) == nil else { return nil }
        return room
    }
}

/// The tag that names a stage's or a room's owner: `OWNER_TAG_KEY`, by default `ivs-chat-events:owner`,
/// a key of this app's own. A common key such as `owner` (cost allocation, team e-mail addresses) would
/// make another app's resources this app's: `OWNER_TAG_KEY=owner` keeps the behaviour of versions
/// before it, for stages and rooms already tagged so.
public enum OwnerTag {
    public static let defaultKey = "ivs-chat-events:owner"

    /// `OWNER_TAG_KEY`, checked as IVS checks tag keys (1-128 characters, not `aws:…`).
    public static func key(lookup: (String) -> String?) throws(InitError) -> String {
        guard let key = lookup("OWNER_TAG_KEY") else { return defaultKey }
        guard (1...128).contains(key.count), !key.lowercased().hasPrefix("aws:") else {
            throw .invalidConfiguration("OWNER_TAG_KEY must be a tag key of 1-128 characters, not starting with 'aws:' (is '\(key)')")
        }
        return key
    }
}

/// A participant token just issued; the token itself is a `Secret`.
public struct IssuedParticipantToken: Sendable {
    public var participantId: String
    public var token: Secret
    /// ISO 8601.
    public var expirationTime: String
    /// Epoch seconds.
    public var expiresAt: Int64

    public init(participantId: String, token: Secret, expirationTime: String, expiresAt: Int64) {
        self.participantId = participantId
        self.token = token
        self.expirationTime = expirationTime
        self.expiresAt = expiresAt
    }
}

/// IVS real-time as the invite flow uses it: the seam between `MultihostInviteHandler` and the service.
public protocol StageService: AnyObject {
    /// The stage's name and tags.
    func stageDetails(arn: String, call: AWSCallContext) throws -> StageDetails
    /// A token for `userId` on the stage with `capabilities`, valid for `durationMinutes`.
    func issueToken(stageArn: String, userId: String, attributes: [String: String], capabilities: [ParticipantCapability],
                    durationMinutes: Int, call: AWSCallContext) throws -> IssuedParticipantToken
    /// Disconnects `participantId` and revokes it from the stage for good.
    func revoke(stageArn: String, participantId: String, reason: String, call: AWSCallContext) throws
}

extension IVSRealTimeClient: StageService {
    public func stageDetails(arn: String, call: AWSCallContext) throws -> StageDetails {
        let stage = try getStage(arn: arn, deadline: call.deadline, traceId: call.traceId)
        return StageDetails(arn: stage.arn, name: stage.name, tags: stage.tags)
    }

    public func issueToken(stageArn: String, userId: String, attributes: [String: String], capabilities: [ParticipantCapability],
                           durationMinutes: Int, call: AWSCallContext) throws -> IssuedParticipantToken {
        let requested = Clock.epochSeconds() + Int64(durationMinutes) * 60
        let t = try createParticipantToken(stageArn: stageArn, userId: userId, attributes: attributes,
                                           capabilities: capabilities, durationMinutes: durationMinutes, deadline: call.deadline, traceId: call.traceId)
        // The service's expiry when it gave one; else what was asked for.
        let expiresAt = t.expirationEpochSeconds ?? requested
        return IssuedParticipantToken(participantId: t.participantId ?? "", token: t.token,
                                      expirationTime: t.expirationTime ?? UTCTimestamp(epochMilliseconds: expiresAt * 1000).iso8601,
                                      expiresAt: expiresAt)
    }

    public func revoke(stageArn: String, participantId: String, reason: String, call: AWSCallContext) throws {
        try disconnectParticipant(stageArn: stageArn, participantId: participantId, reason: reason, deadline: call.deadline, traceId: call.traceId)
    }
}

/// Answers kept for a while in the warm process, so a burst of requests costs one lookup. One per
/// handler, and a handler serves one invocation at a time: no locking.
public final class ExpiringCache<Value> {
    private let lifetimeNanoseconds: UInt64
    private var entries: [String: (value: Value, fetched: UInt64)] = [:]

    /// `seconds` 0 turns caching off.
    public init(seconds: Int) { lifetimeNanoseconds = UInt64(max(seconds, 0)) * 1_000_000_000 }

    /// The value for `key`, from the cache while fresh, else from `fetch` (failures are not cached, nor
    /// values `keep` refuses).
    public func value(for key: String, keep: (Value) -> Bool = { _ in true }, fetch: () throws -> Value) rethrows -> Value {
        let now = Clock.monotonicNanoseconds()
        if let entry = entries[key], now - entry.fetched < lifetimeNanoseconds { return entry.value }
        let value = try fetch()
        if lifetimeNanoseconds > 0, keep(value) {
            if entries.count >= 256 { entries.removeAll(keepingCapacity: true) }
            entries[key] = (value, now)
        }
        return value
    }
}

/// `GetStage` answers kept for a while, in this process and (with a `store`) shared by every instance
/// (`SharedMetadataCache`): `GetStage` has 5 TPS for the whole account.
public final class StageCache {
    private let service: StageService
    private let cache: SharedMetadataCache

    /// `seconds` 0 turns caching off.
    public init(service: StageService, seconds: Int, store: SharedMetadataStoring? = nil, now: @escaping () -> Int64 = Clock.epochSeconds) {
        self.service = service
        cache = SharedMetadataCache(store: store, localSeconds: seconds, sharedSeconds: seconds, now: now)
    }

    /// The stage, from a cache while fresh, else from the service (failures are not cached).
    public func stage(arn: String, call: AWSCallContext) throws -> StageDetails {
        let metadata = try cache.metadata(key: "stage#" + arn, call: call) {
            let stage = try service.stageDetails(arn: arn, call: call)
            return (stage.name, stage.tags)
        }
        return StageDetails(arn: arn, name: metadata.name, tags: metadata.tags)
    }
}
