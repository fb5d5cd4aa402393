// The message review handler: its rules configuration and the review of a message. Input: the
// values of REVIEW_BLOCKED_TERMS, REVIEW_TERM_ACTION, REVIEW_LINK_POLICY, REVIEW_ALLOWED_DOMAINS and
// REVIEW_MAX_LENGTH, then the review payload, separated by NUL bytes (an empty value is unset).
// Properties: a configuration is accepted, or rejected with `Runtime.InvalidConfiguration` naming a
// REVIEW_ variable; the answer to the payload (as IVS Chat sends it, and as raw bytes) is always a
// valid review answer; a masked answer is never longer than the message and, reviewed again, matches
// no blocked term (nothing left to mask, nothing to deny).
import FuzzSupport
import Handlers
import JSON
import LambdaRuntime

let variables = ["REVIEW_BLOCKED_TERMS", "REVIEW_TERM_ACTION", "REVIEW_LINK_POLICY", "REVIEW_ALLOWED_DOMAINS", "REVIEW_MAX_LENGTH"]
let fallbackRules = ReviewRules(terms: [("badword", .deny), ("darn", .mask), ("soft phrase", .mask), ("Café", .mask)],
                                linkPolicy: .allowlist, allowedDomains: ["example.com"], maxLength: 200)
silenceLogs()

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let parts = input(data, size).split(separator: 0, maxSplits: variables.count, omittingEmptySubsequences: false)
    var environment: [String: String] = [:]
    for (name, value) in zip(variables, parts) where !value.isEmpty { environment[name] = String(decoding: value, as: UTF8.self) }
    let payload = parts.count > variables.count ? Array(parts[variables.count]) : []

    var rules = fallbackRules
    do {
        rules = try ReviewRules.fromEnvironment(lookup: { environment[$0] })
    } catch {
        check(error.errorType == "Runtime.InvalidConfiguration", "\(error.errorType)")
        check(variables.contains { error.errorMessage.hasPrefix($0) }, "the message names no variable: \(error.errorMessage.debugDescription)")
    }
    let handler = MessageReviewHandler(rules: rules)
    let content = String(decoding: payload, as: UTF8.self)
    let wrapped = JSONValue.object([("Content", .string(content)), ("MessageId", .string("m")), ("RoomArn", .string("r")),
                                    ("Attributes", .object([])), ("Sender", .object([("UserId", .string("u"))]))]).serialized()
    for request in [payload, wrapped] {
        let answer = handler.review(request, deadline: 0)
        check(MessageReviewHandler.answerProblem(answer) == nil, "invalid answer \(answer.compactText.debugDescription): \(MessageReviewHandler.answerProblem(answer) ?? "")")
        // The answer as Lambda returns it parses back to itself.
        check((try? JSONValue.parse(answer.serialized())) == answer, "answer does not round-trip")
    }
    if case let .allow(masked, true) = rules.review(content) {
        check(masked.count <= content.count && masked.utf8.count <= content.utf8.count, "masked answer longer than the message")
        check(rules.review(masked) == .allow(content: masked, masked: false),
              "a blocked term is left in the masked answer \(masked.debugDescription): \(rules.review(masked))")
    }
    return 0
}

runFuzzer(testOneInput)
