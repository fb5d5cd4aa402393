import Foundation
import Testing
import AWSCore
import Essentials

/// Our signatures equal botocore's (`SigV4Auth`) for the requests this function makes.
@Suite struct SigV4BotocoreTests {
    static let epoch: Int64 = 1_768_472_430 // 2026-01-15T10:20:30Z
    static let credentials = AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                            sessionToken: "IQoJb3JpZ2luX2VjEXAMPLE//token+with/odd=chars")

    struct Case { let host, path, signingName, body: String }
    static let cases = [
        Case(host: "ivschat.us-east-1.amazonaws.com", path: "/SendEvent", signingName: "ivschat",
             body: #"{"roomIdentifier":"arn:aws:ivschat:us-east-1:123456789012:room/AbCdEf12","eventName":"STREAM_STARTED","attributes":{"event":"{\"a\":1} é"}}"#),
        Case(host: "ivsrealtime.us-east-1.amazonaws.com", path: "/CreateParticipantToken", signingName: "ivs",
             body: #"{"stageArn":"arn:aws:ivs:us-east-1:123456789012:stage/AbCd1234","userId":"u-1","capabilities":["PUBLISH","SUBSCRIBE"]}"#),
    ]

    static func botocoreAuthorization(_ c: Case) throws -> String {
        let script = """
        import sys, datetime
        from unittest import mock
        import botocore.auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        host, path, name, body = sys.argv[1:5]
        req = AWSRequest(method='POST', url='https://' + host + path, data=body.encode('utf-8'),
                         headers={'Content-Type': 'application/json'})
        creds = Credentials('\(credentials.accessKeyId)', '\(credentials.secretAccessKey.reveal)', '\(credentials.sessionToken!.reveal)')
        fixed = datetime.datetime.fromtimestamp(\(epoch), datetime.timezone.utc).replace(tzinfo=None)
        with mock.patch.object(botocore.auth, 'get_current_datetime', return_value=fixed):
            botocore.auth.SigV4Auth(creds, name, 'us-east-1').add_auth(req)
        print(req.headers['Authorization'])
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, c.host, c.path, c.signingName, c.body]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "python3/botocore failed: \(errors)")
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test(arguments: cases.indices)
    func matchesBotocore(_ index: Int) throws {
        let c = Self.cases[index]
        let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1", service: c.signingName)
        let added = signer.sign(method: "POST", path: c.path, headers: [("Host", c.host), ("Content-Type", "application/json")],
                                body: Array(c.body.utf8), epochSeconds: Self.epoch)
        let ours = try #require(added.first { $0.name == "Authorization" }?.value)
        let theirs = try Self.botocoreAuthorization(c)
        #expect(theirs.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260115/us-east-1/\(c.signingName)/aws4_request"))
        #expect(ours == theirs)
    }
}
