import AWSCore
import JSON

/// The IVS services' input constraints, checked before any request (hand-written, no regex engine).
/// Each `…Problem` returns nil when the value is fine, else what is wrong with it.
public enum IVSConstraints {
    /// Attributes (SendEvent, CreateChatToken, CreateParticipantToken) may total this many bytes.
    public static let maxAttributesBytes = 1024

    /// The attributes' size as the services count it: the UTF-8 bytes of every key and value.
    /// A handler can check `attributesSize(a) <= maxAttributesBytes` before calling.
    public static func attributesSize(_ attributes: [String: String]) -> Int {
        attributes.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
    }

    /// A chat room ARN: `arn:aws:ivschat:<region>:<account>:room/<id>`, 1-128 characters.
    public static func roomARNProblem(_ arn: String) -> String? { arnProblem(arn, service: "ivschat", resource: "room") }

    /// A stage ARN: `arn:aws:ivs:<region>:<account>:stage/<id>`, 1-128 characters.
    public static func stageARNProblem(_ arn: String) -> String? { arnProblem(arn, service: "ivs", resource: "stage") }

    /// Why `arn` is not an IVS channel ARN (`arn:aws:ivs:<region>:<account>:channel/<id>`), or nil.
    public static func channelARNProblem(_ arn: String) -> String? { arnProblem(arn, service: "ivs", resource: "channel") }

    /// `<field> must be <min>-<max> characters` or nil.
    public static func lengthProblem(_ value: String, min: Int, max: Int) -> String? {
        let n = value.count
        return n < min || n > max ? "must be \(min)-\(max) characters long (is \(n))" : nil
    }

    /// `value` must lie in `range`.
    public static func rangeProblem(_ value: Int, _ range: ClosedRange<Int>) -> String? {
        range.contains(value) ? nil : "must be between \(range.lowerBound) and \(range.upperBound) (is \(value))"
    }

    /// Attributes over `maxAttributesBytes`.
    public static func attributesProblem(_ attributes: [String: String]) -> String? {
        let size = attributesSize(attributes)
        return size > maxAttributesBytes ? "total \(size) bytes of keys and values, over the \(maxAttributesBytes)-byte limit" : nil
    }

    static func arnProblem(_ arn: String, service: String, resource: String) -> String? {
        let expected = "arn:aws:\(service):<region>:<account>:\(resource)/<id>"
        guard !arn.isEmpty, arn.utf8.count <= 128 else { return "must be 1-128 characters long (is \(arn.utf8.count))" }
        let prefix = "arn:aws:\(service):"
        guard arn.hasPrefix(prefix) else { return "must look like \(expected)" }
        let parts = arn.utf8.dropFirst(prefix.utf8.count).split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        guard parts.count == 3 else { return "must look like \(expected)" }
        let region = parts[0], account = parts[1], rest = parts[2]
        func isLowerAlnumDash(_ b: UInt8) -> Bool { (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b == 45 }
        func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
        func isAlnumDash(_ b: UInt8) -> Bool { isLowerAlnumDash(b) || (b >= 65 && b <= 90) }
        guard !region.isEmpty, region.allSatisfy(isLowerAlnumDash) else { return "has an invalid region (must look like \(expected))" }
        guard !account.isEmpty, account.allSatisfy(isDigit) else { return "has an invalid account (must look like \(expected))" }
        let resourcePrefix = Array("\(resource)/".utf8)
        guard rest.starts(with: resourcePrefix) else { return "must name a \(resource) (\(expected))" }
        let id = rest.dropFirst(resourcePrefix.count)
        guard !id.isEmpty, id.allSatisfy(isAlnumDash) else { return "has an invalid \(resource) id (letters, digits and '-' only)" }
        return nil
    }
}

extension AWSError {
    /// Throws `.invalidInput` naming `field` when `problem` is not nil.
    static func check(_ problem: String?, operation: String, field: String) throws(AWSError) {
        if let problem { throw .invalidInput(AWSInputError(operation: operation, field: field, message: problem)) }
    }
}

extension JSONValue {
    /// A JSON object of strings, members sorted by key (stable wire bytes).
    public static func stringMap(_ map: [String: String]) -> JSONValue {
        .object(map.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
    }

    /// This object's string members as a dictionary (others skipped); empty when not an object.
    public var stringMap: [String: String] {
        var out: [String: String] = [:]
        for member in objectValue ?? [] { if let s = member.value.stringValue { out[member.key] = s } }
        return out
    }
}

/// A required string member of an operation's output, or `.invalidResponse`.
func requireString(_ value: JSONValue?, _ name: String, service: String, operation: String) throws(AWSError) -> String {
    guard let s = value?.stringValue else {
        throw .invalidResponse(AWSResponseError(service: service, operation: operation, message: "missing \(name)"))
    }
    return s
}
