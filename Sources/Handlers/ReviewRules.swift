@_spi(_Unicode) import Swift
import Essentials
import JSON
import LambdaRuntime

/// What a blocked term does to a message that contains it.
public enum ReviewAction: String, Sendable, Equatable {
    /// The message is not delivered (`ReviewResult: DENY`).
    case deny
    /// The message is delivered with the matched text replaced by `*`.
    case mask
}

/// What the review does with links in a message.
public enum LinkPolicy: String, Sendable, Equatable {
    /// Links pass.
    case allow
    /// A message with a link is denied.
    case deny
    /// A message with a link to a host outside `REVIEW_ALLOWED_DOMAINS` is denied.
    case allowlist
}

/// The verdict of the rules on one message (before any ban check).
public enum ReviewVerdict: Sendable, Equatable {
    /// Deliver `content` (the original, or with masked terms).
    case allow(content: String, masked: Bool)
    /// Do not deliver; `reason` is safe to show to the sender (it never quotes the message).
    case deny(reason: String)
}

/// The moderation rules of `messageReview`, compiled once at start-up so that a review is one pass
/// over the message and a hash lookup per word.
///
/// Matching is whole-word and works on *folded* words. A message is cut into words: runs of letters,
/// digits, combining marks, `*`, `@` and `$` (format characters such as U+200B ZERO WIDTH SPACE and
/// U+00AD SOFT HYPHEN inside a word are ignored, so they cannot split one); everything else separates
/// words. Each word is folded, one scalar at a time, in this order:
/// 1. look-alikes, on the scalar as written: Cyrillic and Greek letters that look like Latin ones
///    (`а е о р с у х і ј ѕ һ ԁ ӏ ԛ ԝ` and capitals `А В Е К М Н О Р С Т Х`, Greek `α ο ν ι κ ρ υ χ`
///    and capitals `Α Β Ε Ζ Η Ι Κ Μ Ν Ο Ρ Τ Υ Χ`), fullwidth ASCII (U+FF01–FF5E), the Mathematical
///    Alphanumeric letters and digits (U+1D400–1D6A3, U+1D7CE–1D7FF) become their Latin letter or digit;
/// 2. case: Unicode lowercase mapping (full mapping, so `İ` → `i`);
/// 3. diacritics: canonical decomposition (NFD) with every combining mark dropped (`é` → `e`,
///    `Å` → `a`, `ñ` → `n`, `ş` → `s`, Vietnamese `ệ` → `e`), plus the letters that have no
///    decomposition: `ß` → `ss`, `æ` → `ae`, `œ` → `oe`, `ø` → `o`, `ł` → `l`, `đ` → `d`, `ħ` → `h`,
///    `ı` → `i`, `þ` → `th`;
/// 4. leet, only in a word that has at least one letter: `0` → `o`, `1` → `i`, `3` → `e`, `4` → `a`,
///    `5` → `s`, `7` → `t`, `@` → `a`, `$` → `s`.
///
/// Not folded: other scripts' look-alikes, compatibility forms beyond those above (ligatures, circled
/// and superscript letters), repeated letters (`baaad`), spacing inside a word (`b a d`).
/// Terms are folded the same way, so `Café` blocks `cafe`, `CAFÉ` and `cаfе` (Cyrillic а, е).
/// A multi-word term matches those words in a row, whatever separates them.
public struct ReviewRules: Sendable {
    /// IVS Chat's limit on the returned `Content` and on the returned `Attributes` (UTF-8 bytes).
    public static let maxContentBytes = 1024
    public static let maxAttributesBytes = 1024
    /// Bounds on the configuration.
    public static let maxTerms = 10_000
    public static let maxTermCharacters = 100
    public static let maxLengthRange = 1...10_000

    /// Single folded words → action (deny wins over mask when a word is listed twice).
    let words: [String: ReviewAction]
    /// Phrases by their first folded word: the rest of the words and the action.
    let phrases: [String: [(rest: [String], action: ReviewAction)]]
    public let linkPolicy: LinkPolicy
    /// Lower-case domains whose hosts (and subdomains) links may point to under `allowlist`.
    public let allowedDomains: [String]
    /// Characters (grapheme clusters) a message may have; nil: only IVS Chat's own limit.
    public let maxLength: Int?
    /// The number of terms configured.
    public let termCount: Int

    /// Compiles `terms` (each folded once here, never per message).
    public init(terms: [(term: String, action: ReviewAction)] = [], linkPolicy: LinkPolicy = .allow,
                allowedDomains: [String] = [], maxLength: Int? = nil) {
        self.init(folded: terms.map { (Self.foldedWords($0.term), $0.action) }, linkPolicy: linkPolicy, allowedDomains: allowedDomains, maxLength: maxLength)
    }

