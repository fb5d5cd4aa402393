"""The Python peer of `bootstrap`'s `messageReview` handler, for `make bench` (issue 19, item 7).

What a user would otherwise write: awslambdaric + boto3. It applies the same rules from the same
variables (Sources/Handlers/ReviewRules.swift, MessageReviewHandler.swift):
- REVIEW_BLOCKED_TERMS (a JSON array of "term" / {"term", "action"}, or a list separated by commas or
  new lines, entries "term" or "term:deny" / "term:mask"), REVIEW_TERM_ACTION (deny | mask),
  REVIEW_LINK_POLICY (allow | deny | allowlist), REVIEW_ALLOWED_DOMAINS, REVIEW_MAX_LENGTH;
- whole-word, case-insensitive matching of folded words: look-alikes (Cyrillic, Greek, fullwidth,
  mathematical alphanumerics), full lower-case mapping, NFD with marks dropped plus ss/ae/oe/o/l/d/h/i/th,
  leet digits and symbols in words with a letter; multi-word terms match those words in a row;
- with STATE_TABLE, a DynamoDB GetItem of pk = "ban#<roomArn>#<userId>" (an item without `expiresAt`
  or with `expiresAt` in the future is an active ban) for each message the rules allow, given
  REVIEW_BAN_LOOKUP_MS (default 120) and one retry; on failure the rules alone decide.
Differences: REVIEW_MAX_LENGTH counts characters as code points that are not combining marks, ZWJ or
variation selectors (Python has no grapheme segmentation in its standard library); masking groups the
same way. The bench's messages are the same either way, and the bench checks every peer answer
against ours.
"""
import json
import os
import time
import unicodedata

import boto3
from botocore.config import Config

MAX_CONTENT_BYTES = 1024
MAX_ATTRIBUTES_BYTES = 1024
MAX_TERMS = 10_000
MAX_TERM_CHARACTERS = 100


def _env(name):
    value = os.environ.get(name)
    return value if value else None


# MARK: - Folding (as ReviewRules.fold)

_LOOK_ALIKES = {
    # Cyrillic
    0x430: "a", 0x410: "a", 0x435: "e", 0x415: "e", 0x43E: "o", 0x41E: "o", 0x440: "p", 0x420: "p",
    0x441: "c", 0x421: "c", 0x443: "y", 0x445: "x", 0x425: "x", 0x456: "i", 0x406: "i", 0x458: "j",
    0x408: "j", 0x455: "s", 0x405: "s", 0x4BB: "h", 0x501: "d", 0x4CF: "l", 0x51B: "q", 0x51D: "w",
    0x412: "b", 0x41A: "k", 0x41C: "m", 0x41D: "h", 0x422: "t",
    # Greek
    0x3B1: "a", 0x391: "a", 0x392: "b", 0x395: "e", 0x396: "z", 0x397: "h", 0x3B9: "i", 0x399: "i",
    0x3BA: "k", 0x39A: "k", 0x39C: "m", 0x3BD: "v", 0x39D: "n", 0x3BF: "o", 0x39F: "o", 0x3C1: "p",
    0x3A1: "p", 0x3A4: "t", 0x3C5: "u", 0x3A5: "y", 0x3C7: "x", 0x3A7: "x",
}
_UNDECOMPOSABLE = {0xDF: "ss", 0xE6: "ae", 0x153: "oe", 0xF8: "o", 0x142: "l", 0x111: "d", 0x127: "h", 0x131: "i", 0xFE: "th"}
_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
_MARKS = ("Mn", "Mc", "Me")


def look_alike(v):
    if 0xFF01 <= v <= 0xFF5E:
        return chr(v - 0xFF01 + 0x21)
    if 0x1D400 <= v <= 0x1D6A3:
        k = (v - 0x1D400) % 52
        return chr(0x41 + k if k < 26 else 0x61 + k - 26)
    if 0x1D7CE <= v <= 0x1D7FF:
        return chr(0x30 + (v - 0x1D7CE) % 10)
    return _LOOK_ALIKES.get(v)


def is_mark(c):
    return unicodedata.category(c) in _MARKS


