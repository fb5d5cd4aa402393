import JSON
import Testing

@Suite struct JSONTests {
    @Test func roundTripKeepsOrderAndNumberText() throws {
        let text = #"{"b":1.50,"a":[true,false,null,-2e10],"c":{"d":"\u00e9\n\"q\""}}"#
        let value = try JSONValue.parse(text)
        #expect(value.compactText == #"{"b":1.50,"a":[true,false,null,-2e10],"c":{"d":"é\n\"q\""}}"#)
        #expect(value["c"]?["d"] == .string("é\n\"q\""))
    }

    @Test func whitespaceIsDropped() throws {
        #expect(try JSONValue.parse(" { \"a\" :\n [ 1 , 2 ] } ").compactText == #"{"a":[1,2]}"#)
    }

    @Test func surrogatePairsDecode() throws {
        #expect(try JSONValue.parse(#""\ud83d\ude00""#) == .string("😀"))
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "\"\\x\"", "tru", "{} x", "\"\u{01}\"", "\"\\ud800\""])
    func rejectsInvalidDocuments(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test func errorNamesTheOffset() {
        do {
            _ = try JSONValue.parse("[1, x]")
            Issue.record("expected an error")
        } catch {
            #expect(error.offset == 4)
            #expect(error.description.contains("byte 4"))
        }
    }

    @Test func deepNestingIsRefused() {
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(deep) }
    }

    @Test func controlCharactersAreEscaped() {
        #expect(JSONValue.quoted("a\u{01}b\tc") == #""a\u0001b\tc""#)
        // Every escape JSON requires, at the start, between and at the end of unescaped runs.
        #expect(JSONValue.quoted("\"x\\y\n\r\t\u{08}\u{0C}\u{1F}é\"") == #""\"x\\y\n\r\t\b\f\u001fé\"""#)
        #expect(JSONValue.quoted("") == #""""#)
    }
}