    /// Compiles terms already folded into words (`parseTerms` folds each once, to validate it).
    init(folded terms: [(words: [String], action: ReviewAction)], linkPolicy: LinkPolicy, allowedDomains: [String], maxLength: Int?) {
        var table = TermTable(capacity: terms.count)
        for (words, action) in terms { table.add(words, action) }
        self.init(table: table, linkPolicy: linkPolicy, allowedDomains: allowedDomains, maxLength: maxLength)
    }

    init(table: TermTable, linkPolicy: LinkPolicy, allowedDomains: [String], maxLength: Int?) {
        words = table.words
        phrases = table.phrases
        self.linkPolicy = linkPolicy
        self.allowedDomains = allowedDomains.map { $0.lowercased() }
        self.maxLength = maxLength
        termCount = table.count
    }

    /// The compiled terms: single folded words → action (deny wins over mask when a word is listed
    /// twice), phrases by their first folded word.
    struct TermTable {
        var words: [String: ReviewAction] = [:]
        var phrases: [String: [(rest: [String], action: ReviewAction)]] = [:]
        var count = 0

        init(capacity: Int) { words.reserveCapacity(capacity) }

        mutating func reserve(_ capacity: Int) { words.reserveCapacity(capacity) }

        mutating func add(_ folded: [String], _ action: ReviewAction) {
            count += 1
            guard let first = folded.first else { return }
            if folded.count == 1 {
                if words.updateValue(action, forKey: first) == .deny { words[first] = .deny }
            } else {
                phrases[first, default: []].append((Array(folded.dropFirst()), action))
            }
        }

        /// A term's words joined by single spaces (folded words have none): one String, no array, for
        /// the usual single word.
        mutating func add(joined folded: Folded, _ action: ReviewAction) {
            if folded.isPhrase {
                add(folded.words, action)
            } else {
                count += 1
                if words.updateValue(action, forKey: folded.text) == .deny { words[folded.text] = .deny }
            }
        }
    }

    /// A term's folded words joined by single spaces, and whether there are several.
    struct Folded {
        var text: String
        var isPhrase: Bool

        /// The words again. Cut on the space's byte: a word may begin with a scalar that would join a
        /// space before it into one character (U+FF9E, Thai SARA AM…), so a cut on characters could miss it.
        var words: [String] { text.utf8.split(separator: 0x20).map { String(decoding: $0, as: UTF8.self) } }
    }

    // MARK: - Configuration

    /// Reads the rules from the environment; any problem is an init error naming the variable:
    /// - `REVIEW_BLOCKED_TERMS`: a JSON array of terms (`"term"` or `{"term": "…", "action": "deny"|"mask"}`),
    ///   or a list separated by commas or new lines, each entry `term` or `term:deny` / `term:mask`;
    /// - `REVIEW_TERM_ACTION`: the action of entries that name none, `deny` (default) or `mask`;
    /// - `REVIEW_LINK_POLICY`: `allow` (default), `deny` or `allowlist`;
    /// - `REVIEW_ALLOWED_DOMAINS`: comma-separated domains (required with `allowlist`);
    /// - `REVIEW_MAX_LENGTH`: characters a message may have, 1-10000 (unset: no limit of our own).
    public static func fromEnvironment(lookup: (String) -> String? = Environment.nonEmpty) throws(InitError) -> ReviewRules {
        let defaultAction: ReviewAction
        switch lookup("REVIEW_TERM_ACTION")?.lowercased() {
        case nil, "deny": defaultAction = .deny
        case "mask": defaultAction = .mask
        case let other?: throw .invalidConfiguration("REVIEW_TERM_ACTION must be deny or mask (is '\(other)')")
        }
        var table = TermTable(capacity: 0)
        if let text = lookup("REVIEW_BLOCKED_TERMS") {
            // (Sized once for the terms, not grown a thousand times.)
            try compileTerms(text, defaultAction: defaultAction, keepTerms: false, expecting: { table.reserve($0) }) { _, action, folded in
                table.add(joined: folded, action)
            }
        }
        let policy: LinkPolicy
        switch lookup("REVIEW_LINK_POLICY")?.lowercased() {
        case nil, "allow": policy = .allow
        case "deny": policy = .deny
        case "allowlist": policy = .allowlist
        case let other?: throw .invalidConfiguration("REVIEW_LINK_POLICY must be allow, deny or allowlist (is '\(other)')")
        }
        var domains: [String] = []
        if let text = lookup("REVIEW_ALLOWED_DOMAINS") {
            for entry in text.split(separator: ",") {
                let domain = entry.trimmingASCIIWhitespace().lowercased()
                if domain.isEmpty { continue }
                guard let host = linkHost(Substring(domain)), host == domain else {
                    throw .invalidConfiguration("REVIEW_ALLOWED_DOMAINS: '\(domain)' is not a domain name (like example.com)")
                }
                domains.append(domain)
            }
        }
        if policy == .allowlist && domains.isEmpty {
            throw .invalidConfiguration("REVIEW_ALLOWED_DOMAINS must name at least one domain when REVIEW_LINK_POLICY is allowlist")
        }
        var maxLength: Int?
        if let text = lookup("REVIEW_MAX_LENGTH") {
            guard let n = Int(text), maxLengthRange.contains(n) else {
                throw .invalidConfiguration("REVIEW_MAX_LENGTH must be a whole number from \(maxLengthRange.lowerBound) to \(maxLengthRange.upperBound) (is '\(text)')")
            }
            maxLength = n
        }
        return ReviewRules(table: table, linkPolicy: policy, allowedDomains: domains, maxLength: maxLength)
    }

