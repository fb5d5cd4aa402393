import AWSCore
import Handlers
import JSON
import LambdaRuntime
import Testing

/// Bans in memory.
final class FakeBans: BanStoring {
    var bans: [String: Ban] = [:]
    var failure: Error?
    var lookups = 0

    func put(_ ban: Ban, call: AWSCallContext) throws {
        if let failure { throw failure }
        bans[ban.roomArn + "#" + ban.userId] = ban
    }
    func ban(roomArn: String, userId: String, call: AWSCallContext) throws -> Ban? {
        lookups += 1
        if let failure { throw failure }
        return bans[roomArn + "#" + userId]
    }
    func remove(roomArn: String, userId: String, call: AWSCallContext) throws {
        if let failure { throw failure }
        bans[roomArn + "#" + userId] = nil
    }
    func bans(roomArn: String, call: AWSCallContext) throws -> [Ban] {
        if let failure { throw failure }
        return bans.values.filter { $0.roomArn == roomArn }.sorted { $0.userId < $1.userId }
    }
}

@Suite struct ReviewRulesTests {
    static func rules(_ env: [String: String]) throws(InitError) -> ReviewRules {
        try ReviewRules.fromEnvironment(lookup: { env[$0] })
    }

    static let standard = try! rules(["REVIEW_BLOCKED_TERMS": #"["badword", {"term": "darn", "action": "mask"}, {"term": "very bad phrase"}, {"term": "soft phrase", "action": "mask"}, "Café"]"#])

    func verdict(_ text: String, _ rules: ReviewRules = standard) -> ReviewVerdict { rules.review(text) }

    @Test func wholeWordCaseInsensitive() {
        #expect(verdict("this is a BadWord!") == .deny(reason: "message contains a blocked term"))
        #expect(verdict("badwords are fine") == .allow(content: "badwords are fine", masked: false))
        #expect(verdict("notbadword") == .allow(content: "notbadword", masked: false))
        #expect(verdict("x-badword-y") == .deny(reason: "message contains a blocked term"))
    }

    @Test func diacriticsAreFolded() {
        for text in ["bädwörd", "BÁDWÓRD", "ba\u{0308}dword", "cafe", "CAFÉ", "café"] {
            #expect(verdict(text) == .deny(reason: "message contains a blocked term"), "\(text)")
        }
    }

    @Test func lookAlikesAreFolded() {
        let cyrillic = "b\u{0430}dw\u{043E}rd"  // а, о
        let greek = "b\u{03B1}dw\u{03BF}rd"     // α, ο
        let fullwidth = "\u{FF42}\u{FF41}\u{FF44}\u{FF57}\u{FF4F}\u{FF52}\u{FF44}"
        let math = "\u{1D41B}\u{1D41A}\u{1D41D}\u{1D430}\u{1D428}\u{1D42B}\u{1D41D}"  // 𝐛𝐚𝐝𝐰𝐨𝐫𝐝
        for text in [cyrillic, greek, fullwidth, math, "B\u{0410}DWORD", "b4dw0rd", "b@dword", "bad\u{200B}word", "bad\u{00AD}word"] {
            #expect(verdict(text) == .deny(reason: "message contains a blocked term"), "\(text.unicodeScalars.map { String($0.value, radix: 16) })")
        }
        // Leet applies only to words with a letter: numbers stay numbers.
        let numbers = try! Self.rules(["REVIEW_BLOCKED_TERMS": "ieee"])
        #expect(verdict("1333", numbers) == .allow(content: "1333", masked: false))
    }

    @Test func specialLettersFold() throws {
        let rules = try Self.rules(["REVIEW_BLOCKED_TERMS": "strasse,aeon,lodz"])
        #expect(verdict("Straße", rules) == .deny(reason: "message contains a blocked term"))
        #expect(verdict("æon", rules) == .deny(reason: "message contains a blocked term"))
        #expect(verdict("Łódź", rules) == .deny(reason: "message contains a blocked term"))
        // Other scripts are not Latin: a Cyrillic word is itself.
        #expect(verdict("привет", rules) == .allow(content: "привет", masked: false))
    }

    @Test func maskReplacesTheMatchedTextOnly() {
        #expect(verdict("oh darn it") == .allow(content: "oh **** it", masked: true))
        #expect(verdict("DÄRN, d\u{0430}rn!") == .allow(content: "****, ****!", masked: true))
        #expect(verdict("a soft   phrase here") == .allow(content: "a ****   ****** here", masked: true))
        #expect(verdict("da\u{0301}rn") == .allow(content: "****", masked: true))
    }

    @Test func denyWinsOverMask() {
        #expect(verdict("darn, a very bad phrase") == .deny(reason: "message contains a blocked term"))
        #expect(verdict("very bad") == .allow(content: "very bad", masked: false))
        #expect(verdict("VERY, bad... phrase") == .deny(reason: "message contains a blocked term"))
    }

    @Test func maskedAnswersHoldNoBlockedTerm() {
        for text in ["darn darn", "soft phrase soft phrase", "d4rn", "soft-phrase", "x darn y"] {
            guard case let .allow(content, masked) = verdict(text) else { Issue.record("denied: \(text)"); continue }
            #expect(masked)
            #expect(verdict(content) == .allow(content: content, masked: false), "\(content)")
        }
    }

    @Test func linkPolicies() throws {
        let deny = try Self.rules(["REVIEW_LINK_POLICY": "deny"])
        #expect(verdict("see https://evil.example/x", deny) == .deny(reason: "links are not allowed here"))
        #expect(verdict("go to www.example.com now", deny) == .deny(reason: "links are not allowed here"))
        #expect(verdict("(example.org).", deny) == .deny(reason: "links are not allowed here"))
        #expect(verdict("pi is 3.14, e.g. this; mail me@example.com", deny) == .allow(content: "pi is 3.14, e.g. this; mail me@example.com", masked: false))
        let list = try Self.rules(["REVIEW_LINK_POLICY": "allowlist", "REVIEW_ALLOWED_DOMAINS": "example.com, ivs.rocks"])
        #expect(verdict("https://docs.example.com/a?b", list) == .allow(content: "https://docs.example.com/a?b", masked: false))
        #expect(verdict("HTTPS://IVS.ROCKS", list) == .allow(content: "HTTPS://IVS.ROCKS", masked: false))
        #expect(verdict("https://example.com.evil.net", list) == .deny(reason: "links to this site are not allowed here"))
        #expect(verdict("notexample.com", list) == .deny(reason: "links to this site are not allowed here"))
        #expect(verdict("https://user@evil.net", list) == .deny(reason: "links to this site are not allowed here"))
    }

    @Test func maxLength() throws {
        let rules = try Self.rules(["REVIEW_MAX_LENGTH": "5"])
        #expect(verdict("héllo", rules) == .allow(content: "héllo", masked: false))
        #expect(verdict("hello!", rules) == .deny(reason: "message is longer than 5 characters"))
        #expect(verdict(String(repeating: "a", count: 1025)) == .deny(reason: "message is too long"))
    }

    @Test func delimitedListWithActions() throws {
        let rules = try Self.rules(["REVIEW_BLOCKED_TERMS": "alpha, beta:mask\ngamma delta:deny", "REVIEW_TERM_ACTION": "mask"])
        #expect(verdict("ALPHA beta", rules) == .allow(content: "***** ****", masked: true))
        #expect(verdict("gamma  delta", rules) == .deny(reason: "message contains a blocked term"))
        #expect(rules.termCount == 3)
    }

    @Test func badConfigurationNamesTheVariable() {
        let cases: [([String: String], String)] = [
            (["REVIEW_BLOCKED_TERMS": "[1]"], "REVIEW_BLOCKED_TERMS"),
            (["REVIEW_BLOCKED_TERMS": "[{\"term\":\"x\",\"action\":\"ban\"}]"], "REVIEW_BLOCKED_TERMS"),
            (["REVIEW_BLOCKED_TERMS": "[\"x\""], "REVIEW_BLOCKED_TERMS"),
            (["REVIEW_BLOCKED_TERMS": "ok, ---"], "REVIEW_BLOCKED_TERMS"),
            (["REVIEW_BLOCKED_TERMS": "***"], "REVIEW_BLOCKED_TERMS"),
            (["REVIEW_TERM_ACTION": "drop"], "REVIEW_TERM_ACTION"),
            (["REVIEW_LINK_POLICY": "maybe"], "REVIEW_LINK_POLICY"),
            (["REVIEW_LINK_POLICY": "allowlist"], "REVIEW_ALLOWED_DOMAINS"),
            (["REVIEW_ALLOWED_DOMAINS": "not a domain"], "REVIEW_ALLOWED_DOMAINS"),
            (["REVIEW_MAX_LENGTH": "0"], "REVIEW_MAX_LENGTH"),
            (["REVIEW_MAX_LENGTH": "ten"], "REVIEW_MAX_LENGTH"),
        ]
        for (env, variable) in cases {
            do throws(InitError) {
                _ = try Self.rules(env)
                Issue.record("accepted \(env)")
            } catch {
                #expect(error.errorType == "Runtime.InvalidConfiguration")
                #expect(error.errorMessage.contains(variable), "\(error.errorMessage)")
            }
        }
    }
}

@Suite struct MessageReviewHandlerTests {
    static let room = "arn:aws:ivschat:us-east-1:123456789012:room/AbCdEf"
    let context = InvocationContext(requestId: "r", deadlineEpochMilliseconds: Int64.max / 2)

    static func request(_ content: String, user: String = "u1", attributes: String = #"{"color":"red"}"#) -> String {
        #"{"Content":\#(JSONValue.quoted(content)),"MessageId":"m1","RoomArn":"\#(room)","Attributes":\#(attributes),"Sender":{"Attributes":{"username":"u"},"UserId":"\#(user)","Ip":"1.2.3.4"}}"#
    }

    func answer(_ handler: MessageReviewHandler, _ payload: String) throws -> JSONValue {
        let answer = try JSONValue.parse(handler.handle(Array(payload.utf8), context: context))
        #expect(MessageReviewHandler.answerProblem(answer) == nil, "\(answer.compactText)")
        return answer
    }

    @Test func allowEchoesContentAndAttributes() throws {
        let handler = MessageReviewHandler(rules: ReviewRulesTests.standard)
        let a = try answer(handler, Self.request("hello there"))
        #expect(a.compactText == #"{"ReviewResult":"ALLOW","Content":"hello there","Attributes":{"color":"red"}}"#)
    }

    @Test func maskAndDenyAnswers() throws {
        let handler = MessageReviewHandler(rules: ReviewRulesTests.standard)
        #expect(try answer(handler, Self.request("darn")).compactText == #"{"ReviewResult":"ALLOW","Content":"****","Attributes":{"color":"red"}}"#)
        #expect(try answer(handler, Self.request("badword")).compactText == #"{"ReviewResult":"DENY","Attributes":{"Reason":"message contains a blocked term"}}"#)
    }

    @Test func malformedRequestsAreDeniedNotErrors() throws {
        let handler = MessageReviewHandler(rules: ReviewRulesTests.standard)
        for payload in ["", "[]", "{}", #"{"Content":5}"#, "not json"] {
            #expect(try answer(handler, payload)["ReviewResult"] == .string("DENY"))
        }
        let big = "{" + (0..<40).map { #""k\#($0)":"\#(String(repeating: "v", count: 30))""# }.joined(separator: ",") + "}"
        #expect(try answer(handler, Self.request("hi", attributes: big))["ReviewResult"] == .string("DENY"))
    }

    @Test func bannedSendersAreDeniedUntilTheBanExpires() throws {
        let bans = FakeBans()
        let handler = MessageReviewHandler(rules: ReviewRules(), bans: bans, now: { 1000 })
        bans.bans[Self.room + "#u1"] = Ban(roomArn: Self.room, userId: "u1", bannedBy: "owner", bannedAt: 900, expiresAt: 2000)
        bans.bans[Self.room + "#u2"] = Ban(roomArn: Self.room, userId: "u2", bannedBy: "owner", bannedAt: 900, expiresAt: 999)
        bans.bans[Self.room + "#u3"] = Ban(roomArn: Self.room, userId: "u3", bannedBy: "owner", bannedAt: 900, expiresAt: nil)
        #expect(try answer(handler, Self.request("hi", user: "u1"))["Attributes"]?["Reason"] == .string("you are banned from this room"))
        #expect(try answer(handler, Self.request("hi", user: "u2"))["ReviewResult"] == .string("ALLOW"))
        #expect(try answer(handler, Self.request("hi", user: "u3"))["ReviewResult"] == .string("DENY"))
        #expect(try answer(handler, Self.request("hi", user: "u4"))["ReviewResult"] == .string("ALLOW"))
        #expect(bans.lookups == 4)
    }

    @Test func aFailedBanLookupFallsBackToTheRules() throws {
        let bans = FakeBans()
        bans.failure = LambdaError("Test.Unreachable", "DynamoDB is gone")
        let handler = MessageReviewHandler(rules: ReviewRulesTests.standard, bans: bans)
        #expect(try answer(handler, Self.request("hello"))["ReviewResult"] == .string("ALLOW"))
        // Denied by the rules: no lookup at all.
        #expect(try answer(handler, Self.request("badword"))["ReviewResult"] == .string("DENY"))
        #expect(bans.lookups == 1)
    }

    @Test func registryKnowsMessageReview() throws {
        #expect(HandlerRegistry.names.contains("messageReview"))
    }
}
