import Foundation
import Testing
import AWSCore
import Essentials
import AWSServices
import HTTPTransport
import JSON

@Suite struct AWSConfigurationTests {
    static func lookup(_ env: [String: String]) -> (String) -> String? { { env[$0].flatMap { $0.isEmpty ? nil : $0 } } }

    @Test func credentialsFromEnvironment() throws {
        let c = try AWSCredentials.resolve(lookup: Self.lookup(["AWS_ACCESS_KEY_ID": "AKID1", "AWS_SECRET_ACCESS_KEY": "s3cr3t-value",
                                                                 "AWS_SESSION_TOKEN": "t0k3n-value"]))
        #expect(c.accessKeyId == "AKID1")
        #expect(c.secretAccessKey.reveal == "s3cr3t-value")
        #expect(c.sessionToken?.reveal == "t0k3n-value")
        #expect(c.source == "environment")
        for text in [c.description, "\(c)", String(reflecting: c), "\(c.secretAccessKey)"] {
            #expect(!text.contains("s3cr3t-value") && !text.contains("t0k3n-value"), "leaks: \(text)")
        }
    }

    @Test func credentialsFromSharedFile() throws {
        let path = NSTemporaryDirectory() + "creds-\(UUID().uuidString)"
        try "# comment\n[default]\naws_access_key_id = AKIDDEF\naws_secret_access_key=defsecret\n\n[work]\n aws_access_key_id = AKIDWORK \naws_secret_access_key = worksecret\naws_session_token = worktoken\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let def = try AWSCredentials.resolve(lookup: Self.lookup(["AWS_SHARED_CREDENTIALS_FILE": path]))
        #expect(def.accessKeyId == "AKIDDEF" && def.secretAccessKey.reveal == "defsecret" && def.sessionToken == nil)
        let work = try AWSCredentials.resolve(lookup: Self.lookup(["AWS_SHARED_CREDENTIALS_FILE": path, "AWS_PROFILE": "work"]))
        #expect(work.accessKeyId == "AKIDWORK" && work.sessionToken?.reveal == "worktoken")
        #expect(work.source.contains(path) && work.source.contains("[work]"))
        #expect(throws: AWSConfigurationError.self) {
            try AWSCredentials.resolve(lookup: Self.lookup(["AWS_SHARED_CREDENTIALS_FILE": path, "AWS_PROFILE": "nope"]))
        }
    }

    @Test func missingCredentialsNamesWhereItLooked() {
        do {
            _ = try AWSCredentials.resolve(lookup: Self.lookup(["HOME": "/nonexistent-home", "AWS_ACCESS_KEY_ID": "only-id"]))
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("AWS_ACCESS_KEY_ID"))
            #expect(error.description.contains("AWS_SECRET_ACCESS_KEY"))
            #expect(error.description.contains("/nonexistent-home/.aws/credentials"))
        }
    }

    @Test func region() throws {
        #expect(try AWSRegion.resolve(lookup: Self.lookup(["AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-2"])) == "eu-west-1")
        #expect(try AWSRegion.resolve(lookup: Self.lookup(["AWS_DEFAULT_REGION": "us-east-2"])) == "us-east-2")
        do { _ = try AWSRegion.resolve(lookup: Self.lookup([:])); Issue.record("expected an error") } catch {
            #expect(error.description.contains("AWS_REGION"))
        }
    }

    @Test func defaultEndpoints() throws {
        let none = Self.lookup([:])
        let chat = try AWSEndpoint.resolve(for: .ivsChat, region: "eu-west-1", lookup: none)
        #expect(chat.url == "https://ivschat.eu-west-1.amazonaws.com" && chat.host == "ivschat.eu-west-1.amazonaws.com")
        #expect(try AWSEndpoint.resolve(for: .ivsRealTime, region: "us-east-1", lookup: none).host == "ivsrealtime.us-east-1.amazonaws.com")
        #expect(try AWSEndpoint.resolve(for: .dynamoDB, region: "us-east-1", lookup: none).host == "dynamodb.us-east-1.amazonaws.com")
        #expect(AWSService.ivsChat.signingName == "ivschat" && AWSService.ivsRealTime.signingName == "ivs" && AWSService.dynamoDB.signingName == "dynamodb")
    }

    @Test func endpointOverrides() throws {
        let env = Self.lookup(["AWS_ENDPOINT_URL": "http://localhost:4566/", "AWS_ENDPOINT_URL_IVSCHAT": "http://127.0.0.1:9000",
                               "AWS_ENDPOINT_URL_IVS_REALTIME": "https://rt.example.com:443/base"])
        let chat = try AWSEndpoint.resolve(for: .ivsChat, region: "us-east-1", lookup: env)
        #expect(chat.url == "http://127.0.0.1:9000" && chat.host == "127.0.0.1:9000" && chat.basePath == "")
        let rt = try AWSEndpoint.resolve(for: .ivsRealTime, region: "us-east-1", lookup: env)
        #expect(rt.url == "https://rt.example.com/base" && rt.host == "rt.example.com" && rt.basePath == "/base")
        let ddb = try AWSEndpoint.resolve(for: .dynamoDB, region: "us-east-1", lookup: env)
        #expect(ddb.url == "http://localhost:4566" && ddb.host == "localhost:4566")
        #expect(throws: AWSConfigurationError.self) { try AWSEndpoint(url: "ftp://x") }
    }

    @Test func systemBundleOrder() {
        let readable: Set<String> = ["/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/certs/ca-bundle.crt", "/custom.pem"]
        #expect(TLSTrustPolicy.locateSystemBundle(isReadable: readable.contains) == "/etc/ssl/certs/ca-bundle.crt")
        #expect(TLSTrustPolicy.locateSystemBundle(isReadable: { $0 == "/etc/ssl/certs/ca-certificates.crt" }) == "/etc/ssl/certs/ca-certificates.crt")
        #expect(TLSTrustPolicy.locateSystemBundle(isReadable: { _ in false }) == nil)
    }

    /// A user's CA is trusted exactly as configured; AWS's own endpoints use the built-in roots, with
    /// the system bundle as fallback; overrides use the system bundle.
    @Test func trustPerEndpoint() throws {
        let readable: Set<String> = ["/etc/ssl/certs/ca-certificates.crt", "/custom.pem", "/other.pem"]
        let aws = try AWSEndpoint.resolve(for: .ivsChat, region: "us-west-2", lookup: Self.lookup([:]))
        let override = try AWSEndpoint.resolve(for: .ivsChat, region: "us-west-2", lookup: Self.lookup(["AWS_ENDPOINT_URL": "https://chat.example"]))
        #expect(aws.isServiceDefault && !override.isServiceDefault)

        let plain = try TLSTrustPolicy.fromEnvironment(lookup: Self.lookup([:]), isReadable: readable.contains)
        #expect(plain.userBundle == nil && plain.awsRoots?.count == 5)
        guard case let .store(store, fallback) = plain.trust(for: aws) else { Issue.record("AWS endpoint without the built-in roots"); return }
        #expect(store.count == 5 && fallback == "/etc/ssl/certs/ca-certificates.crt")
        guard case .caBundle("/etc/ssl/certs/ca-certificates.crt") = plain.trust(for: override) else { Issue.record("override not on the system bundle"); return }

        for variable in ["AWS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE"] {
            let user = try TLSTrustPolicy.fromEnvironment(lookup: Self.lookup([variable: "/custom.pem"]), isReadable: readable.contains)
            for endpoint in [aws, override] {
                guard case .caBundle("/custom.pem") = user.trust(for: endpoint) else { Issue.record("\(variable) not honoured"); return }
            }
        }
        // AWS_CA_BUNDLE first, as boto3 reads it.
        let both = try TLSTrustPolicy.fromEnvironment(lookup: Self.lookup(["AWS_CA_BUNDLE": "/custom.pem", "SSL_CERT_FILE": "/other.pem"]),
                                                      isReadable: readable.contains)
        #expect(both.userBundle == "/custom.pem")
        #expect(throws: AWSConfigurationError.self) {
            try TLSTrustPolicy.fromEnvironment(lookup: Self.lookup(["SSL_CERT_FILE": "/missing.pem"]), isReadable: readable.contains)
        }
    }

    /// The built-in roots are exactly the five AWS names, as Debian's ca-certificates ships them
    /// (scripts/embed-amazon-roots.sh writes them; nobody edits them by hand).
    @Test func amazonRootsMatchTheCACertificatesPackage() throws {
        let store = AmazonRoots.makeStore()
        #expect(AmazonRoots.sourceFiles == ["Amazon_Root_CA_1.crt", "Amazon_Root_CA_2.crt", "Amazon_Root_CA_3.crt", "Amazon_Root_CA_4.crt",
                                            "Starfield_Services_Root_Certificate_Authority_-_G2.crt"])
        #expect(store.count == 5)
        for (index, file) in AmazonRoots.sourceFiles.enumerated() {
            let pem = try String(contentsOfFile: "/usr/share/ca-certificates/mozilla/" + file, encoding: .utf8)
            let fromPackage = try TrustStore(pem: pem)
            #expect(fromPackage.fingerprints == [store.fingerprints[index]], "\(file) differs from the built-in copy")
        }
        // Amazon Root CA 1's published SHA-256 fingerprint (amazontrust.com/repository).
        #expect(store.fingerprints[0] == "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e")
    }

    @Test func trustStoreRejectsMalformedPEM() {
        #expect(throws: TrustStoreError.self) { try TrustStore(pem: "") }
        #expect(throws: TrustStoreError.self) { try TrustStore(pem: "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n") }
    }
}

