import Foundation
import JSON
import LocalHarness
import Handlers
import Essentials

// The message review benchmark (issue 19, item 7): `_HANDLER=messageReview` (A) against the Python peer
// reviewer `bench/peer/message_review.py` (B, awslambdaric + boto3, the same rules), with 1,000 blocked
// terms and the ban lookup (a DynamoDB `GetItem` per allowed message, answered by the IVS stand-in over
// HTTPS after checking its SigV4 signature).

/// The review configuration and messages both runtimes get.
enum ReviewWorkload {
    static let table = "ivs-chat-events-bench-state"
    static let bannedUser = "mallory"
    static let termCount = 1_000

    /// 1,000 blocked terms, the same on every run: made-up words of three or four syllables from a fixed
    /// LCG; every 10th is `:mask` (the rest deny, the default), every 50th a two-word phrase, every 25th
    /// written with an accent (`é` for `e`, folded back to `e`).
    static let terms: [String] = {
        let onsets = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "gl", "kr", "pl", "st", "tr", "sk"]
        let vowels = ["a", "e", "i", "o", "u", "ai", "ou", "ei"]
        var state: UInt64 = 0x1905_2026
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        func word() -> String { (0..<(3 + next(2))).map { _ in onsets[next(onsets.count)] + vowels[next(vowels.count)] }.joined() }
        var seen: Set<String> = []
        var terms: [String] = []
        while terms.count < termCount {
            let i = terms.count
            var term = i % 50 == 49 ? word() + " " + word() : word()
            guard seen.insert(term).inserted else { continue }
            if i % 25 == 24 { term = term.replacingOccurrences(of: "e", with: "é") }
            terms.append(i % 10 == 9 ? term + ":mask" : term)
        }
        return terms
    }()

    static func bare(_ i: Int) -> String { terms[i].replacingOccurrences(of: ":mask", with: "") }

    /// What both runtimes are configured with (besides the AWS endpoint and trust).
    static func environment(banLookup: Bool) -> [String: String] {
        var env = [
            "REVIEW_BLOCKED_TERMS": terms.joined(separator: ","),
            "REVIEW_LINK_POLICY": "allowlist",
            "REVIEW_ALLOWED_DOMAINS": "example.com,ivs.rocks",
            "REVIEW_MAX_LENGTH": "500",
            "REVIEW_BAN_LOOKUP_MS": "120",
        ]
        if banLookup { env["STATE_TABLE"] = table }
        return env
    }

    enum Expect: String { case allow, mask, deny, banned }

    /// The messages, in the order a warm process cycles through them; the first is the cold start's.
    /// Six of eight are allowed by the rules (and so looked up for a ban).
    static let messages: [(user: String, content: String, expect: Expect)] = {
        let maskWord = bare(9)          // a mask term
        let denyWord = bare(0)          // a deny term
        let phrase = bare(49)           // a two-word mask phrase
        // The mask term as a sender would disguise it: capitals, Cyrillic а/е/о for a/e/o, a zero-width space inside.
        var disguised = maskWord.uppercased().replacingOccurrences(of: "A", with: "\u{410}").replacingOccurrences(of: "O", with: "\u{41E}")
        disguised.insert("\u{200B}", at: disguised.index(after: disguised.startIndex))
        return [
            ("viewer-17", "hey everyone, the stream looks great tonight! \(maskWord) — schedule at docs.example.com/schedule 🎉", .mask),
            ("viewer-3", "Good evening from Lisbon! Can't wait for the Q&A at 9 pm, é à ü ß all fine here", .allow),
            ("viewer-8", "lol that was \(disguised), again!!", .mask),
            ("viewer-21", "you are a \(denyWord) and everyone knows it", .deny),
            ("viewer-5", "free followers at https://spam.example.net/win now", .deny),
            ("viewer-9", String(repeating: "What a play, the comeback in the second half was unreal. ", count: 5), .allow),
            ("viewer-2", "well \(phrase.uppercased()) to you too", .mask),
            (bannedUser, "I am back, you cannot keep me out", .banned),
        ]
    }()

    /// A review request as IVS Chat sends it.
    static func event(_ index: Int, sequence: Int) -> [UInt8] {
        let m = messages[index % messages.count]
        return JSONValue.object([
            ("Content", .string(m.content)),
            ("MessageId", .string("msg-\(sequence)-\(index % messages.count)")),
            ("RoomArn", .string(Bench.room)),
            ("Attributes", .object([("emote", .string("wave"))])),
            ("Sender", .object([("UserId", .string(m.user)), ("Ip", .string("203.0.113.7")),
                                ("Attributes", .object([("displayName", .string(m.user))]))])),
        ]).serialized()
    }

    /// Checks an answer against what the message must get; returns it normalised (compact JSON).
    /// Without the ban lookup, the banned user's message is judged by the rules alone (allowed).
    static func check(_ outcome: RuntimeAPIEmulator.Outcome, index: Int, runtime: Runtime, banLookup: Bool = true) throws -> String {
        let expect = !banLookup && messages[index % messages.count].expect == .banned ? .allow : messages[index % messages.count].expect
        guard case let .response(body) = outcome, let answer = try? JSONValue.parse(body),
              let result = answer["ReviewResult"]?.stringValue else {
            throw BenchError("\(runtime.name): review of message \(index % messages.count) failed: \(outcome.text.prefix(400))")
        }
        let content = answer["Content"]?.stringValue ?? ""
        let ok: Bool
        switch expect {
        case .allow: ok = result == "ALLOW" && content == messages[index % messages.count].content
        case .mask: ok = result == "ALLOW" && content.contains("*") && content != messages[index % messages.count].content
        case .deny: ok = result == "DENY" && answer["Attributes"]?["Reason"]?.stringValue?.contains("banned") == false
        case .banned: ok = result == "DENY" && answer["Attributes"]?["Reason"]?.stringValue?.contains("banned") == true
        }
        guard ok else { throw BenchError("\(runtime.name): message \(index % messages.count) should be \(expect.rawValue), answered \(answer.compactText.prefix(400))") }
        return answer.compactText
    }

    /// How many of the first `count` messages (cycling) are allowed by the rules, so looked up.
    static func lookups(_ count: Int) -> Int {
        (0..<count).filter { messages[$0 % messages.count].expect != .deny }.count
    }
}

