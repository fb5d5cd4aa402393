import Essentials
import Foundation
import JSON

/// What one crowd scenario measured.
public struct CrowdResult: Sendable {
    public var name: String
    /// Viewers (or channels, at the top of the hour).
    public var population: Int
    /// Seconds until 99 % were (re)connected, and the quota-bound minimum (population ÷ CreateChatToken rate).
    public var connect99: Double?
    public var bound: Double?
    /// Viewers connected when a Stream Start went out, and the slowest of them to play (seconds).
    public var playersAtStart = 0
    public var slowestPlay: Double?
    /// Viewers showing what the scenario expects at its end (offline after a missed end, live after a start), of `population`.
    public var correct = 0
    /// Client-visible answers: 5xx, 429, and 429 without `Retry-After`.
    public var serverErrors = 0
    public var throttled = 0
    public var throttledWithoutRetryAfter = 0
    /// AWS calls: accepted, throttled (quota mode), and the most accepted in one second, per operation.
    public var calls: [String: (accepted: Int, throttled: Int, peak: Int)] = [:]
    public var getStreamCalls = 0
    /// Top of the hour: STREAM_STARTED delivered (distinct channels), redeliveries, dead letters.
    public var delivered: Int?
    public var redeliveries = 0
    public var deadLetters = 0
    public var seconds = 0.0
    public var notes: [String] = []
}

/// The four scenarios of `make crowd`, run in order on one `CrowdWorld`.
public final class CrowdRun: @unchecked Sendable {
    public let world: CrowdWorld
    private var viewers: [SimulatedViewer] = []
    private var clock = 0  // event times: one hour apart per stream event, so each is newer than the last
    public private(set) var results: [CrowdResult] = []
    let log: (String) -> Void

    public init(world: CrowdWorld, log: @escaping (String) -> Void = { _ in }) {
        self.world = world
        self.log = log
    }

    static func now() -> UInt64 { MonotonicClock.nanoseconds() }
    static func seconds(_ from: UInt64, _ to: UInt64) -> Double { Double(to &- from) / 1e9 }

    private func nextEventTime() -> String {
        clock += 1
        return UTCTimestamp(epochMilliseconds: (1_795_000_000 + Int64(clock) * 3600) * 1000).iso8601
    }

    /// Waits (bounded) until `condition` holds; polls every 50 ms.
    private func wait(seconds: Double, until condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return condition()
    }

    private var bound: Double { Double(world.settings.viewers) / world.chatTokenRate }
    /// How long a scenario waits for every viewer: three times the bound, and at least the page's
    /// backoff cap (30 s) and more, since a viewer may be asleep in its longest wait when the network returns.
    private var patience: Double { max(bound * 3 + 10, Double(ViewerCore.capMilliseconds) / 1000 + 15) }

    /// Seconds from `start` until 99 % of viewers had a connection opened after it.
    private func connect99(since start: UInt64) -> Double? {
        let times = viewers.compactMap { $0.snapshot().connections.first { $0 >= start } }.sorted()
        let needed = Int((Double(viewers.count) * 0.99).rounded(.up))
        guard times.count >= needed else { return nil }
        return Self.seconds(start, times[needed - 1])
    }

    private func finish(_ result: inout CrowdResult, started: UInt64) {
        let answers = world.takeAnswers()
        result.serverErrors = answers.byStatus.filter { $0.key >= 500 }.values.reduce(0, +)
        result.throttled = answers.byStatus[429] ?? 0
        result.throttledWithoutRetryAfter = answers.throttledWithoutRetryAfter
        for op in IVSStandIn.accountRates.keys.sorted() {
            result.calls[op] = (world.ivs.acceptedCount(for: op), world.ivs.throttledCount(for: op), world.ivs.peakAcceptedPerSecond(for: op))
        }
        result.getStreamCalls = world.ivs.requestCount(for: "GetStream")
        result.seconds = Self.seconds(started, Self.now())
        world.ivs.enforceQuotas(scale: world.settings.scale)  // fresh buckets and counts for the next scenario
        results.append(result)
        log(CrowdReport.line(result, world: world))
    }

    /// Deliver a stream event through the `streamStarted` pool (with Lambda's retries).
    private func stream(_ name: String) -> (attempts: Int, deadLettered: Bool) {
        world.deliver(world.streamEvent(name, time: nextEventTime()))
    }

