import AWSCore
import Essentials
import Foundation
import HTTPTransport
import JSON
import LocalHarness
import Testing

/// HTTPS to the IVS stand-in (issue #14): the real `bootstrap` verifies the stand-in's certificate
/// against a test CA made at run time; untrusted and expired certificates fail the invocation
/// cleanly, with the endpoint and the reason, and the process keeps serving.
@Suite struct TLSTests {
    static let room = StreamStartedTests.room

    /// One PKI for the suite (its CA is what the function trusts) and one it does not trust.
    static let pki = Result { try TestPKI() }
    static let strangerPKI = Result { try TestPKI(name: "Untrusted Test CA") }

    typealias Fixture = StreamStartedTests.Fixture

    static func streamStart() throws -> [UInt8] { try StreamStartedTests.sample("stream-start") }

    @Test func trustedCertificateThroughAUserCABundle() throws {
        let pki = try Self.pki.get()
        let f = try Fixture(env: ["SSL_CERT_FILE": pki.caCertificate], tls: try pki.serverIdentity())
        #expect(f.ivs.url.hasPrefix("https://"))
        let outcome = f.function.invoke(try Self.streamStart())
        #expect(try JSONValue.parse(outcome.text)["sent"] == .bool(true), "\(outcome)")
        #expect(f.ivs.events.map(\.eventName) == ["STREAM_STARTED"])
        #expect(f.ivs.failedHandshakes == 0)
    }

    /// The built-in-roots path, with the test CA standing in for Amazon's, last of six roots (each
    /// decoded only when a chain names it): no CA bundle is configured.
    @Test func trustedCertificateThroughTheBuiltInRootsPath() throws {
        let pki = try Self.pki.get()
        let roots = pki.directory + "/amazon-and-test-roots.pem"
        try AmazonRoots.pem.write(toFile: roots, atomically: true, encoding: .utf8)
        let f = try Fixture(env: ["IVS_CHAT_EVENTS_TEST_AWS_ROOTS": try pki.bundle(named: "six-roots.pem", appendingTo: roots)],
                            tls: try pki.serverIdentity())
        let outcome = f.function.invoke(try Self.streamStart())
        #expect(try JSONValue.parse(outcome.text)["sent"] == .bool(true), "\(outcome)")
        #expect(f.ivs.events.count == 1)
    }

    @Test(arguments: [false, true]) func refusedCertificateFailsCleanlyAndTheProcessServesOn(expired: Bool) throws {
        let pki = try Self.pki.get()
        let identity = expired ? try pki.serverIdentity(expired: true) : try Self.strangerPKI.get().serverIdentity()
        let f = try Fixture(env: ["SSL_CERT_FILE": pki.caCertificate], tls: identity)
        for _ in 1...2 {
            let outcome = f.function.invoke(try Self.streamStart())
            guard case let .error(type, body) = outcome else { Issue.record("expected a function error, got \(outcome)"); return }
            let message = try JSONValue.parse(body)["errorMessage"]?.stringValue ?? ""
            #expect(!type.isEmpty)
            #expect(message.contains(f.ivs.url), "the endpoint is named: \(message)")
            #expect(message.contains("SSL certificate problem: " + (expired ? "certificate has expired" : "self-signed certificate in certificate chain")),
                    "the reason is named: \(message)")
            for secret in [IVSStandIn.secretAccessKey, "Signature="] { #expect(!message.contains(secret)) }
        }
        #expect(f.function.process.isRunning, "the process keeps serving after a refused certificate")
        #expect(f.ivs.events.isEmpty && f.ivs.requestCount(for: "SendEvent") == 0, "no request went over a refused connection")
    }

    /// Both paths of `TLSTrust.store`, on one connection: a store holding the server's CA; a store
    /// holding another CA, whose failed verification falls back (with a warning) to the CA bundle.
    @Test func storeAndItsFallback() throws {
        let pki = try Self.pki.get()
        let server = try HTTPServer(tls: try pki.serverIdentity()) { _ in .json(200, #"{"ok":true}"#) }
        defer { server.stop() }
        let request = HTTPRequest(method: "POST", url: server.baseURL + "/x", body: Array("{}".utf8))

        let ownCA = try TrustStore(pem: String(contentsOfFile: pki.caCertificate, encoding: .utf8))
        let direct = CurlConnection(options: .init(trust: .store(ownCA, fallbackCABundle: nil)))
        #expect(try direct.perform(request, timeoutMilliseconds: 5000).status == 200)

        let otherCA = try TrustStore(pem: String(contentsOfFile: try Self.strangerPKI.get().caCertificate, encoding: .utf8))
        let noFallback = CurlConnection(options: .init(trust: .store(otherCA, fallbackCABundle: try Self.strangerPKI.get().caCertificate)))
        #expect(throws: HTTPTransportError.self) { try noFallback.perform(request, timeoutMilliseconds: 5000) }

        let warnings = LogCapture.start()
        defer { LogCapture.stop() }
        let falling = CurlConnection(options: .init(trust: .store(otherCA, fallbackCABundle: pki.caCertificate)))
        #expect(try falling.perform(request, timeoutMilliseconds: 5000).status == 200)
        #expect(try falling.perform(request, timeoutMilliseconds: 5000).status == 200)
        let lines = warnings.lines.filter { $0.contains(server.baseURL) }
        #expect(lines.count == 1, "one warning, then the bundle is kept: \(lines)")
        #expect(lines.first?.contains("WARN") == true && lines.first?.contains(pki.caCertificate) == true)
    }
}

/// Collects the process's log lines for a test (the log is process-wide: keep such tests few).
final class LogCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [String] = []
    var lines: [String] { lock.withLock { collected } }

    static func start() -> LogCapture {
        let capture = LogCapture()
        Log.sink = { line in capture.lock.withLock { capture.collected.append(line) } }
        return capture
    }

    static func stop() { Log.sink = { writeLine(toStandardError: $0) } }
}