/// Figures of the review bench.
struct ReviewResults {
    /// Cold starts over HTTPS, not throttled, and at the 128 MB CPU share: "A", "B".
    var plain: [String: [ColdSample]] = [:]
    var quota: [String: [ColdSample]] = [:]
    var quotaNote = ""
    /// Cold reviews at the 128 MB share whose ban lookup gave up (answered by the rules alone), by runtime.
    var lookupsGivenUp: [String: Int] = [:]
    /// Ours at the 256 MB share (the template's default `ReviewMemorySize`): cold reviews, and how many
    /// ban lookups gave up.
    var quota256: [ColdSample] = []
    var lookupsGivenUp256 = 0
    /// Reference, ours: a cold Stream Start over HTTPS (built-in roots), not throttled and at the share,
    /// alternating with the reviews: what the same runtime needs for one signed HTTPS call and no rules.
    var streamStartPlain: [ColdSample] = []
    var streamStartQuota: [ColdSample] = []
    /// Warm process CPU per review (µs): "A-bans", "B-bans" (with the ban lookup over HTTPS), "A-rules", "B-rules".
    var warmCPU: [String: [Double]] = [:]
    var warmCount = 0
    /// The runtime alone: A's process CPU per `test.echo` of the same review request (µs).
    var echoCPU: [Double] = []
    /// The protocol's floor: bench/floor/runtime_api_floor.c's process CPU per invocation (µs), same request.
    var floorCPU: [Double] = []
    /// The review handler alone, in the bench's own process (`ReviewBench.handlerCPU`): thread CPU per review (µs).
    var handlerCPU: [Double] = []
    /// Peer answers identical to ours, over the warm runs' messages.
    var parity = (same: 0, compared: 0, firstDifference: "")
}