    /// Waiting room: every viewer arrives while the channel is offline; the Stream Start goes out
    /// once half are connected. Those connected then play from the event, later ones from the state.
    public func waitingRoom() {
        var result = CrowdResult(name: "waiting room", population: world.settings.viewers)
        _ = world.takeAnswers()
        let start = Self.now()
        let signedIn = Int(Double(world.settings.viewers) * world.settings.signedInShare)
        viewers = (0..<world.settings.viewers).map { SimulatedViewer(id: $0, signedIn: $0 < signedIn, world: world) }
        for v in viewers { v.start() }
        _ = wait(seconds: patience) { viewers.filter { $0.snapshot().connected }.count * 2 >= viewers.count }
        let connectedAtStart = viewers.filter { $0.snapshot().connected }
        let delivered = Self.now()
        let outcome = stream("Stream Start")
        if outcome.deadLettered { result.notes.append("the Stream Start ended in the DLQ") }
        result.redeliveries = outcome.attempts - 1
        _ = wait(seconds: patience) { viewers.allSatisfy { $0.snapshot().live && $0.snapshot().connected } }
        result.connect99 = connect99(since: start)
        result.bound = bound
        result.playersAtStart = connectedAtStart.count
        let plays = connectedAtStart.compactMap { v in v.snapshot().changes.first { $0.live && $0.at >= delivered }.map { Self.seconds(delivered, $0.at) } }
        result.slowestPlay = plays.count == connectedAtStart.count ? plays.max() : nil
        if plays.count < connectedAtStart.count { result.notes.append("\(connectedAtStart.count - plays.count) connected viewers never played") }
        result.correct = viewers.filter { $0.snapshot().live }.count
        finish(&result, started: start)
    }

    /// Mass reconnect: every socket drops at once; each viewer comes back with a new token.
    public func massReconnect() {
        var result = CrowdResult(name: "mass reconnect", population: viewers.count)
        _ = world.takeAnswers()
        let start = Self.now()
        world.ivs.messaging.closeAll()
        _ = wait(seconds: patience) { viewers.allSatisfy { v in v.snapshot().connected && v.snapshot().connections.contains { $0 >= start } } }
        result.connect99 = connect99(since: start)
        result.bound = bound
        result.correct = viewers.filter { v in v.snapshot().connections.contains { $0 >= start } && v.snapshot().live }.count
        finish(&result, started: start)
    }

    /// Missed end: every socket drops and stays down while the broadcast ends; after reconnecting,
    /// each page must show offline (from `/channel/state`), then autoplay the next broadcast.
    public func missedEnd() {
        var result = CrowdResult(name: "missed end", population: viewers.count)
        _ = world.takeAnswers()
        world.ivs.messaging.outage = true
        world.ivs.messaging.closeAll()
        _ = wait(seconds: 10) { viewers.allSatisfy { !$0.snapshot().connected } }
        _ = stream("Stream End")
        let stillLive = viewers.filter { $0.snapshot().live }.count
        result.notes.append("\(stillLive) of \(viewers.count) still showed live while disconnected")
        Thread.sleep(forTimeInterval: 2)
        let start = Self.now()
        world.ivs.messaging.outage = false
        _ = wait(seconds: patience) { viewers.allSatisfy { v in v.snapshot().connected && v.snapshot().connections.contains { $0 >= start } && !v.snapshot().live } }
        result.connect99 = connect99(since: start)
        result.bound = bound
        let offline = viewers.filter { v in v.snapshot().connections.contains { $0 >= start } && !v.snapshot().live }.count
        // The next broadcast: every page autoplays.
        let delivered = Self.now()
        _ = stream("Stream Start")
        _ = wait(seconds: 10) { viewers.allSatisfy { $0.snapshot().live } }
        let plays = viewers.compactMap { v in v.snapshot().changes.first { $0.live && $0.at >= delivered }.map { Self.seconds(delivered, $0.at) } }
        result.playersAtStart = viewers.count
        result.slowestPlay = plays.count == viewers.count ? plays.max() : nil
        result.correct = min(offline, plays.count)
        result.notes.append("\(offline) showed offline after reconnecting; \(plays.count) autoplayed the next broadcast")
        finish(&result, started: start)
    }

