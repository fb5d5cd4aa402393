import AWSCore
import AWSServices
import Handlers
import JSON
import LambdaRuntime
import Testing

/// Live streams from memory, for the reconciliation.
final class FakeStreamListing: LiveStreamListing {
    var pages: [[LiveStream]] = []
    var calls = 0
    func liveStreams(nextToken: String?, call: AWSCallContext) throws -> (streams: [LiveStream], nextToken: String?) {
        let index = Int(nextToken ?? "0")!
        calls += 1
        return (pages[index], index + 1 < pages.count ? String(index + 1) : nil)
    }
}

/// Shared metadata and leases from memory: what the state table holds for every instance.
final class FakeSharedMetadata: SharedMetadataStoring {
    var items: [String: SharedMetadata] = [:]
    var leases: [String: Int64] = [:]
    var puts = 0
    func metadata(key: String, call: AWSCallContext) throws -> SharedMetadata? { items[key] }
    func put(_ metadata: SharedMetadata, call: AWSCallContext) throws { puts += 1; items[metadata.key] = metadata }
    func takeLease(key: String, now: Int64, seconds: Int64, call: AWSCallContext) throws -> Bool {
        if let until = leases[key], until >= now { return false }
        leases[key] = now + seconds
        return true
    }
    func releaseLease(key: String, call: AWSCallContext) throws { leases[key] = nil }
}

@Suite struct ChannelStateTests {
    static let channel = StreamStateHandlerTests.channel
    static let room = StreamStateHandlerTests.room
    let context = InvocationContext(requestId: "r", deadlineEpochMilliseconds: Int64.max / 2)

    static func state(_ live: Bool, _ id: String, _ epoch: Int64) -> ChannelState {
        ChannelState(channelArn: channel, live: live, eventId: id, eventTime: "t\(epoch)", eventEpochSeconds: epoch)
    }

    static func event(_ name: String, id: String, time: String) -> String {
        #"{"version":"0","id":"\#(id)","detail-type":"IVS Stream State Change","source":"aws.ivs","account":"123456789012","time":"\#(time)","region":"us-east-1","resources":["\#(channel)"],"detail":{"event_name":"\#(name)","channel_name":"c","stream_id":"st-1"}}"#
    }

    @Test func onlyNewerEventsRepeatsAndSameSecondEndsSupersede() {
        let start = Self.state(true, "a", 100)
        #expect(start.supersedes(nil))
        #expect(Self.state(false, "b", 101).supersedes(start))
        #expect(!Self.state(true, "c", 99).supersedes(start), "a late event never regresses the state")
        #expect(start.supersedes(start), "a repeat is idempotent")
        #expect(Self.state(false, "d", 100).supersedes(start), "an End in the Start's second: the stream ended")
        #expect(!Self.state(true, "e", 100).supersedes(Self.state(false, "d", 100)), "a Start in the End's second does not reopen it")
    }

    @Test func streamEventsRecordStateAndLateOnesSendNothing() throws {
        let chat = FakeChat(), states = FakeChannelStates()
        let handler = StreamStateHandler(configuration: .init(defaultRoom: Self.room), chat: chat, channelStates: states)
        func run(_ e: String) throws -> JSONValue { try JSONValue.parse(handler.handle(Array(e.utf8), context: context)) }

        #expect(try run(Self.event("Stream Start", id: "s1", time: "2026-11-30T10:00:00Z"))["sent"] == .bool(true))
        #expect(states.states[Self.channel]?.live == true && states.states[Self.channel]?.startTime == "2026-11-30T10:00:00Z")
        #expect(try run(Self.event("Stream End", id: "e1", time: "2026-11-30T11:00:00Z"))["sent"] == .bool(true))
        #expect(states.states[Self.channel]?.live == false && states.states[Self.channel]?.eventId == "e1")
        // The Start delivered again, an hour late: the state stays offline and no STREAM_STARTED goes out.
        let late = try run(Self.event("Stream Start", id: "s1", time: "2026-11-30T10:00:00Z"))
        #expect(late["sent"] == .bool(false) && late["reason"]?.stringValue?.contains("older") == true)
        #expect(states.states[Self.channel]?.eventId == "e1")
        // The End again (a retry after a failed SendEvent, or EventBridge's repeat): sent again, clients drop it by id.
        #expect(try run(Self.event("Stream End", id: "e1", time: "2026-11-30T11:00:00Z"))["sent"] == .bool(true))
        #expect(chat.sent.map(\.name) == ["STREAM_STARTED", "STREAM_ENDED", "STREAM_ENDED"])
    }