extension Bench {
    private func reviewEnvironment(_ runtime: Runtime, banLookup: Bool) -> [String: String] {
        let trust = runtime.key == "A" ? ["IVS_CHAT_EVENTS_TEST_AWS_ROOTS": amazonRootsAndTestCA]
                                       : ["SSL_CERT_FILE": fullBundle, "AWS_CA_BUNDLE": fullBundle]
        return tlsStandIn.environment
            .merging(trust) { $1 }
            .merging(["AWS_ENDPOINT_URL_DYNAMODB": tlsStandIn.url, "AWS_DEFAULT_REGION": IVSStandIn.region]) { $1 }
            .merging(ReviewWorkload.environment(banLookup: banLookup)) { $1 }
            .merging(runtime.environment) { $1 }
    }

    /// One cold start with the first review queued before the process starts: process start → its answer.
    func coldReview(_ runtime: Runtime, quota: CPUQuota? = nil) throws -> ColdSample {
        let (sample, lookedUp) = try coldReviewAllowingGiveUp(runtime, quota: quota)
        guard lookedUp else { throw BenchError("\(runtime.name): the cold review's ban lookup gave up (judged by the rules alone)") }
        return sample
    }

    /// As `coldReview`, but a ban lookup that gave up within its time (`REVIEW_BAN_LOOKUP_MS`: the process
    /// says so, and the review is judged by the rules alone) is a result, not an error: `lookedUp` false.
    func coldReviewAllowingGiveUp(_ runtime: Runtime, quota: CPUQuota? = nil) throws -> (sample: ColdSample, lookedUp: Bool) {
        tlsStandIn.reset()
        let invocation = RuntimeAPIEmulator.Invocation(event: ReviewWorkload.event(0, sequence: 0))
        let function = try LocalFunction(handler: "messageReview", environment: reviewEnvironment(runtime, banLookup: true),
                                         command: (quota?.wrapper ?? []) + runtime.command, prepare: { $0.submit(invocation) })
        defer { function.stop() }
        let outcome = function.emulator.waitForOutcome(requestId: invocation.requestId, waitLimitSeconds: 120)
        let cpu = function.process.cpuNanoseconds ?? 0
        do { _ = try ReviewWorkload.check(outcome, index: 0, runtime: runtime) } catch {
            throw BenchError("\(error)\n" + function.process.lines.suffix(20).joined(separator: "\n"))
        }
        // (A lookup can give up after its request reached the stand-in: the process's warning says which.)
        let gaveUp = function.process.lines.contains { $0.contains("ban lookup failed") }
        guard tlsStandIn.requestCount(for: "GetItem") == 1 || (gaveUp && tlsStandIn.requestCount(for: "GetItem") == 0),
              tlsStandIn.rejectedSignatures == 0 else {
            throw BenchError("\(runtime.name): cold review made \(tlsStandIn.requestCount(for: "GetItem")) ban lookups (\(tlsStandIn.rejectedSignatures) badly signed), not 1\n"
                             + function.process.lines.suffix(20).joined(separator: "\n"))
        }
        return (try ColdSample(function, requestId: invocation.requestId, cpuNanoseconds: cpu, runtime: runtime), !gaveUp)
    }

    /// A warm process reviewing `warmup + count` messages (cycling through the workload); returns its CPU
    /// per timed review (µs) and the normalised answers of the first cycle of messages.
    func warmReview(_ runtime: Runtime, banLookup: Bool, warmup: Int, count: Int, command: [String]? = nil) throws -> (cpuMicroseconds: Double, answers: [String]) {
        tlsStandIn.reset()
        let function = try LocalFunction(handler: "messageReview", environment: reviewEnvironment(runtime, banLookup: banLookup),
                                         command: command ?? runtime.command)
        defer { function.stop() }
        var answers: [String] = []
        var cpuAtWarmupEnd: UInt64 = 0
        for i in 0..<(warmup + count) {
            if i == warmup { cpuAtWarmupEnd = function.process.cpuNanoseconds ?? 0 }
            let invocation = RuntimeAPIEmulator.Invocation(event: ReviewWorkload.event(i, sequence: i),
                                                           traceId: "Root=1-00000000-000000000000000000000000;Sampled=0")
            function.emulator.submit(invocation)
            let outcome = function.emulator.waitForOutcome(requestId: invocation.requestId, waitLimitSeconds: 60)
            let answer = try ReviewWorkload.check(outcome, index: i, runtime: runtime, banLookup: banLookup)
            if i < ReviewWorkload.messages.count { answers.append(answer) }
        }
        let cpu = Double((function.process.cpuNanoseconds ?? 0) - cpuAtWarmupEnd) / 1e3 / Double(max(count, 1))
        function.process.terminate()
        let expected = banLookup ? ReviewWorkload.lookups(warmup + count) : 0
        guard tlsStandIn.requestCount(for: "GetItem") == expected, tlsStandIn.rejectedSignatures == 0 else {
            throw BenchError("\(runtime.name): \(tlsStandIn.requestCount(for: "GetItem")) ban lookups (\(tlsStandIn.rejectedSignatures) badly signed), expected \(expected)")
        }
        return (cpu, answers)
    }
}

