// local-invoke: runs the real `bootstrap` against a local Runtime API emulator (and local stand-ins
// for the AWS services it calls), hands it sample events, and prints what happened. No Docker, no
// AWS account. Exit status: 0 all invocations succeeded, 1 a function error, 2 an init error or a
// crash, 64 bad usage.
import Foundation
import LocalHarness

let usage = """
usage: local-invoke --handler NAME --event FILE [--event FILE ...] [--env KEY=VALUE ...]
                    [--bootstrap PATH | --command COMMAND] [--timeout-ms N] [--quiet]

  --handler NAME    the _HANDLER to run (streamStarted, multihostInvite)
  --event FILE      an event JSON file (from events/); repeat to invoke several times
  --env KEY=VALUE   extra environment for the function
  --bootstrap PATH  the runtime binary (default: bootstrap beside this tool)
  --command COMMAND run this command instead (words split on spaces), e.g. a package in an empty
                    root: --command "scripts/run-in-empty-root.sh build/lambda"
  --timeout-ms N    the function's timeout per invocation (default 3000)
  --plain-http      serve the stand-in over plain HTTP (default: HTTPS with a throw-away CA that
                    stands in for Amazon's roots; use this with --command, whose root cannot see it)
  --quiet           do not echo the function's log lines
"""

/// Prints a line at once (unbuffered), so it interleaves rightly with the function's log lines.
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("local-invoke: \(message)\n\n\(usage)\n".utf8))
    exit(64)
}

var handler: String?
var eventFiles: [String] = []
var environment: [String: String] = [:]
var command = [BuildProducts.path("bootstrap")]
var timeout: Int64 = 3000
var quiet = false
var tls = true

var args = CommandLine.arguments.dropFirst()
while let arg = args.popFirst() {
    func value() -> String { guard let v = args.popFirst() else { fail("\(arg) needs a value") }; return v }
    switch arg {
    case "--handler": handler = value()
    case "--event": eventFiles.append(value())
    case "--env":
        let pair = value()
        guard let eq = pair.firstIndex(of: "=") else { fail("--env takes KEY=VALUE, got '\(pair)'") }
        environment[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
    case "--bootstrap": command = [value()]
    case "--command": command = value().split(separator: " ").map(String.init)
    case "--timeout-ms": timeout = Int64(value()) ?? { fail("--timeout-ms takes a number") }()
    case "--quiet": quiet = true
    case "--plain-http": tls = false
    case "-h", "--help": say(usage); exit(0)
    default: fail("unknown argument '\(arg)'")
    }
}
guard let handler else { fail("--handler is required") }
guard !eventFiles.isEmpty else { fail("at least one --event is required") }
let events: [(String, [UInt8])] = eventFiles.map { path in
    guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read event file '\(path)'") }
    return (path, Array(data))
}

let session: LocalSession
do {
    session = try LocalSession(handler: handler, environment: environment, command: command, echoLogs: !quiet, tls: tls)
} catch {
    FileHandle.standardError.write(Data("local-invoke: could not start: \(error)\n".utf8))
    exit(2)
}
say("IVS stand-in at \(session.ivs.url)\(tls ? " (TLS; a throw-away CA stands in for Amazon's roots)" : "")")
// As Lambda does: an invocation past its deadline is over, and a late answer gets 410 Gone.
session.function.emulator.enforceDeadlines = true

var status: Int32 = 0
for (path, event) in events {
    say("▶ \(handler) ← \(path)")
    let outcome = session.function.invoke(event, timeoutMilliseconds: timeout)
    switch outcome {
    case let .response(body):
        say("✔ response: \(String(decoding: body, as: UTF8.self))")
    case let .error(type, body):
        say("✘ error \(type): \(String(decoding: body, as: UTF8.self))")
        status = max(status, 1)
    case .timedOut:
        say("✘ timed out after \(timeout) ms (Lambda would end the invocation; a late answer gets 410 Gone)")
        status = max(status, 1)
    case let .noOutcome(why):
        if let initError = session.function.emulator.initError {
            say("✘ init error \(initError.type): \(String(decoding: initError.body, as: UTF8.self))")
        } else {
            say("✘ no outcome: \(why)")
        }
        status = 2
    }
    // Its metric line comes after the outcome is posted: wait for it, so it shows under its invocation.
    if status < 2 { _ = session.function.metricLines(waitLimitSeconds: 2) }
    for line in session.drainServiceLog() { say("  ↳ \(line)") }
    if status == 2 { break }
}
let exitStatus = session.stop()
if status == 0 && exitStatus != 0 && session.function.emulator.initError != nil { status = 2 }
exit(status)
