// `make bench` (issue #7, with the figures of #2/#3/#4): the real `bootstrap` (A) against a Python
// peer doing the same `streamStarted` job with awslambdaric + boto3 (B), alternating A/B runs under
// the same Runtime API emulator, IVS stand-in and events. Prints a table, rewrites the measured part
// of BENCHMARKS.md, and draws bench/latency.png (matplotlib, from the bench virtualenv).
//
//   .build/release/bench [--quick] [--no-write] [--cold-runs N] [--warm-rounds N] [--warm-invocations N]
//                        [--ours BINARY] [--warm-cpu] [--profile-cold TRANSPORT OUT] [--profile-warm TRANSPORT OUT]
//                        [--review-only | --no-review] [--profile-review-warm OUT] [--profile-review-cold OUT] [--review-cpu]
// The message review bench (issue 19, bench/runner/Review.swift) runs after the rest, or alone with --review-only.
import Foundation
import LocalHarness

// MARK: - Options

struct Options {
    var coldRuns = 15
    var warmRounds = 2
    /// Invocations per warm process (the first `warmup` are not timed): 10,000 gives the leak figure too.
    var warmInvocations = 10_000
    var warmup = 500
    var echoInvocations = 10_000
    /// Cold starts over HTTPS per runtime and trust mode, and under the 128 MB CPU quota.
    var tlsColdRuns = 10
    var quotaRuns = 5
    /// Invocations of a warm process over HTTPS (CPU per invocation).
    var tlsWarmInvocations = 3_000
    /// Stream Starts per concurrency run.
    var concurrencyInvocations = 400
    var write = true
    /// `--profile-cold TRANSPORT OUT`: one cold Stream Start of A under callgrind, then exit.
    var profileCold: (Transport, String)?
    /// `--profile-warm TRANSPORT OUT`: a warm process (500 Stream Starts) under callgrind, then exit.
    var profileWarm: (Transport, String)?
    /// `--ours BINARY`: measure BINARY (packaged) as A instead of this build's bootstrap (e.g. an older build).
    var oursBinary: String?
    /// `--warm-cpu`: print A's process CPU per warm Stream Start over plain HTTP and HTTPS (full bundle),
    /// then exit: with `--ours`, before/after comparisons.
    var warmCPUOnly = false
    /// The message review bench (issue 19): `--review-only` runs it alone, `--no-review` skips it.
    var review = ReviewBench.Settings()
    var reviewOnly = false
    var skipReview = false
    /// `--profile-review-warm OUT`: warm review processes of A (rules only, 1,000 terms) under callgrind, then exit.
    var profileReviewWarm: String?
    /// `--profile-review-cold OUT`: one cold review of A (with the ban lookup over HTTPS) under callgrind, then exit:
    /// the package with the unstripped binary, so the profile has symbols.
    var profileReviewCold: String?
    /// `--review-cpu`: A's review figures alone (cold CPU and wall, plain and at the 128 MB share; warm CPU per
    /// review; the runtime alone), printed, not written: the quick loop for before/after comparisons.
    var reviewCPUOnly = false
    var root = FileManager.default.fileExists(atPath: "Package.swift")
        ? FileManager.default.currentDirectoryPath : BuildProducts.packageRoot

