import CCrypto
import Essentials

/// A set of trusted root certificates held in memory as one OpenSSL `X509_STORE`, built once and
/// shared (reference-counted) by every connection that uses it: no CA file is read when a connection
/// is made. OpenSSL's store is safe to share between threads for verification.
///
/// The certificates are decoded lazily. Decoding a certificate makes OpenSSL 3.0 decode its public
/// key through the provider decoders (~2 M instructions, ~0.6 ms, per certificate: most of what a
/// large CA bundle costs), while a verification needs only the one root its chain ends at. So the
/// store starts with each root's subject name only, and a lookup method decodes a root (and caches
/// it in the store) the first time a chain asks for it by name.
public final class TrustStore: @unchecked Sendable {
    /// The `X509_STORE *`.
    let store: OpaquePointer
    /// The roots' DER and subject names, read by the lookup method (kept alive by this object).
    private let roots: LazyRoots
    /// How many certificates it holds.
    public var count: Int { roots.entries.count }
    /// SHA-256 fingerprints (lower-case hex) of the certificates' DER, in the order given (computed when asked).
    public var fingerprints: [String] { roots.entries.map { Hex.encode(Self.sha256($0.der)) } }

    /// Takes every `-----BEGIN CERTIFICATE-----` block of `pem`. Throws when there is none or one is
    /// malformed (not base64, or not a certificate's outline).
    public init(pem: String) throws(TrustStoreError) {
        let ders = try Self.derBlocks(pem)
        guard !ders.isEmpty else { throw TrustStoreError("no certificate found") }
        var entries: [LazyRoots.Entry] = []
        for (index, der) in ders.enumerated() {
            guard let subject = DER.subjectName(ofCertificate: der),
                  let name = subject.withUnsafeBufferPointer({ bytes -> OpaquePointer? in
                      var cursor: UnsafePointer<UInt8>? = bytes.baseAddress
                      return d2i_X509_NAME(nil, &cursor, bytes.count)
                  })
            else { throw TrustStoreError("certificate \(index + 1) is not a well-formed certificate") }
            entries.append(.init(der: der, subject: name))
        }
        roots = LazyRoots(entries: entries)
        guard let store = X509_STORE_new(), let lookup = X509_STORE_add_lookup(store, LazyRoots.method) else {
            throw TrustStoreError("out of memory")
        }
        X509_LOOKUP_set_method_data(lookup, Unmanaged.passUnretained(roots).toOpaque())
        self.store = store
    }

    deinit { X509_STORE_free(store) }

    /// The DER of each PEM block named CERTIFICATE, without decoding it.
    private static func derBlocks(_ pem: String) throws(TrustStoreError) -> [[UInt8]] {
        var blocks: [[UInt8]] = []
        let failure: TrustStoreError? = pem.utf8CString.withUnsafeBufferPointer { text -> TrustStoreError? in
            guard let bio = BIO_new_mem_buf(text.baseAddress, Int32(text.count - 1)) else { return TrustStoreError("out of memory") }
            defer { BIO_free(bio) }
            while true {
                var name: UnsafeMutablePointer<CChar>?, header: UnsafeMutablePointer<CChar>?
                var data: UnsafeMutablePointer<UInt8>?
                var length = 0
                ERR_clear_error()
                guard PEM_read_bio(bio, &name, &header, &data, &length) == 1 else {
                    // The end of the text reads as "no start line"; anything else is a malformed block.
                    let reason = ERR_GET_REASON(ERR_peek_last_error())
                    ERR_clear_error()
                    return reason == PEM_R_NO_START_LINE ? nil : TrustStoreError("certificate \(blocks.count + 1) is not valid PEM")
                }
                defer { CRYPTO_free(name, #fileID, #line); CRYPTO_free(header, #fileID, #line); CRYPTO_free(data, #fileID, #line) }
                guard let name, String(cString: name) == "CERTIFICATE" || String(cString: name) == "TRUSTED CERTIFICATE",
                      let data, length > 0 else { continue }
                blocks.append(Array(UnsafeBufferPointer(start: data, count: length)))
            }
        }
        if let failure { throw failure }
        return blocks
    }

    private static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var context = SHA256_CTX()
        var digest = [UInt8](repeating: 0, count: 32)
        SHA256_Init(&context)
        SHA256_Update(&context, bytes, bytes.count)
        SHA256_Final(&digest, &context)
        return digest
    }

    /// Makes OpenSSL load its configuration and providers now (a first `SSL_CTX` costs ~2 ms of CPU),
    /// so a process can pay it during init rather than on its first request.
    public static func warmUpTLS() {
        if let context = SSL_CTX_new(TLS_client_method()) { SSL_CTX_free(context) }
    }
}

/// The roots of a `TrustStore`, found by subject name and decoded on first use by an OpenSSL lookup method.
private final class LazyRoots {
    struct Entry {
        let der: [UInt8]
        /// The decoded subject name (`X509_NAME *`, owned).
        let subject: OpaquePointer
    }
    let entries: [Entry]

