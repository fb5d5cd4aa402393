// local-viewer: the viewer page with everything behind it, on this machine (`make viewer`): the IVS
// stand-in with its chat WebSocket, a moto DynamoDB, the three functions (the real `bootstrap` under
// Runtime API emulators) and a local API gateway serving web/. Prints the page's address and the
// commands that send events into it; Ctrl-C stops everything.
import Foundation
import LocalHarness

/// Prints at once (unbuffered), so it interleaves rightly with the functions' log lines.
func say(_ text: String) { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }

var port = 8080
var args = CommandLine.arguments.dropFirst()
while let arg = args.popFirst() {
    switch arg {
    case "--port": port = Int(args.popFirst() ?? "") ?? { fatalError("--port takes a number") }()
    case "-h", "--help":
        print("usage: local-viewer [--port N]   (default 8080; 0 picks a free port)")
        exit(0)
    default:
        FileHandle.standardError.write(Data("local-viewer: unknown argument '\(arg)'\n".utf8))
        exit(64)
    }
}

let stack: ViewerStack
do {
    stack = try ViewerStack(port: port, echoLogs: true)
} catch {
    FileHandle.standardError.write(Data("local-viewer: could not start: \(error)\n".utf8))
    exit(2)
}
let url = stack.url
let commands = stack.sampleCommands().map { "  \($0.what):\(String(repeating: " ", count: max(1, 14 - $0.what.count)))\($0.command)" }
say("""

Viewer page:   \(url)/?user=\(MultihostSandbox.broadcaster)   (signed in as the room's owner: can ban)
               \(url)/?user=\(MultihostSandbox.guest)   (signed in as the sample invitee)
               \(url)/?user=someone-else                (signed in, not invited)
               \(url)/                                  (guest: receive-only chat token)

Chat goes through the messageReview function (200 ms, fallback ALLOW): "badword" is denied, "darn" masked,
links only to example.com.

Send events into it (each goes through the real bootstrap, as EventBridge or API Gateway would):
\(commands.joined(separator: "\n"))

Ctrl-C stops everything.

""")

signal(SIGINT, SIG_IGN)
signal(SIGTERM, SIG_IGN)
let stopSignals = [SIGINT, SIGTERM].map { sig in
    let source = DispatchSource.makeSignalSource(signal: sig, queue: .main)
    source.setEventHandler {
        say("\nstopping…")
        stack.stop()
        exit(0)
    }
    source.resume()
    return source
}
withExtendedLifetime(stopSignals) { dispatchMain() }
