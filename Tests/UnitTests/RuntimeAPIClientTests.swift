import Essentials
import JSON
import LambdaRuntime
import Testing

@Suite struct RuntimeAPIClientTests {
    @Test(arguments: [
        ("127.0.0.1:9001", "http://127.0.0.1:9001/2018-06-01"),
        ("[::1]:9001", "http://[::1]:9001/2018-06-01"),
        ("http://[::]:9000/.rt", "http://[::]:9000/.rt/2018-06-01"),
        ("http://localhost:9000/.rt/", "http://localhost:9000/.rt/2018-06-01"),
        (" 127.0.0.1:9001\n", "http://127.0.0.1:9001/2018-06-01"),
    ])
    func baseURLAcceptsEverySpelling(_ value: String, _ expected: String) {
        #expect(RuntimeAPIClient.baseURL(for: value) == expected)
    }

    @Test func errorBodyHasLambdasShape() throws {
        let body = try JSONValue.parse(RuntimeAPIClient.errorBody(type: "Event.InvalidJSON", message: "bad \"input\""))
        #expect(body == .object([("errorMessage", .string("bad \"input\"")), ("errorType", .string("Event.InvalidJSON")), ("stackTrace", .array([]))]))
    }

    @Test func logLinesInBothFormats() throws {
        let text = Log.formatLine(level: .warn, message: "m", requestId: "r-1", format: .text, timestamp: "2026-01-01T00:00:00.000Z")
        #expect(text == "2026-01-01T00:00:00.000Z r-1 WARN m")
        let json = try JSONValue.parse(Log.formatLine(level: .error, message: "a \"quoted\"\nline", requestId: nil, format: .json,
                                                      timestamp: "2026-01-01T00:00:00.000Z"))
        #expect(json["level"] == .string("ERROR"))
        #expect(json["message"] == .string("a \"quoted\"\nline"))
        #expect(json["requestId"] == nil)
    }

    /// Each kind of control alone is found by the byte scan (the common path), and look-alike bytes
    /// of other characters (é, NBSP, U+2027, €, U+2030) are not.
    @Test(arguments: ["\u{0}", "\u{1B}", "\u{7F}", "\u{80}", "\u{85}", "\u{9F}", "\u{2028}", "\u{2029}"])
    func eachControlAloneIsEscaped(_ control: String) {
        #expect(Log.escapingControls("a\(control)b") != "a\(control)b")
        for plain in ["é", "\u{A0}", "\u{2027}", "€", "\u{2030}", "日本"] { #expect(Log.escapingControls("a\(plain)b") == "a\(plain)b") }
    }

    /// A value with a line break or a terminal escape cannot forge a line of its own (issue 22).
    @Test func textLinesEscapeControlCharacters() {
        let forged = "bob\n2026-01-01T00:00:00.000Z INFO invited admin\r\u{1B}[2K\u{7F}\u{85}\u{2028}\tend"
        let text = Log.formatLine(level: .info, message: "by \(forged)", requestId: "r\n1", format: .text, timestamp: "2026-01-01T00:00:00.000Z")
        #expect(text == #"2026-01-01T00:00:00.000Z r\n1 INFO by bob\n2026-01-01T00:00:00.000Z INFO invited admin\r\u{1B}[2K\u{7F}\u{85}\u{2028}\tend"#)
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) })
        // Nothing to escape: the message as it is (a backslash too), and JSON lines keep the message exact.
        #expect(Log.formatLine(level: .info, message: #"C:\path é"#, requestId: nil, format: .text, timestamp: "t") == #"t INFO C:\path é"#)
        let json = try? JSONValue.parse(Log.formatLine(level: .info, message: forged, requestId: nil, format: .json, timestamp: "t"))
        #expect(json?["message"] == .string(forged))
    }

    @Test(arguments: [("warn", Log.Level.warn), ("WARNING", .warn), ("Debug", .debug), ("FATAL", .fatal)])
    func levelNames(_ name: String, _ level: Log.Level) {
        #expect(Log.Level(name: name) == level)
    }

    @Test func timestampFormats() {
        let t = UTCTimestamp(epochMilliseconds: 1_440_938_160_123)
        #expect(t.amzDate == "20150830T123600Z")
        #expect(t.iso8601Milliseconds == "2015-08-30T12:36:00.123Z")
        #expect(UTCTimestamp(epochMilliseconds: 5).iso8601Milliseconds == "1970-01-01T00:00:00.005Z")
        #expect(UTCTimestamp.parseISO8601("2015-08-30T12:36:00Z") == 1_440_938_160)
        #expect(UTCTimestamp.parseISO8601("2015-08-30T14:36:00.5+02:00") == 1_440_938_160)
        #expect(UTCTimestamp.parseISO8601("2015-08-30 12:36") == nil)
    }
}
