import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A running `bootstrap` (or any runtime command), started with `posix_spawn` and a given
/// environment, with its standard output and error collected line by line.
public final class LambdaProcess: @unchecked Sendable {
    /// The process id.
    public let pid: pid_t
    /// When `posix_spawn` was called, in `MonotonicClock` nanoseconds.
    public let startedAt: UInt64
    private let condition = NSCondition()
    private var collected: [String] = []
    private var partial: [UInt8] = []
    private var exitStatus: Int32?
    private var outputClosed = false
    private let echo: Bool
    private let onExit: (@Sendable (Int32) -> Void)?

    /// Starts `command` (executable path first) with `environment` added to a minimal base
    /// (`PATH`, `HOME`, `LANG`). With `echo`, lines are also printed as they come; `onExit` is
    /// called with the exit status when it ends.
    public init(command: [String], environment: [String: String], echo: Bool = false,
                onExit: (@Sendable (Int32) -> Void)? = nil) throws {
        self.echo = echo
        self.onExit = onExit
        var env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                   "HOME": ProcessInfo.processInfo.environment["HOME"] ?? "/tmp",
                   "LANG": "C.UTF-8"]
        env.merge(environment) { $1 }

        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw ServerError("pipe: \(String(cString: strerror(errno)))") }
        // Close-on-exec, so that processes started at the same time do not inherit each other's pipes.
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        // Default signal handling in the child, whatever the parent (a test runner) ignores or blocks.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t(), allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = command.map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var child = pid_t()
        startedAt = MonotonicClock.nanoseconds()
        let rc = posix_spawn(&child, command[0], &actions, &attributes, argv, envp)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            throw ServerError("cannot start \(command[0]): \(String(cString: strerror(rc)))")
        }
        pid = child

        let readFD = fds[0]
        Thread { [self] in
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(readFD, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                take(Array(chunk[0..<n]))
            }
            close(readFD)
            take(nil)
        }.start()
        Thread { [self] in
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            // Exit code, or 128 + signal like a shell.
            let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            condition.lock(); exitStatus = code; condition.broadcast(); condition.unlock()
            onExit?(code)
        }.start()
    }

    private func take(_ bytes: [UInt8]?) {
        condition.lock()
        defer { condition.unlock() }
        var newLines: [String] = []
        if let bytes { partial += bytes } else if !partial.isEmpty { partial.append(10) }
        while let nl = partial.firstIndex(of: 10) {
            newLines.append(String(decoding: partial[..<nl], as: UTF8.self))
            partial.removeSubrange(...nl)
        }
        collected += newLines
        if bytes == nil { outputClosed = true; condition.broadcast() }
        // Metric (EMF) lines are shown as a readable summary (`EMF.summary`).
        if echo { for line in newLines { FileHandle.standardOutput.write(Data(("  │ " + (EMF.summary(line) ?? line) + "\n").utf8)) } }
    }

    /// Every output line so far.
    public var lines: [String] { condition.lock(); defer { condition.unlock() }; return collected }

    /// Whether it is still running.
    public var isRunning: Bool { condition.lock(); defer { condition.unlock() }; return exitStatus == nil }

    /// Waits for it to exit (up to `waitLimitSeconds`, then kills it) and for its output to end;
    /// returns the exit status (128 + signal when killed).
    @discardableResult
    public func waitForExit(waitLimitSeconds: Double = 30) -> Int32 {
        condition.lock()
        defer { condition.unlock() }
        let limit = Date(timeIntervalSinceNow: waitLimitSeconds)
        while exitStatus == nil {
            if !condition.wait(until: limit) { kill(pid, SIGKILL); condition.wait() }
        }
        let outputLimit = Date(timeIntervalSinceNow: 2)
        while !outputClosed && condition.wait(until: outputLimit) {}
        return exitStatus!
    }

    /// Asks it to end with SIGTERM and waits (a profiler under it then writes its data), up to
    /// `waitLimitSeconds`, then kills it.
    public func terminate(waitLimitSeconds: Double = 10) {
        if isRunning { kill(pid, SIGTERM) }
        waitForExit(waitLimitSeconds: waitLimitSeconds)
    }

    /// Stops it with SIGKILL (as Lambda ends a sandbox) and waits.
    public func stop() {
        if isRunning { kill(pid, SIGKILL) }
        waitForExit()
    }

    /// Peak resident set size so far in KiB, from /proc (VmHWM), while it runs.
    public var peakRSSKiB: Int? { procStatus("VmHWM:") }
    /// Current resident set size in KiB, from /proc (VmRSS), while it runs.
    public var currentRSSKiB: Int? { procStatus("VmRSS:") }

    /// CPU time it has used so far, in nanoseconds: the sum over its threads of `/proc/PID/task/*/schedstat`
    /// (nanosecond resolution, unlike the clock ticks of `/proc/PID/stat`), while it runs.
    public var cpuNanoseconds: UInt64? {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return nil }
        var total: UInt64 = 0
        for task in tasks {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/schedstat", encoding: .utf8),
                  let first = text.split(separator: " ").first, let ns = UInt64(first) else { continue }
            total += ns
        }
        return total
    }

    /// How many threads it has now (`/proc/PID/task`), while it runs.
    public var threadCount: Int? { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task"))?.count }

    private func procStatus(_ key: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key) {
            return Int(line.dropFirst(key.count).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
        }
        return nil
    }
}