    init(_ arguments: [String]) {
        var args = arguments.makeIterator()
        while let arg = args.next() {
            switch arg {
            case "--quick": coldRuns = 3; warmRounds = 1; warmInvocations = 1_500; warmup = 200; echoInvocations = 2_000
                tlsColdRuns = 3; quotaRuns = 2; tlsWarmInvocations = 1_000; concurrencyInvocations = 160
                review = ReviewBench.Settings(plainRuns: 3, quotaRuns: 3, warmup: 200, warmCount: 1_000, warmRounds: 1)
            case "--review-only": reviewOnly = true
            case "--no-review": skipReview = true
            case "--profile-review-warm":
                guard let out = args.next() else { print("usage: bench --profile-review-warm OUT.callgrind"); exit(2) }
                profileReviewWarm = out
            case "--profile-review-cold":
                guard let out = args.next() else { print("usage: bench --profile-review-cold OUT.callgrind"); exit(2) }
                profileReviewCold = out
            case "--review-cpu": reviewCPUOnly = true
            case "--no-write": write = false
            case "--profile-cold":
                guard let t = args.next().flatMap(Transport.init(rawValue:)), let out = args.next() else {
                    print("usage: bench --profile-cold http|httpsBuiltInRoots|httpsFullBundle OUT.callgrind"); exit(2)
                }
                profileCold = (t, out)
            case "--ours":
                guard let binary = args.next() else { print("usage: bench --ours BINARY"); exit(2) }
                oursBinary = binary
            case "--warm-cpu": warmCPUOnly = true
            case "--profile-warm":
                guard let t = args.next().flatMap(Transport.init(rawValue:)), let out = args.next() else {
                    print("usage: bench --profile-warm http|httpsBuiltInRoots|httpsFullBundle OUT.callgrind"); exit(2)
                }
                profileWarm = (t, out)
            case "--cold-runs": coldRuns = Int(args.next() ?? "") ?? coldRuns
            case "--warm-rounds": warmRounds = Int(args.next() ?? "") ?? warmRounds
            case "--warm-invocations": warmInvocations = Int(args.next() ?? "") ?? warmInvocations
            default:
                print("usage: bench [--quick] [--no-write] [--cold-runs N] [--warm-rounds N] [--warm-invocations N] [--ours BINARY] [--warm-cpu] [--profile-cold|--profile-warm TRANSPORT OUT] [--review-only|--no-review] [--profile-review-warm OUT] [--profile-review-cold OUT] [--review-cpu]")
                exit(arg == "--help" ? 0 : 2)
            }
        }
    }
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
let root = options.root
func log(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }

let python = root + "/.venv-bench/bin/python"
guard FileManager.default.isExecutableFile(atPath: python) else {
    log("bench: no \(python): run `make bench` (it makes the virtualenv from bench/requirements.txt)")
    exit(1)
}
// A: the deployable package, as scripts/package-lambda.sh builds it (its own release build, libraries linked
// in statically); with --ours BINARY, that binary packaged. `built`: the unstripped binary (profiles).
let (built, package): (String, String?) = {
    if let binary = options.oursBinary { return (binary, Packaging.make(root: root, bootstrap: binary)) }
    if let made = Packaging.build(root: root) { return made }
    log("bench: scripts/package-lambda.sh failed (its output is above): A is what deploys, so nothing is measured")
    exit(1)
}()
// The package's OpenSSL looks for its configuration in Debian's OPENSSLDIR (/usr/lib/ssl), which Amazon
// Linux does not have, so on Lambda it loads none; this machine has one. OPENSSL_CONF names a file that
// does not exist, so A starts here as it starts there.
// BENCH_ENV="NAME=value NAME=value": more environment for A, for experiments (e.g. AWS_LAMBDA_LOG_LEVEL=WARN).
let experiment = (ProcessInfo.processInfo.environment["BENCH_ENV"] ?? "").split(separator: " ").reduce(into: [String: String]()) {
    let pair = $1.split(separator: "=", maxSplits: 1)
    if pair.count == 2 { $0[String(pair[0])] = String(pair[1]) }
}
let ours = Runtime(key: "A", name: package == nil ? "bootstrap (Swift)" : "bootstrap (Swift, packaged)",
                   command: [package.map { $0 + "/bootstrap" } ?? built],
                   environment: (package.map { ["OPENSSL_CONF": $0 + "/lib/ssl/openssl.cnf"] } ?? [:]).merging(experiment) { $1 })
let peer = Runtime(key: "B", name: "Python peer (awslambdaric + boto3)",
                   command: [python, "-m", "awslambdaric", "stream_started.handler"],
                   environment: ["PYTHONPATH": root + "/bench/peer"])
let reviewPeer = Runtime(key: "B", name: "Python peer reviewer (awslambdaric + boto3)",
                         command: [python, "-m", "awslambdaric", "message_review.handler"],
                         environment: ["PYTHONPATH": root + "/bench/peer"])

/// The message review bench: measures, prints, writes its section of BENCHMARKS.md.
func runReviewBench(_ bench: Bench) {
    let results = measure("review") { try ReviewBench.run(bench: bench, ours: ours, peer: reviewPeer, settings: options.review, log: log) }
    let report = ReviewReport(results: results, settings: options.review, machine: Machine.describe(root: root, python: python), ours: ours)
    print(report.table)
    for line in report.verdicts { print(line) }
    if options.write {
        report.updateBenchmarksFile(root + "/BENCHMARKS.md", root: root)
        log("wrote the review section of BENCHMARKS.md")
    }
}

// MARK: - Measurements

let bench: Bench
do {
    bench = try Bench(streamStartEvent: Array(try Data(contentsOf: URL(fileURLWithPath: root + "/events/stream-start.json"))))
} catch {
    log("bench: \(error)"); exit(1)
}

func measure<T>(_ what: String, _ body: () throws -> T) -> T {
    do { return try body() } catch { log("bench: \(what): \(error)"); exit(1) }
}

// Profiles: instructions, not seconds (callgrind counts the same for the same binary and inputs).
func callgrind(_ out: String, _ extra: [String] = []) -> Runtime {
    Runtime(key: "A", name: ours.name, command: ["/usr/bin/valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + extra + ours.command,
            environment: ours.environment)
}
if let (transport, out) = options.profileCold {
    let sample = measure("profile") { try bench.cold(callgrind(out), transport: transport) }
    log("profiled one cold start over \(transport.rawValue) (\(sample.firstAnsweredMs) ms under callgrind): callgrind_annotate \(out)")
    bench.standIn.stop(); bench.tlsStandIn.stop(); bench.pki.remove()
    exit(0)
}
if options.warmCPUOnly {
    for transport in [Transport.http, .httpsFullBundle] {
        let samples = (0..<3).map { _ in
            measure("warm CPU") { try bench.warm(ours, transport: transport, warmup: 500, count: 3000).cpuMicrosecondsPerInvocation }
        }
        print("\(built) \(transport.rawValue): process CPU per warm Stream Start \(samples.map { String(format: "%.1f", $0) }.joined(separator: ", ")) µs (3 processes × 3000)")
    }
    bench.standIn.stop(); bench.tlsStandIn.stop(); bench.pki.remove()
    exit(0)
}
if let (transport, out) = options.profileWarm {
    // Instrumentation starts off; the bench process cannot toggle it, so the profile covers start-up
    // too: compare two runs of different lengths (`--profile-warm` does 100 and 600) to get per-invocation counts.
    for count in [100, 600] {
        _ = measure("profile") { try bench.warm(callgrind("\(out).\(count)"), transport: transport, warmup: 0, count: count) }
    }
    log("profiled warm processes over \(transport.rawValue): \(out).100 and \(out).600; per invocation = (600 − 100) / 500")
    bench.standIn.stop(); bench.tlsStandIn.stop(); bench.pki.remove()
    exit(0)
}

/// BENCH_PROFILER: another profiler's command line for the review profiles, OUT standing for the output file
/// (e.g. `/usr/bin/perf record -e cpu-clock -g -o OUT --`).
func profilerCommand(_ out: String) -> [String]? {
    ProcessInfo.processInfo.environment["BENCH_PROFILER"].map { $0.split(separator: " ").map { $0 == "OUT" ? out : String($0) } }
}
if let out = options.profileReviewWarm {
    // As --profile-warm: processes of 100 and 600 reviews; per review = (600 − 100) / 500. The built
    // (unstripped) bootstrap, so the profile has symbols.
    // BENCH_PROFILER (as for --profile-review-cold): one process of 5,000 reviews under that profiler instead.
    if let profiler = profilerCommand(out) {
        _ = measure("profile review") { try bench.warmReview(ours, banLookup: false, warmup: 0, count: 5_000, command: profiler + [built]) }
        log("profiled a warm review process (rules only, 5,000 reviews): \(out)")
        bench.standIn.stop(); bench.tlsStandIn.stop(); bench.pki.remove()
        exit(0)
    }
    for count in [100, 600] {
        let command = ["/usr/bin/valgrind", "--tool=callgrind", "--callgrind-out-file=\(out).\(count)", built]
        _ = measure("profile review") { try bench.warmReview(ours, banLookup: false, warmup: 0, count: count, command: command) }
    }
    log("profiled warm review processes (rules only): \(out).100 and \(out).600; per review = (600 − 100) / 500")
    bench.standIn.stop(); bench.tlsStandIn.stop(); bench.pki.remove()
    exit(0)
}
if let out = options.profileReviewCold {
    // The package's layout (its loader and libraries), with the unstripped binary beside the stripped one.
    // Under callgrind the TLS handshake outlasts REVIEW_BAN_LOOKUP_MS (at most 180): the lookup then gives up
    // and the bench says so; profile a binary built with a wider `MessageReviewHandler.banLookupRange`.
    var command = [built]
    if let package {
        let unstripped = package + "/bootstrap.symbols"
        try? FileManager.default.removeItem(atPath: unstripped)
        measure("copy") { try FileManager.default.copyItem(atPath: built, toPath: unstripped) }
        let interpreter = Shell.run(["patchelf", "--print-interpreter", package + "/bootstrap"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        Shell.run(["patchelf", "--force-rpath", "--set-rpath", package + "/lib", "--set-interpreter", interpreter, unstripped])
        command = [unstripped]
    }
    let profiler = profilerCommand(out) ?? ["/usr/bin/valgrind", "--tool=callgrind", "--callgrind-out-file=" + out]
    let runtime = Runtime(key: "A", name: ours.name, command: profiler + command,
                          environment: ours.environment.merging(["REVIEW_BAN_LOOKUP_MS": ProcessInfo.processInfo.environment["BENCH_BAN_LOOKUP_MS"] ?? "180"]) { $1 })
    let (sample, lookedUp) = measure("profile review") { try bench.coldReviewAllowingGiveUp(runtime) }
    log("profiled one cold review (\(sample.firstAnsweredMs) ms under the profiler\(lookedUp ? "" : "; its ban lookup gave up")): \(out)")
    bench.standIn.stop(); bench.tlsStandIn.stop(); bench.pki.remove()
    exit(0)
}
if options.reviewCPUOnly {
    measure("review CPU") { try ReviewBench.quickFigures(bench: bench, ours: ours, log: log) }
    bench.standIn.stop(); bench.tlsStandIn.stop(); bench.pki.remove()
    exit(0)
}
if options.reviewOnly {
    runReviewBench(bench)
    bench.standIn.stop(); bench.tlsStandIn.stop(); bench.pki.remove()
    exit(0)
}

// Cold starts, alternating A, B; one discarded pair first (page cache, the peer's .pyc files).
log("cold starts: 1 discarded + \(options.coldRuns) runs each, alternating A/B")
var cold: [String: [ColdSample]] = ["A": [], "B": []]
for i in 0...options.coldRuns {
    for runtime in [ours, peer] {
        let sample = measure("cold \(runtime.name)") { try bench.cold(runtime) }
        if i > 0 { cold[runtime.key]!.append(sample) }
    }
}

// Cold starts over HTTPS (issue #14), alternating: A with its built-in roots, A with the full bundle, B
// with the full bundle. Then the same under a 128 MB function's CPU share.
let tlsRuns: [(key: String, runtime: Runtime, transport: Transport)] = [
    ("A-roots", ours, .httpsBuiltInRoots), ("A-bundle", ours, .httpsFullBundle), ("B", peer, .httpsFullBundle),
]
log("cold starts over HTTPS: 1 discarded + \(options.tlsColdRuns) runs each of \(tlsRuns.map(\.key).joined(separator: ", "))")
var tlsCold: [String: [ColdSample]] = [:]
for i in 0...options.tlsColdRuns {
    for run in tlsRuns {
        let sample = measure("cold HTTPS \(run.key)") { try bench.cold(run.runtime, transport: run.transport) }
        if i > 0 { tlsCold[run.key, default: []].append(sample) }
    }
}
var quotaCold: [String: [ColdSample]] = [:]
var quotaNote: String
switch CPUQuota.make(percent: 128.0 / 1769.0 * 100) {
case let .success(quota):
    quotaNote = "cgroup `\(quota.directory)`, CFS quota \(String(format: "%.1f", quota.percent)) % of one core (period 100 ms)"
    log("cold starts over HTTPS under \(quotaNote): \(options.quotaRuns) runs each")
    for _ in 1...options.quotaRuns {
        for run in tlsRuns {
            // A cold start begins with the cgroup's quota untouched, as a new sandbox would: let what ran
            // before in it (a process ending) fall two periods behind.
            Thread.sleep(forTimeInterval: 0.25)
            quotaCold[run.key, default: []].append(measure("cold HTTPS under quota \(run.key)") {
                try bench.cold(run.runtime, transport: run.transport, quota: quota)
            })
        }
    }
case let .failure(why):
    quotaNote = "not measured: \(why)"
    log("128 MB CPU share \(quotaNote)")
}

// Warm Stream Start over HTTPS: the processes' own CPU per invocation.
var tlsWarm: [String: WarmSample] = [:]
for run in [tlsRuns[0], tlsRuns[2]] {
    log("warm Stream Start over HTTPS: \(run.key), \(options.tlsWarmInvocations) invocations")
    tlsWarm[run.key] = measure("warm HTTPS \(run.key)") {
        try bench.warm(run.runtime, transport: run.transport, warmup: options.warmup, count: options.tlsWarmInvocations - options.warmup)
    }
}

// Lambda Managed Instances: throughput with 1 and 8 workers against a stand-in that takes 20 ms per SendEvent.
log("concurrency: 1 and 8 workers, \(options.concurrencyInvocations) Stream Starts each, 20 ms per SendEvent")
let concurrency = [1, 8].map { n in
    measure("concurrency \(n)") { try bench.concurrency(ours, workers: n, invocations: options.concurrencyInvocations, delayMilliseconds: 20) }
}

// Warm Stream Start, alternating A, B processes; each does `warmInvocations` (RSS sampled).
let checkpoints = [options.warmup, 1_000, options.warmInvocations].filter { $0 <= options.warmInvocations }
var warm: [String: [WarmSample]] = ["A": [], "B": []]
for round in 1...options.warmRounds {
    for runtime in [ours, peer] {
        log("warm Stream Start, round \(round): \(runtime.name), \(options.warmInvocations) invocations")
        warm[runtime.key]!.append(measure("warm \(runtime.name)") {
            try bench.warm(runtime, warmup: options.warmup, count: options.warmInvocations - options.warmup, rssCheckpoints: checkpoints)
        })
    }
}

// Runtime overhead: `test.echo` (ours only), /next answered → /response received.
log("runtime overhead: test.echo, \(options.echoInvocations) invocations")
let echo = measure("echo") { try bench.warm(ours, handler: "test.echo", warmup: options.warmup, count: options.echoInvocations) }

// Warm invite: the `multihostInvite` handler (branch `invite`), when this build has it.
let invite = Invite.measure(bench: bench, runtime: ours, warmup: options.warmup, count: 2_000)
let routes = MultihostRoutes.measure(bench: bench, runtime: ours, warmup: 100, count: options.warmInvocations >= 10_000 ? 1_000 : 300)

// Deployment sizes.
log("deployment sizes")
let sizes = Sizes.measure(root: root, bootstrap: built, package: package, python: python)

// MARK: - Report

let report = Report(options: options, cold: cold, warm: warm, echo: echo, invite: invite, sizes: sizes,
                    tlsCold: tlsCold, quotaCold: quotaCold, quotaNote: quotaNote, tlsWarm: tlsWarm, concurrency: concurrency, routes: routes,
                    machine: Machine.describe(root: root, python: python))
print(report.table)
for line in report.verdicts { print(line) }
if options.write {
    report.writeResults(to: root + "/.build/bench/results.json")
    report.updateBenchmarksFile(root + "/BENCHMARKS.md")
    Shell.run([python, root + "/bench/plot.py", root + "/.build/bench/results.json", root + "/bench/latency.png"], echo: true)
    log("wrote BENCHMARKS.md and bench/latency.png")
}
if !options.skipReview { runReviewBench(bench) }
bench.standIn.stop()
bench.tlsStandIn.stop()
bench.pki.remove()