enum ReviewBench {
    struct Settings {
        var plainRuns = 10
        var quotaRuns = 20
        var warmup = 500
        var warmCount = 5_000
        var warmRounds = 2
    }

    /// `bench --review-cpu`: A alone, printed: cold CPU and wall (15 plain, 10 at the 128 MB share), warm
    /// CPU per review with and without the ban lookup (3 processes × 3,000), the runtime alone.
    static func quickFigures(bench: Bench, ours: Runtime, log: (String) -> Void) throws {
        storeBan(bench)
        func line(_ what: String, _ values: [Double], _ unit: String) {
            let s = Summary(values)
            print("\(what): median \(String(format: "%.2f", s.median)) \(unit) (\(String(format: "%.2f", s.min))–\(String(format: "%.2f", s.max))), \(values.count) runs")
        }
        _ = try bench.coldReview(ours)
        let plain = try (0..<15).map { _ in try bench.coldReview(ours) }
        line("cold review, CPU to the first answer", plain.map(\.cpuMs), "ms")
        line("cold review, start → first answer", plain.map(\.firstAnsweredMs), "ms")
        if case let .success(quota) = CPUQuota.make(percent: 128.0 / 1769.0 * 100) {
            let shared = try (0..<10).map { _ in Thread.sleep(forTimeInterval: 0.25); return try bench.coldReviewAllowingGiveUp(ours, quota: quota) }
            line("cold review at the 128 MB share, start → first answer", shared.map(\.sample.firstAnsweredMs), "ms")
            print("ban lookups that gave up at the 128 MB share: \(shared.filter { !$0.lookedUp }.count) of \(shared.count)")
        }
        if case let .success(quota) = CPUQuota.make(percent: 256.0 / 1769.0 * 100, name: "ivs-chat-events-bench-256") {
            let shared = try (0..<10).map { _ in Thread.sleep(forTimeInterval: 0.25); return try bench.coldReviewAllowingGiveUp(ours, quota: quota) }
            line("cold review at the 256 MB share, start → first answer", shared.map(\.sample.firstAnsweredMs), "ms")
            print("ban lookups that gave up at the 256 MB share: \(shared.filter { !$0.lookedUp }.count) of \(shared.count)")
        }
        for banLookup in [false, true] {
            let cpu = try (0..<3).map { _ in try bench.warmReview(ours, banLookup: banLookup, warmup: 500, count: 3_000).cpuMicroseconds }
            line("warm review CPU per message, " + (banLookup ? "rules + ban lookup" : "rules only"), cpu, "µs")
        }
        let echo = try (0..<3).map { _ in try bench.warm(ours, handler: "test.echo", event: ReviewWorkload.event(0, sequence: 0), warmup: 500, count: 3_000).cpuMicrosecondsPerInvocation }
        line("the runtime alone (test.echo), CPU per invocation", echo, "µs")
        line("the review handler alone, in process, thread CPU per review", try (0..<3).map { _ in try handlerCPU() }, "µs")
        if let floor = RuntimeAPIFloor.build(root: BuildProducts.packageRoot, log: log) {
            let cpu = try (0..<3).map { _ in try bench.warm(floor, handler: "test.echo", event: ReviewWorkload.event(0, sequence: 0), warmup: 500, count: 3_000).cpuMicrosecondsPerInvocation }
            line("the protocol's floor (bench/floor, C, raw socket), CPU per invocation", cpu, "µs")
        }
    }

