import AWSCore
import AWSServices
import Essentials
import JSON

/// A stage's or room's name and tags as every instance shares them (from `GetStage` / `GetRoom`).
public struct SharedMetadata: Sendable, Equatable {
    /// `stage#<ARN>` or `room#<ARN>`.
    public var key: String
    public var name: String
    public var tags: [String: String]
    /// Epoch seconds until which instances use it without asking the service again.
    public var freshUntil: Int64

    public init(key: String, name: String, tags: [String: String], freshUntil: Int64) {
        self.key = key
        self.name = name
        self.tags = tags
        self.freshUntil = freshUntil
    }
}

/// Where shared metadata and refresh leases are kept: the seam between the handlers and DynamoDB.
public protocol SharedMetadataStoring: AnyObject {
    func metadata(key: String, call: AWSCallContext) throws -> SharedMetadata?
    func put(_ metadata: SharedMetadata, call: AWSCallContext) throws
    /// Takes the right to refresh `key` for `seconds` (true), unless another instance holds it (false).
    func takeLease(key: String, now: Int64, seconds: Int64, call: AWSCallContext) throws -> Bool
    /// Gives a lease back (the refresh failed, and not for throttling: the next request may try at once).
    func releaseLease(key: String, call: AWSCallContext) throws
}

/// The state table's metadata items: `pk` = `stage#<ARN>` / `room#<ARN>` with `name`, `tags` (a map
/// of strings), `freshUntil`; leases `pk` = `lease#<key>` with `leaseUntil`. Both expire (TTL
/// `expiresAt`) a day after they were written, so a stage or room no longer used leaves nothing behind.
public final class DynamoDBSharedMetadataStore: SharedMetadataStoring {
    static let retentionSeconds: Int64 = 86_400

    private let dynamoDB: DynamoDBClient
    private let table: String
    private let now: () -> Int64

    public init(dynamoDB: DynamoDBClient, table: String, now: @escaping () -> Int64 = Clock.epochSeconds) {
        self.dynamoDB = dynamoDB
        self.table = table
        self.now = now
    }

    public func metadata(key: String, call: AWSCallContext) throws -> SharedMetadata? {
        guard let item = try dynamoDB.getItem(table: table, key: ["pk": DynamoDBValue.string(key)], deadline: call.deadline,
                                              traceId: call.traceId),
              let fresh = DynamoDBValue.int64(from: item["freshUntil"]) else { return nil }
        var tags: [String: String] = [:]
        for (k, v) in item["tags"]?["M"]?.objectValue ?? [] { if let s = DynamoDBValue.string(from: v) { tags[k] = s } }
        return SharedMetadata(key: key, name: DynamoDBValue.string(from: item["name"]) ?? "", tags: tags, freshUntil: fresh)
    }

    public func put(_ metadata: SharedMetadata, call: AWSCallContext) throws {
        let tags = JSONValue.object(metadata.tags.sorted { $0.key < $1.key }.map { ($0.key, DynamoDBValue.string($0.value)) })
        try dynamoDB.putItem(table: table, item: [
            "pk": DynamoDBValue.string(metadata.key), "name": DynamoDBValue.string(metadata.name), "tags": .object([("M", tags)]),
            "freshUntil": DynamoDBValue.number(metadata.freshUntil), "expiresAt": DynamoDBValue.number(now() + Self.retentionSeconds),
        ], deadline: call.deadline, traceId: call.traceId)
    }

    public func takeLease(key: String, now: Int64, seconds: Int64, call: AWSCallContext) throws -> Bool {
        do {
            try dynamoDB.putItem(table: table, item: [
                "pk": DynamoDBValue.string("lease#" + key), "leaseUntil": DynamoDBValue.number(now + seconds),
                "expiresAt": DynamoDBValue.number(now + Self.retentionSeconds),
            ], conditionExpression: "attribute_not_exists(pk) OR leaseUntil < :now",
               expressionAttributeValues: [":now": DynamoDBValue.number(now)], deadline: call.deadline, traceId: call.traceId)
            return true
        } catch {
            if error.serviceError?.type == "ConditionalCheckFailedException" { return false }
            throw error
        }
    }