def is_word(c):
    v = ord(c)
    if v < 0x80:
        return c.isalnum() or c in "*@$"
    if look_alike(v) is not None:
        return True
    return c.isalpha() or unicodedata.numeric(c, None) is not None or is_mark(c)


def is_letter_like(c):
    v = ord(c)
    if v < 0x80:
        return c.isalpha()
    mapped = look_alike(v)
    if mapped is not None:
        return mapped.isalpha()
    return c.isalpha()


def fold(c, leet, out):
    v = ord(c)
    if v < 0x80:
        c = c.lower()
        out.append(_LEET.get(c, c) if leet else c)
        return
    if unicodedata.category(c) == "Cf" or is_mark(c):
        return
    mapped = look_alike(v)
    if mapped is not None:
        m = mapped.lower()
        out.append(_LEET.get(m, m) if leet else m)
        return
    for lower in c.lower():
        special = _UNDECOMPOSABLE.get(ord(lower))
        if special is not None:
            out.append(special)
            continue
        for d in unicodedata.normalize("NFD", lower):
            if is_mark(d):
                continue
            mapped = look_alike(ord(d))
            out.append(mapped.lower() if mapped is not None else d)


def tokenize(scalars):
    """[(start, end, folded)] for the words of `scalars` (a str)."""
    tokens = []
    n = len(scalars)
    i = 0
    while i < n:
        if not is_word(scalars[i]):
            i += 1
            continue
        end = i
        has_letter = False
        while end < n and (is_word(scalars[end]) or (end > i and unicodedata.category(scalars[end]) == "Cf"
                                                      and end + 1 < n and is_word(scalars[end + 1]))):
            if is_letter_like(scalars[end]):
                has_letter = True
            end += 1
        out = []
        for k in range(i, end):
            fold(scalars[k], has_letter, out)
        folded = "".join(out)
        if folded:
            tokens.append((i, end, folded))
        i = end
    return tokens


def folded_words(text):
    return [t[2] for t in tokenize(text)]


# MARK: - Links (as ReviewRules.linkHost)

_TRIM = set("()<>[]\"',.!?;:{}")


def link_host(chunk):
    start, end = 0, len(chunk)
    while start < end and chunk[start] in _TRIM:
        start += 1
    while end > start and chunk[end - 1] in _TRIM:
        end -= 1
    rest = chunk[start:end].lower()
    has_scheme = False
    marker = rest.find("://")
    if marker >= 0:
        scheme = rest[:marker]
        if not scheme or not all(ch.isascii() and ch.isalpha() for ch in scheme):
            return None
        rest = rest[marker + 3:]
        has_scheme = True
    for k, ch in enumerate(rest):
        if ch in "/?#":
            rest = rest[:k]
            break
    at = rest.rfind("@")
    if at >= 0:
        if not has_scheme:
            return None
        rest = rest[at + 1:]
    colon = rest.rfind(":")
    if colon >= 0:
        rest = rest[:colon]
    if has_scheme:
        return rest or None
    labels = rest.split(".")
    if len(labels) < 2 or not all(label and len(label) <= 63 and all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in label)
                                  for label in labels):
        return None
    tld = labels[-1]
    if not (2 <= len(tld) <= 63 and tld.isalpha()):
        return None
    return rest


# MARK: - Characters (an approximation of grapheme clusters)

def _extends(c):
    v = ord(c)
    return is_mark(c) or v == 0x200D or 0xFE00 <= v <= 0xFE0F or 0xE0100 <= v <= 0xE01EF or 0x1F3FB <= v <= 0x1F3FF


def clusters(text):
    """(start, end) code point ranges of the characters of `text`."""
    out = []
    i = 0
    n = len(text)
    while i < n:
        j = i + 1
        while j < n and (_extends(text[j]) or text[j - 1] == "\u200d"):
            j += 1
        if text[i] == "\r" and j < n and text[j] == "\n":
            j += 1
        out.append((i, j))
        i = j
    return out


# MARK: - Configuration

def _trim(text):
    return text.strip(" \t\n\r")


