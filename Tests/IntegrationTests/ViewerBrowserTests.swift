import Foundation
import HTTPTransport
import JSON
import LocalHarness
import Testing

/// The whole loop a viewer sees, in a real headless Chromium: EventBridge event → the real
/// `bootstrap` → IVS Chat (the stand-in's WebSocket) → web/viewer.js → the player. Conditions are
/// waited for with a bound, never slept for. On failure, screenshots go to .build/viewer-test/.
@Suite(.serialized) struct ViewerBrowserTests {
    typealias S = MultihostSandbox
    static let screenshots = BuildProducts.packageRoot + "/.build/viewer-test"

    /// The page's state, as a JavaScript expression.
    static let video = "document.getElementById('player')"

    @Test(.enabled(if: Browser.available, "needs chromium and chromium-driver (make test installs them)"))
    func streamStartPlaysStreamEndStopsAndOnlyTheInviteeIsInvited() throws {
        let stack = try ViewerStack(moto: MotoServer.shared())
        defer { stack.stop() }
        let driver = try Browser.Driver()
        let invitee = try Browser(driver: driver, name: "invitee")
        let other = try Browser(driver: driver, name: "other")
        let guest = try Browser(driver: driver, name: "guest")
        let browsers = [invitee, other, guest]
        let check = BrowserChecks()
        defer { check.screenshotIfFailed(browsers, to: Self.screenshots) }

        try invitee.open("\(stack.url)/?user=\(S.guest)")
        try other.open("\(stack.url)/?user=someone-else")
        try guest.open(stack.url + "/")
        for b in browsers { check(b.wait(until: "window.viewer && window.viewer.connected"), "\(b.name) connects to chat") }
        check(try guest.run("return window.viewer.userId") .stringValue?.hasPrefix("guest-") == true, "the guest has a guest id")

        // Before any event: offline, nothing playing.
        for b in browsers {
            check(try b.run("return document.getElementById('status').textContent") == .string("offline"), "\(b.name) shows offline")
            check(try b.run("return \(Self.video).paused") == .bool(true), "\(b.name)'s player is paused")
        }

        // Stream Start through the real bootstrap: every viewer's player starts, and its time advances.
        try Self.deliver(try MultihostInviteTests.sample("stream-start"), to: stack)
        for b in browsers {
            check(b.wait(until: "window.viewer.live && !\(Self.video).paused && \(Self.video).currentTime > 0.2"), "\(b.name) plays")
            let t = try b.run("return \(Self.video).currentTime").numberText.flatMap(Double.init) ?? 0
            check(b.wait(until: "\(Self.video).currentTime > \(t) + 0.2"), "\(b.name)'s playback advances")
            check(try b.run("return document.getElementById('status').textContent") == .string("live"), "\(b.name) shows live")
        }

        // A viewer who opens the page mid-broadcast starts playing without waiting for an event.
        do {
            let late = try Browser(driver: driver, name: "late")
            try late.open(stack.url + "/?user=late-viewer")
            check(late.wait(until: "window.viewer && window.viewer.startsFromState === 1 && !\(Self.video).paused"),
                  "a page opened mid-broadcast plays (from /channel/state)")
            if check.failed { try? late.screenshot(to: "\(Self.screenshots)/late.png") }
        }

        // EventBridge redelivers it: it reaches the page and changes nothing.
        try Self.deliver(try MultihostInviteTests.sample("stream-start"), to: stack)
        for b in browsers {
            check(b.wait(until: "window.viewer.duplicates === 1"), "\(b.name) recognises the repeat")
            check(try b.run("return [window.viewer.playStarts, window.viewer.live, \(Self.video).paused]")
                  == .array([.int(1), .bool(true), .bool(false)]), "\(b.name) keeps playing, started once")
        }

        // While live, the broadcaster invites the sample invitee: only that page shows the toast.
        let host = stack.gateway.signIn(userId: S.broadcaster, username: "host")
        let invite = try CurlConnection().perform(HTTPRequest(
            method: "POST", url: stack.url + "/multihost/invite",
            headers: [("Authorization", "Bearer \(host)"), ("Content-Type", "application/json")],
            body: Array(#"{"userId":"\#(S.guest)","stageArn":"\#(S.stageArn)"}"#.utf8)))
        check(invite.status == 201, "invite answered \(invite.status): \(invite.text)")
        let received = "window.viewer.received === 3"
        for b in browsers { check(b.wait(until: received), "\(b.name) receives the invite event") }
        check(invitee.wait(until: "!document.getElementById('toast').hidden"), "the invitee sees the toast")
        for b in [other, guest] {
            check(try b.run("return [document.getElementById('toast').hidden, window.viewer.invitesShown]") == .array([.bool(true), .int(0)]),
                  "\(b.name) sees no toast")
        }

        // Joining gets the participant token, which the page never shows.
        try invitee.screenshot(to: "\(Self.screenshots)/invited.png")
        try invitee.click("#join")
        check(invitee.wait(until: "window.viewer.joined"), "the invitee joins")
        let text = try invitee.run("return document.body.innerText").stringValue ?? ""
        check(text.contains("participant token received"), "the page says it got a token: \(text)")
        // Neither the participant token nor any chat token is in the page or its state.
        let page = try invitee.run("return document.documentElement.outerHTML + JSON.stringify(window.viewer)").stringValue ?? ""
        for prefix in ["eyJhbGciOiJLTVMi", "AQICAH"] {
            check(!text.contains(prefix) && !page.contains(prefix), "the page holds no token (\(prefix)…)")
        }
        try invitee.screenshot(to: "\(Self.screenshots)/joined.png")

        // The chat connection drops (session over, network gone): each page reconnects with a new token.
        let tokensBefore = stack.ivs.requestCount(for: "CreateChatToken")
        stack.ivs.messaging.closeAll()
        for b in browsers { check(b.wait(until: "window.viewer.connects === 2 && window.viewer.connected"), "\(b.name) reconnects") }
        check(stack.ivs.requestCount(for: "CreateChatToken") == tokensBefore + 3, "each reconnection used a new token")

        // Stream End (after the reconnection) stops it; a Stream Start older than it (late, out of order) is ignored.
        try Self.deliver(try MultihostInviteTests.sample("stream-end"), to: stack)
        for b in browsers {
            check(b.wait(until: "!window.viewer.live && \(Self.video).paused"), "\(b.name) stops")
            check(try b.run("return document.getElementById('status').textContent") == .string("offline"), "\(b.name) shows offline again")
        }
        // A Stream Start older than the End (late, out of order): the function records nothing and sends nothing.
        let late = try MultihostInviteTests.sample("stream-start").replacingOccurrences(of: "01234567-0123-0123-0123-012345678901", with: "late-start-event")
        check(try Self.deliver(late, to: stack)["sent"] == .bool(false), "the late start is not sent")
        for b in browsers { check(try b.run("return window.viewer.live") == .bool(false), "\(b.name) stays offline") }

        // The next broadcast starts and plays.
        try Self.deliver(Self.streamEvent("Stream Start", id: "second-start", time: "2026-11-21T12:00:00Z"), to: stack)
        for b in browsers { check(b.wait(until: "window.viewer.live && !\(Self.video).paused && window.viewer.playStarts === 2"), "\(b.name) plays again") }

        // Missed end: every socket drops and cannot come back (a tunnel) while the broadcast ends. After
        // reconnecting, every page shows offline (from /channel/state), and the next broadcast autoplays.
        stack.ivs.messaging.outage = true
        stack.ivs.messaging.closeAll()
        for b in browsers { check(b.wait(until: "!window.viewer.connected"), "\(b.name) lost its socket") }
        try Self.deliver(Self.streamEvent("Stream End", id: "second-end", time: "2026-11-21T13:00:00Z"), to: stack)
        for b in browsers { check(try b.run("return window.viewer.live") == .bool(true), "\(b.name) missed the End (still live)") }
        stack.ivs.messaging.outage = false
        for b in browsers {
            check(b.wait(until: "window.viewer.connected && !window.viewer.live && \(Self.video).paused && window.viewer.stopsFromState === 1", seconds: 60),
                  "\(b.name) shows offline after reconnecting")
            check(try b.run("return document.getElementById('status').textContent") == .string("offline"), "\(b.name) says offline")
        }
        try Self.deliver(Self.streamEvent("Stream Start", id: "third-start", time: "2026-11-21T14:00:00Z"), to: stack)
        for b in browsers { check(b.wait(until: "window.viewer.live && !\(Self.video).paused && window.viewer.playStarts === 3"), "\(b.name) autoplays the next broadcast") }
        check(try Self.late0(browsers), "no page acted on a stale event")
    }

    /// No page counted a stale event: the function never sent one.
    static func late0(_ browsers: [Browser]) throws -> Bool {
        try browsers.allSatisfy { try $0.run("return window.viewer.stale") == .int(0) }
    }

    /// The sample Stream Start with another `event_name`, `id` and `time`.
    static func streamEvent(_ name: String, id: String, time: String) throws -> String {
        try MultihostInviteTests.sample("stream-start")
            .replacingOccurrences(of: "01234567-0123-0123-0123-012345678901", with: id)
            .replacingOccurrences(of: "2026-11-21T10:23:43Z", with: time)
            .replacingOccurrences(of: "\"Stream Start\"", with: "\"\(name)\"")
    }

    /// Hands an EventBridge event to the stack, as the rule would; the function must answer. Returns its answer.
    @discardableResult
    static func deliver(_ event: String, to stack: ViewerStack) throws -> JSONValue {
        let answer = try CurlConnection().perform(HTTPRequest(method: "POST", url: stack.url + "/local/events",
                                                                  headers: [("content-type", "application/json")], body: Array(event.utf8)))
        let outcome = try JSONValue.parse(answer.body)
        #expect(outcome["outcome"] == .string("response"), "\(answer.text)")
        return outcome["response"] ?? .null
    }
}

extension JSONValue {
    /// A number's text, as parsed.
    var numberText: String? { if case let .number(text) = self { text } else { nil } }
}

/// The crowd simulation's copy of the page's decisions (`ViewerCore`) against the page's own
/// (web/viewer-core.js, in the browser), on one table of inputs.
@Suite(.serialized) struct ViewerCoreParityTests {
    static let times: [String?] = [nil, "2026-11-21T10:00:00Z", "2026-11-21T11:00:00Z", "yesterday"]
    static let currents: [(live: Bool, time: String?)] = [(false, nil), (true, "2026-11-21T10:00:00Z"), (false, "2026-11-21T11:00:00Z")]

    /// Every decision, as one line each, computed by Swift.
    static func swiftLines() -> [String] {
        var lines: [String] = []
        for attempt in [0, 1, 2, 5, 25] {
            for retryAfter in [nil, 0, 1, 2, 61] as [Double?] {
                for (random, label) in [(0.0, "0"), (0.5, "0.5"), (0.999, "0.999")] {
                    lines.append("backoff \(attempt) \(retryAfter.map { String(Int($0)) } ?? "null") \(label) = "
                        + "\(ViewerCore.backoffDelay(attempt: attempt, retryAfterSeconds: retryAfter, random: random))")
                }
            }
        }
        for header in ["1", " 2 ", "007", "", "1.5", "-1", "Wed, 21 Oct 2015 07:28:00 GMT", "12a"] {
            lines.append("retryAfter [\(header)] = \(ViewerCore.parseRetryAfter(header).map { String(Int($0)) } ?? "null")")
        }
        for current in currents {
            let state = ViewerCore.State(live: current.live, time: current.time.flatMap { ViewerCore.parseTime($0) } ?? -.infinity)
            for live in [true, false] {
                for time in times {
                    let a = ViewerCore.applyChannelState(state, live: live, stateTime: time)
                    let e = ViewerCore.applyStreamEvent(state, live: live, eventTime: time)
                    lines.append("state \(current.live) \(current.time ?? "-") \(live) \(time ?? "-") = \(a.state.live) \(show(a.state.time)) \(a.changed)")
                    lines.append("event \(current.live) \(current.time ?? "-") \(live) \(time ?? "-") = \(e.state.live) \(show(e.state.time)) \(e.changed) \(e.stale)")
                }
            }
        }
        return lines
    }

    static func show(_ t: Double) -> String { t.isFinite ? String(Int64(t)) : "-inf" }

    /// The same lines, computed by the page's ViewerCore.
    static let script = """
        const C = window.ViewerCore, out = [];
        const show = (t) => Number.isFinite(t) ? String(t) : "-inf";
        const num = (x) => x === null ? "null" : String(x);
        for (const attempt of [0, 1, 2, 5, 25]) for (const ra of [null, 0, 1, 2, 61]) for (const r of [0, 0.5, 0.999])
          out.push(`backoff ${attempt} ${num(ra)} ${r} = ${C.backoffDelay(attempt, ra, r)}`);
        for (const h of ["1", " 2 ", "007", "", "1.5", "-1", "Wed, 21 Oct 2015 07:28:00 GMT", "12a"])
          out.push(`retryAfter [${h}] = ${num(C.parseRetryAfter(h))}`);
        const times = [null, "2026-11-21T10:00:00Z", "2026-11-21T11:00:00Z", "yesterday"];
        for (const [live0, time0] of [[false, null], [true, "2026-11-21T10:00:00Z"], [false, "2026-11-21T11:00:00Z"]]) {
          const current = { live: live0, time: time0 === null ? -Infinity : Date.parse(time0) };
          for (const live of [true, false]) for (const time of times) {
            const a = C.applyChannelState(current, { live, stateTime: time === null ? undefined : time });
            const e = C.applyStreamEvent(current, live, time === null ? undefined : time);
            out.push(`state ${live0} ${time0 ?? "-"} ${live} ${time ?? "-"} = ${a.live} ${show(a.time)} ${a.changed}`);
            out.push(`event ${live0} ${time0 ?? "-"} ${live} ${time ?? "-"} = ${e.live} ${show(e.time)} ${e.changed} ${e.stale}`);
          }
        }
        return out.join("\\n");
        """

    @Test(.enabled(if: Browser.available, "needs chromium and chromium-driver (make test installs them)"))
    func swiftCopyDecidesAsThePage() throws {
        let stack = try ViewerStack(moto: MotoServer.shared())
        defer { stack.stop() }
        let browser = try Browser(driver: try Browser.Driver(), name: "core")
        try browser.open(stack.url + "/")
        #expect(browser.wait(until: "window.ViewerCore"))
        // The page's Content-Security-Policy is in force: an injected inline script does not run.
        let injected = try browser.run("const s = document.createElement('script'); s.textContent = 'window.injected = 1'; document.head.appendChild(s); return window.injected === 1")
        #expect(injected == .bool(false))
        let page = (try browser.run(Self.script).stringValue ?? "").split(separator: "\n").map(String.init)
        let swift = Self.swiftLines()
        #expect(page.count == swift.count && page.count > 100)
        for (p, s) in zip(page, swift) where p != s { Issue.record("page: \(p)\nswift: \(s)") }
    }
}

/// `make viewer` prints commands that send events into the page: each works as printed.
@Suite(.serialized) struct ViewerCommandTests {
    @Test func everyPrintedCommandSucceeds() throws {
        let stack = try ViewerStack(moto: MotoServer.shared())
        defer { stack.stop() }
        let commands = stack.sampleCommands()
        #expect(commands.map(\.what) == ["Stream Start", "Stream End", "Invite"])
        for (what, command) in commands {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", command]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(what): \(command) → \(text)")
            if what == "Invite" {
                #expect(text.contains("\"userId\""), "\(what): \(text)")
            } else {
                let answer = try JSONValue.parse(Array(text.utf8))
                #expect(answer["outcome"] == .string("response") && answer["response"]?["sent"] == .bool(true), "\(what): \(text)")
            }
        }
        #expect(stack.ivs.events(inRoom: ViewerStack.roomArn).map(\.eventName) == ["STREAM_STARTED", "STREAM_ENDED", "StreamCat:MultihostInvite"])
    }
}
