import CCrypto
import Essentials

/// SHA-256 and HMAC-SHA256 over libcrypto: the two primitives SigV4 needs.
public enum Digest {
    /// SHA-256 of `bytes` (32 bytes).
    public static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 32) { out, count in
            _ = SHA256(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? emptyInput, bytes.count, out.baseAddress)
            count = 32
        }
    }

    /// SHA-256 of `bytes` (32 bytes).
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] { bytes.withUnsafeBytes { sha256($0) } }

    /// HMAC-SHA256 of `data` under `key` (32 bytes).
    public static func hmacSHA256(key: UnsafeRawBufferPointer, data: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 32) { out, count in
            var length: UInt32 = 32
            _ = HMAC(EVP_sha256(), key.baseAddress ?? UnsafeRawPointer(emptyInput), Int32(key.count),
                     data.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? emptyInput, data.count,
                     out.baseAddress, &length)
            count = Int(length)
        }
    }

    /// HMAC-SHA256 of `data` under `key` (32 bytes).
    public static func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
        key.withUnsafeBytes { k in data.withUnsafeBytes { d in hmacSHA256(key: k, data: d) } }
    }

    /// Lower-case hex SHA-256 of `bytes`.
    public static func sha256Hex(_ bytes: [UInt8]) -> String { Hex.encode(sha256(bytes)) }
}

nonisolated(unsafe) private let emptyInput = UnsafePointer(UnsafeMutablePointer<UInt8>.allocate(capacity: 1))