def parse_terms(text, default_action):
    variable = "REVIEW_BLOCKED_TERMS"
    terms = []
    trimmed = _trim(text)
    if trimmed.startswith("["):
        try:
            entries = json.loads(trimmed)
        except ValueError as error:
            raise ValueError(f"{variable} is not JSON: {error}")
        if not isinstance(entries, list):
            raise ValueError(f"{variable} must be a JSON array")
        for index, entry in enumerate(entries):
            if isinstance(entry, str):
                terms.append((entry, default_action))
            elif isinstance(entry, dict):
                term = entry.get("term")
                if not isinstance(term, str):
                    raise ValueError(f"{variable}: entry {index} has no string 'term'")
                action = default_action
                if "action" in entry:
                    name = entry["action"]
                    if not isinstance(name, str) or name.lower() not in ("deny", "mask"):
                        raise ValueError(f"{variable}: entry {index}: action must be deny or mask")
                    action = name.lower()
                terms.append((term, action))
            else:
                raise ValueError(f"{variable}: entry {index} must be a string or {{\"term\", \"action\"}}")
    else:
        for raw in trimmed.replace("\n", ",").split(","):
            entry = _trim(raw)
            if not entry:
                continue
            action = default_action
            colon = entry.rfind(":")
            if colon >= 0 and entry[colon + 1:].lower() in ("deny", "mask"):
                action = entry[colon + 1:].lower()
                entry = _trim(entry[:colon])
            terms.append((entry, action))
    if len(terms) > MAX_TERMS:
        raise ValueError(f"{variable} has {len(terms)} terms; at most {MAX_TERMS}")
    for index, (term, _) in enumerate(terms):
        if len(clusters(term)) > MAX_TERM_CHARACTERS:
            raise ValueError(f"{variable}: term {index} is longer than {MAX_TERM_CHARACTERS} characters")
        words = folded_words(term)
        if not words or not all(any(ch != "*" for ch in w) for w in words):
            raise ValueError(f"{variable}: term {index} has no letters or digits to match (or a word of '*' only)")
    return terms


class Rules:
    def __init__(self):
        action = (_env("REVIEW_TERM_ACTION") or "deny").lower()
        if action not in ("deny", "mask"):
            raise ValueError(f"REVIEW_TERM_ACTION must be deny or mask (is '{action}')")
        terms = parse_terms(_env("REVIEW_BLOCKED_TERMS") or "", action) if _env("REVIEW_BLOCKED_TERMS") else []
        self.words = {}
        self.phrases = {}
        for term, act in terms:
            folded = folded_words(term)
            if not folded:
                continue
            if len(folded) == 1:
                if self.words.get(folded[0]) != "deny":
                    self.words[folded[0]] = act
            else:
                self.phrases.setdefault(folded[0], []).append((folded[1:], act))
        self.policy = (_env("REVIEW_LINK_POLICY") or "allow").lower()
        if self.policy not in ("allow", "deny", "allowlist"):
            raise ValueError(f"REVIEW_LINK_POLICY must be allow, deny or allowlist (is '{self.policy}')")
        self.domains = []
        for entry in (_env("REVIEW_ALLOWED_DOMAINS") or "").split(","):
            domain = _trim(entry).lower()
            if not domain:
                continue
            if link_host(domain) != domain:
                raise ValueError(f"REVIEW_ALLOWED_DOMAINS: '{domain}' is not a domain name (like example.com)")
            self.domains.append(domain)
        if self.policy == "allowlist" and not self.domains:
            raise ValueError("REVIEW_ALLOWED_DOMAINS must name at least one domain when REVIEW_LINK_POLICY is allowlist")
        self.max_length = None
        text = _env("REVIEW_MAX_LENGTH")
        if text is not None:
            if not text.isdigit() or not 1 <= int(text) <= 10_000:
                raise ValueError(f"REVIEW_MAX_LENGTH must be a whole number from 1 to 10000 (is '{text}')")
            self.max_length = int(text)

    def review(self, content):
        """("deny", reason) or ("allow", content, masked)."""
        if len(content.encode("utf-8", "surrogatepass")) > MAX_CONTENT_BYTES:
            return ("deny", "message is too long")
        characters = clusters(content)
        if self.max_length is not None and len(characters) > self.max_length:
            return ("deny", f"message is longer than {self.max_length} characters")
        tokens = tokenize(content)
        masked = []
        if self.words or self.phrases:
            for i, (start, end, folded) in enumerate(tokens):
                action = self.words.get(folded)
                if action is not None:
                    if action == "deny":
                        return ("deny", "message contains a blocked term")
                    masked.append((start, end))
                for rest, act in self.phrases.get(folded, ()):
                    if i + len(rest) >= len(tokens):
                        continue
                    if all(tokens[i + 1 + k][2] == word for k, word in enumerate(rest)):
                        if act == "deny":
                            return ("deny", "message contains a blocked term")
                        masked.append((start, tokens[i + len(rest)][1]))
        if self.policy != "allow":
            for chunk in content.split():
                host = link_host(chunk)
                if host is None:
                    continue
                if self.policy == "deny":
                    return ("deny", "links are not allowed here")
                if not any(host == d or host.endswith("." + d) for d in self.domains):
                    return ("deny", "links to this site are not allowed here")
        if not masked:
            return ("allow", content, False)
        hidden = [False] * len(content)
        for start, end in masked:
            for k in range(start, end):
                hidden[k] = True
        out = []
        for start, end in characters:
            character = content[start:end]
            out.append("*" if hidden[start] and not character.isspace() else character)
        return ("allow", "".join(out), True)