    /// The banned user's item, for the ban lookups to find.
    static func storeBan(_ bench: Bench) {
        bench.tlsStandIn.setDynamoDBItem(table: ReviewWorkload.table, pk: "ban#\(Bench.room)#\(ReviewWorkload.bannedUser)", item: .object([
            ("pk", .object([("S", .string("ban#\(Bench.room)#\(ReviewWorkload.bannedUser)"))])),
            ("roomArn", .object([("S", .string(Bench.room))])), ("userId", .object([("S", .string(ReviewWorkload.bannedUser))])),
            ("bannedBy", .object([("S", .string("owner-1"))])), ("bannedAt", .object([("N", .string("1764460800"))])),
        ]))
    }

    static func run(bench: Bench, ours: Runtime, peer: Runtime, settings s: Settings, log: (String) -> Void) throws -> ReviewResults {
        var results = ReviewResults()
        storeBan(bench)
        log("review: cold starts over HTTPS with the ban lookup: 1 discarded + \(s.plainRuns) runs each, alternating A/B")
        for i in 0...s.plainRuns {
            for runtime in [ours, peer] {
                let sample = try bench.coldReview(runtime)
                if i > 0 { results.plain[runtime.key, default: []].append(sample) }
            }
            let reference = try bench.cold(ours, transport: .httpsBuiltInRoots)
            if i > 0 { results.streamStartPlain.append(reference) }
        }
        switch CPUQuota.make(percent: 128.0 / 1769.0 * 100) {
        case let .success(quota):
            results.quotaNote = "cgroup `\(quota.directory)`, CFS quota \(String(format: "%.1f", quota.percent)) % of one core (period 100 ms)"
            log("review: cold starts at the 128 MB CPU share (\(results.quotaNote)): \(s.quotaRuns) runs each, alternating A/B")
            for _ in 1...s.quotaRuns {
                for runtime in [ours, peer] {
                    // Start with the cgroup's quota untouched, as a new sandbox would.
                    Thread.sleep(forTimeInterval: 0.25)
                    let (sample, lookedUp) = try bench.coldReviewAllowingGiveUp(runtime, quota: quota)
                    results.quota[runtime.key, default: []].append(sample)
                    if !lookedUp { results.lookupsGivenUp[runtime.key, default: 0] += 1 }
                }
                Thread.sleep(forTimeInterval: 0.25)
                results.streamStartQuota.append(try bench.cold(ours, transport: .httpsBuiltInRoots, quota: quota))
            }
        case let .failure(why):
            results.quotaNote = "not measured: \(why)"
            log("review: 128 MB CPU share \(results.quotaNote)")
        }
        if case let .success(quota) = CPUQuota.make(percent: 256.0 / 1769.0 * 100, name: "ivs-chat-events-bench-256") {
            log("review: cold starts of ours at the 256 MB CPU share: \(s.quotaRuns) runs")
            for _ in 1...s.quotaRuns {
                Thread.sleep(forTimeInterval: 0.25)
                let (sample, lookedUp) = try bench.coldReviewAllowingGiveUp(ours, quota: quota)
                results.quota256.append(sample)
                if !lookedUp { results.lookupsGivenUp256 += 1 }
            }
        }
        results.warmCount = s.warmCount
        var reference: [String] = []
        for round in 1...s.warmRounds {
            for banLookup in [true, false] {
                for runtime in [ours, peer] {
                    let key = runtime.key + (banLookup ? "-bans" : "-rules")
                    log("review: warm \(key), round \(round): \(s.warmup) + \(s.warmCount) reviews")
                    let (cpu, answers) = try bench.warmReview(runtime, banLookup: banLookup, warmup: s.warmup, count: s.warmCount)
                    results.warmCPU[key, default: []].append(cpu)
                    if runtime.key == "A" { reference = answers; continue }
                    for (k, answer) in answers.enumerated() {
                        results.parity.compared += 1
                        if answer == reference[k] { results.parity.same += 1 } else if results.parity.firstDifference.isEmpty {
                            results.parity.firstDifference = "message \(k): ours \(reference[k]), peer \(answer)"
                        }
                    }
                }
            }
        }
        log("review: the runtime alone (test.echo of a review request): \(s.warmup) + \(s.warmCount) invocations")
        for _ in 1...s.warmRounds {
            results.echoCPU.append(try bench.warm(ours, handler: "test.echo", event: ReviewWorkload.event(0, sequence: 0),
                                                  warmup: s.warmup, count: s.warmCount).cpuMicrosecondsPerInvocation)
        }
        log("review: the review handler alone, in process: 3 × 20,000 reviews")
        results.handlerCPU = try (0..<3).map { _ in try handlerCPU() }
        if let floor = RuntimeAPIFloor.build(root: BuildProducts.packageRoot, log: log) {
            log("review: the protocol's floor (bench/floor/runtime_api_floor.c): \(s.warmup) + \(s.warmCount) invocations")
            for _ in 1...s.warmRounds {
                results.floorCPU.append(try bench.warm(floor, handler: "test.echo", event: ReviewWorkload.event(0, sequence: 0),
                                                       warmup: s.warmup, count: s.warmCount).cpuMicrosecondsPerInvocation)
            }
        }
        return results
    }
}