    init(entries: [Entry]) { self.entries = entries }
    deinit { for entry in entries { X509_NAME_free(entry.subject) } }

    /// The lookup method, made once per process.
    nonisolated(unsafe) static let method: OpaquePointer = {
        guard let method = X509_LOOKUP_meth_new("ivs-chat-events lazy roots") else { fatalError("X509_LOOKUP_meth_new: out of memory") }
        X509_LOOKUP_meth_set_get_by_subject(method, lazyRootBySubject)
        return method
    }()
}

/// `get_by_subject`: decodes the root named `name`, adds it to the store (OpenSSL looks there first
/// from then on) and hands it over. Two threads may both decode it; the store keeps one.
private func lazyRootBySubject(_ lookup: OpaquePointer?, _ type: X509_LOOKUP_TYPE, _ name: OpaquePointer?,
                               _ result: OpaquePointer?) -> Int32 {
    guard type == X509_LU_X509, let lookup, let name, let result,
          let data = X509_LOOKUP_get_method_data(lookup) else { return 0 }
    let roots = Unmanaged<LazyRoots>.fromOpaque(data).takeUnretainedValue()
    for entry in roots.entries where X509_NAME_cmp(entry.subject, name) == 0 {
        guard let certificate = entry.der.withUnsafeBufferPointer({ bytes -> OpaquePointer? in
            var cursor: UnsafePointer<UInt8>? = bytes.baseAddress
            return d2i_X509(nil, &cursor, bytes.count)
        }) else { continue }
        defer { X509_free(certificate) }
        if let store = X509_LOOKUP_get_store(lookup) { _ = X509_STORE_add_cert(store, certificate) }
        return X509_OBJECT_set1_X509(result, certificate)
    }
    return 0
}

/// Just enough DER to find a certificate's subject without decoding the certificate.
enum DER {
    /// The content range of the element at `offset`, and where the next element starts.
    static func element(_ bytes: [UInt8], at offset: Int) -> (tag: UInt8, start: Int, content: Range<Int>)? {
        guard offset + 2 <= bytes.count else { return nil }
        var length = Int(bytes[offset + 1])
        var position = offset + 2
        if length & 0x80 != 0 {
            let count = length & 0x7F
            guard count >= 1, count <= 3, position + count <= bytes.count else { return nil }
            length = 0
            for i in 0..<count { length = length << 8 | Int(bytes[position + i]) }
            position += count
        }
        guard position + length <= bytes.count else { return nil }
        return (bytes[offset], offset, position..<(position + length))
    }

    /// The subject `Name` (its whole TLV) of a DER certificate:
    /// Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber, signature,
    /// issuer, validity, subject, … }, … }.
    static func subjectName(ofCertificate der: [UInt8]) -> [UInt8]? {
        guard let certificate = element(der, at: 0), certificate.tag == 0x30,
              let tbs = element(der, at: certificate.content.lowerBound), tbs.tag == 0x30 else { return nil }
        var offset = tbs.content.lowerBound
        if let first = element(der, at: offset), first.tag == 0xA0 { offset = first.content.upperBound }
        // serialNumber, signature, issuer, validity: skip; then the subject.
        for expected: UInt8 in [0x02, 0x30, 0x30, 0x30] {
            guard let field = element(der, at: offset), field.tag == expected, field.content.upperBound <= tbs.content.upperBound else { return nil }
            offset = field.content.upperBound
        }
        guard let subject = element(der, at: offset), subject.tag == 0x30 else { return nil }
        return Array(der[subject.start..<subject.content.upperBound])
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
