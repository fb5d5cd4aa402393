@testable import Handlers
import LambdaRuntime
import Testing

/// The byte-level fast paths of `ReviewRules` (made for the review bench's 1,000 terms, issue 19) give
/// what the character-level code gives.
@Suite struct ReviewRulesFastPathTests {
    @Test(arguments: [
        "badword, darn:mask ,  soft phrase :MASK,\n\ncafé:deny, Café ,x:y:mask, trailing:",
        "brépla,kouvé:mask,zé é,ñandú ,\tstrai",
        "a,\u{301}b, c:\u{301}mask, d \u{301}:mask",      // combining marks after separators: one character with them
        "x\u{600},y, z\u{600}:mask",                      // a Prepend scalar before a separator
        "one\r\ntwo,three\r\n",                           // CR LF is one character
        "日本語:mask,emoji 🎉,👍🏽ok:deny, ok",
        "a:DENY,b:Mask, c:MAS\u{212A}, d:mäsk, e:deny:mask,f:, g : mask , 12",  // KELVIN SIGN lower-cases to k
        String(repeating: "x", count: 100) + ":mask",
        "a \u{FF9E}, \u{0E01} \u{0E33}:mask",  // a word whose first scalar joins the space before it into one character
    ])
    func listFormMatchesTheCharacterLevelCut(_ text: String) throws {
        let fast = try ReviewRules.parseTerms(text, defaultAction: .deny)
        // The character-level cut (what the list form falls back to) is the reference.
        let reference = ReviewRules.listEntries(text.trimmingASCIIWhitespace(), defaultAction: .deny)
        #expect(fast.map(\.term) == reference.map(\.0))
        #expect(fast.map(\.action) == reference.map(\.1))
        for entry in fast { #expect(entry.words == ReviewRules.tokenize(Array(entry.term.unicodeScalars)).map(\.folded)) }
    }

    @Test(arguments: ["a," + String(repeating: "y", count: 101) + ":mask", "a, ** ,b", "a,*:deny"])
    func listFormRefusesWhatTheCharacterLevelCutRefuses(_ text: String) {
        #expect(throws: InitError.self) { try ReviewRules.parseTerms(text, defaultAction: .deny) }
    }

    @Test func compiledFromTheEnvironmentAsFromTheTermsOneByOne() throws {
        let text = "Bad, w0rd:mask, two words, two Words:deny, café, Äpfel:mask, 日本語, x-y z, bad:mask, $$, a*b"
        let compiled = try ReviewRules.fromEnvironment(lookup: { $0 == "REVIEW_BLOCKED_TERMS" ? text : nil })
        let reference = ReviewRules(terms: try ReviewRules.parseTerms(text, defaultAction: .deny).map { ($0.term, $0.action) })
        #expect(compiled.words == reference.words)
        #expect(compiled.termCount == reference.termCount)
        func phrases(_ r: ReviewRules) -> [String: [String]] { r.phrases.mapValues { $0.map { $0.rest.joined(separator: " ") + ":\($0.action)" } } }
        #expect(phrases(compiled) == phrases(reference))
        #expect(compiled.words["bad"] == .deny)  // deny wins over a later mask
    }

    @Test func asciiFoldingMatchesTokenize() {
        for text in ["Hello W0rld", "1337 h4x0r $tuff @home", "a*b**c, 123 45.6", "UPPER lower MiXeD-case_words", "   ", "", "$$$ @@ **"] {
            #expect(ReviewRules.foldedWords(text) == ReviewRules.tokenize(Array(text.unicodeScalars)).map(\.folded), "\(text)")
        }
    }

    @Test func whitespaceMatchesCharacterIsWhitespace() {
        let samples: [Character] = [" ", "\t", "\n", "\r\n", "\u{0B}", "\u{0C}", "\u{85}", "\u{A0}", "\u{2003}", "\u{3000}", "a", "\u{200B}", " \u{301}", "é", "🎉"]
        for c in samples { #expect(ReviewRules.isWhitespace(c) == c.isWhitespace, "\(c.unicodeScalars.map { $0.value })") }
        for v in 0..<0x80 { let c = Character(Unicode.Scalar(UInt8(v))); #expect(ReviewRules.isWhitespace(c) == c.isWhitespace) }
    }

    @Test func linksAreStillFound() {
        let rules = ReviewRules(linkPolicy: .deny)
        for message in ["see example.com", "go to https://x.io/a", "mail me: a@b.co? no, visit (docs.example.org).", "ftp://host:21"] {
            #expect(rules.review(message) == .deny(reason: "links are not allowed here"), "\(message)")
        }
        for message in ["no links here", "3.14 is pi, e.g. this", "time 10:30", "a@b.co"] {
            #expect(rules.review(message) == .allow(content: message, masked: false), "\(message)")
        }
    }
}

extension ReviewRulesFastPathTests {
    @Test func asciiLinkHostsMatchTheCharacterLevelParse() {
        let samples = ["example.com", "(www.Example.COM/path).", "https://user@Host.io:8080/x?y#z", "HTTP://a", "ftp://", "://x.com",
                       "1ab://x.com", "a@b.co", "3.14", "e.g.", "x.y.zz", "a..b.com", "-a.com", "a.c0m", "a.c", "x.yz:80", "\"site.org\"",
                       "((..))", "mailto:a@b.co", "a:b", "www.x" + String(repeating: "y", count: 64) + ".com", "x." + String(repeating: "z", count: 64),
                       "[host.net]!", "ok.computer?", "https://", "h://@", "https://a.b/c", "a.b/c.d", "A.B", "{x.io}", "x.io#frag", "sub.dom-ain.ORG."]
        for sample in samples {
            #expect(ReviewRules.linkHostASCII(ArraySlice(sample.utf8)) == ReviewRules.linkHostCharacters(Substring(sample)), "\(sample)")
        }
    }

    @Test func whitespaceChunksMatchTheCharacterSplit() {
        let samples = ["hey everyone,  the stream\tlooks great\r\ntonight! 🎉 docs.example.com/x", " lead and trail ",
                       "a \u{301}b c\u{A0}d\u{3000}e", "x\u{600} y", "é è\u{2003}ü", "\r\n\r\n", "", "   ", "one", "👍🏽 ok\u{85}next"]
        for text in samples {
            #expect(ReviewRules.whitespaceChunks(text).map(String.init) == text.split(whereSeparator: { $0.isWhitespace }).map(String.init),
                    "\(text.unicodeScalars.map { $0.value })")
        }
    }

    @Test func asciiWordsFoldAsScalars() {
        for text in ["Hello W0rld, H4X0R!", "mixed é and ASCII w0rds", "a\u{200B}b c", "UPPER $$ @@ 12 34a"] {
            let tokens = ReviewRules.tokenize(Array(text.unicodeScalars))
            for token in tokens {
                var folded = String.UnicodeScalarView()
                let scalars = Array(text.unicodeScalars)
                let hasLetter = token.range.contains { ReviewRules.isLetterLike(scalars[$0]) }
                for k in token.range { ReviewRules.fold(scalars[k], leet: hasLetter, into: &folded) }
                #expect(token.folded == String(folded), "\(text)")
            }
        }
    }
}
