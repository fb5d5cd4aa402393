import CCrypto

/// A set of trusted root certificates held in memory as one OpenSSL `X509_STORE`, built once and
/// shared (reference-counted) by every connection that uses it: no CA file is read or parsed when a
/// connection is made. OpenSSL's store is safe to share between threads for verification.
public final class TrustStore: @unchecked Sendable {
    /// The `X509_STORE *`.
    let store: OpaquePointer
    /// How many certificates it holds.
    public let count: Int
    /// SHA-256 fingerprints (lower-case hex) of the certificates' DER, in the order added.
    public let fingerprints: [String]

    /// Parses every `-----BEGIN CERTIFICATE-----` block of `pem`. Throws when there is none or one is malformed.
    public init(pem: String) throws(TrustStoreError) {
        guard let store = X509_STORE_new() else { throw TrustStoreError("out of memory") }
        var added = 0
        var fingerprints: [String] = []
        let failure: TrustStoreError? = pem.utf8CString.withUnsafeBufferPointer { text -> TrustStoreError? in
            guard let bio = BIO_new_mem_buf(text.baseAddress, Int32(text.count - 1)) else { return TrustStoreError("out of memory") }
            defer { BIO_free(bio) }
            while true {
                ERR_clear_error()
                guard let certificate = PEM_read_bio_X509(bio, nil, nil, nil) else {
                    // The end of the text reads as "no start line"; anything else is a malformed block.
                    let reason = ERR_GET_REASON(ERR_peek_last_error())
                    ERR_clear_error()
                    return reason == PEM_R_NO_START_LINE ? nil : TrustStoreError("certificate \(added + 1) is not valid PEM")
                }
                defer { X509_free(certificate) }
                fingerprints.append(Self.fingerprint(certificate))
                guard X509_STORE_add_cert(store, certificate) == 1 else { return TrustStoreError("certificate \(added + 1) was refused") }
                added += 1
            }
        }
        if let failure { X509_STORE_free(store); throw failure }
        guard added > 0 else { X509_STORE_free(store); throw TrustStoreError("no certificate found") }
        self.store = store
        self.count = added
        self.fingerprints = fingerprints
    }

    deinit { X509_STORE_free(store) }

    /// SHA-256 of the certificate's DER, lower-case hex.
    private static func fingerprint(_ certificate: OpaquePointer) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        _ = X509_digest(certificate, EVP_sha256(), &digest, &length)
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in digest.prefix(Int(length)) { out.append(hex[Int(byte >> 4)]); out.append(hex[Int(byte & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Makes OpenSSL load its configuration and providers now (a first `SSL_CTX` costs ~2 ms of CPU),
    /// so a process can pay it during init rather than on its first request.
    public static func warmUpTLS() {
        if let context = SSL_CTX_new(TLS_client_method()) { SSL_CTX_free(context) }
    }
}

/// A trust store could not be built.
public struct TrustStoreError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Which certificate authorities a connection trusts for HTTPS.
public enum TLSTrust: Sendable {
    /// A CA bundle file (nil: libcurl's built-in default), read by OpenSSL when a connection is made.
    case caBundle(String?)
    /// A prebuilt in-memory store. If a server's certificate fails verification against it, the
    /// connection logs a warning and tries once more with `fallbackCABundle`, which it keeps using:
    /// a change of CA costs speed, never availability.
    case store(TrustStore, fallbackCABundle: String?)
}