# MARK: - The handler

RULES = Rules()  # compiled at init, as ours
TABLE = _env("STATE_TABLE")
LOOKUP_SECONDS = int(_env("REVIEW_BAN_LOOKUP_MS") or "120") / 1000
# Created at init, as Lambda users are told to; the same budget and one retry, as ours.
dynamodb = boto3.client("dynamodb", config=Config(connect_timeout=LOOKUP_SECONDS, read_timeout=LOOKUP_SECONDS,
                                                 retries={"max_attempts": 2, "mode": "standard"})) if TABLE else None


def deny(reason):
    return {"ReviewResult": "DENY", "Attributes": {"Reason": reason}}


def logged(message_id, user_id, answer, why):
    print(f"review {message_id} by {user_id}: {answer['ReviewResult']} ({why})")
    return answer


def handler(event, context):
    if not isinstance(event, dict) or not isinstance(event.get("Content"), str):
        print("review: not a message review request; denied")
        return deny("malformed review request")
    message_id = event.get("MessageId") if isinstance(event.get("MessageId"), str) else "?"
    sender = event.get("Sender") if isinstance(event.get("Sender"), dict) else {}
    user_id = sender.get("UserId") if isinstance(sender.get("UserId"), str) else ""
    room = event.get("RoomArn") if isinstance(event.get("RoomArn"), str) else ""
    raw = event.get("Attributes") if isinstance(event.get("Attributes"), dict) else {}
    attributes = {k: v for k, v in raw.items() if isinstance(v, str)}
    if sum(len(k.encode()) + len(v.encode()) for k, v in attributes.items()) > MAX_ATTRIBUTES_BYTES:
        return logged(message_id, user_id, deny("message attributes are too large"), "attributes over 1 KB")
    verdict = RULES.review(event["Content"])
    if verdict[0] == "deny":
        return logged(message_id, user_id, deny(verdict[1]), verdict[1])
    if dynamodb is not None and user_id and room:
        try:
            item = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"ban#{room}#{user_id}"}}).get("Item")
            if item is not None:
                expires = item.get("expiresAt", {}).get("N")
                if expires is None or int(expires) > int(time.time()):
                    return logged(message_id, user_id, deny("you are banned from this room"), "banned")
        except Exception as error:  # judged by the rules alone, as ours
            print(f"review {message_id} by {user_id}: ban lookup failed, judged by the rules alone: {error}")
    _, content, masked = verdict
    answer = {"ReviewResult": "ALLOW"}
    if content:
        answer["Content"] = content
    if attributes:
        answer["Attributes"] = dict(sorted(attributes.items()))
    return logged(message_id, user_id, answer, "masked" if masked else "allowed")
