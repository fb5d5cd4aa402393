import AWSCore
import Foundation
import JSON
import LocalHarness
import Testing

/// Credentials from the container credentials endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI`), as
/// long-lived environments get them: through the real binary, and the provider's refresh rules.
@Suite struct ContainerCredentialsTests {
    /// A local credentials endpoint: answers with the IVS stand-in's key, counts requests and
    /// remembers the `Authorization` values it saw.
    final class Endpoint: @unchecked Sendable {
        let lock = NSLock()
        var authorizations: [String] = []
        var failing = false
        var expiration: Date
        var server: HTTPServer!

        init(expiresIn seconds: TimeInterval = 6 * 3600) throws {
            expiration = Date(timeIntervalSinceNow: seconds)
            server = try HTTPServer { [unowned self] request in
                self.lock.lock(); defer { self.lock.unlock() }
                self.authorizations.append(request.header("authorization") ?? "")
                if self.failing { return .json(500, #"{"message":"down"}"#) }
                let formatter = ISO8601DateFormatter()
                return .json(200, """
                    {"AccessKeyId":"\(IVSStandIn.accessKeyId)","SecretAccessKey":"\(IVSStandIn.secretAccessKey)",
                     "Token":"session-token-from-endpoint","Expiration":"\(formatter.string(from: self.expiration))"}
                    """)
            }
        }
        var url: String { server.baseURL + "/2021-04-23/credentials" }
        var requests: Int { lock.lock(); defer { lock.unlock() }; return authorizations.count }
        deinit { server.stop() }
    }

    static func functionEnvironment(_ ivs: IVSStandIn, _ endpoint: Endpoint, _ extra: [String: String]) -> [String: String] {
        var env = ivs.environment
        env["AWS_ACCESS_KEY_ID"] = nil
        env["AWS_SECRET_ACCESS_KEY"] = nil
        env["CHAT_ROOM_ARN"] = StreamStartedTests.room
        env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = endpoint.url
        return env.merging(extra) { $1 }
    }

    @Test(arguments: [false, true]) func streamStartSignsWithEndpointCredentials(tokenInFile: Bool) throws {
        let ivs = try IVSStandIn()
        defer { ivs.stop() }
        let endpoint = try Endpoint()
        var extra = ["AWS_CONTAINER_AUTHORIZATION_TOKEN": "auth-token-in-variable"]
        if tokenInFile {
            let file = NSTemporaryDirectory() + "ivs-chat-events-token-\(UUID().uuidString)"
            try "auth-token-in-file\n".write(toFile: file, atomically: true, encoding: .utf8)
            extra["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = file
        }
        let f = try LocalFunction(handler: "streamStarted", environment: Self.functionEnvironment(ivs, endpoint, extra))
        defer { f.stop() }
        for _ in 1...3 {
            let outcome = f.invoke(try StreamStartedTests.sample("stream-start"))
            #expect(try JSONValue.parse(outcome.text)["sent"] == .bool(true), "\(outcome)")
        }
        #expect(ivs.events.count == 3 && ivs.rejectedSignatures == 0)
        #expect(endpoint.requests == 1, "fetched once at init, cached for hours")
        #expect(endpoint.authorizations.first == (tokenInFile ? "auth-token-in-file" : "auth-token-in-variable"), "the file wins")
        let logs = f.process.lines.joined(separator: "\n")
        for secret in [IVSStandIn.secretAccessKey, "session-token-from-endpoint", "auth-token-in"] { #expect(!logs.contains(secret)) }
    }

    @Test func unreachableEndpointIsAnInitErrorNamingIt() throws {
        let ivs = try IVSStandIn()
        defer { ivs.stop() }
        let endpoint = try Endpoint()
        endpoint.failing = true
        let f = try LocalFunction(handler: "streamStarted",
                                  environment: Self.functionEnvironment(ivs, endpoint, ["AWS_CONTAINER_AUTHORIZATION_TOKEN": "auth-token-x"]))
        defer { f.stop() }
        let report = f.emulator.waitForInitError()
        let message = String(decoding: report?.body ?? [], as: UTF8.self)
        #expect(report?.type == "Runtime.InvalidConfiguration")
        #expect(message.contains("container credentials endpoint") && message.contains("HTTP 500") && !message.contains("auth-token-x"), "\(message)")
    }

    @Test func plainHTTPOffTheMachineIsRefused() {
        #expect(AWSCredentialsProvider.containerURLProblem("http://10.0.0.5/creds") != nil)
        #expect(AWSCredentialsProvider.containerURLProblem("http://127.0.0.1:9001/2021-04-23/credentials") == nil)
        #expect(AWSCredentialsProvider.containerURLProblem("http://169.254.170.23/v1/credentials") == nil)
        #expect(AWSCredentialsProvider.containerURLProblem("https://creds.example/x") == nil)
        // Issue 22: a host that only starts like a loopback address, and userinfo hiding the real host.
        for refused in ["http://127.0.0.1@attacker.example/", "http://127.attacker.example/", "http://127.0.0.1.attacker.example/x",
                        "http://localhost@attacker.example:80/", "https://user@creds.example/x", "http://127.0.0.256/",
                        "http://127.1/", "http://[::1]@attacker.example/", "http://169.254.170.2.attacker.example/",
                        "http://attacker.example/#@127.0.0.1", "http://127.0.0.1:80x/"] {
            #expect(AWSCredentialsProvider.containerURLProblem(refused) != nil, "\(refused)")
        }
        for allowed in ["http://127.0.0.1/x", "http://127.9.8.7:1234/x", "http://localhost:9001/", "http://LOCALHOST/",
                        "http://[::1]:80/creds", "http://[fd00:ec2::23]/v1", "http://169.254.170.2/v2/credentials/abc",
                        "http://127.0.0.1?x=1"] {
            #expect(AWSCredentialsProvider.containerURLProblem(allowed) == nil, "\(allowed)")
        }
        #expect(throws: AWSConfigurationError.self) {
            try AWSCredentialsProvider.resolve(lookup: { ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://example.com/creds"][$0] })
        }
        // Environment credentials come first, as in the SDKs.
        let provider = try? AWSCredentialsProvider.resolve(lookup: {
            ["AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/x"][$0]
        })
        #expect(provider?.description.contains("fixed") == true)
    }

    /// Cached until 15 minutes before expiry; then refreshed, a failed refresh tolerated until 10
    /// minutes before expiry, and an error after that.
    @Test func refreshesBeforeExpiry() throws {
        let endpoint = try Endpoint(expiresIn: 3600)
        let now = Int64(Date().timeIntervalSince1970)
        let clock = TestClock(now)
        let provider = AWSCredentialsProvider(container: .init(url: endpoint.url, authorizationToken: "t"), clock: { clock.now })
        _ = try provider.credentials()
        clock.now = now + 30 * 60
        _ = try provider.credentials()
        #expect(endpoint.requests == 1, "still fresh")
        clock.now = now + 46 * 60  // inside the advisory window
        endpoint.failing = true
        #expect(try provider.credentials().accessKeyId == IVSStandIn.accessKeyId, "a failed advisory refresh keeps the current ones")
        #expect(endpoint.requests > 1)
        clock.now = now + 51 * 60  // inside the mandatory window
        #expect(throws: AWSCredentialsError.self) { try provider.credentials() }
        endpoint.failing = false
        endpoint.expiration = Date(timeIntervalSinceNow: 6 * 3600)
        #expect(try provider.credentials().sessionToken?.reveal == "session-token-from-endpoint")
    }

    final class TestClock: @unchecked Sendable {
        var now: Int64
        init(_ now: Int64) { self.now = now }
    }
}
