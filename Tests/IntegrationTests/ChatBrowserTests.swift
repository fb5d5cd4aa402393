import Foundation
import JSON
import LocalHarness
import Testing

/// Chat in the viewer page, in a real headless Chromium, through the chat stand-in and the real
/// `bootstrap` as the room's message review handler (`ViewerStack.reviewRules`: `badword` denied,
/// `darn` masked). Conditions are waited for with a bound, never slept for.
extension ViewerBrowserTests {
    @Test(.enabled(if: Browser.available, "needs chromium and chromium-driver (make test installs them)"))
    func chatIsReviewedTheOwnerBansAndGuestsOnlyRead() throws {
        let stack = try ViewerStack(moto: MotoServer.shared())
        defer { stack.stop() }
        let driver = try Browser.Driver()
        let troll = "troll-1", reader = "reader-1"
        let owner = try Browser(driver: driver, name: "chat-owner")
        let trolling = try Browser(driver: driver, name: "chat-troll")
        let reading = try Browser(driver: driver, name: "chat-reader")
        let guest = try Browser(driver: driver, name: "chat-guest")
        let browsers = [owner, trolling, reading, guest]
        let check = BrowserChecks()
        defer { check.screenshotIfFailed(browsers, to: Self.screenshots) }
        func say(_ b: Browser, _ text: String) throws {
            _ = try b.run("document.getElementById('message').value = \(JSONValue.quoted(text)); document.getElementById('send').requestSubmit(); return true")
        }
        let messagesText = "return Array.from(document.querySelectorAll('#messages .text')).map(e => e.textContent)"

        try owner.open("\(stack.url)/?user=\(S.broadcaster)")
        try trolling.open("\(stack.url)/?user=\(troll)")
        try reading.open("\(stack.url)/?user=\(reader)")
        try guest.open(stack.url + "/")
        for b in browsers { check(b.wait(until: "window.viewer && window.viewer.connected"), "\(b.name) connects to chat") }

        // Guests only read: no input, and a token without SEND_MESSAGE.
        check(try guest.run("return [window.viewer.canSend, document.getElementById('send').hidden]") == .array([.bool(false), .bool(true)]),
              "the guest has no way to send")
        for b in [owner, trolling, reading] { check(try b.run("return window.viewer.canSend") == .bool(true), "\(b.name) can send") }
        check(try owner.run("return window.viewer.isAdmin") == .bool(true), "the owner is the room's admin")

        // A masked message shows masked in every window.
        try say(trolling, "well darn")
        for b in browsers { check(b.wait(until: "window.viewer.messages === 1"), "\(b.name) receives the masked message") }
        for b in browsers { check(try b.run(messagesText) == .array([.string("well ****")]), "\(b.name) shows it masked") }

        // A denied message reaches no window; its sender is told why.
        try say(trolling, "badword")
        check(trolling.wait(until: "window.viewer.refused === 1"), "the sender is told it was denied")
        // Markup in a message stays text.
        try say(reading, "<img src=x onerror=\"window.pwned=1\">")
        for b in browsers { check(b.wait(until: "window.viewer.messages === 2"), "\(b.name) receives the next message") }
        for b in browsers {
            check(try b.run(messagesText) == .array([.string("well ****"), .string("<img src=x onerror=\"window.pwned=1\">")]),
                  "\(b.name) never shows the denied message, and shows markup as text")
            check(try b.run("return window.pwned === undefined && document.querySelectorAll('#messages img').length === 0") == .bool(true),
                  "\(b.name) rendered no HTML")
        }

        // The ban action is the owner's alone, beside other users' messages.
        check(try owner.run("return document.querySelectorAll('#messages button.ban').length") == .int(2), "the owner sees two ban buttons")
        for b in [trolling, reading, guest] {
            check(try b.run("return document.querySelectorAll('#messages button.ban').length") == .int(0), "\(b.name) sees no ban button")
        }

        // The owner bans the troll: their socket is closed (the page reconnects), and their messages are denied.
        try owner.click("#messages li:first-child button.ban")
        check(owner.wait(until: "window.viewer.bans === 1"), "the ban is accepted")
        check(trolling.wait(until: "window.viewer.connects === 2 && window.viewer.connected"), "the troll's socket was closed (it reconnected)")
        check(stack.ivs.disconnected.map(\.userId) == [troll], "DisconnectUser named the troll")
        try say(trolling, "i am back")
        check(trolling.wait(until: "window.viewer.refused === 2"), "the banned user's message is denied")
        check(try trolling.run("return document.getElementById('chat-note').textContent").stringValue?.contains("banned") == true,
              "the banned user is told why")
        try say(owner, "moving on")
        for b in browsers { check(b.wait(until: "window.viewer.messages === 3"), "\(b.name) receives the owner's message") }
        for b in browsers {
            check(try b.run(messagesText).arrayValue?.contains(.string("i am back")) == false, "\(b.name) never shows the banned user's message")
        }
        check(stack.ivs.messaging.reviews.map(\.outcome) == ["ALLOW", "DENY", "ALLOW", "DENY", "ALLOW"], "every message was reviewed")
    }
}
