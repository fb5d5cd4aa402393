import Foundation
import JSON
import LocalHarness
import Testing

/// `stageUpdated` through the real binary and the IVS stand-in: the stage's owner publishing or
/// stopping becomes `StreamCat:RealTimeUpdate` in the stage's room; nobody else's does.
@Suite struct StageUpdateTests {
    typealias S = MultihostSandbox

    final class Fixture {
        let ivs: IVSStandIn
        let function: LocalFunction
        init() throws {
            ivs = try IVSStandIn()
            ivs.setStage(S.stageArn, S.stage)
            function = try LocalFunction(handler: "stageUpdated", environment: ivs.environment)
        }
        deinit { function.stop(); ivs.stop() }

        func invoke(_ sample: String, edit: (inout String) -> Void = { _ in }) throws -> JSONValue {
            var text = try String(contentsOfFile: BuildProducts.packageRoot + "/events/\(sample).json", encoding: .utf8)
            edit(&text)
            return try JSONValue.parse(function.invoke(text).text)
        }
    }

    @Test func ownerPublishingAndStoppingReachTheRoom() throws {
        let f = try Fixture()
        #expect(try f.invoke("stage-participant-published")["isLive"] == .bool(true))
        #expect(try f.invoke("stage-participant-unpublished")["isLive"] == .bool(false))
        let sent = f.ivs.events(inRoom: S.roomArn)
        #expect(sent.map(\.eventName) == ["StreamCat:RealTimeUpdate", "StreamCat:RealTimeUpdate"])
        #expect(sent.map { $0.attributes["isLive"] } == ["true", "false"])
        // What clients need to drop repeats and stale events.
        #expect(sent[0].attributes["eventId"] == "7e1c0d52-3b4a-4c55-9d1e-2f6a8b9c0d11" && sent[0].attributes["time"] == "2026-11-21T10:24:05Z")
        #expect(sent[0].attributes["stageArn"] == S.stageArn && sent[0].attributes["stage"] == S.stageName)
        #expect(f.ivs.rejectedSignatures == 0)
    }

    @Test func othersAndOtherEventsSendNothing() throws {
        let f = try Fixture()
        let guest = try f.invoke("stage-participant-published") { $0 = $0.replacingOccurrences(of: S.broadcaster, with: S.guest) }
        #expect(guest["sent"] == .bool(false))
        let joined = try f.invoke("stage-participant-published") { $0 = $0.replacingOccurrences(of: "Participant Published", with: "Participant Publish Error") }
        #expect(joined["sent"] == .bool(false))
        let unknown = try f.invoke("stage-participant-published") { $0 = $0.replacingOccurrences(of: "AbCdEfGh1234", with: "Unknown00001") }
        #expect(unknown["sent"] == .bool(false) && unknown["reason"]?.stringValue?.contains("no longer exists") == true)
        #expect(try f.invoke("stream-start")["sent"] == .bool(false))
        #expect(f.ivs.requestCount(for: "SendEvent") == 0)
        // A malformed event is the function's error, and the process serves on.
        guard case .error("Event.InvalidJSON", _) = f.function.invoke("{") else { Issue.record("expected Event.InvalidJSON"); return }
        #expect(f.function.process.isRunning)
    }
}