    /// `REVIEW_BLOCKED_TERMS` in either form (see `fromEnvironment`), each term with its folded words.
    static func parseTerms(_ text: String, defaultAction: ReviewAction) throws(InitError) -> [(term: String, action: ReviewAction, words: [String])] {
        var terms: [(term: String, action: ReviewAction, words: [String])] = []
        try compileTerms(text, defaultAction: defaultAction, keepTerms: true) { term, action, folded in
            terms.append((term ?? "", action, folded.words))
        }
        return terms
    }

    /// Reads `REVIEW_BLOCKED_TERMS` (see `fromEnvironment`) and hands `body` each term, in order, checked
    /// and folded: the term as written (only with `keepTerms`), its action, and its folded words joined by
    /// single spaces; `expecting` gets the number of terms first. A thousand terms are compiled inside the
    /// cold start that IVS Chat's 200 ms include: the list form is cut on bytes when it can be, and an
    /// ASCII term is folded from its bytes.
    static func compileTerms(_ text: String, defaultAction: ReviewAction, keepTerms: Bool, expecting: (Int) -> Void = { _ in },
                             _ body: (_ term: String?, _ action: ReviewAction, _ folded: Folded) -> Void) throws(InitError) {
        let variable = "REVIEW_BLOCKED_TERMS"
        func noWords(_ index: Int) -> InitError {
            .invalidConfiguration("\(variable): term \(index) has no letters or digits to match (or a word of '*' only)")
        }
        func tooMany(_ count: Int) -> InitError { .invalidConfiguration("\(variable) has \(count) terms; at most \(maxTerms)") }
        /// Checks and folds a term from its characters (any text).
        func compile(_ index: Int, _ term: String, _ action: ReviewAction) throws(InitError) {
            // (A character is at least one byte: count characters only when the bytes could exceed the limit.)
            guard term.utf8.count <= maxTermCharacters || term.count <= maxTermCharacters else {
                throw .invalidConfiguration("\(variable): term \(index) is longer than \(maxTermCharacters) characters")
            }
            let words = foldedWords(term)
            guard !words.isEmpty, words.allSatisfy({ $0.utf8.contains { $0 != 0x2A } }) else { throw noWords(index) }
            body(keepTerms ? term : nil, action, Folded(text: words.joined(separator: " "), isPhrase: words.count > 1))
        }

        var terms: [(term: String, action: ReviewAction)] = []
        let trimmed = text.trimmingASCIIWhitespace()
        if trimmed.hasPrefix("[") {
            let value: JSONValue
            do { value = try JSONValue.parse(trimmed) } catch { throw .invalidConfiguration("\(variable) is not JSON: \(error)") }
            guard let entries = value.arrayValue else { throw .invalidConfiguration("\(variable) must be a JSON array") }
            for (index, entry) in entries.enumerated() {
                if let term = entry.stringValue {
                    terms.append((term, defaultAction))
                } else if entry.objectValue != nil {
                    guard let term = entry["term"]?.stringValue else {
                        throw .invalidConfiguration("\(variable): entry \(index) has no string 'term'")
                    }
                    var action = defaultAction
                    if let name = entry["action"] {
                        guard let parsed = name.stringValue.flatMap({ ReviewAction(rawValue: $0.lowercased()) }) else {
                            throw .invalidConfiguration("\(variable): entry \(index): action must be deny or mask")
                        }
                        action = parsed
                    }
                    terms.append((term, action))
                } else {
                    throw .invalidConfiguration("\(variable): entry \(index) must be a string or {\"term\", \"action\"}")
                }
            }
        } else if case let bytes = Array(trimmed.utf8), Self.bytesAreCharacters(bytes) {
            // The same entries as the character-level cut below, from the bytes.
            func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
            func unspaced(_ lo: Int, _ hi: Int) -> Range<Int> {
                var lo = lo, hi = hi
                while lo < hi, isSpace(bytes[lo]) { lo += 1 }
                while hi > lo, isSpace(bytes[hi - 1]) { hi -= 1 }
                return lo..<hi
            }
            var entries: [(range: Range<Int>, action: ReviewAction)] = []
            var start = 0
            for k in 0...bytes.count where k == bytes.count || bytes[k] == 0x2C || bytes[k] == 0x0A {
                defer { start = k + 1 }
                var entry = unspaced(start, k)
                if entry.isEmpty { continue }
                var action = defaultAction
                if let colon = entry.last(where: { bytes[$0] == 0x3A }), let parsed = Self.action(bytes[(colon + 1)..<entry.upperBound]) {
                    action = parsed
                    entry = unspaced(entry.lowerBound, colon)
                }
                entries.append((entry, action))
            }
            guard entries.count <= maxTerms else { throw tooMany(entries.count) }
            expecting(entries.count)
            for (index, entry) in entries.enumerated() {
                guard entry.range.count <= maxTermCharacters, bytes[entry.range].allSatisfy({ $0 < 0x80 }) else {
                    try compile(index, String(decoding: bytes[entry.range], as: UTF8.self), entry.action)
                    continue
                }
                let folded = foldedASCII(bytes, entry.range)
                guard folded.words > 0, folded.matchable else { throw noWords(index) }
                body(keepTerms ? String(decoding: bytes[entry.range], as: UTF8.self) : nil, entry.action,
                     Folded(text: folded.text, isPhrase: folded.words > 1))
            }
            return
        } else {
            terms = listEntries(trimmed, defaultAction: defaultAction)
        }
        guard terms.count <= maxTerms else { throw tooMany(terms.count) }
        expecting(terms.count)
        for (index, entry) in terms.enumerated() { try compile(index, entry.term, entry.action) }
    }

