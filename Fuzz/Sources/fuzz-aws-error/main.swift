// AWS error answers: headers (x-amzn-ErrorType, x-amzn-RequestId) through ResponseSink and the body
// through AWSServiceError(response:redacting:). Input: one status byte, header lines up to an empty
// line, then the body. Properties: neither the message nor the whole description (what is logged and,
// for some routes, shown) contains the credentials the error was given, as bytes, nor any 12-byte part
// of them that the answer did not hold outside a whole credential; the message is at most
// 300 characters and an ellipsis; the type is never empty.
@_spi(Fuzzing) import HTTPTransport
import AWSCore
import FuzzSupport

// Realistic credentials (a 40-character secret key, a session token); the seeds echo them.
let credentials = AWSCredentials(accessKeyId: "ASIAFUZZEXAMPLE12345", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                 sessionToken: "IQoJb3JpZ2luX2VjEFUZZSESSIONTOKENaCXVzLWVhc3QtMSJHMEUCIQD+fuzz/token==")
let statuses = [400, 403, 404, 409, 413, 429, 500, 502, 503, 504]
let sink = ResponseSink()
/// The length of a credential fragment that counts as a leak.
let fragment = 12

/// `bytes` with every occurrence of `needle` replaced by a NUL.
func replacing(_ bytes: [UInt8], _ needle: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [], i = 0
    while i < bytes.count {
        if i + needle.count <= bytes.count, bytes[i..<(i + needle.count)].elementsEqual(needle) { out.append(0); i += needle.count }
        else { out.append(bytes[i]); i += 1 }
    }
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = input(data, size)
    guard let first = bytes.first else { return 0 }
    sink.reset()
    var bodyStart = bytes.count
    var offset = 1
    for line in headerLines(UnsafeBufferPointer(rebasing: bytes[1...])) {
        offset += line.count
        if line.allSatisfy({ $0 == 10 || $0 == 13 }) { bodyStart = offset; break }
        sink.addHeaderLine(line)
    }
    let response = HTTPResponse(status: statuses[Int(first) % statuses.count], headers: sink.headers,
                                body: Array(bytes[min(bodyStart, bytes.count)...]))
    let error = AWSServiceError(service: "ivschat", operation: "SendEvent", response: response, attempts: 1, redacting: credentials.secrets)
    let logged = "\(AWSError.service(error))"
    // What the answer held besides whole credentials: a fragment found only inside a whole one is a leak.
    let scrubbed = credentials.secrets.reduce(Array(bytes)) { replacing($0, Array($1.utf8)) }
    let messageBytes = Array(error.message.utf8), loggedBytes = Array(logged.utf8)
    for secret in credentials.secrets {
        check(!containsBytes(messageBytes, secret.utf8), "the message echoes a credential: \(error.message.debugDescription)")
        check(!containsBytes(loggedBytes, secret.utf8), "the description echoes a credential: \(logged.debugDescription)")
        let s = Array(secret.utf8)
        for start in stride(from: 0, through: s.count - fragment, by: 1) {
            let piece = s[start..<(start + fragment)]
            check(!containsBytes(loggedBytes, piece) || containsBytes(scrubbed, piece),
                  "the description shows part of a credential: \(logged.debugDescription)")
        }
    }
    check(error.message.count <= 301, "message of \(error.message.count) characters")
    check(!error.type.isEmpty, "empty error type")
    _ = error.isRetryable
    return 0
}

runFuzzer(testOneInput)
