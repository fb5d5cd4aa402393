import Testing
import HTTPTransport

@Suite struct HTTPHeaderTests {
    @Test func headerLookupIgnoresASCIICaseOnly() {
        let response = HTTPResponse(status: 200, headers: [("lambda-runtime-aws-request-id", "r1"), ("Content-Type", "application/json"),
                                                          ("X-Odd[", "a"), ("Lambda-Runtime-Trace-Id", "t1")])
        #expect(response.header("Lambda-Runtime-Aws-Request-Id") == "r1")
        #expect(response.header("content-type") == "application/json")
        #expect(response.header("LAMBDA-RUNTIME-TRACE-ID") == "t1")
        #expect(response.header("Lambda-Runtime-Trace") == nil)
        // '[' (0x5B) and '{' (0x7B) differ only in bit 0x20 but are not letters.
        #expect(response.header("X-Odd{") == nil)
        #expect(response.header("x-odd[") == "a")
    }

    @Test func equalsIgnoringASCIICase() {
        #expect("Content-Length".equalsIgnoringASCIICase("content-length"))
        #expect(!"Content-Length".equalsIgnoringASCIICase("content-lengths"))
        #expect(!"@".equalsIgnoringASCIICase("`"))
        #expect("".equalsIgnoringASCIICase(""))
        #expect("é".equalsIgnoringASCIICase("é"))
    }
}
