import Foundation

/// A throw-away public-key infrastructure for HTTPS stand-ins: a test CA and server certificates for
/// `127.0.0.1`/`localhost`, made with the `openssl` command in a fresh temporary folder at run time
/// (no private key is ever committed). A second `TestPKI` is a CA the first one's clients do not trust.
public final class TestPKI: @unchecked Sendable {
    /// The folder holding every file it made (removed by `remove()`).
    public let directory: String
    /// The CA certificate (PEM): what a client trusts to accept this PKI's servers.
    public let caCertificate: String
    private let caKey: String
    private var issued = 0
    private let lock = NSLock()

    /// Makes a new CA (P-256, valid for 2 days).
    public init(name: String = "ivs-chat-events Test CA") throws {
        directory = NSTemporaryDirectory() + "ivs-chat-events-pki-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        caCertificate = directory + "/ca.pem"
        caKey = directory + "/ca.key"
        try Self.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=\(name)",
                          "-days", "2", "-keyout", caKey, "-out", caCertificate,
                          "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    }

    /// Issues a server certificate for 127.0.0.1 and localhost; `expired` makes one whose validity ended
    /// a day ago. Returns the files: the chain (leaf, then the CA) and the key.
    public func issueServerCertificate(expired: Bool = false) throws -> (chain: String, key: String) {
        let n = lock.withLock { issued += 1; return issued }
        let base = "\(directory)/server\(n)"
        let extensions = base + ".ext"
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n".write(toFile: extensions, atomically: true, encoding: .utf8)
        try Self.openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost",
                          "-keyout", base + ".key", "-out", base + ".csr"])
        // `-days -1`: valid from now until a day ago, which a client reports as "certificate has expired".
        try Self.openssl(["x509", "-req", "-in", base + ".csr", "-CA", caCertificate, "-CAkey", caKey, "-days", expired ? "-1" : "2",
                          "-extfile", extensions, "-out", base + ".pem"])
        let chain = try String(contentsOfFile: base + ".pem", encoding: .utf8) + String(contentsOfFile: caCertificate, encoding: .utf8)
        try chain.write(toFile: base + ".chain.pem", atomically: true, encoding: .utf8)
        return (base + ".chain.pem", base + ".key")
    }

    /// A TLS identity for an `HTTPServer`, signed by this CA.
    public func serverIdentity(expired: Bool = false) throws -> TLSServerIdentity {
        let files = try issueServerCertificate(expired: expired)
        return try TLSServerIdentity(certificateChainFile: files.chain, privateKeyFile: files.key)
    }

    /// Writes a CA bundle: `base`'s certificates (e.g. the system's full bundle) followed by this CA's.
    public func bundle(named name: String, appendingTo base: String? = nil) throws -> String {
        var text = try base.map { try String(contentsOfFile: $0, encoding: .utf8) } ?? ""
        if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
        text += try String(contentsOfFile: caCertificate, encoding: .utf8)
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Deletes the folder.
    public func remove() { try? FileManager.default.removeItem(atPath: directory) }

    private static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ServerError("openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(String(decoding: message, as: UTF8.self))")
        }
    }
}
