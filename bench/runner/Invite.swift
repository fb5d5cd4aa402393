import Foundation
import JSON
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

/// Warm kick and host-token figures (issue #11), against the same stand-in and moto as the invite:
/// a kick is timed after an untimed invite of the same guest (DisconnectParticipant + GetItem + DeleteItem);
/// a host token is one CreateParticipantToken.
enum MultihostRoutes {
    struct Samples {
        var kick: [Double] = []
        var hostToken: [Double] = []
    }

    static func measure(bench: Bench, runtime: Runtime, warmup: Int, count: Int) -> Samples? {
        let root = options.root + "/events/"
        guard let invite = FileManager.default.contents(atPath: root + "invite.json"),
              let kick = FileManager.default.contents(atPath: root + "disconnect.json"),
              let host = FileManager.default.contents(atPath: root + "host-token.json") else { return nil }
        log("warm kick and host token: \(warmup + count) of each")
        do {
            let sandbox = try MultihostSandbox(ivs: bench.standIn)
            defer { sandbox.stop() }
            bench.standIn.reset()
            let function = try LocalFunction(handler: "multihostInvite", environment: bench.standIn.environment
                .merging(sandbox.environment) { $1 }.merging(["AWS_DEFAULT_REGION": IVSStandIn.region]) { $1 }, command: runtime.command)
            defer { function.stop() }
            func timed(_ event: Data, status: Int) throws -> Double {
                let invocation = RuntimeAPIEmulator.Invocation(event: Array(event), timeoutMilliseconds: 60_000)
                let outcome = function.emulator.invoke(invocation, waitLimitSeconds: 60)
                guard case let .response(body) = outcome, (try? JSONValue.parse(body))?["statusCode"]?.intValue == status,
                      let timing = function.emulator.takeTiming(requestId: invocation.requestId) else {
                    throw BenchError("expected \(status), got \(outcome.text.prefix(200))")
                }
                return Double(timing.completed - timing.nextAnswered) / 1e3
            }
            var samples = Samples()
            for i in 0..<(warmup + count) {
                _ = try timed(invite, status: 201)
                let k = try timed(kick, status: 204)
                let h = try timed(host, status: 200)
                if i >= warmup { samples.kick.append(k); samples.hostToken.append(h) }
            }
            return samples
        } catch {
            log("warm kick and host token: not measured: \(error)")
            return nil
        }
    }
}
