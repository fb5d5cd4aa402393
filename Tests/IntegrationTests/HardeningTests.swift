import Essentials
import Foundation
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
        #expect(f.sandbox.ivs.requestCount(for: "GetStream") == 2)
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
}
