import Essentials
import Foundation
import JSON

/// End-to-end timing of `multihostInvite` for a `bench` tool: the real `bootstrap` under the Runtime
/// API emulator, against the IVS stand-in and moto's DynamoDB (`MultihostSandbox`).
public enum MultihostBenchmarks {
    /// Warm invites (`events/invite.json`): emulator hand-off to response received, in microseconds,
    /// after `warmUp` untimed ones (the first fills the stage cache). Each is GetStage (cached),
    /// CreateParticipantToken, PutItem and SendEvent.
    public static func warmInvite(iterations: Int = 500, warmUp: Int = 20,
                                  command: [String] = [BuildProducts.path("bootstrap")]) throws -> [Double] {
        let sandbox = try MultihostSandbox()
        defer { sandbox.stop() }
        let function = try LocalFunction(handler: "multihostInvite", environment: sandbox.environment, command: command)
        defer { function.stop() }
        let event = try Array(Data(contentsOf: URL(fileURLWithPath: BuildProducts.packageRoot + "/events/invite.json")))
        var times: [Double] = []
        times.reserveCapacity(iterations)
        for i in 0..<(warmUp + iterations) {
            let start = Clock.monotonicNanoseconds()
            let outcome = function.invoke(event)
            let elapsed = Double(Clock.monotonicNanoseconds() - start) / 1000
            guard case let .response(body) = outcome, (try? JSONValue.parse(body))?["statusCode"]?.intValue == 201 else {
                throw ServerError("invite \(i) failed: \(outcome)")
            }
            if i >= warmUp { times.append(elapsed) }
        }
        return times
    }
}
