import Foundation
import LocalHarness

/// The warm `multihostInvite` figure (ours only): `events/invite.json` through the real binary, against
/// the same IVS stand-in (with the sample stage) and moto's DynamoDB (`MultihostSandbox`). Each
/// invite is GetStage (cached after the first), CreateParticipantToken, PutItem (moto, in Python) and SendEvent.
enum Invite {
    static func measure(bench: Bench, runtime: Runtime, warmup: Int, count: Int) -> WarmSample? {
        guard let event = FileManager.default.contents(atPath: options.root + "/events/invite.json") else {
            log("warm invite: pending (no events/invite.json)")
            return nil
        }
        log("warm invite: \(warmup + count) invocations")
        do {
            let sandbox = try MultihostSandbox(ivs: bench.standIn)
            defer { sandbox.stop() }
            return try bench.warm(runtime, handler: "multihostInvite", event: Array(event), extraEnvironment: sandbox.environment,
                                  warmup: warmup, count: count)
        } catch {
            log("warm invite: not measured: \(error)")
            return nil
        }
    }
}
