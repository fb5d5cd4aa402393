// JSONValue.parse: every event, request body, AWS answer and configuration map goes through it.
// Properties: parse → serialise → parse is the identity (byte for byte, numbers keeping their text);
// the serialised form is a fixed point and valid UTF-8; every number's text is a JSON number found
// in the input; the deepest document the parser accepts is also handled on a runtime worker's 1 MiB stack.
import FuzzSupport
import JSON

/// Whether `text` is exactly one JSON number (RFC 8259 grammar).
func isJSONNumber(_ text: String) -> Bool {
    let b = Array(text.utf8)
    var i = 0
    func digits() -> Int { let s = i; while i < b.count, b[i] >= 48, b[i] <= 57 { i += 1 }; return i - s }
    if i < b.count, b[i] == 45 { i += 1 }
    guard i < b.count else { return false }
    if b[i] == 48 { i += 1 } else if digits() == 0 { return false }
    if i < b.count, b[i] == 46 { i += 1; if digits() == 0 { return false } }
    if i < b.count, b[i] == 101 || b[i] == 69 {
        i += 1
        if i < b.count, b[i] == 43 || b[i] == 45 { i += 1 }
        if digits() == 0 { return false }
    }
    return i == b.count
}

func numbers(_ value: JSONValue, into out: inout [String]) {
    switch value {
    case let .number(text): out.append(text)
    case let .array(items): for item in items { numbers(item, into: &out) }
    case let .object(members): for member in members { numbers(member.value, into: &out) }
    default: break
    }
}

func checkRoundTrip(_ bytes: UnsafeBufferPointer<UInt8>) {
    guard let value = try? JSONValue.parse(bytes) else { return }
    let text = value.serialized()
    check(String(validating: text, as: UTF8.self) != nil, "the serialised form is not valid UTF-8")
    let again: JSONValue
    do { again = try JSONValue.parse(text) } catch { fatalError("property violated: the serialised form does not parse: \(error)") }
    check(identical(again, value), "parse → serialise → parse changed the value")
    check(again == value, "JSONValue.== disagrees with the byte-for-byte comparison")
    check(again.serialized() == text, "serialising is not a fixed point")
    check(value.compactText.utf8.elementsEqual(text), "compactText differs from serialized()")

    var found: [String] = []
    numbers(value, into: &found)
    for number in found.prefix(16) {
        check(isJSONNumber(number), "number text \(number) is not a JSON number")
        check(containsBytes(bytes, number.utf8), "number text \(number) is not in the input")
        _ = JSONValue.number(number).intValue
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = input(data, size)
    if bracketDepth(bytes) >= 64 {
        // Deep documents: the whole round trip (recursive parse, write, ==, release) on a worker's stack.
        onThread { checkRoundTrip(bytes) }
    } else {
        checkRoundTrip(bytes)
    }
    return 0
}

runFuzzer(testOneInput)
