// crowd: `make crowd`. A crowd of simulated viewers against the real `bootstrap`, with the IVS
// stand-in enforcing AWS's account-wide API rates at a scale a 2-core machine can run. Prints a
// table and writes it into BENCHMARKS.md (between the crowd markers).
import Foundation
import LocalHarness

var settings = CrowdWorld.Settings()
var write = true
var args = CommandLine.arguments.dropFirst()
@MainActor func number(_ flag: String) -> Double {
    guard let v = args.popFirst().flatMap(Double.init) else { FileHandle.standardError.write(Data("crowd: \(flag) takes a number\n".utf8)); exit(64) }
    return v
}
while let arg = args.popFirst() {
    switch arg {
    case "--scale": settings.scale = number(arg)
    case "--viewers": settings.viewers = Int(number(arg))
    case "--channels": settings.channels = Int(number(arg))
    case "--api-instances": settings.apiInstances = Int(number(arg))
    case "--stream-instances": settings.streamInstances = Int(number(arg))
    case "--no-write": write = false
    default:
        print("usage: crowd [--scale 0.05] [--viewers 300] [--channels 40] [--api-instances 6] [--stream-instances 6] [--no-write]")
        exit(arg == "-h" || arg == "--help" ? 0 : 64)
    }
}

func say(_ text: String) { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }

let world: CrowdWorld
do { world = try CrowdWorld(settings: settings) } catch {
    FileHandle.standardError.write(Data("crowd: could not start: \(error)\n".utf8))
    exit(2)
}
say("crowd: \(settings.viewers) viewers, scale \(settings.scale) (CreateChatToken \(world.chatTokenRate) /s: at least \(Double(settings.viewers) / world.chatTokenRate) s to connect them all)")
let run = CrowdRun(world: world, log: say)
run.runAll()
world.stop()

let cores = ProcessInfo.processInfo.activeProcessorCount
let memory = ProcessInfo.processInfo.physicalMemory / (1 << 30)
let machine = "Measured \(ISO8601DateFormatter().string(from: Date()).prefix(10)) on \(cores) cores, \(memory) GiB (`make crowd`)."
let table = CrowdReport.markdown(run.results, world: world, machine: machine)
say("\n" + table)
if write {
    let path = BuildProducts.packageRoot + "/BENCHMARKS.md"
    var text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? "# Benchmarks\n"
    let begin = "<!-- crowd:begin -->", end = "<!-- crowd:end -->"
    let section = "\(begin)\n\(table)\(end)"
    if let b = text.range(of: begin), let e = text.range(of: end), b.lowerBound < e.lowerBound {
        text.replaceSubrange(b.lowerBound..<e.upperBound, with: section)
    } else {
        text += "\n## Crowd (`make crowd`)\n\nSimulated viewers following the page's algorithm against the real `bootstrap`, with the IVS stand-in enforcing the account-wide API rates (scaled). See the README's capacity table.\n\n\(section)\n"
    }
    try? text.write(toFile: path, atomically: true, encoding: .utf8)
    say("written into BENCHMARKS.md")
}
let failed = run.results.contains { $0.serverErrors > 0 || $0.throttledWithoutRetryAfter > 0 || $0.correct < $0.population || $0.getStreamCalls > 0 }
exit(failed ? 1 : 0)