@Suite struct AWSErrorTests {
    func response(_ status: Int, _ body: String, _ headers: [(name: String, value: String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: headers, body: Array(body.utf8))
    }

    @Test func typeFromHeaderStrippedAtColon() {
        let e = AWSServiceError(service: "ivschat", operation: "SendEvent",
                                response: response(400, #"{"message":"bad room","__type":"Other"}"#,
                                                   [("X-Amzn-ErrorType", "ValidationException:http://internal.amazon.com/"), ("x-amzn-RequestId", "req-1")]),
                                attempts: 1)
        #expect(e.type == "ValidationException" && e.message == "bad room" && e.requestId == "req-1" && e.status == 400)
        #expect(!e.isRetryable)
        #expect(e.description.contains("ValidationException") && e.description.contains("bad room") && e.description.contains("req-1"))
    }

    @Test func typeFromBody() {
        let ddb = AWSServiceError(service: "dynamodb", operation: "PutItem",
                                  response: response(400, #"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","Message":"nope"}"#), attempts: 1)
        #expect(ddb.type == "ConditionalCheckFailedException" && ddb.message == "nope")
        let rt = AWSServiceError(service: "ivs-realtime", operation: "GetStage",
                                 response: response(404, #"{"code":"ResourceNotFoundException","exceptionMessage":"no stage"}"#), attempts: 1)
        #expect(rt.type == "ResourceNotFoundException" && rt.message == "no stage")
        let bare = AWSServiceError(service: "x", operation: "Y", response: response(503, "<html>down</html>"), attempts: 1)
        #expect(bare.type == "HTTP 503" && bare.message.contains("down") && bare.isRetryable)
    }

    @Test func retryClassification() {
        func e(_ status: Int, _ type: String) -> AWSServiceError {
            AWSServiceError(service: "s", operation: "o", type: type, message: "", status: status, requestId: nil, attempts: 1)
        }
        #expect(e(429, "Whatever").isRetryable && e(400, "ThrottlingException").isRetryable && e(400, "ThrottlingException").isThrottling)
        #expect(e(500, "InternalServerException").isRetryable && e(503, "ServiceUnavailable").isRetryable)
        #expect(!e(400, "ValidationException").isRetryable && !e(403, "AccessDeniedException").isRetryable && !e(404, "ResourceNotFoundException").isRetryable)
    }

    @Test func backoffIsExponentialWithFullJitterCapped() {
        let maxJitter = RetryPolicy(jitter: { $0 })
        #expect(maxJitter.delay(afterAttempt: 1) == 100 && maxJitter.delay(afterAttempt: 2) == 200 && maxJitter.delay(afterAttempt: 3) == 400)
        #expect(maxJitter.delay(afterAttempt: 20) == 20_000)
        #expect(RetryPolicy(jitter: { _ in 0 }).delay(afterAttempt: 3) == 0)
        let random = RetryPolicy()
        for _ in 0..<100 { #expect((0...200).contains(random.delay(afterAttempt: 2))) }
    }
}

@Suite struct AWSServicesInputTests {
    @Test func attributesSizeCountsUTF8BytesOfKeysAndValues() {
        #expect(IVSConstraints.attributesSize([:]) == 0)
        #expect(IVSConstraints.attributesSize(["ab": "cd", "é": "€"]) == 4 + 2 + 3)
        #expect(IVSConstraints.attributesProblem(["k": String(repeating: "x", count: 1023)]) == nil)
        #expect(IVSConstraints.attributesProblem(["k": String(repeating: "x", count: 1024)]) != nil)
    }

    @Test func arnChecks() {
        #expect(IVSConstraints.roomARNProblem("arn:aws:ivschat:us-east-1:123456789012:room/AbC-123") == nil)
        for bad in ["", "arn:aws:ivschat:US-east-1:1:room/a", "arn:aws:ivschat:us-east-1:12a:room/a", "arn:aws:ivschat:us-east-1:1:stage/a",
                    "arn:aws:ivschat:us-east-1:1:room/", "arn:aws:ivschat:us-east-1:1:room/a_b", "arn:aws:ivs:us-east-1:1:room/a",
                    "arn:aws:ivschat:us-east-1:1:room/a:b", "arn:aws:ivschat:us-east-1:1:room/" + String(repeating: "a", count: 120)] {
            #expect(IVSConstraints.roomARNProblem(bad) != nil, "accepted \(bad)")
        }
        #expect(IVSConstraints.stageARNProblem("arn:aws:ivs:eu-west-1:123456789012:stage/XyZ9") == nil)
        #expect(IVSConstraints.stageARNProblem("arn:aws:ivschat:eu-west-1:123456789012:stage/XyZ9") != nil)
    }

    @Test func tokensNeverPrint() {
        let s = Secret("super-secret-token")
        #expect("\(s)" == "<redacted>" && String(reflecting: s) == "<redacted>")
        var dumped = ""
        dump(s, to: &dumped)
        #expect(!dumped.contains("super-secret-token"))
    }
}

/// SHA-256 and HMAC-SHA256 against published vectors (FIPS 180-2, RFC 4231).
@Suite struct DigestTests {
    @Test func sha256Vectors() {
        #expect(Digest.sha256Hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Digest.sha256Hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func hmacVectors() {
        // RFC 4231 test cases 1 (short key) and 6 (a key longer than the block, hashed first).
        #expect(Hex.encode(Digest.hmacSHA256(key: [UInt8](repeating: 0x0b, count: 20), data: Array("Hi There".utf8)))
                == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        #expect(Hex.encode(Digest.hmacSHA256(key: [UInt8](repeating: 0xaa, count: 131),
                                             data: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)))
                == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        // Exactly one block of key.
        #expect(Digest.hmacSHA256(key: [UInt8](repeating: 7, count: 64), data: [1]).count == 32)
    }
}