extension ReviewBench {
    /// The review handler alone, in this process, rules only: the workload's messages through
    /// `MessageReviewHandler.review` and the answer serialised, its log line formatted but not written;
    /// thread CPU per review (µs) over `count` reviews after 1,000 untimed. No Runtime API, no process.
    static func handlerCPU(count: Int = 20_000) throws -> Double {
        let environment = ReviewWorkload.environment(banLookup: false)
        let handler = MessageReviewHandler(rules: try ReviewRules.fromEnvironment(lookup: { environment[$0] }))
        let payloads = (0..<ReviewWorkload.messages.count).map { ReviewWorkload.event($0, sequence: $0) }
        let sink = Log.sink
        Log.sink = { _ in }
        defer { Log.sink = sink }
        func threadNanoseconds() -> UInt64 {
            var t = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
            return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
        }
        var bytes = 0
        for i in 0..<1_000 { bytes &+= handler.review(payloads[i % payloads.count], deadline: .max).serialized().count }
        let start = threadNanoseconds()
        for i in 0..<count { bytes &+= handler.review(payloads[i % payloads.count], deadline: .max).serialized().count }
        let elapsed = threadNanoseconds() - start
        guard bytes > 0 else { throw BenchError("the in-process reviews answered nothing") }
        return Double(elapsed) / 1e3 / Double(count)
    }
}

/// bench/floor/runtime_api_floor.c, compiled: GET /next and POST /response on one raw socket, echoing the event.
enum RuntimeAPIFloor {
    static func build(root: String, log: (String) -> Void) -> Runtime? {
        let binary = root + "/.build/bench/runtime-api-floor"
        try? FileManager.default.createDirectory(atPath: root + "/.build/bench", withIntermediateDirectories: true)
        let compiled = Shell.run(["cc", "-O2", "-o", binary, root + "/bench/floor/runtime_api_floor.c"], echo: true)
        guard compiled.status == 0 else { log("bench: cc failed for bench/floor/runtime_api_floor.c: the floor is not measured"); return nil }
        return Runtime(key: "F", name: "Runtime API floor (C, raw socket)", command: [binary], environment: [:])
    }
}

/// The review section of BENCHMARKS.md and the console.
struct ReviewReport {
    static let begin = "<!-- review:begin (written by `make bench` / `make bench-review`; edit outside these markers) -->"
    static let beginPrefix = "<!-- review:begin"
    static let end = "<!-- review:end -->"

    let results: ReviewResults
    let settings: ReviewBench.Settings
    let machine: Machine
    let ours: Runtime

