import Foundation
import LocalHarness
import Testing

/// A small `make crowd` in the test suite: the behaviour, not the speed (that is `make crowd`'s table).
/// 24 viewers following the page's algorithm against the real `bootstrap`, the stand-in enforcing the
/// account-wide rates at a tenth: every scenario ends with every viewer where it should be, no client
/// sees a 5xx, every 429 carries Retry-After, nothing calls GetStream, no stream event is lost.
@Suite(.serialized) struct CrowdTests {
    @Test func everyScenarioEndsRightWithoutServerErrors() throws {
        var settings = CrowdWorld.Settings()
        settings.scale = 0.1
        settings.viewers = 24
        settings.channels = 12
        settings.apiInstances = 3
        settings.streamInstances = 3
        let world = try CrowdWorld(settings: settings, moto: MotoServer.shared())
        defer { world.stop() }
        let run = CrowdRun(world: world)
        run.runAll()
        #expect(run.results.map(\.name) == ["waiting room", "mass reconnect", "missed end", "top of the hour"])
        for r in run.results {
            #expect(r.correct == r.population, "\(r.name): \(r.correct)/\(r.population) \(r.notes)")
            #expect(r.serverErrors == 0, "\(r.name)")
            #expect(r.throttledWithoutRetryAfter == 0, "\(r.name)")
            #expect(r.getStreamCalls == 0, "\(r.name)")
        }
        // The quota was really in force: the crowd was throttled and came back.
        #expect(run.results[0].throttled > 0)
        #expect(run.results[3].delivered == settings.channels && run.results[3].deadLetters == 0)
    }
}