    /// The list form's entries cut on characters (any text; the byte-level cut in `compileTerms` gives the
    /// same when `bytesAreCharacters`): split on `,` and new lines, trimmed, an action after the last `:`.
    static func listEntries(_ trimmed: String, defaultAction: ReviewAction) -> [(term: String, action: ReviewAction)] {
        var terms: [(term: String, action: ReviewAction)] = []
        for raw in trimmed.split(whereSeparator: { $0 == "," || $0 == "\n" }) {
            var entry = raw.trimmingASCIIWhitespace()
            if entry.isEmpty { continue }
            var action = defaultAction
            if let colon = entry.lastIndex(of: ":"), let parsed = ReviewAction(rawValue: entry[entry.index(after: colon)...].lowercased()) {
                action = parsed
                entry = String(entry[..<colon]).trimmingASCIIWhitespace()
            }
            terms.append((entry, action))
        }
        return terms
    }

    /// Whether every `,` `:` new line, space and tab of `text` is a character of its own, so that the
    /// list form can be cut on bytes. Such an ASCII scalar joins a larger character only when it is CR
    /// (CR LF), when an extending scalar follows it (a combining mark, ZWJ…: all non-ASCII), or when a
    /// Prepend scalar precedes it (all at U+0600 or above); anything else is a boundary on both sides.
    /// On UTF-8 bytes: a scalar at U+0600 or above is one whose lead byte is 0xD8 or above.
    static func bytesAreCharacters(_ bytes: [UInt8]) -> Bool {
        var previousLead: UInt8 = 0
        var afterStructural = false
        for b in bytes {
            if b & 0xC0 == 0x80 { continue }  // a continuation byte: the same scalar
            if b == 0x0D || (afterStructural && b >= 0x80) { return false }
            afterStructural = b == 0x2C || b == 0x3A || b == 0x0A || b == 0x20 || b == 0x09
            if afterStructural && previousLead >= 0xD8 { return false }
            previousLead = b
        }
        return true
    }

    /// `ReviewAction(rawValue: lowercased)` of an entry's suffix after its last `:`, from its bytes.
    static func action(_ suffix: ArraySlice<UInt8>) -> ReviewAction? {
        // (Unicode lower-casing can make ASCII of other scalars: KELVIN SIGN → k.)
        if suffix.contains(where: { $0 >= 0x80 }) { return ReviewAction(rawValue: String(decoding: suffix, as: UTF8.self).lowercased()) }
        func matches(_ word: StaticString) -> Bool {
            guard suffix.count == word.utf8CodeUnitCount else { return false }
            var p = word.utf8Start
            for b in suffix { guard b | 0x20 == p.pointee else { return false }; p += 1 }
            return true
        }
        return matches("deny") ? .deny : matches("mask") ? .mask : nil
    }

    // MARK: - Review