    private func summary(_ samples: [ColdSample]?) -> Summary { Summary((samples ?? []).map(\.firstAnsweredMs)) }
    private func cpu(_ samples: [ColdSample]?) -> Summary { Summary((samples ?? []).map(\.cpuMs)) }
    private func within200(_ samples: [ColdSample]?) -> (Int, Int) {
        let s = samples ?? []
        return (s.filter { $0.firstAnsweredMs <= 200 }.count, s.count)
    }
    private func ms(_ s: Summary) -> String { s.isEmpty ? "—" : "\(short(s.median)) ms (\(short(s.min))–\(short(s.max)))" }
    private func ratio(_ a: Summary, _ b: Summary) -> String { a.isEmpty || b.isEmpty ? "—" : short(b.median / a.median) + "×" }
    private func share(_ c: (Int, Int)) -> String { c.1 == 0 ? "—" : "\(c.0) / \(c.1) (\(fixed(Double(c.0) * 100 / Double(c.1), 0)) %)" }
    private func warm(_ key: String) -> Summary { Summary(results.warmCPU[key] ?? []) }
    private func us(_ s: Summary) -> String {
        s.isEmpty ? "—" : s.count == 1 ? "\(short(s.median)) µs" : "\(short(s.median)) µs (\(short(s.min))–\(short(s.max)))"
    }

    var table: String {
        let r = results
        let rows: [[String]] = [
            ["Figure", "A: bootstrap (Swift)", "B: Python peer (awslambdaric + boto3)", "B/A", "Target"],
            ["cold start → first review answered, HTTPS, not throttled (ms, median (min–max), \(summary(r.plain["A"]).count) runs)",
             ms(summary(r.plain["A"])), ms(summary(r.plain["B"])), ratio(summary(r.plain["A"]), summary(r.plain["B"])), "—"],
            ["CPU from process start to that answer (ms)", ms(cpu(r.plain["A"])), ms(cpu(r.plain["B"])), ratio(cpu(r.plain["A"]), cpu(r.plain["B"])), "—"],
            ["cold start → first review answered at the 128 MB CPU share (ms, \(summary(r.quota["A"]).count) runs)",
             ms(summary(r.quota["A"])), ms(summary(r.quota["B"])), ratio(summary(r.quota["A"]), summary(r.quota["B"])), "A median ≤ 40 ms"],
            ["reference, ours: cold Stream Start over HTTPS (one signed SendEvent, no rules): answered not throttled / CPU / at the 128 MB CPU share (ms)",
             "\(ms(Summary(r.streamStartPlain.map(\.firstAnsweredMs)))) / \(ms(Summary(r.streamStartPlain.map(\.cpuMs)))) / \(ms(Summary(r.streamStartQuota.map(\.firstAnsweredMs))))",
             "—", "—", "—"],
            ["cold-start reviews answered within 200 ms at the 128 MB CPU share", share(within200(r.quota["A"])), share(within200(r.quota["B"])), "—", "A: every one of 20"],
            ["ours at the 256 MB CPU share (14.5 % of one core; the template's default `ReviewMemorySize`): cold start → first review answered (ms, \(r.quota256.count) runs); ban lookups that gave up",
             r.quota256.isEmpty ? "—" : "\(ms(Summary(r.quota256.map(\.firstAnsweredMs)))); \(r.lookupsGivenUp256) of \(r.quota256.count)", "—", "—", "—"],
            ["cold-start reviews answered within 200 ms, not throttled", share(within200(r.plain["A"])), share(within200(r.plain["B"])), "—", "—"],
            ["cold-start reviews at the 128 MB CPU share whose ban lookup gave up (`REVIEW_BAN_LOOKUP_MS` = 120: judged by the rules alone)",
             "\(r.lookupsGivenUp["A"] ?? 0) of \(summary(r.quota["A"]).count)", "\(r.lookupsGivenUp["B"] ?? 0) of \(summary(r.quota["B"]).count)", "—", "—"],
            ["warm review, process CPU per message, rules + ban lookup over HTTPS (µs, \(r.warmCount) messages × \(warm("A-bans").count) processes)",
             us(warm("A-bans")), us(warm("B-bans")), ratio(warm("A-bans"), warm("B-bans")), "—"],
            ["warm review, process CPU per message, rules only (no `STATE_TABLE`) (µs)",
             us(warm("A-rules")), us(warm("B-rules")), ratio(warm("A-rules"), warm("B-rules")), "A ≤ 150 µs"],
            ["the runtime alone: `test.echo` of the same request, process CPU per invocation (µs; ours)", us(Summary(r.echoCPU)), "—", "—", "—"],
            ["the review handler alone, in the bench's process (rules only: parse, rules, answer serialised, log line formatted; no Runtime API): thread CPU per review (µs, 3 × 20,000)",
             us(Summary(r.handlerCPU)), "—", "—", "—"],
            ["the protocol's floor on this machine: GET /next + POST /response on one blocking socket, no library, no log (bench/floor, C), process CPU per invocation (µs)",
             us(Summary(r.floorCPU)), "—", "—", "—"],
        ]
        return rows.enumerated().map { i, row in
            "| " + row.joined(separator: " | ") + " |" + (i == 0 ? "\n|" + String(repeating: " --- |", count: row.count) : "")
        }.joined(separator: "\n")
    }