    /// Top of the hour: `channels` channels go live within one second; every STREAM_STARTED must
    /// reach the room (SendEvent: 100 TPS for the account, scaled), through retries if need be.
    public func topOfTheHour() {
        let count = world.settings.channels
        var result = CrowdResult(name: "top of the hour", population: count)
        _ = world.takeAnswers()
        let before = world.ivs.events.count
        let start = Self.now()
        let time = nextEventTime()
        let channels = (0..<count).map { "arn:aws:ivs:us-east-1:123456789012:channel/TopOfHour\($0)" }
        final class Tally: @unchecked Sendable {
            let lock = NSLock()
            var attempts = 0, dead = 0
        }
        let tally = Tally()
        let group = DispatchGroup()
        for (i, channel) in channels.enumerated() {
            let event = world.streamEvent("Stream Start", channel: channel, time: time)
            group.enter()
            Thread {
                Thread.sleep(forTimeInterval: Double(i) / Double(count))  // all within one second
                let o = self.world.deliver(event)
                tally.lock.withLock { tally.attempts += o.attempts; if o.deadLettered { tally.dead += 1 } }
                group.leave()
            }.start()
        }
        group.wait()
        let sent = world.ivs.events.dropFirst(before).filter { $0.eventName == "STREAM_STARTED" }
        let reached = Set(sent.compactMap { e in channels.first { e.attributes["event"]?.contains($0 + "\"") == true } })
        result.delivered = reached.count
        result.redeliveries = tally.attempts - count
        result.deadLetters = tally.dead
        result.correct = reached.count
        finish(&result, started: start)
    }

    /// All four, in order; stops the viewers at the end.
    public func runAll() {
        waitingRoom()
        massReconnect()
        missedEnd()
        topOfTheHour()
        for v in viewers { v.stop() }
        for v in viewers { _ = v.done.wait(timeout: .now() + 5) }
    }
}

/// The crowd's table, for the console and BENCHMARKS.md.
public enum CrowdReport {
    static func f(_ x: Double?, _ digits: Int = 1) -> String { x.map { String(format: "%.\(digits)f", $0) } ?? "—" }

    static func line(_ r: CrowdResult, world: CrowdWorld) -> String {
        "\(r.name): \(r.correct)/\(r.population) ok, 99 % connected in \(f(r.connect99)) s (bound \(f(r.bound)) s), slowest play \(f(r.slowestPlay, 2)) s, "
            + "5xx \(r.serverErrors), 429 \(r.throttled) (\(r.throttledWithoutRetryAfter) without Retry-After), GetStream \(r.getStreamCalls), \(Int(r.seconds)) s"
    }

    /// The Markdown section: settings, one row per scenario, the AWS calls per operation against the scaled quota.
    public static func markdown(_ results: [CrowdResult], world: CrowdWorld, machine: String) -> String {
        let s = world.settings
        var out = "Scale \(s.scale) of AWS's account-wide rates (CreateChatToken \(f(world.chatTokenRate)) /s, SendEvent \(f(100 * s.scale)) /s, "
        out += "GetRoom/GetStage/GetStream \(f(5 * s.scale, 2)) /s; each bucket holds one second of its rate, at least one call); "
        out += "\(s.viewers) viewers (\(Int(s.signedInShare * 100)) % signed in), \(s.apiInstances) API and \(s.streamInstances) streamStarted instances "
        out += "of the real `bootstrap`, \(s.channels) channels at the top of the hour. \(machine)\n\n"
        out += "| scenario | ok | 99 % (re)connected | bound (V ÷ rate) | ratio | slowest play after Start | client 5xx | client 429 (no Retry-After) | GetStream | redeliveries / DLQ | run |\n"
        out += "|---|---|---|---|---|---|---|---|---|---|---|\n"
        for r in results {
            let ratio = r.connect99.flatMap { c in r.bound.map { c / $0 } }
            out += "| \(r.name) | \(r.correct)/\(r.population) | \(f(r.connect99)) s | \(f(r.bound)) s | \(f(ratio, 2))× | \(f(r.slowestPlay, 2)) s | \(r.serverErrors) | "
            out += "\(r.throttled) (\(r.throttledWithoutRetryAfter)) | \(r.getStreamCalls) | \(r.redeliveries) / \(r.deadLetters) | \(Int(r.seconds)) s |\n"
        }
        out += "\nAWS calls per operation (accepted / throttled by the quota / most accepted in one second, against the scaled rate + burst):\n\n"
        out += "| scenario | " + IVSStandIn.accountRates.keys.sorted().joined(separator: " | ") + " |\n"
        out += "|---|" + String(repeating: "---|", count: IVSStandIn.accountRates.count) + "\n"
        for r in results {
            out += "| \(r.name) | " + IVSStandIn.accountRates.keys.sorted().map { op in
                let c = r.calls[op] ?? (0, 0, 0)
                let limit = max(1, IVSStandIn.accountRates[op]! * s.scale)
                return "\(c.accepted) / \(c.throttled) / \(c.peak) (≤ \(f(limit * 2, 1)))"
            }.joined(separator: " | ") + " |\n"
        }
        let notes = results.flatMap { r in r.notes.map { "- \(r.name): \($0)" } }
        if !notes.isEmpty { out += "\n" + notes.joined(separator: "\n") + "\n" }
        return out
    }
}