    /// The verdict on `content`.
    public func review(_ content: String) -> ReviewVerdict {
        if content.utf8.count > Self.maxContentBytes { return .deny(reason: "message is too long") }
        // A character is at least one byte: count characters only when the bytes could exceed the limit.
        if let maxLength, content.utf8.count > maxLength, content.count > maxLength { return .deny(reason: "message is longer than \(maxLength) characters") }
        let scalars = Array(content.unicodeScalars)
        let tokens = Self.tokenize(scalars)
        var masked: [Range<Int>] = []
        if !words.isEmpty || !phrases.isEmpty {
            for (i, token) in tokens.enumerated() {
                if let action = words[token.folded] {
                    if action == .deny { return .deny(reason: "message contains a blocked term") }
                    masked.append(token.range)
                }
                guard let candidates = phrases[token.folded] else { continue }
                for phrase in candidates where i + phrase.rest.count < tokens.count {
                    var all = true
                    for (k, word) in phrase.rest.enumerated() where tokens[i + 1 + k].folded != word { all = false; break }
                    guard all else { continue }
                    if phrase.action == .deny { return .deny(reason: "message contains a blocked term") }
                    masked.append(token.range.lowerBound..<tokens[i + phrase.rest.count].range.upperBound)
                }
            }
        }
        if linkPolicy != .allow {
            func verdict(_ host: String) -> ReviewVerdict? {
                if linkPolicy == .deny { return .deny(reason: "links are not allowed here") }
                if !allowedDomains.contains(where: { host == $0 || host.hasSuffix("." + $0) }) {
                    return .deny(reason: "links to this site are not allowed here")
                }
                return nil
            }
            if content.utf8.allSatisfy({ $0 < 0x80 }) {
                // ASCII (most messages): characters are bytes, the same cut and the same hosts from bytes.
                let bytes = Array(content.utf8)
                var start = -1
                for k in 0...bytes.count {
                    if k == bytes.count || bytes[k] == 0x20 || (bytes[k] >= 0x09 && bytes[k] <= 0x0D) {
                        if start >= 0, let host = Self.linkHostASCII(bytes[start..<k]), let denied = verdict(host) { return denied }
                        start = -1
                    } else if start < 0 {
                        start = k
                    }
                }
            } else {
                for chunk in Self.whitespaceChunks(content) {
                    if let host = Self.linkHost(chunk), let denied = verdict(host) { return denied }
                }
            }
        }
        guard !masked.isEmpty else { return .allow(content: content, masked: false) }
        var hidden = [Bool](repeating: false, count: scalars.count)
        for range in masked { for i in range { hidden[i] = true } }
        // One `*` per character (grapheme cluster) whose first scalar is in a match: never longer, in
        // characters or bytes, than the original.
        var out = ""
        var index = 0
        for character in content {
            out.append(hidden[index] && !Self.isWhitespace(character) ? "*" : character)
            index += character.unicodeScalars.count
        }
        return .allow(content: out, masked: true)
    }

    /// `Character.isWhitespace` (its first scalar's White_Space property), without the property lookup for ASCII.
    static func isWhitespace(_ c: Character) -> Bool {
        let s = c.unicodeScalars.first!
        if s.value < 0x80 { return s.value == 0x20 || (s.value >= 0x09 && s.value <= 0x0D) }
        return s.properties.isWhitespace
    }

    /// `content.split(whereSeparator: isWhitespace)`, cut on scalars when every whitespace scalar is a
    /// character of its own: no non-ASCII scalar after it (an extending scalar would join it) and none at
    /// U+0600 or above before it (a Prepend scalar would); CR LF is one whitespace character, cut the same.
    /// Otherwise on characters.
    static func whitespaceChunks(_ content: String) -> [Substring] {
        let scalars = content.unicodeScalars
        var chunks: [Substring] = []
        var start: String.Index?
        var previous: UInt32 = 0
        var i = scalars.startIndex
        while i != scalars.endIndex {
            let v = scalars[i].value
            let next = scalars.index(after: i)
            let isSpace = v < 0x80 ? v == 0x20 || (v >= 0x09 && v <= 0x0D) : scalars[i].properties.isWhitespace
            if isSpace {
                guard previous < 0x600, next == scalars.endIndex || scalars[next].value < 0x80 else {
                    return content.split(whereSeparator: isWhitespace)
                }
                if let s = start { chunks.append(content[s..<i]); start = nil }
            } else if start == nil {
                start = i
            }
            previous = v
            i = next
        }
        if let s = start { chunks.append(content[s...]) }
        return chunks
    }

    // MARK: - Words and folding

    /// A word of the message: its scalars' positions and its folded form.
    struct Token {
        var range: Range<Int>
        var folded: String
    }

