#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Small file-system helpers without Foundation.
public enum Files {
    /// The whole file's bytes, or nil when it cannot be read.
    public static func read(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            result.append(contentsOf: chunk[0..<n])
        }
        return result
    }

    /// Whether a regular file (or a link to one) is readable at `path`.
    public static func isReadable(_ path: String) -> Bool { access(path, R_OK) == 0 }
}

/// Hexadecimal encoding.
public enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Lower-case hex of `bytes`.
    public static func encode(_ bytes: [UInt8]) -> String {
        // Concrete and written in place: the generic version, unspecialised across modules, cost ~10 k
        // instructions per SHA-256 digest.
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            digits.withUnsafeBufferPointer { d in
                for (i, b) in bytes.enumerated() {
                    out[2 * i] = d[Int(b >> 4)]
                    out[2 * i + 1] = d[Int(b & 0x0f)]
                }
            }
            return bytes.count * 2
        }
    }
}

/// Writes one line to standard error in one `write` call, under a process-wide lock, so lines
/// written by concurrent workers never interleave (even a line longer than a pipe's atomic size).
public func writeLine(toStandardError line: String) {
    var bytes = Array(line.utf8)
    bytes.append(10)
    pthread_mutex_lock(&standardErrorLock)
    defer { pthread_mutex_unlock(&standardErrorLock) }
    bytes.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let n = write(2, raw.baseAddress! + offset, raw.count - offset)
            if n < 0 { if errno == EINTR { continue }; return }
            offset += n
        }
    }
}

nonisolated(unsafe) private var standardErrorLock = pthread_mutex_t()
