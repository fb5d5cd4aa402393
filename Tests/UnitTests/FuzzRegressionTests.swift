import AWSCore
import Handlers
import HTTPTransport
import LambdaRuntime
import Testing

/// Inputs the fuzz targets (Fuzz/, `make fuzz`, issue #12) found or were written against, kept as tests.
@Suite struct FuzzRegressionTests {
    static let token = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN"
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

    /// Whether `text`'s UTF-8 holds `part`'s: what a log line would show, whatever the characters.
    func shows(_ text: String, _ part: some StringProtocol) -> Bool {
        let h = Array(text.utf8), n = Array(part.utf8)
        guard h.count >= n.count else { return false }
        return (0...(h.count - n.count)).contains { h[$0..<($0 + n.count)].elementsEqual(n) }
    }

    func error(_ body: String, headers: [(name: String, value: String)] = []) -> AWSServiceError {
        AWSServiceError(service: "ivschat", operation: "SendEvent", response: HTTPResponse(status: 502, headers: headers, body: Array(body.utf8)),
                        attempts: 1, redacting: [Self.secret, Self.token])
    }

    /// fuzz-aws-error: a body that is not JSON was cut to 200 characters before the credentials were
    /// redacted, so a cut through the session token left most of it in the message.
    @Test func aCredentialCutByTheLengthLimitIsStillRedacted() {
        let body = "<html>" + String(repeating: "x", count: 150) + " x-amz-security-token: " + Self.token + "</html>"
        let message = error(body).message
        #expect(!shows(message, Self.token.prefix(12)), "\(message)")
        #expect(message.hasSuffix("<redacted>") || message.contains("<redacted>"))
    }

    /// fuzz-aws-error: the request id and the error type are logged with the message; an echoed
    /// credential there was not redacted.
    @Test func requestIdAndTypeAreRedactedToo() {
        let e = error(#"{"__type":"com.amazon#\#(Self.secret)","message":"m"}"#, headers: [("x-amzn-RequestId", "r-\(Self.token)")])
        #expect(!shows("\(AWSError.service(e))", Self.secret) && !shows("\(AWSError.service(e))", Self.token))
        #expect(e.requestId == "r-<redacted>")
    }

    /// Found while writing fuzz-aws-error's property (it checks bytes): String matching compares
    /// characters, so a credential followed by a combining mark or joiner, or preceded by a prepended
    /// mark, did not match and was logged whole.
    @Test(arguments: ["\u{0301}", "\u{200D}x", "\u{FE0F}"])
    func aCredentialMergedWithItsNeighbourIsRedacted(_ after: String) {
        for message in [error(#"{"message":"bad key \#(Self.secret)\#(after) given"}"#).message,
                        error(#"{"message":"token \u0600\#(Self.token)"}"#).message,
                        AWSServiceError.safeMessage("key \(Self.secret)\(after)", redacting: [Self.secret])] {
            #expect(!shows(message, Self.secret) && !shows(message, Self.token), "\(message)")
        }
    }

    /// fuzz-config: `http://:80/x` named a port but no host and was accepted as an endpoint.
    @Test(arguments: ["http://:80/x", "http://:4566", "https://:443"])
    func anEndpointNeedsAHost(_ url: String) {
        #expect(throws: AWSConfigurationError.self) { try AWSEndpoint(url: url) }
    }

    /// StreamStateConfiguration reads through `lookup` (as fuzz-config does) like the other configurations.
    @Test func streamStateConfigurationFromALookup() throws {
        let room = "arn:aws:ivschat:us-east-1:123456789012:room/AbCdEf"
        let env = ["CHANNEL_ROOM_MAP": #"{"c":"\#(room)"}"#, "STREAM_EVENT_MAP": #"{"Stream Start":"GO"}"#]
        let configuration = try StreamStateConfiguration.fromEnvironment { env[$0] }
        #expect(configuration.roomsByChannel == ["c": room] && configuration.chatEventNames == ["Stream Start": "GO"])
        #expect(throws: InitError.self) { try StreamStateConfiguration.fromEnvironment { _ in nil } }
    }
}
