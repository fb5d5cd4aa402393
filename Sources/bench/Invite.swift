import Foundation
import LocalStack

/// The warm `multihostInvite` figure (ours only). The handler comes from branch `invite`; until a
/// build has it (and `events/multihost-invite.json` exists) the figure is reported as pending.
enum Invite {
    static let eventPath = "events/multihost-invite.json"

    static func measure(bench: Bench, runtime: Runtime, warmup: Int, count: Int) -> WarmSample? {
        let path = options.root + "/" + eventPath
        guard let event = FileManager.default.contents(atPath: path) else {
            log("warm invite: pending (no \(eventPath) yet)")
            return nil
        }
        log("warm invite: \(warmup + count) invocations")
        do {
            return try bench.warm(runtime, handler: "multihostInvite", event: Array(event), warmup: warmup, count: count)
        } catch {
            log("warm invite: not measured: \(error)")
            return nil
        }
    }
}
