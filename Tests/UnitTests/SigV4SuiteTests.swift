import Foundation
import Testing
import AWSCore
import Essentials
import JSON

/// AWS's SigV4 test vectors (aws-c-auth's `sigv4-test-suite`), header-signing form.
@Suite struct SigV4SuiteTests {
    static var suiteDirectory: String {
        if let override = ProcessInfo.processInfo.environment["SIGV4_TEST_SUITE"], !override.isEmpty { return override }
        // <root>/Tests/UnitTests/<file> -> <root>/../shared/sigv4-test-suite
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.deletingLastPathComponent().appendingPathComponent("shared/sigv4-test-suite").path
    }

    static func caseNames() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: suiteDirectory)) ?? []
        return names.filter { FileManager.default.fileExists(atPath: "\(suiteDirectory)/\($0)/context.json") }.sorted()
    }

    @Test func suiteIsPresent() {
        // Fails (never skips) when the vectors are missing.
        #expect(Self.caseNames().count >= 30, "SigV4 test suite not found at \(Self.suiteDirectory) (set SIGV4_TEST_SUITE)")
    }

    @Test(arguments: caseNames())
    func vector(_ name: String) throws {
        let dir = "\(Self.suiteDirectory)/\(name)"
        func read(_ file: String) throws -> String { try String(contentsOfFile: "\(dir)/\(file)", encoding: .utf8) }
        let context = try JSONValue.parse(try read("context.json"))
        let creds = try #require(context["credentials"])
        let credentials = AWSCredentials(accessKeyId: creds["access_key_id"]!.stringValue!,
                                         secretAccessKey: creds["secret_access_key"]!.stringValue!,
                                         sessionToken: creds["token"]?.stringValue)
        let epoch = try #require(UTCTimestamp.parseISO8601(context["timestamp"]!.stringValue!))
        let options = SigV4Signer.Options(normalizePath: context["normalize"]?.boolValue ?? true,
                                          addContentSHA256Header: context["sign_body"]?.boolValue ?? false,
                                          omitSessionTokenFromSignature: context["omit_session_token"]?.boolValue ?? false)
        let request = RawRequest(try read("request.txt"))
        let signer = SigV4Signer(credentials: credentials, region: context["region"]!.stringValue!, service: context["service"]!.stringValue!)
        let (added, signature) = signer.signInDetail(method: request.method, path: request.path, query: request.query,
                                                     headers: request.headers, body: Array(request.body.utf8),
                                                     epochSeconds: epoch, options: options)
        #expect(signature.canonicalRequest == (try read("header-canonical-request.txt")))
        #expect(signature.stringToSign == (try read("header-string-to-sign.txt")))
        #expect(signature.signature == (try read("header-signature.txt")).trimmingCharacters(in: .whitespacesAndNewlines))
        let signed = (request.headLines + added.map { "\($0.name):\($0.value)" }).joined(separator: "\n") + "\n\n" + request.body
        #expect(signed == (try read("header-signed-request.txt")))
    }
}

/// A request as the suite writes it: request line, header lines (folded lines allowed), blank line, body.
struct RawRequest {
    var method = "", path = "", query = ""
    var headLines: [String] = []
    var headers: [(name: String, value: String)] = []
    var body = ""

    init(_ text: String) {
        var head = text
        if let range = text.range(of: "\n\n") {
            head = String(text[..<range.lowerBound])
            body = String(text[range.upperBound...])
        }
        headLines = head.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if headLines.last == "" { headLines.removeLast() }
        let requestLine = headLines[0]
        let firstSpace = requestLine.firstIndex(of: " ")!
        method = String(requestLine[..<firstSpace])
        var target = String(requestLine[requestLine.index(after: firstSpace)...])
        if target.hasSuffix(" HTTP/1.1") { target.removeLast(" HTTP/1.1".count) }
        if let q = target.firstIndex(of: "?") {
            path = String(target[..<q])
            query = String(target[target.index(after: q)...])
        } else { path = target }
        for line in headLines.dropFirst() {
            if line.first == " " || line.first == "\t", !headers.isEmpty {
                headers[headers.count - 1].value += "\n" + line
            } else if let colon = line.firstIndex(of: ":") {
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
        }
    }
}