    /// The message's words, folded.
    static func tokenize(_ scalars: [Unicode.Scalar]) -> [Token] {
        var tokens: [Token] = []
        var scratch: [UInt8] = []
        scratch.reserveCapacity(32)
        var i = 0
        while i < scalars.count {
            guard isWordScalar(scalars[i]) else { i += 1; continue }
            var end = i
            var hasLetter = false
            // (No ASCII scalar is a format character: skip the property lookup for spaces and punctuation.)
            while end < scalars.count, isWordScalar(scalars[end]) || (end > i && scalars[end].value >= 0x80 && scalars[end].properties.generalCategory == .format
                                                                        && end + 1 < scalars.count && isWordScalar(scalars[end + 1])) {
                if isLetterLike(scalars[end]) { hasLetter = true }
                end += 1
            }
            if scalars[i..<end].allSatisfy({ $0.value < 0x80 }) {
                // An ASCII word: what `fold` gives for each scalar, built from bytes.
                scratch.removeAll(keepingCapacity: true)
                for k in i..<end { scratch.append(ASCIIFold.fold(UInt8(scalars[k].value), leet: hasLetter)) }
                tokens.append(Token(range: i..<end, folded: String(decoding: scratch, as: UTF8.self)))
                i = end
                continue
            }
            var folded = String.UnicodeScalarView()
            for k in i..<end { fold(scalars[k], leet: hasLetter, into: &folded) }
            if !folded.isEmpty { tokens.append(Token(range: i..<end, folded: String(folded))) }
            i = end
        }
        return tokens
    }

    /// The folded words of `text` (how terms are compiled).
    static func foldedWords(_ text: String) -> [String] {
        guard text.utf8.allSatisfy({ $0 < 0x80 }) else { return tokenize(Array(text.unicodeScalars)).map(\.folded) }
        let bytes = Array(text.utf8)
        let folded = foldedASCII(bytes, bytes.indices)
        return Folded(text: folded.text, isPhrase: folded.words > 1).words
    }