    @Test func aStateThatCannotBeRecordedFailsTheInvocationSoLambdaRetries() {
        let chat = FakeChat(), states = FakeChannelStates()
        states.failure = throttling("dynamodb", "PutItem")
        let handler = StreamStateHandler(configuration: .init(defaultRoom: Self.room), chat: chat, channelStates: states)
        #expect(throws: LambdaError.self) {
            try handler.handle(Array(Self.event("Stream Start", id: "s1", time: "2026-11-30T10:00:00Z").utf8), context: context)
        }
        #expect(chat.sent.isEmpty)
    }

    @Test func eventsWithoutIdOrTimeAreSentButNotRecorded() throws {
        let chat = FakeChat(), states = FakeChannelStates()
        let handler = StreamStateHandler(configuration: .init(defaultRoom: Self.room), chat: chat, channelStates: states)
        _ = try handler.handle(Array(Self.event("Stream Start", id: "s1", time: "yesterday").utf8), context: context)
        #expect(chat.sent.count == 1 && states.states.isEmpty)
    }

    @Test func scheduledReconciliationRecordsListedLiveStreamsUnlessNewerStateExists() throws {
        let states = FakeChannelStates(), listing = FakeStreamListing()
        let other = "arn:aws:ivs:us-east-1:123456789012:channel/Other1"
        states.states[other] = ChannelState(channelArn: other, live: false, eventId: "end", eventTime: "2026-11-30T12:00:00Z",
                                            eventEpochSeconds: 1_796_040_000)
        listing.pages = [[LiveStream(channelArn: Self.channel, streamId: "st-9", state: "LIVE", startTime: "2026-11-30T10:00:00Z")],
                         [LiveStream(channelArn: other, streamId: "st-8", state: "LIVE", startTime: "2026-11-30T09:00:00Z")]]
        let handler = StreamStateHandler(configuration: .init(defaultRoom: Self.room), chat: FakeChat(), channelStates: states, streams: listing)
        let scheduled = #"{"version":"0","id":"x","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2026-11-30T12:05:00Z","region":"us-east-1","resources":[],"detail":{}}"#
        let result = try JSONValue.parse(handler.handle(Array(scheduled.utf8), context: context))
        #expect(listing.calls == 2)
        #expect(result["liveStreams"] == .int(2) && result["recorded"] == .int(1))
        #expect(states.states[Self.channel]?.live == true && states.states[Self.channel]?.startTime == "2026-11-30T10:00:00Z")
        #expect(states.states[other]?.live == false, "an End recorded after the listed start wins")
    }

    @Test func metadataIsFetchedOnceForAllInstancesAndStaleIsServedWhileOneRefreshes() throws {
        let shared = FakeSharedMetadata()
        var clock: Int64 = 1000
        var fetches = 0
        let instances = (0..<5).map { _ in SharedMetadataCache(store: shared, localSeconds: 60, sharedSeconds: 60, now: { clock }) }
        let call = AWSCallContext(deadline: Int64.max / 2)
        for cache in instances {
            let m = try cache.metadata(key: "room#r", call: call) { fetches += 1; return ("r", ["owner": "host"]) }
            #expect(m.tags["owner"] == "host")
        }
        #expect(fetches == 1 && shared.puts == 1)

        // Stale after 60 s: the instance holding the lease refreshes, the others keep the stale answer meanwhile.
        clock += 120
        shared.leases["room#r"] = clock + 5
        let fresh = SharedMetadataCache(store: shared, localSeconds: 60, sharedSeconds: 60, now: { clock })
        let stale = try fresh.metadata(key: "room#r", call: call) { fetches += 1; return ("r", ["owner": "new-owner"]) }
        #expect(stale.tags["owner"] == "host" && fetches == 1)
        clock += 6
        let refreshed = try SharedMetadataCache(store: shared, localSeconds: 60, sharedSeconds: 60, now: { clock })
            .metadata(key: "room#r", call: call) { fetches += 1; return ("r", ["owner": "new-owner"]) }
        #expect(refreshed.tags["owner"] == "new-owner" && fetches == 2)
    }

    @Test func aFailedRefreshGivesTheLeaseBackUnlessThrottled() {
        let shared = FakeSharedMetadata()
        let cache = SharedMetadataCache(store: shared, localSeconds: 60, sharedSeconds: 60, now: { 1000 })
        let call = AWSCallContext(deadline: Int64.max / 2)
        #expect(throws: AWSError.self) { _ = try cache.metadata(key: "stage#s", call: call) { throw notFound("ivs-realtime", "GetStage") } }
        #expect(shared.leases["stage#s"] == nil)
        #expect(throws: AWSError.self) { _ = try cache.metadata(key: "stage#s", call: call) { throw throttling("ivs-realtime", "GetStage") } }
        #expect(shared.leases["stage#s"] != nil, "a throttled service is not asked again by the next request")
    }

    @Test func metadataNeverSeenWhileAnotherInstanceFetchesIsA429() {
        let shared = FakeSharedMetadata()
        shared.leases["room#r"] = 1005
        let cache = SharedMetadataCache(store: shared, localSeconds: 60, sharedSeconds: 60, now: { 1000 })
        #expect(throws: MetadataRefreshInProgress.self) {
            _ = try cache.metadata(key: "room#r", call: AWSCallContext(deadline: Int64.max / 2)) { ("r", [:]) }
        }
    }

    @Test func chatTokensAnswer429WithRetryAfterWhenGetRoomIsThrottled() {
        let t = MultihostInviteHandlerTests()
        t.configuration.defaultRoom = MultihostInviteHandlerTests.room
        t.rooms.failure = throttling("ivschat", "GetRoom")
        let answer = t.chatToken()
        #expect(answer.status == 429)
        #expect(answer.text.contains(#""retry-after":"#))
        #expect(answer.text.contains("access-control-expose-headers"))
    }
}
