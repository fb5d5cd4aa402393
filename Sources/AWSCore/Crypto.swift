import CCrypto
import Essentials

/// SHA-256 and HMAC-SHA256 over libcrypto: the two primitives SigV4 needs. Hashes with the
/// `SHA256_CTX` functions directly; OpenSSL 3.0's one-shot `SHA256()`/`HMAC()` look the algorithm up
/// in the providers on every call, which cost more than the hashing of a whole request.
public enum Digest {
    /// SHA-256 of `bytes` (32 bytes).
    public static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var context = SHA256_CTX()
        SHA256_Init(&context)
        SHA256_Update(&context, bytes.baseAddress ?? UnsafeRawPointer(emptyInput), bytes.count)
        return final(&context)
    }

    /// SHA-256 of `bytes` (32 bytes).
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] { bytes.withUnsafeBytes { sha256($0) } }

    /// HMAC-SHA256 of `data` under `key` (32 bytes), RFC 2104.
    public static func hmacSHA256(key: UnsafeRawBufferPointer, data: UnsafeRawBufferPointer) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 64)
        if key.count > 64 {
            let hashed = sha256(key)
            block.replaceSubrange(0..<32, with: hashed)
        } else if key.count > 0 {
            block.withUnsafeMutableBytes { $0.copyMemory(from: key) }
        }
        var inner = SHA256_CTX()
        SHA256_Init(&inner)
        for i in 0..<64 { block[i] ^= 0x36 }
        SHA256_Update(&inner, block, 64)
        SHA256_Update(&inner, data.baseAddress ?? UnsafeRawPointer(emptyInput), data.count)
        let innerHash = final(&inner)
        var outer = SHA256_CTX()
        SHA256_Init(&outer)
        for i in 0..<64 { block[i] ^= 0x36 ^ 0x5c }
        SHA256_Update(&outer, block, 64)
        SHA256_Update(&outer, innerHash, 32)
        return final(&outer)
    }

    /// HMAC-SHA256 of `data` under `key` (32 bytes).
    public static func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
        key.withUnsafeBytes { k in data.withUnsafeBytes { d in hmacSHA256(key: k, data: d) } }
    }

    /// Lower-case hex SHA-256 of `bytes`.
    public static func sha256Hex(_ bytes: [UInt8]) -> String { Hex.encode(sha256(bytes)) }

    private static func final(_ context: inout SHA256_CTX) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 32) { out, count in
            SHA256_Final(out.baseAddress, &context)
            count = 32
        }
    }
}

nonisolated(unsafe) private let emptyInput = UnsafePointer(UnsafeMutablePointer<UInt8>.allocate(capacity: 1))

/// Unpredictable bytes from OpenSSL's CSPRNG (`RAND_bytes`), for ids a caller must not guess.
public enum SecureRandom {
    /// `byteCount` random bytes as lower-case hex (`2 × byteCount` characters).
    public static func hex(byteCount: Int) -> String {
        var bytes = [UInt8](repeating: 0, count: byteCount)
        // RAND_bytes fails only when the generator cannot be seeded, which leaves nothing safe to do.
        guard RAND_bytes(&bytes, Int32(byteCount)) == 1 else { fatalError("RAND_bytes failed: no entropy") }
        return Hex.encode(bytes)
    }
}