    var verdicts: [String] {
        let quotaA = summary(results.quota["A"])
        let (inA, nA) = within200(results.quota["A"])
        let (inB, nB) = within200(results.quota["B"])
        func verdict(_ ok: Bool, _ text: String) -> String { (ok ? "PASS  " : "FAIL  ") + text }
        var lines = [
            verdict(!quotaA.isEmpty && quotaA.median <= 40, "cold start to the first review answered at the 128 MB CPU share: median ≤ 40 ms (\(quotaA.isEmpty ? "not measured" : short(quotaA.median) + " ms"))"),
            verdict(nA >= 20 && inA == nA, "every one of 20 cold starts at the 128 MB CPU share answered within 200 ms (\(inA) of \(nA))"),
            verdict(!warm("A-rules").isEmpty && warm("A-rules").max <= 150, "warm review ≤ 150 µs CPU per message with 1,000 terms (rules only: \(short(warm("A-rules").max)) µs at most; with the ban lookup over HTTPS: \(short(warm("A-bans").median)) µs)"),
            "INFO  the review handler alone (in process, no Runtime API): \(Summary(results.handlerCPU).isEmpty ? "not measured" : short(Summary(results.handlerCPU).median) + " µs") per review with 1,000 terms",
            "INFO  the runtime alone (`test.echo` of the same request) costs \(Summary(results.echoCPU).isEmpty ? "—" : short(Summary(results.echoCPU).median) + " µs") per invocation, against a floor here of \(results.floorCPU.isEmpty ? "—" : short(Summary(results.floorCPU).median) + " µs") for the Runtime API's two exchanges without an HTTP library or logging (bench/floor)",
            "INFO  the peer's cold-start reviews within 200 ms at the 128 MB CPU share: \(inB) of \(nB)",
        ]
        let p = results.parity
        lines.append((p.same == p.compared ? "PASS  " : "FAIL  ") + "the peer's answers identical to ours (\(p.same) of \(p.compared) compared)" + (p.firstDifference.isEmpty ? "" : ": \(p.firstDifference)"))
        return lines
    }

    func section(root: String) -> String {
        let s = settings
        return ([Self.begin, ""] + machine.lines.map { "- " + $0 } + [
            "- A runs `\(ours.command[0].replacingOccurrences(of: root + "/", with: ""))` with `_HANDLER=messageReview`; B runs `.venv-bench/bin/python -m awslambdaric message_review.handler` (bench/peer/message_review.py).",
            "- Runs: \(s.plainRuns) cold starts each not throttled (after one discarded pair) and \(s.quotaRuns) each at the 128 MB CPU share (\(results.quotaNote)), alternating A/B; warm: \(s.warmRounds) processes each per configuration, \(s.warmup) reviews untimed then \(s.warmCount) measured.",
            "",
            table,
            "",
            "Against the targets (issue 19):",
            "",
        ] + verdicts.map { "- " + $0 } + ["", Self.end]).joined(separator: "\n")
    }

    /// Replaces the section between the review markers; without markers, puts it before `## Crowd` (or at the end).
    func updateBenchmarksFile(_ path: String, root: String) {
        var text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? "# Benchmarks\n"
        let measured = section(root: root)
        if let b = text.range(of: Self.beginPrefix), let e = text.range(of: Self.end), b.upperBound <= e.lowerBound {
            text.replaceSubrange(b.lowerBound..<e.upperBound, with: measured)
        } else if let crowd = text.range(of: "\n## Crowd") {
            text.insert(contentsOf: "\n" + measured + "\n", at: crowd.lowerBound)
        } else {
            text += "\n" + measured + "\n"
        }
        try? text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
