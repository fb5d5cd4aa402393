import Essentials
import Foundation
import HTTPTransport
import JSON
import LocalHarness
import Testing

/// Issue 22 through the real binary: bounded bodies, and what init says about the identity claim.
@Suite struct HardeningIntegrationTests {
    typealias S = MultihostSandbox
    typealias Fixture = MultihostInviteTests.Fixture

    /// A 5 MB body (a JSON array, the costliest thing to parse) to the anonymous `/channel/state`:
    /// 413, the process keeps serving, and its peak memory stays far from a 128 MB function's limit.
    @Test func aHugeBodyIs413AndThePeakMemoryStaysLow() throws {
        let f = try Fixture(env: ["CHAT_ROOM_ARN": S.roomArn, "AWS_LAMBDA_LOG_LEVEL": "INFO"])
        let channel = #"{"channelArn":"\#(ViewerStack.channelArn)"}"#
        #expect(try f.call("POST", "/channel/state", body: channel, caller: nil).status == 200)
        let huge = "[" + String(repeating: "0,", count: 2_500_000) + "0]"
        #expect(huge.utf8.count > 5_000_000)
        for _ in 0..<2 {
            let outcome = f.function.invoke(MultihostInviteTests.event("POST", "/channel/state", body: huge, caller: nil),
                                            timeoutMilliseconds: 30_000)
            let response = try JSONValue.parse(outcome.text)
            #expect(response["statusCode"] == .int(413), "\(outcome.text.prefix(300))")
            #expect(try JSONValue.parse(response["body"]?.stringValue ?? "")["message"]?.stringValue?.contains("larger than") == true)
        }
        // Still serving, and the huge body cost no AWS call.
        let after = try f.call("POST", "/channel/state", body: channel, caller: nil)
        #expect(after.status == 200 && after.body["live"] == .bool(false), "\(after.raw)")
        #expect(f.sandbox.ivs.totalRequests == 0)
        #expect(f.function.process.isRunning)
        let peak = try #require(f.function.process.peakRSSKiB)
        #expect(peak < 48 * 1024, "peak RSS \(peak) KiB")
    }

    /// A claim users can change is warned about when the function starts.
    @Test func aMutableIdentityClaimIsWarnedAboutAtInit() throws {
        let f = try Fixture(env: ["IDENTITY_CLAIM": "username"])
        // The warning is written during init, before the first invocation is answered.
        #expect(try f.call("GET", "/multihost/invites", caller: nil).status == 401)
        let deadline = Date().addingTimeInterval(10)
        while !f.function.process.lines.contains(where: { $0.contains("IDENTITY_CLAIM=username") }), Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(f.function.process.lines.contains { $0.contains("WARN") && $0.contains("IDENTITY_CLAIM=username") })
        let quiet = try Fixture()
        #expect(try quiet.call("GET", "/multihost/invites", caller: nil).status == 401)
        #expect(!quiet.function.process.lines.contains { $0.contains("IDENTITY_CLAIM") })
    }

    /// `make viewer`'s gateway: `/local/*` answers its own page and local tools only. Another page's
    /// request (its `Origin`), a DNS-rebound `Host`, and a form-encoded body without `Origin` are refused.
    @Test func theLocalGatewayRefusesOtherOriginsOnLocalRoutes() throws {
        let function = try LocalFunction(handler: "streamStarted", environment: ["CHAT_ROOM_ARN": S.roomArn])
        defer { function.stop() }
        let gateway = try LocalAPIGateway(webRoot: BuildProducts.packageRoot + "/web", api: .init(function), eventRules: [:],
                                          publicRoutes: [], pageConfig: .object([]))
        defer { gateway.stop() }
        let connection = CurlConnection()
        func post(_ path: String, _ headers: [(name: String, value: String)], body: String = #"{"userId":"mallory"}"#) throws -> (Int, String) {
            let response = try connection.perform(HTTPRequest(method: "POST", url: gateway.url + path, headers: headers, body: Array(body.utf8)),
                                                  timeoutMilliseconds: 10_000)
            return (response.status, response.text)
        }
        let json = ("content-type", "application/json")
        let form = ("content-type", "application/x-www-form-urlencoded")
        for path in ["/local/sign-in", "/local/events"] {
            #expect(try post(path, [("origin", "https://attacker.example"), json]).0 == 403, "\(path)")
            #expect(try post(path, [("origin", "null"), form]).0 == 403, "\(path)")
            #expect(try post(path, [("origin", "http://127.0.0.1:1"), json]).0 == 403, "\(path): another port is another origin")
            #expect(try post(path, [form]).0 == 415, "\(path)")
            #expect(try post(path, [("content-type", "text/plain"), ("host", "rebound.attacker.example")]).0 == 403, "\(path)")
        }
        // The page itself (same origin, whatever its content type) and local tools (JSON) are served.
        let page = try post("/local/sign-in", [("origin", gateway.url), ("content-type", "text/plain;charset=UTF-8")])
        #expect(page.0 == 200 && page.1.contains("idToken"), "\(page)")
        #expect(try post("/local/sign-in", [json]).0 == 200)
        #expect(try post("/local/sign-in", [("content-type", "application/json; charset=utf-8"), ("origin", gateway.url.replacingOccurrences(of: "127.0.0.1", with: "localhost"))]).0 == 200)
        let event = try post("/local/events", [json], body: #"{"detail-type":"Nobody Listens"}"#)
        #expect(event.0 == 404 && event.1.contains("no rule"), "\(event)")
    }
}
