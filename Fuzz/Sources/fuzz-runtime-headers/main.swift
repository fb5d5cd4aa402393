// Response headers as libcurl hands them over (one line at a time) to ResponseSink: the Runtime
// API's `/next` answer (request id, deadline, trace id, client context, Cognito identity, tenant and
// invocation ids) and every AWS answer. Properties: each `name: value` line yields the bytes before
// the first colon and the value without surrounding blanks or line ends, as a reference parser does;
// a status line starts a new block; lookups ignore ASCII case only, returning the first match; the
// invocation context carries exactly those header values.
@_spi(Fuzzing) import HTTPTransport
@_spi(Fuzzing) import LambdaRuntime
import FuzzSupport

/// Reference: the (name, value) bytes of one header line, nil for a line without a colon.
func referenceField(_ line: UnsafeBufferPointer<UInt8>) -> (name: [UInt8], value: [UInt8])? {
    guard let colon = line.firstIndex(of: 58) else { return nil }
    var value = Array(line[(colon + 1)...])
    while let last = value.last, [10, 13, 32, 9].contains(last) { value.removeLast() }
    while let first = value.first, first == 32 || first == 9 { value.removeFirst() }
    // Invalid UTF-8 becomes U+FFFD, as the sink decodes.
    return (Array(String(decoding: line[..<colon], as: UTF8.self).utf8), Array(String(decoding: value, as: UTF8.self).utf8))
}

func lowerASCII(_ bytes: some Sequence<UInt8>) -> [UInt8] { bytes.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 } }

let runtimeHeaders = ["Lambda-Runtime-Aws-Request-Id", "Lambda-Runtime-Deadline-Ms", "Lambda-Runtime-Invoked-Function-Arn",
                      "Lambda-Runtime-Trace-Id", "Lambda-Runtime-Client-Context", "Lambda-Runtime-Cognito-Identity",
                      "Lambda-Runtime-Aws-Tenant-Id", "Lambda-Runtime-Invocation-Id", "x-amzn-ErrorType", "x-amzn-RequestId"]

let sink = ResponseSink()

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    sink.reset()
    var expected: [(name: [UInt8], value: [UInt8])] = []
    for line in headerLines(input(data, size)) {
        sink.addHeaderLine(line)
        if line.starts(with: "HTTP/".utf8) { expected.removeAll() } else if let field = referenceField(line) { expected.append(field) }
    }
    check(sink.headers.count == expected.count, "\(sink.headers.count) fields, expected \(expected.count)")
    for (got, want) in zip(sink.headers, expected) {
        check(got.name.utf8.elementsEqual(want.name) && got.value.utf8.elementsEqual(want.value), "field \(got) differs from the reference")
        check(!got.name.utf8.contains(58), "a field name with a colon")
    }
    let response = HTTPResponse(status: 200, headers: sink.headers, body: [])
    // Lookup: the first field whose name equals ignoring ASCII case, for names taken from the input too.
    let probes = runtimeHeaders + sink.headers.prefix(8).flatMap { [$0.name, String(decoding: lowerASCII($0.name.utf8), as: UTF8.self)] }
    for name in probes {
        let want = expected.first { lowerASCII($0.name) == lowerASCII(name.utf8) }
        let got = response.header(name)
        check(got.map { Array($0.utf8) } == want?.value, "header(\(name.debugDescription)) = \(String(describing: got))")
    }
    if let requestId = response.header("Lambda-Runtime-Aws-Request-Id"), !requestId.isEmpty {
        let context = RuntimeAPIClient.context(requestId: requestId, from: response)
        check(context.requestId == requestId, "request id changed")
        if let deadline = response.header("Lambda-Runtime-Deadline-Ms").flatMap({ Int64($0) }) {
            check(context.deadlineEpochMilliseconds == deadline, "deadline changed")
        }
        check(context.traceId == response.header("Lambda-Runtime-Trace-Id"), "trace id changed")
        check(context.invocationId == response.header("Lambda-Runtime-Invocation-Id"), "invocation id changed")
        check(context.clientContext == response.header("Lambda-Runtime-Client-Context"), "client context changed")
        check(context.cognitoIdentity == response.header("Lambda-Runtime-Cognito-Identity"), "cognito identity changed")
        check(context.tenantId == response.header("Lambda-Runtime-Aws-Tenant-Id"), "tenant id changed")
        check(context.invokedFunctionArn == response.header("Lambda-Runtime-Invoked-Function-Arn"), "function ARN changed")
    }
    return 0
}

runFuzzer(testOneInput)