    public func releaseLease(key: String, call: AWSCallContext) throws {
        try dynamoDB.deleteItem(table: table, key: ["pk": DynamoDBValue.string("lease#" + key)], deadline: call.deadline, traceId: call.traceId)
    }
}

/// Another instance is refreshing metadata this process has never seen: answer 429 and let the
/// client come back (it will find the refreshed value).
public struct MetadataRefreshInProgress: Error, CustomStringConvertible {
    public let key: String
    public var description: String { "another instance is reading \(key) from the service" }
}

/// Stage and room metadata with two levels of caching, so that a crowd starting many instances at once
/// costs the 5-TPS control-plane reads (`GetStage`, `GetRoom`) one call per resource per
/// `sharedSeconds`, whatever the number of instances:
/// 1. this process keeps an answer `localSeconds`;
/// 2. else the shared item in the state table, while fresh;
/// 3. else one instance takes a short lease and asks the service, then shares the answer; the others
///    keep using the stale shared item meanwhile, or (when there is none yet) answer 429.
///
/// A tag change therefore applies within `sharedSeconds + localSeconds`. Without a store (no
/// `STATE_TABLE`) it is the process cache alone.
public final class SharedMetadataCache {
    /// How long one instance may hold a refresh lease.
    static let leaseSeconds: Int64 = 5

    private let store: SharedMetadataStoring?
    private let local: ExpiringCache<SharedMetadata>
    private let sharedSeconds: Int64
    private let now: () -> Int64

    public init(store: SharedMetadataStoring?, localSeconds: Int, sharedSeconds: Int, now: @escaping () -> Int64 = Clock.epochSeconds) {
        self.store = store
        local = ExpiringCache(seconds: localSeconds)
        self.sharedSeconds = Int64(sharedSeconds)
        self.now = now
    }

    /// The metadata of `key` (`stage#…`, `room#…`); `fetch` asks the service for its name and tags.
    public func metadata(key: String, call: AWSCallContext, fetch: () throws -> (name: String, tags: [String: String])) throws -> SharedMetadata {
        try local.value(for: key) {
            guard let store, sharedSeconds > 0 else {
                let fetched = try fetch()
                return SharedMetadata(key: key, name: fetched.name, tags: fetched.tags, freshUntil: now())
            }
            let time = now()
            var shared: SharedMetadata?
            do { shared = try store.metadata(key: key, call: call) } catch { Log.warn("reading shared \(key) failed: \(error)") }
            if let shared, shared.freshUntil > time { return shared }
            let leased: Bool
            do { leased = try store.takeLease(key: key, now: time, seconds: Self.leaseSeconds, call: call) } catch {
                Log.warn("taking the refresh lease of \(key) failed: \(error)")
                leased = shared == nil
            }
            guard leased else {
                if let shared { return shared }
                throw MetadataRefreshInProgress(key: key)
            }
            let fetched: (name: String, tags: [String: String])
            do { fetched = try fetch() } catch {
                let throttled = (error as? AWSError)?.serviceError?.isThrottling == true
                if !throttled {
                    do { try store.releaseLease(key: key, call: call) } catch { Log.warn("releasing the lease of \(key) failed: \(error)") }
                }
                // A throttled or failing service: a stale answer is better than none.
                if let shared, !((error as? AWSError)?.serviceError?.type == "ResourceNotFoundException") {
                    Log.warn("refreshing \(key) failed, using the shared answer from before: \(error)")
                    return shared
                }
                throw error
            }
            let fresh = SharedMetadata(key: key, name: fetched.name, tags: fetched.tags, freshUntil: time + sharedSeconds)
            do { try store.put(fresh, call: call) } catch { Log.warn("sharing \(key) failed: \(error)") }
            return fresh
        }
    }
}
