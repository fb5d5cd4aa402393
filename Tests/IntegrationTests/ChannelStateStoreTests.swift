import AWSCore
import AWSServices
import Essentials
import Foundation
import Handlers
import LocalHarness
import Testing

/// The conditional channel-state write against DynamoDB (moto): repeats, out-of-order events and
/// concurrent writers never move a channel's state backwards in event time.
@Suite struct ChannelStateStoreTests {
    static let channel = "arn:aws:ivs:us-east-1:123456789012:channel/StoreTest1"
    let call = AWSCallContext(deadline: Int64.max / 2)

    static func store() throws -> (DynamoDBChannelStateStore, MotoServer) {
        let moto = try MotoServer.shared()
        let table = "state-\(UUID().uuidString.prefix(8))"
        try moto.createStateTable(table)
        return (DynamoDBChannelStateStore(dynamoDB: try moto.client(), table: table), moto)
    }

    static func state(_ live: Bool, _ id: String, _ epoch: Int64) -> ChannelState {
        ChannelState(channelArn: channel, live: live, eventId: id, eventTime: UTCTimestamp(epochMilliseconds: epoch * 1000).iso8601,
                     eventEpochSeconds: epoch, startTime: live ? UTCTimestamp(epochMilliseconds: epoch * 1000).iso8601 : nil)
    }

    @Test func repeatsAndLateEventsNeverRegress() throws {
        let (store, _) = try Self.store()
        #expect(try store.state(channelArn: Self.channel, call: call) == nil)
        #expect(try store.record(Self.state(true, "start", 1000), call: call) == .recorded)
        #expect(try store.record(Self.state(false, "end", 2000), call: call) == .recorded)
        #expect(try store.record(Self.state(true, "start", 1000), call: call) == .superseded, "the Start again, late")
        #expect(try store.record(Self.state(false, "end", 2000), call: call) == .recorded, "a repeat of the newest")
        #expect(try store.record(Self.state(true, "same-second-start", 2000), call: call) == .superseded, "an End wins its second")
        let stored = try #require(try store.state(channelArn: Self.channel, call: call))
        #expect(stored == Self.state(false, "end", 2000))
        #expect(try store.record(Self.state(true, "next", 3000), call: call) == .recorded)
        #expect(try store.state(channelArn: Self.channel, call: call)?.live == true)
    }

    @Test func concurrentWritersLeaveTheNewestEvent() throws {
        let (store, _) = try Self.store()
        let table = store.tableName
        // 8 writers, each with its own client (as separate instances would), deliver 40 events in a
        // shuffled order; whatever the interleaving, the newest event is what stays.
        let events = (1...40).map { Self.state($0 % 2 == 1, "e\($0)", 5000 + Int64($0)) }.shuffled()
        let results = LockedResults()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            guard let client = try? MotoServer.shared().client() else { results.fail(); return }
            let mine = DynamoDBChannelStateStore(dynamoDB: client, table: table)
            for (i, event) in events.enumerated() where i % 8 == worker {
                do { _ = try mine.record(event, call: AWSCallContext(deadline: Clock.epochMilliseconds() + 10_000)) } catch { results.fail() }
            }
        }
        #expect(results.failures == 0)
        let stored = try #require(try store.state(channelArn: Self.channel, call: call))
        #expect(stored.eventId == "e40" && stored.live == false && stored.eventEpochSeconds == 5040)
    }
}

final class LockedResults: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func fail() { lock.withLock { count += 1 } }
    var failures: Int { lock.withLock { count } }
}
