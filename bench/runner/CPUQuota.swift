import Foundation

/// A CPU quota for the processes started under it: a cgroup whose CFS quota is a share of one core
/// (issue #14's "128 MB" figure: Lambda gives a 128 MB function 128/1769 ≈ 7.2 % of a vCPU).
/// cgroup v1 (`cpu.cfs_quota_us`) or v2 (`cpu.max`), when the machine lets us make one.
struct CPUQuota {
    /// The cgroup's folder.
    let directory: String
    let percent: Double
    /// The command prefix that moves the process into the cgroup, then executes the command.
    var wrapper: [String] {
        ["/bin/sh", "-c", "echo $$ > '\(directory)/cgroup.procs' && exec \"$@\"", "sh"]
    }

    /// Makes (or reuses) the cgroup; the failure says why it cannot be done here.
    static func make(percent: Double, name: String = "ivs-chat-events-bench") -> Result<CPUQuota, BenchError> {
        let period = 100_000
        let quota = Int(Double(period) * percent / 100)
        let fm = FileManager.default
        func write(_ value: String, _ path: String) -> Bool { (try? value.write(toFile: path, atomically: false, encoding: .utf8)) != nil }
        // cgroup v2, unified at /sys/fs/cgroup with the cpu controller.
        if let controllers = try? String(contentsOfFile: "/sys/fs/cgroup/cgroup.controllers", encoding: .utf8), controllers.contains("cpu") {
            let dir = "/sys/fs/cgroup/" + name
            _ = write("+cpu", "/sys/fs/cgroup/cgroup.subtree_control")
            try? fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            if write("\(quota) \(period)", dir + "/cpu.max") { return .success(CPUQuota(directory: dir, percent: percent)) }
            return .failure(BenchError("cgroup v2: cannot write \(dir)/cpu.max (not root, or the cpu controller is not delegated)"))
        }
        // cgroup v1 cpu controller.
        if fm.fileExists(atPath: "/sys/fs/cgroup/cpu/cpu.cfs_quota_us") {
            let dir = "/sys/fs/cgroup/cpu/" + name
            try? fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            if write("\(period)", dir + "/cpu.cfs_period_us"), write("\(quota)", dir + "/cpu.cfs_quota_us") {
                return .success(CPUQuota(directory: dir, percent: percent))
            }
            return .failure(BenchError("cgroup v1: cannot write \(dir)/cpu.cfs_quota_us (not root, or /sys/fs/cgroup is read-only)"))
        }
        return .failure(BenchError("no cgroup cpu controller found (neither /sys/fs/cgroup/cgroup.controllers with cpu nor /sys/fs/cgroup/cpu)"))
    }
}
