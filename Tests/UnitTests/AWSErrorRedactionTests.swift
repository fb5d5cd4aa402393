import AWSCore
import HTTPTransport
import Testing

@Suite struct AWSErrorRedactionTests {
    @Test func signatureErrorsNeverEchoTheCanonicalRequestOrSecrets() {
        let token = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN"
        let body = #"{"__type":"InvalidSignatureException","message":"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.\n\nThe Canonical String for this request should have been\n'POST\n/SendEvent\n\nhost:ivschat.us-east-1.amazonaws.com\nx-amz-security-token:\#(token)\n'\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\n...'\n"}"#
        let error = AWSServiceError(service: "ivschat", operation: "SendEvent",
                                    response: HTTPResponse(status: 403, body: Array(body.utf8)), attempts: 1, redacting: [token])
        #expect(error.type == "InvalidSignatureException")
        #expect(error.message.hasPrefix("The request signature we calculated does not match"))
        #expect(!error.message.contains(token))
        #expect(!error.message.contains("Canonical"))
        #expect(!"\(error)".contains(token))
    }

    @Test func echoedSecretsAreRedactedAnywhere() {
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
        #expect(AWSServiceError.safeMessage("bad key \(secret) given", redacting: [secret]) == "bad key <redacted> given")
        #expect(AWSServiceError.safeMessage(String(repeating: "x", count: 500)).count == 301)
    }
}
