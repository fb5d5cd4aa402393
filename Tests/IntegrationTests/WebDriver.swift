import Foundation
import Testing
import HTTPTransport
import JSON
import LocalHarness

/// Headless Chromium driven over W3C WebDriver (Debian's `chromium-driver`): just what the viewer
/// test needs: open a page, run a script, click an element, wait for a condition with a bound,
/// take a screenshot.
final class Browser {
    /// Where `chromedriver` and `chromium` are, when the machine has them.
    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: driverPath) && FileManager.default.isExecutableFile(atPath: chromiumPath)
    }
    static let driverPath = "/usr/bin/chromedriver"
    static var chromiumPath: String {
        FileManager.default.isExecutableFile(atPath: "/usr/lib/chromium/chromium") ? "/usr/lib/chromium/chromium" : "/usr/bin/chromium"
    }

    /// One chromedriver for the process's browsers.
    final class Driver {
        let process: LambdaProcess
        let url: String
        init() throws {
            let port = try MotoServer.freePort()
            url = "http://127.0.0.1:\(port)"
            process = try LambdaProcess(command: [Browser.driverPath, "--port=\(port)"], environment: ProcessInfo.processInfo.environment)
            let connection = CurlConnection()
            for _ in 0..<200 {
                if let status = try? connection.perform(HTTPRequest(method: "GET", url: url + "/status"), timeoutMilliseconds: 1000),
                   status.status == 200, (try? JSONValue.parse(status.body))?["value"]?["ready"] == .bool(true) { return }
                Thread.sleep(forTimeInterval: 0.05)
            }
            process.stop()
            throw ServerError("chromedriver did not become ready at \(url)")
        }
        /// SIGTERM first: chromedriver then ends the browsers it started.
        deinit { process.terminate() }
    }

    private let driver: Driver
    private let session: String
    private let connection = CurlConnection()
    let name: String

    /// A new headless browser window named `name` (for screenshots).
    init(driver: Driver, name: String) throws {
        self.driver = driver
        self.name = name
        let args: [JSONValue] = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                 "--autoplay-policy=no-user-gesture-required", "--window-size=900,900", "--mute-audio"].map { .string($0) }
        let capabilities = JSONValue.object([("capabilities", .object([("alwaysMatch", .object([
            ("browserName", .string("chrome")),
            ("goog:chromeOptions", .object([("binary", .string(Browser.chromiumPath)), ("args", .array(args))])),
        ]))]))])
        let created = try Self.call(connection, "POST", driver.url + "/session", capabilities)
        guard let id = created["sessionId"]?.stringValue else { throw ServerError("no WebDriver session: \(created.compactText)") }
        session = id
    }

    deinit { _ = try? Self.call(connection, "DELETE", driver.url + "/session/\(session)", nil) }

    func open(_ url: String) throws { _ = try command("POST", "url", .object([("url", .string(url))])) }

    /// Runs `script` (a function body; `return` gives the value) in the page.
    @discardableResult
    func run(_ script: String) throws -> JSONValue {
        try command("POST", "execute/sync", .object([("script", .string(script)), ("args", .array([]))]))
    }

    /// Clicks the element `selector` names, as a user would (WebDriver's element click).
    func click(_ selector: String) throws {
        let element = try command("POST", "element", .object([("using", .string("css selector")), ("value", .string(selector))]))
        guard let id = element.objectValue?.first?.value.stringValue else { throw ServerError("no element \(selector)") }
        _ = try command("POST", "element/\(id)/click", .object([]))
    }

    /// Waits until `condition` (a JavaScript expression) is true, polling, up to `seconds`.
    /// Returns whether it became true; the caller asserts on that.
    func wait(until condition: String, seconds: Double = 20) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? run("return Boolean(\(condition));")) == .bool(true) { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return false
    }

    /// Saves a PNG of the window to `path`.
    func screenshot(to path: String) throws {
        guard let base64 = try command("GET", "screenshot", nil).stringValue, let png = Data(base64Encoded: base64) else {
            throw ServerError("no screenshot")
        }
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try png.write(to: URL(fileURLWithPath: path))
    }

    private func command(_ method: String, _ path: String, _ body: JSONValue?) throws -> JSONValue {
        try Self.call(connection, method, driver.url + "/session/\(session)/\(path)", body)
    }

    private static func call(_ connection: CurlConnection, _ method: String, _ url: String, _ body: JSONValue?) throws -> JSONValue {
        let request = HTTPRequest(method: method, url: url, headers: [("Content-Type", "application/json")],
                                  body: body.map { Array($0.compactText.utf8) } ?? [])
        let response = try connection.perform(request, timeoutMilliseconds: 60_000)
        let answer = try JSONValue.parse(response.body)
        if response.status >= 400 { throw ServerError("WebDriver \(method) \(url): \(response.status) \(answer.compactText)") }
        return answer["value"] ?? .null
    }
}

/// A browser test's checks: a failed one is an issue at its caller's line (the test goes on, to show
/// everything that is wrong at once), and once any failed, `screenshotIfFailed` keeps a picture of
/// every window for the post-mortem.
final class BrowserChecks {
    private(set) var failed = false

    func callAsFunction(_ ok: Bool, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard !ok else { return }
        failed = true
        Issue.record("\(what)", sourceLocation: sourceLocation)
    }

    /// Screenshots of `browsers` into `directory` (`<name>.png`), when a check failed.
    func screenshotIfFailed(_ browsers: [Browser], to directory: String) {
        guard failed else { return }
        for b in browsers { try? b.screenshot(to: "\(directory)/\(b.name).png") }
    }
}