    /// What `tokenize` folds the ASCII text `bytes[range]` into, from its bytes (ASCII has no format
    /// characters, marks or look-alikes: a word is a run of word bytes, folded to lower case, and leet when
    /// it has a letter): the words joined by single spaces, how many there are, and whether every one has
    /// a byte other than `*` (a term can match).
    static func foldedASCII(_ bytes: [UInt8], _ range: Range<Int>) -> (text: String, words: Int, matchable: Bool) {
        // (The result is never longer than the text: a word byte folds to one byte, a run of separators to
        // at most one space.)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(range.count, 1)) { out in
            bytes.withUnsafeBufferPointer { bytes in
                var n = 0, words = 0, matchable = true
                var i = range.lowerBound
                while i < range.upperBound {
                    guard ASCIIFold.isWord(bytes[i]) else { i += 1; continue }
                    var end = i
                    var hasLetter = false, hasNonStar = false
                    while end < range.upperBound, ASCIIFold.isWord(bytes[end]) {
                        hasLetter = hasLetter || ASCIIFold.isLetter(bytes[end])
                        hasNonStar = hasNonStar || bytes[end] != 0x2A
                        end += 1
                    }
                    if words > 0 { out[n] = 0x20; n += 1 }
                    for k in i..<end {
                        out[n] = ASCIIFold.fold(bytes[k], leet: hasLetter)
                        n += 1
                    }
                    words += 1
                    matchable = matchable && hasNonStar
                    i = end
                }
                return (String(decoding: UnsafeBufferPointer(rebasing: out[..<n]), as: UTF8.self), words, matchable)
            }
        }
    }

    static func isMark(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    /// Letters, digits, marks and the symbols leet uses.
    static func isWordScalar(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x80 {
            return (v >= 0x61 && v <= 0x7A) || (v >= 0x41 && v <= 0x5A) || (v >= 0x30 && v <= 0x39) || v == 0x2A || v == 0x40 || v == 0x24
        }
        if lookAlike(v) != nil { return true }
        let p = s.properties
        return p.isAlphabetic || p.numericType != nil || isMark(s)
    }

    /// Whether `s` is a letter (not a digit or leet symbol) once looked-alike.
    static func isLetterLike(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x80 { return (v >= 0x61 && v <= 0x7A) || (v >= 0x41 && v <= 0x5A) }
        if let mapped = lookAlike(v) { return mapped.properties.isAlphabetic }
        return s.properties.isAlphabetic
    }

    /// Appends the folded form of `s` (see the type's comment).
    static func fold(_ s: Unicode.Scalar, leet: Bool, into out: inout String.UnicodeScalarView) {
        var v = s.value
        if v < 0x80 {
            if v >= 0x41 && v <= 0x5A { v += 32 }
            if leet { v = leetFold(v) }
            out.append(Unicode.Scalar(v)!)
            return
        }
        if s.properties.generalCategory == .format || isMark(s) { return }
        if let mapped = lookAlike(v) {
            var m = mapped.value
            if m >= 0x41 && m <= 0x5A { m += 32 }
            if leet { m = leetFold(m) }
            out.append(Unicode.Scalar(m)!)
            return
        }
        for lower in s.properties.lowercaseMapping.unicodeScalars {
            if let special = unDecomposable(lower.value) { out.append(contentsOf: special.unicodeScalars); continue }
            for d in String(lower)._nfd where !isMark(d) {
                if let mapped = lookAlike(d.value) {
                    var m = mapped.value
                    if m >= 0x41 && m <= 0x5A { m += 32 }
                    out.append(Unicode.Scalar(m)!)
                } else {
                    out.append(d)
                }
            }
        }
    }

    static func leetFold(_ v: UInt32) -> UInt32 {
        switch v {
        case 0x30: return 0x6F  // 0 → o
        case 0x31: return 0x69  // 1 → i
        case 0x33: return 0x65  // 3 → e
        case 0x34: return 0x61  // 4 → a
        case 0x35: return 0x73  // 5 → s
        case 0x37: return 0x74  // 7 → t
        case 0x40: return 0x61  // @ → a
        case 0x24: return 0x73  // $ → s
        default: return v
        }
    }

    /// Latin letters without a canonical decomposition, as ASCII.
    static func unDecomposable(_ v: UInt32) -> String? {
        switch v {
        case 0xDF: return "ss"
        case 0xE6: return "ae"
        case 0x153: return "oe"
        case 0xF8: return "o"
        case 0x142: return "l"
        case 0x111: return "d"
        case 0x127: return "h"
        case 0x131: return "i"
        case 0xFE: return "th"
        default: return nil
        }
    }

    /// The Latin letter or digit a look-alike stands for (see the type's comment), or nil.
    static func lookAlike(_ v: UInt32) -> Unicode.Scalar? {
        switch v {
        case 0xFF01...0xFF5E: return Unicode.Scalar(v - 0xFF01 + 0x21)
        case 0x1D400...0x1D6A3:
            let k = (v - 0x1D400) % 52
            return Unicode.Scalar(k < 26 ? 0x41 + k : 0x61 + k - 26)
        case 0x1D7CE...0x1D7FF: return Unicode.Scalar(0x30 + (v - 0x1D7CE) % 10)
        default: break
        }
        let c: Character
        switch v {
        // Cyrillic
        case 0x430, 0x410: c = "a"
        case 0x435, 0x415: c = "e"
        case 0x43E, 0x41E: c = "o"
        case 0x440, 0x420: c = "p"
        case 0x441, 0x421: c = "c"
        case 0x443: c = "y"
        case 0x445, 0x425: c = "x"
        case 0x456, 0x406: c = "i"
        case 0x458, 0x408: c = "j"
        case 0x455, 0x405: c = "s"
        case 0x4BB: c = "h"
        case 0x501: c = "d"
        case 0x4CF: c = "l"
        case 0x51B: c = "q"
        case 0x51D: c = "w"
        case 0x412: c = "b"
        case 0x41A: c = "k"
        case 0x41C: c = "m"
        case 0x41D: c = "h"
        case 0x422: c = "t"
        // Greek
        case 0x3B1, 0x391: c = "a"
        case 0x392: c = "b"
        case 0x395: c = "e"
        case 0x396: c = "z"
        case 0x397: c = "h"
        case 0x3B9, 0x399: c = "i"
        case 0x3BA, 0x39A: c = "k"
        case 0x39C: c = "m"
        case 0x3BD: c = "v"
        case 0x39D: c = "n"
        case 0x3BF, 0x39F: c = "o"
        case 0x3C1, 0x3A1: c = "p"
        case 0x3A4: c = "t"
        case 0x3C5: c = "u"
        case 0x3A5: c = "y"
        case 0x3C7, 0x3A7: c = "x"
        default: return nil
        }
        return c.unicodeScalars.first
    }

    /// Folding and classifying ASCII bytes without Unicode property lookups (what `isWordScalar`,
    /// `isLetterLike` and `fold` give for ASCII).
    enum ASCIIFold {
        static func isLetter(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }
        static func isWord(_ b: UInt8) -> Bool { isLetter(b) || (b >= 0x30 && b <= 0x39) || b == 0x2A || b == 0x40 || b == 0x24 }
        /// A word byte lower-cased, and leet-folded when `leet`.
        static func fold(_ b: UInt8, leet: Bool) -> UInt8 {
            let lower = b >= 0x41 && b <= 0x5A ? b + 32 : b
            return leet ? UInt8(truncatingIfNeeded: leetFold(UInt32(lower))) : lower
        }
    }

    // MARK: - Links

    /// Punctuation around a link that is not part of it.
    static let linkTrim: Set<Character> = ["(", ")", "<", ">", "[", "]", "\"", "'", ",", ".", "!", "?", ";", ":", "{", "}"]

    /// The lower-case host of `chunk` when it is a link: `scheme://host…`, or a bare domain name
    /// (`www.example.com/x`, `example.com`: dot-separated labels of letters, digits and `-`, the last
    /// one 2-63 letters). Not links: e-mail addresses, numbers (`3.14`), `e.g.`.
    static func linkHost(_ chunk: Substring) -> String? {
        // Without a `.` there is no domain name, and without a `:` no `://`: most words of a message.
        guard chunk.utf8.contains(where: { $0 == 0x2E || $0 == 0x3A }) else { return nil }
        return chunk.utf8.allSatisfy({ $0 < 0x80 }) ? linkHostASCII(ArraySlice(chunk.utf8)) : linkHostCharacters(chunk)
    }

    /// `linkHost` on characters (any text).
    static func linkHostCharacters(_ chunk: Substring) -> String? {
        let trim = linkTrim
        var text = chunk.drop(while: { trim.contains($0) })
        while let last = text.last, trim.contains(last) { text = text.dropLast() }
        // Trimmed of its punctuation ("unreal." → "unreal"), a word without `.` or `:` is no link either.
        guard text.utf8.contains(where: { $0 == 0x2E || $0 == 0x3A }) else { return nil }
        var rest = text.lowercased()[...]
        var hasScheme = false
        if let marker = rest.firstRange(of: "://") {
            let scheme = rest[..<marker.lowerBound]
            guard !scheme.isEmpty, scheme.allSatisfy({ $0.isASCII && $0.isLetter }) else { return nil }
            rest = rest[marker.upperBound...]
            hasScheme = true
        }
        if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        if let at = rest.lastIndex(of: "@") {
            guard hasScheme else { return nil }  // an e-mail address
            rest = rest[rest.index(after: at)...]
        }
        if let colon = rest.lastIndex(of: ":") { rest = rest[..<colon] }
        let labels = rest.split(separator: ".", omittingEmptySubsequences: false)
        if hasScheme { return rest.isEmpty ? nil : String(rest) }
        guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty && $0.count <= 63 && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") } }),
              let tld = labels.last, (2...63).contains(tld.count), tld.allSatisfy({ $0.isLetter }) else { return nil }
        return String(rest)
    }

    /// `linkHost` of an ASCII chunk, on its bytes (for ASCII a character is a byte: the same answer).
    static func linkHostASCII(_ chunk: ArraySlice<UInt8>) -> String? {
        guard chunk.contains(where: { $0 == 0x2E || $0 == 0x3A }) else { return nil }
        func isTrim(_ b: UInt8) -> Bool {
            switch b {
            case 0x28, 0x29, 0x3C, 0x3E, 0x5B, 0x5D, 0x22, 0x27, 0x2C, 0x2E, 0x21, 0x3F, 0x3B, 0x3A, 0x7B, 0x7D: return true
            default: return false
            }
        }
        var lo = chunk.startIndex, hi = chunk.endIndex
        while lo < hi, isTrim(chunk[lo]) { lo += 1 }
        while hi > lo, isTrim(chunk[hi - 1]) { hi -= 1 }
        guard chunk[lo..<hi].contains(where: { $0 == 0x2E || $0 == 0x3A }) else { return nil }
        let text = chunk[lo..<hi].map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 32 : $0 }
        func isLetter(_ b: UInt8) -> Bool { b >= 0x61 && b <= 0x7A }  // (lower-cased)
        var r = 0..<text.count
        var hasScheme = false
        if let m = (r.lowerBound..<max(r.lowerBound, r.upperBound - 2)).first(where: { text[$0] == 0x3A && text[$0 + 1] == 0x2F && text[$0 + 2] == 0x2F }) {
            guard m > r.lowerBound, text[r.lowerBound..<m].allSatisfy(isLetter) else { return nil }
            r = (m + 3)..<r.upperBound
            hasScheme = true
        }
        if let end = r.first(where: { text[$0] == 0x2F || text[$0] == 0x3F || text[$0] == 0x23 }) { r = r.lowerBound..<end }
        if let at = r.last(where: { text[$0] == 0x40 }) {
            guard hasScheme else { return nil }  // an e-mail address
            r = (at + 1)..<r.upperBound
        }
        if let colon = r.last(where: { text[$0] == 0x3A }) { r = r.lowerBound..<colon }
        let host = text[r]
        if hasScheme { return host.isEmpty ? nil : String(decoding: host, as: UTF8.self) }
        let labels = host.split(separator: 0x2E, omittingEmptySubsequences: false)
        guard labels.count >= 2,
              labels.allSatisfy({ !$0.isEmpty && $0.count <= 63 && $0.allSatisfy { isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D } }),
              let tld = labels.last, (2...63).contains(tld.count), tld.allSatisfy(isLetter) else { return nil }
        return String(decoding: host, as: UTF8.self)
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs and line breaks.
    func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...end])
    }
}
