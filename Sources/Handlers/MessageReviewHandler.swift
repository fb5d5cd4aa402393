import AWSCore
import AWSServices
import Essentials
import JSON
import LambdaRuntime

/// `_HANDLER=messageReview`: an IVS Chat room's message review handler. IVS Chat invokes it for every
/// `SendMessage` with `{"Content", "MessageId", "RoomArn", "Attributes", "Sender": {"UserId", "Ip",
/// "Attributes"}}` and waits at most 200 ms (not adjustable) for `{"ReviewResult": "ALLOW"|"DENY",
/// "Content"?, "Attributes"?}`; past that, or on an error or an invalid answer, the room's
/// `fallbackResult` applies.
///
/// - The rules (`ReviewRules`: blocked terms, links, length) are compiled at start-up; a review is a
///   pass over the message. A deny rule, a link against the policy or an over-long message → `DENY`;
///   a mask rule → `ALLOW` with the matched text replaced by `*`.
/// - With `STATE_TABLE`, a sender banned from the room (`POST /chat/ban`) → `DENY`, one `GetItem` per
///   message that the rules allow. The lookup gets `REVIEW_BAN_LOOKUP_MS` (default 120); when it fails
///   or runs out of time the message is judged by the rules alone (logged as a warning).
/// - Every answer is valid: `ReviewResult` is always set; `Content` is returned only on `ALLOW`, never
///   over 1 KB (it is the original or shorter); `Attributes` are the message's own on `ALLOW` (1 KB at
///   most, as IVS Chat allows on `SendMessage`) and `{"Reason": …}` on `DENY` (the sender's client gets
///   it in its 406 error). A request that is not a review request is answered `DENY`, not an error.
/// - Logs carry the message id, the sender's user id and the verdict; never the content.
public final class MessageReviewHandler: LambdaHandler {
    /// Milliseconds a ban lookup may take: `REVIEW_BAN_LOOKUP_MS`, 10-180, default 120.
    public static let banLookupRange = 10...180

    public let rules: ReviewRules
    private let bans: BanStoring?
    private let banLookupMilliseconds: Int64
    private let now: () -> Int64

    public init(rules: ReviewRules, bans: BanStoring? = nil, banLookupMilliseconds: Int64 = 120,
                now: @escaping () -> Int64 = Clock.epochSeconds) {
        self.rules = rules
        self.bans = bans
        self.banLookupMilliseconds = banLookupMilliseconds
        self.now = now
    }

    /// `REVIEW_BAN_LOOKUP_MS` (an init error when out of range).
    public static func banLookupMilliseconds(lookup: (String) -> String? = Environment.nonEmpty) throws(InitError) -> Int64 {
        guard let text = lookup("REVIEW_BAN_LOOKUP_MS") else { return 120 }
        guard let n = Int(text), banLookupRange.contains(n) else {
            throw .invalidConfiguration("REVIEW_BAN_LOOKUP_MS must be a whole number from \(banLookupRange.lowerBound) to \(banLookupRange.upperBound) (is '\(text)')")
        }
        return Int64(n)
    }

    /// The bounded set of `Result` values of the `ModerationResults` metric.
    public static let outcomes = ["ALLOW", "MASK", "DENY", "BANNED", "MALFORMED"]

    public func handle(_ payload: [UInt8], context: InvocationContext) throws -> [UInt8] {
        let (answer, outcome) = reviewed(payload, deadline: min(context.deadlineEpochMilliseconds, Clock.epochMilliseconds() + banLookupMilliseconds),
                                         traceId: context.traceId)
        context.metrics?.add(.moderationResults, 1, outcome)
        return answer.serialized()
    }

    /// The answer to one review request (`deadline`: when the ban lookup must give up).
    public func review(_ payload: [UInt8], deadline: Int64, traceId: String? = nil) -> JSONValue {
        reviewed(payload, deadline: deadline, traceId: traceId).answer
    }

    /// The answer and its outcome (one of `outcomes`).
    func reviewed(_ payload: [UInt8], deadline: Int64, traceId: String?) -> (answer: JSONValue, outcome: String) {
        guard let request = try? JSONValue.parse(payload), request.objectValue != nil,
              let content = request["Content"]?.stringValue else {
            Log.warn("review: not a message review request; denied")
            return (Self.deny("malformed review request"), "MALFORMED")
        }
        let messageId = request["MessageId"]?.stringValue ?? "?"
        let userId = request["Sender"]?["UserId"]?.stringValue ?? ""
        let room = request["RoomArn"]?.stringValue ?? ""
        let attributes = request["Attributes"]?.stringMap ?? [:]
        if IVSConstraints.attributesSize(attributes) > ReviewRules.maxAttributesBytes {
            return (logged(messageId, userId, Self.deny("message attributes are too large"), why: "attributes over 1 KB"), "DENY")
        }
        let verdict = rules.review(content)
        if case let .deny(reason) = verdict { return (logged(messageId, userId, Self.deny(reason), why: reason), "DENY") }
        if let bans, !userId.isEmpty, !room.isEmpty {
            do {
                if let ban = try bans.ban(roomArn: room, userId: userId, call: AWSCallContext(deadline: deadline, traceId: traceId)),
                   ban.isActive(at: now()) {
                    return (logged(messageId, userId, Self.deny("you are banned from this room"), why: "banned"), "BANNED")
                }
            } catch {
                Log.warn("review \(messageId) by \(userId): ban lookup failed, judged by the rules alone: \(error)")
            }
        }
        guard case let .allow(reviewed, masked) = verdict else { return (Self.deny("denied"), "DENY") }
        var members: [(key: String, value: JSONValue)] = [("ReviewResult", .string("ALLOW"))]
        if !reviewed.isEmpty { members.append(("Content", .string(reviewed))) }
        if !attributes.isEmpty { members.append(("Attributes", .stringMap(attributes))) }
        return (logged(messageId, userId, .object(members), why: masked ? "masked" : "allowed"), masked ? "MASK" : "ALLOW")
    }

    private func logged(_ messageId: String, _ userId: String, _ answer: JSONValue, why: String) -> JSONValue {
        Log.info("review \(messageId) by \(userId): \(answer["ReviewResult"]?.stringValue ?? "?") (\(why))")
        return answer
    }

    /// `{"ReviewResult": "DENY", "Attributes": {"Reason": reason}}`.
    static func deny(_ reason: String) -> JSONValue {
        .object([("ReviewResult", .string("DENY")), ("Attributes", .object([("Reason", .string(reason))]))])
    }

    /// Why `answer` is not a valid review answer (nil: valid): what the tests and the fuzz target check.
    public static func answerProblem(_ answer: JSONValue) -> String? {
        guard let members = answer.objectValue else { return "not an object" }
        guard let result = answer["ReviewResult"]?.stringValue, result == "ALLOW" || result == "DENY" else { return "ReviewResult must be ALLOW or DENY" }
        for (key, value) in members {
            switch key {
            case "ReviewResult": continue
            case "Content":
                guard let s = value.stringValue else { return "Content must be a string" }
                if s.isEmpty || s.utf8.count > ReviewRules.maxContentBytes { return "Content must be 1-\(ReviewRules.maxContentBytes) bytes" }
            case "Attributes":
                guard let object = value.objectValue, object.allSatisfy({ $0.value.stringValue != nil }) else { return "Attributes must map strings to strings" }
                if IVSConstraints.attributesSize(value.stringMap) > ReviewRules.maxAttributesBytes { return "Attributes over 1 KB" }
            default: return "unknown member \(key)"
            }
        }
        return nil
    }
}
