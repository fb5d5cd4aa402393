import Foundation

/// The function running locally as Lambda would run it: a `RuntimeAPIEmulator` and the real
/// `bootstrap` process pointed at it. Used by `local-invoke`, the integration tests and `bench`.
public final class LocalFunction: @unchecked Sendable {
    public let emulator: RuntimeAPIEmulator
    public let process: LambdaProcess

    /// Starts `command` (by default the `bootstrap` built beside this tool; e.g. the empty-root
    /// wrapper of a package instead) with `_HANDLER=handler` and `environment`; `runtimeAPI` overrides the
    /// `AWS_LAMBDA_RUNTIME_API` value given to it (to test other spellings of the address);
    /// `prepare` sets the emulator up (e.g. faults) before the process starts.
    public init(handler: String, environment: [String: String] = [:], command: [String] = [BuildProducts.path("bootstrap")],
                runtimeAPI: ((String) -> String)? = nil, echoLogs: Bool = false,
                prepare: (RuntimeAPIEmulator) -> Void = { _ in }) throws {
        let emulator = try RuntimeAPIEmulator()
        self.emulator = emulator
        prepare(emulator)
        var env = [
            "AWS_LAMBDA_RUNTIME_API": runtimeAPI?(emulator.address) ?? emulator.address,
            "_HANDLER": handler,
            "AWS_LAMBDA_FUNCTION_NAME": "ivs-chat-events-local",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "LAMBDA_TASK_ROOT": "/var/task",
        ]
        env.merge(environment) { $1 }
        process = try LambdaProcess(command: command, environment: env, echo: echoLogs,
                                    onExit: { _ in emulator.runtimeExited() })
    }

    /// Hands `event` to the function and waits for its outcome.
    public func invoke(_ event: [UInt8], timeoutMilliseconds: Int64 = 3000) -> RuntimeAPIEmulator.Outcome {
        emulator.invoke(event: event, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Hands `text` to the function and waits for its outcome.
    public func invoke(_ text: String, timeoutMilliseconds: Int64 = 3000) -> RuntimeAPIEmulator.Outcome {
        invoke(Array(text.utf8), timeoutMilliseconds: timeoutMilliseconds)
    }

    /// The function's metric (EMF) lines so far. A worker writes an invocation's metrics after posting
    /// its outcome and before asking for the next one: this first waits (up to the limit) until the
    /// function is waiting on `/next` again and its output has been read.
    public func metricLines(waitLimitSeconds: Double = 5) -> [String] {
        _ = emulator.waitForWaitingNextRequests(1, waitLimitSeconds: waitLimitSeconds)
        var last = -1
        for _ in 0..<50 {
            let count = process.lines.count
            if count == last { break }
            last = count
            usleep(20_000)
        }
        return process.lines.filter(EMF.isEMF)
    }

    /// Stops the process and the emulator; returns the exit status.
    @discardableResult
    public func stop() -> Int32 {
        process.stop()
        emulator.stop()
        return process.waitForExit()
    }
}

/// Where this package's built executables are: beside the running one.
public enum BuildProducts {
    /// The path of the product `name` in the same build folder as the current executable.
    public static func path(_ name: String) -> String {
        if let override = ProcessInfo.processInfo.environment["IVS_CHAT_EVENTS_BIN_DIR"] { return override + "/" + name }
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// The package's root folder (where Package.swift is), found from this source file.
    public static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }
}
