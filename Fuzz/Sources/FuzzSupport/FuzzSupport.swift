// Helpers shared by the fuzz targets.
import CLibFuzzer
import Essentials
import JSON
#if canImport(Glibc)
import Glibc
#endif

/// Runs libFuzzer, with this process's command line, on `testOneInput` (the target's
/// `@_cdecl("LLVMFuzzerTestOneInput")` function, which must trap on any property violation: libFuzzer
/// then saves the input as `crash-…` and the run fails). SwiftPM's `main` is the module's entry point,
/// so the target's main.swift calls this; had libFuzzer's own `main` been linked instead, it would call
/// `LLVMFuzzerTestOneInput` directly and the outcome is the same.
public func runFuzzer(_ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
}

/// The input's bytes.
@inline(__always)
public func input(_ data: UnsafePointer<UInt8>?, _ size: Int) -> UnsafeBufferPointer<UInt8> {
    UnsafeBufferPointer(start: size > 0 ? data : nil, count: size)
}

/// Fails the run (libFuzzer records the input as a crash) when `condition` does not hold.
@inline(__always)
public func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                  file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError("property violated: \(message())", file: file, line: line) }
}

/// Whether `haystack` contains `needle` as a run of bytes (what a log line would show).
public func containsBytes<H: Collection, N: Collection>(_ haystack: H, _ needle: N) -> Bool
    where H.Element == UInt8, N.Element == UInt8 {
    let h = Array(haystack), n = Array(needle)
    if n.isEmpty { return true }
    if h.count < n.count { return false }
    return h.withUnsafeBytes { hb in n.withUnsafeBytes { nb in memmem(hb.baseAddress, hb.count, nb.baseAddress, nb.count) != nil } }
}

/// The input split into lines as libcurl hands header lines over: each with its line end, if any.
public func headerLines(_ bytes: UnsafeBufferPointer<UInt8>) -> [UnsafeBufferPointer<UInt8>] {
    var lines: [UnsafeBufferPointer<UInt8>] = []
    var start = 0
    for i in 0..<bytes.count where bytes[i] == 10 {
        lines.append(UnsafeBufferPointer(rebasing: bytes[start...i]))
        start = i + 1
    }
    if start < bytes.count { lines.append(UnsafeBufferPointer(rebasing: bytes[start...])) }
    return lines
}

/// Log lines go nowhere: the handlers log every outcome, and the fuzzers run millions of them.
public func silenceLogs() {
    Log.sink = { _ in }
}

/// Strict structural equality: strings and keys compared byte for byte (Swift's `==` on strings
/// is Unicode canonical equivalence, which would hide a changed byte), numbers by their text.
public func identical(_ a: JSONValue, _ b: JSONValue) -> Bool {
    switch (a, b) {
    case (.null, .null): return true
    case let (.bool(x), .bool(y)): return x == y
    case let (.number(x), .number(y)): return x.utf8.elementsEqual(y.utf8)
    case let (.string(x), .string(y)): return x.utf8.elementsEqual(y.utf8)
    case let (.array(x), .array(y)): return x.count == y.count && zip(x, y).allSatisfy { identical($0, $1) }
    case let (.object(x), .object(y)):
        return x.count == y.count && zip(x, y).allSatisfy { $0.key.utf8.elementsEqual($1.key.utf8) && identical($0.value, $1.value) }
    default: return false
    }
}

/// The deepest nesting of `[` and `{` in `bytes` (outside strings or not: an upper bound).
public func bracketDepth(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
    var depth = 0, deepest = 0
    for b in bytes {
        if b == 91 || b == 123 { depth += 1; deepest = max(deepest, depth) } else if b == 93 || b == 125 { depth = max(0, depth - 1) }
    }
    return deepest
}

/// Runs `body` on a new thread with `stackBytes` of stack (the runtime's workers have 1 MiB), so a
/// recursion that fits the main thread's 8 MiB but not a worker's is a crash here too.
public func onThread(stackBytes: Int = 1 << 20, _ body: @escaping () -> Void) {
    final class Box { let body: () -> Void; init(_ body: @escaping () -> Void) { self.body = body } }
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setstacksize(&attributes, stackBytes)
    var thread = pthread_t()
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    let status = pthread_create(&thread, &attributes, { raw in
        let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
        box.body()
        return nil
    }, box)
    precondition(status == 0, "pthread_create failed: \(status)")
    pthread_join(thread, nil)
}
