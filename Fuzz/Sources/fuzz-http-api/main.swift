// API Gateway HTTP API events (payload format 2.0) as MultihostInviteHandler reads them: the
// request (HTTPAPIRequest(event:), with base64 bodies through Base64.decode) and every route.
// Properties: the caller identity comes from requestContext.authorizer.jwt.claims and nowhere else
// (the claims map is exactly that object's string and number members; without a `sub` claim no AWS
// call is made and the answer is 401, 404 or 204; every owner-only action is taken for the stage's
// owner only, every caller-scoped lookup is for the caller); base64 decoding is exact (decode ∘ encode
// is the identity, and what decodes re-encodes to its input up to padding, line breaks and alphabet);
// the answer is a well-formed HTTP API response; bad events are `Event.…` function errors; a body
// over MultihostInviteHandler.maxBodyBytes (or an event over maxEventBytes) is 413 and costs no AWS
// call, and a body within it never is (each input is also sent as a body sized around the limit);
// no stored invite carries a participant token, and one is made only for the owner or the invitee.
import AWSCore
import AWSServices
import Essentials
import FuzzSupport
import Handlers
import JSON
import LambdaRuntime

let room = "arn:aws:ivschat:us-east-1:123456789012:room/AbCdEfGh1234"
let stageArn = "arn:aws:ivs:us-east-1:123456789012:stage/AbCdEfGh1234"
let owner = "11111111-aaaa-4aaa-8aaa-111111111111"
let guest = "22222222-bbbb-4bbb-8bbb-222222222222"
let now: Int64 = 1_767_225_600
let context = InvocationContext(requestId: "fuzz", deadlineEpochMilliseconds: Int64.max / 2)

/// What the handler asked of AWS on one request.
final class Calls {
    var all: [String] = []
    var tokens: [(userId: String, capabilities: [ParticipantCapability])] = []
    var puts: [Invite] = []
    var lookups: [String] = []
    var listings: [String] = []
    var revokes = 0
    var chatTokens: [(userId: String, capabilities: [ChatCapability])] = []
}

final class Stages: StageService {
    let calls: Calls
    init(_ calls: Calls) { self.calls = calls }
    func stageDetails(arn: String, call: AWSCallContext) throws -> StageDetails {
        calls.all.append("GetStage")
        if arn.hasSuffix("Gone") {
            throw AWSError.service(AWSServiceError(service: "ivs-realtime", operation: "GetStage", type: "ResourceNotFoundException",
                                                   message: "no stage", status: 404, requestId: nil, attempts: 1))
        }
        return StageDetails(arn: arn, name: arn.hasSuffix("Unowned") ? "" : "demo",
                            tags: arn.hasSuffix("Unowned") ? ["chatRoomArn": room] : [OwnerTag.defaultKey: owner, "chatRoomArn": room])
    }
    func issueToken(stageArn: String, userId: String, attributes: [String: String], capabilities: [ParticipantCapability],
                    durationMinutes: Int, call: AWSCallContext) throws -> IssuedParticipantToken {
        calls.all.append("CreateParticipantToken")
        calls.tokens.append((userId, capabilities))
        return IssuedParticipantToken(participantId: "p-1", token: Secret("fuzz-participant-token"),
                                      expirationTime: "2026-01-01T01:00:00Z", expiresAt: now + 3600)
    }
    func revoke(stageArn: String, participantId: String, reason: String, call: AWSCallContext) throws {
        calls.all.append("DisconnectParticipant")
        calls.revokes += 1
    }
}

final class Store: InviteStoring {
    let calls: Calls
    init(_ calls: Calls) { self.calls = calls }
    func put(_ invite: Invite, call: AWSCallContext) throws { calls.all.append("PutItem"); calls.puts.append(invite) }
    func invite(inviteeId: String, stageArn: String, call: AWSCallContext) throws -> Invite? {
        calls.all.append("GetItem")
        calls.lookups.append(inviteeId)
        guard inviteeId == guest else { return nil }
        return Invite(inviteeId: guest, stageArn: stageArn, stageName: "demo", inviterId: owner, username: nil, broadcastType: "realtime",
                      expirationTime: "2026-01-01T01:00:00Z", expiresAt: now + 3600,
                      participants: [JoinedParticipant(participantId: "p-1", tokenExpiresAt: now + 600)])
    }
    func invites(inviteeId: String, call: AWSCallContext) throws -> [Invite] {
        calls.all.append("Query")
        calls.listings.append(inviteeId)
        return []
    }
    func delete(inviteeId: String, stageArn: String, call: AWSCallContext) throws { calls.all.append("DeleteItem") }
}

final class Chat: ChatEventSending {
    let calls: Calls
    init(_ calls: Calls) { self.calls = calls }
    func sendEvent(roomIdentifier: String, eventName: String, attributes: [String: String], call: AWSCallContext) throws -> String {
        calls.all.append("SendEvent")
        check(IVSConstraints.attributesSize(attributes) <= 1024, "\(eventName) attributes over 1 KB")
        check(attributes["token"] == nil && !attributes.values.contains("fuzz-participant-token"), "a token in a chat event")
        return "AbCdEf123456"
    }
}

final class Rooms: ChatRoomService {
    let calls: Calls
    init(_ calls: Calls) { self.calls = calls }
    func roomDetails(arn: String, call: AWSCallContext) throws -> ChatRoomDetails {
        calls.all.append("GetRoom")
        return ChatRoomDetails(arn: arn, name: "demo", tags: [OwnerTag.defaultKey: owner])
    }
    func issueChatToken(roomArn: String, userId: String, capabilities: [ChatCapability], sessionMinutes: Int,
                        attributes: [String: String], call: AWSCallContext) throws -> ChatToken {
        calls.all.append("CreateChatToken")
        calls.chatTokens.append((userId, capabilities))
        check(roomArn == room, "a chat token for \(roomArn), not the configured room")
        return ChatToken(token: Secret("fuzz-chat-token"), tokenExpirationTime: nil, sessionExpirationTime: nil)
    }
}

final class Channels: ChannelStateStoring {
    let calls: Calls
    init(_ calls: Calls) { self.calls = calls }
    func record(_ state: ChannelState, call: AWSCallContext) throws -> ChannelStateWrite {
        calls.all.append("PutItem")
        return .recorded
    }
    func state(channelArn: String, call: AWSCallContext) throws -> ChannelState? {
        calls.all.append("GetChannelState")
        return ChannelState(channelArn: channelArn, live: true, eventId: "e-1", eventTime: "2026-01-01T00:00:00Z",
                            eventEpochSeconds: 1_767_225_600, startTime: "2026-01-01T00:00:00Z")
    }
}

// MARK: - Base64

let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

/// Reference encoder: standard alphabet, no padding.
func encode(_ bytes: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    var i = 0
    while i < bytes.count {
        let chunk = bytes[i..<min(i + 3, bytes.count)]
        var n = 0
        for (k, b) in chunk.enumerated() { n |= Int(b) << (16 - 8 * k) }
        for j in 0...chunk.count { out.append(alphabet[(n >> (18 - 6 * j)) & 63]) }
        i += 3
    }
    return out
}

func checkBase64(_ text: String) {
    guard let decoded = Base64.decode(text) else { return }
    // What decodes is its bytes' encoding, but for line breaks, padding and the URL-safe alphabet.
    let normal: [UInt8] = text.utf8.compactMap { c in
        switch c {
        case 10, 13, 61: return nil
        case 45: return 43
        case 95: return 47
        default: return c
        }
    }
    check(encode(decoded) == normal, "Base64.decode accepted \(text.debugDescription) as \(decoded), which encodes otherwise")
}

// MARK: - Claims

/// `requestContext.authorizer.jwt.claims`, read independently of HTTPAPIRequest.
func jwtClaims(_ event: JSONValue) -> [(key: String, value: JSONValue)] {
    guard case let .object(top) = event, let rc = top.first(where: { $0.key == "requestContext" })?.value,
          case let .object(rcm) = rc, let au = rcm.first(where: { $0.key == "authorizer" })?.value,
          case let .object(aum) = au, let jwt = aum.first(where: { $0.key == "jwt" })?.value,
          case let .object(jwtm) = jwt, let claims = jwtm.first(where: { $0.key == "claims" })?.value,
          case let .object(members) = claims else { return [] }
    return members
}

func claimText(_ value: JSONValue) -> String? {
    switch value {
    case let .string(s): return s
    case let .number(n): return n
    case let .bool(b): return b ? "true" : "false"
    default: return nil
    }
}

func checkRequest(_ event: JSONValue) -> HTTPAPIRequest? {
    if let body = event["body"]?.stringValue { checkBase64(body) }
    let request: HTTPAPIRequest
    do { request = try HTTPAPIRequest(event: event) } catch {
        check(error.errorType.hasPrefix("Event."), "HTTPAPIRequest threw \(error.errorType)")
        return nil
    }
    let claims = jwtClaims(event)
    for (key, value) in request.claims {
        check(claims.contains { $0.key == key && claimText($0.value) == value },
              "claim \(key.debugDescription) = \(value.debugDescription) is not a JWT claim")
    }
    for member in claims where claimText(member.value) != nil {
        check(request.claims[member.key] != nil, "JWT claim \(member.key.debugDescription) was dropped")
    }
    return request
}

// MARK: - The handler

func checkHandler(_ payload: [UInt8], event: JSONValue?, request: HTTPAPIRequest?) {
    let calls = Calls()
    let handler = MultihostInviteHandler(
        configuration: MultihostInviteConfiguration(table: "invites", defaultStage: stageArn, stageOwner: owner, defaultRoom: room,
                                                    allowGuests: true),
        stages: Stages(calls), store: Store(calls), chat: Chat(calls), rooms: Rooms(calls), channelStates: Channels(calls), now: { now })
    let answer: [UInt8]
    let oversized = payload.count > MultihostInviteHandler.maxEventBytes
        || event.map { HTTPAPIRequest.bodySize(of: $0) > MultihostInviteHandler.maxBodyBytes } == true
    do { answer = try handler.handle(payload, context: context) } catch let error as LambdaError {
        check(error.errorType.hasPrefix("Event."), "multihostInvite failed with \(error.errorType)")
        check(request == nil, "a readable request failed: \(error)")
        return
    } catch {
        fatalError("property violated: multihostInvite threw \(type(of: error))")
    }
    // Bounded bodies: over the limit, 413 before anything else (no AWS call); within it, never 413.
    if oversized {
        check((try? JSONValue.parse(answer))?["statusCode"]?.intValue == 413, "an oversized request was not answered 413")
        check(calls.all.isEmpty, "an oversized request made AWS calls \(calls.all)")
        return
    }
    guard let event, let request else { fatalError("property violated: an unreadable event was answered") }
    guard let response = try? JSONValue.parse(answer), let status = response["statusCode"]?.intValue,
          response["headers"]?.objectValue != nil else { fatalError("property violated: malformed answer") }
    check(status != 413, "a body within the limit was answered 413")
    // No participant token at rest.
    for invite in calls.puts {
        let item = DynamoDBInviteStore.item(invite)
        check(item["token"] == nil && !item.values.contains { $0.compactText.contains("fuzz-participant-token") }, "a token in a stored invite")
    }
    if let body = response["body"] {
        check((try? JSONValue.parse(body.stringValue ?? "")) != nil, "the answer's body is not JSON text")
    }
    // The public channel state: a read of the channel's stream, nothing else, whoever asks.
    if request.matchesPath("/channel/state") {
        check(calls.all.allSatisfy { $0 == "GetChannelState" }, "the channel state route called \(calls.all)")
        return
    }
    // Guest routes (no authorizer on AWS): whatever the request carries, every token is for a fresh
    // guest id, receive-only (chat) or watch-only (stage).
    if request.matchesPath("/chat/guest-token") || request.matchesPath("/multihost/guest-viewer-token") {
        for t in calls.chatTokens { check(t.userId.hasPrefix("guest-") && t.capabilities.isEmpty, "a guest chat token for \(t.userId) with \(t.capabilities)") }
        for t in calls.tokens { check(t.userId.hasPrefix("guest-") && t.capabilities == [.subscribe], "a guest stage token for \(t.userId)") }
        check(calls.puts.isEmpty && calls.revokes == 0 && calls.listings.isEmpty, "a guest route touched invites")
        return
    }
    // Identity: only the `sub` claim of the JWT.
    let sub = jwtClaims(event).last { $0.key == "sub" && claimText($0.value) != nil }.flatMap { claimText($0.value) }
    guard let sub, !sub.isEmpty else {
        check(calls.all.isEmpty, "AWS calls \(calls.all) without a caller")
        // 401 (no claim), 404 (no route), 204 (preflight), 405 (a route's path under another method: refused before any caller).
        check([401, 404, 405, 204].contains(status), "answered \(status) without a caller")
        if status == 405 {
            check(MultihostInviteHandler.routes.contains { request.matchesPath($0.path) } && !MultihostInviteHandler.routes.contains {
                request.matchesPath($0.path) && $0.method == request.method
            }, "405 for \(request.method) \(request.path), which has a route")
        }
        return
    }
    check(request.claims["sub"] == sub, "the caller is not the JWT's sub")
    for token in calls.tokens {
        if token.capabilities.contains(.publish) {
            // The owner's host token, or the invitee's own token made at join (only `guest` has an invite here).
            check((sub == owner || sub == guest) && token.userId == sub, "a publishing token for \(token.userId) at the request of \(sub)")
        } else {
            check(token.userId == sub, "a viewer token for \(token.userId) at the request of \(sub)")
        }
    }
    for t in calls.chatTokens {
        check(t.userId == sub, "a chat token for \(t.userId) at the request of \(sub)")
        check(sub == owner || t.capabilities == [.sendMessage], "moderation for \(sub), not the room's owner")
    }
    for invite in calls.puts {
        check((invite.inviterId == sub && sub == owner) || (invite.inviteeId == sub && sub == guest), "an invite stored for caller \(sub)")
    }
    check(calls.revokes == 0 || sub == owner, "a participant revoked at the request of \(sub)")
    for id in calls.listings { check(id == sub, "invites of \(id) listed for \(sub)") }
    for id in calls.lookups { check(id == sub || sub == owner, "the invite of \(id) read for \(sub)") }
    // A token in the answer (that the request did not carry itself, e.g. in a path echoed by a 404).
    let token = "fuzz-participant-token".utf8
    if containsBytes(answer, token), !containsBytes(payload, token), !containsBytes(request.body, token) {
        check(sub == guest || sub == owner || calls.tokens.contains { $0.userId == sub }, "a token answered to \(sub)")
    }
}

silenceLogs()

func run(_ bytes: UnsafeBufferPointer<UInt8>) {
    let payload = Array(bytes)
    checkBase64(String(decoding: payload, as: UTF8.self))
    check(Base64.decode(String(decoding: encode(payload), as: UTF8.self)) == payload, "decode(encode(x)) != x")
    let event = try? JSONValue.parse(payload)
    let request = event.flatMap(checkRequest)
    checkHandler(payload, event: event, request: request)
    checkBodyLimit(payload)
}

/// The input as the body of a well-formed event to a route the first byte picks, repeated to a size
/// around the limit (limit - 64 … limit + 191, from the second byte), base64-encoded or not: 413
/// exactly when it is over the limit (`checkHandler`'s properties).
func checkBodyLimit(_ payload: [UInt8]) {
    guard payload.count >= 3 else { return }
    let routes = ["/channel/state", "/chat/guest-token", "/multihost/guest-viewer-token", "/multihost/invite", "/multihost/join", "/chat/token"]
    let target = MultihostInviteHandler.maxBodyBytes - 64 + Int(payload[1])
    let unit = Array(payload.dropFirst(3))
    guard !unit.isEmpty else { return }
    var bytes: [UInt8] = []
    while bytes.count < target { bytes += unit }
    let base64 = payload[2] & 1 == 1
    let text = String(decoding: bytes.prefix(target), as: UTF8.self)
    let body = base64 ? String(decoding: encode(Array(text.utf8)), as: UTF8.self) : text
    var members: [(key: String, value: JSONValue)] = [
        ("rawPath", .string(routes[Int(payload[0]) % routes.count])),
        ("requestContext", .object([("http", .object([("method", .string("POST"))])),
                                    ("authorizer", .object([("jwt", .object([("claims", .object([("sub", .string(owner))]))]))]))])),
        ("body", .string(body)), ("isBase64Encoded", .bool(base64)),
    ]
    if payload[2] & 2 == 2 { members.removeAll { $0.key == "requestContext" }; members.append(("requestContext", .object([("http", .object([("method", .string("POST"))]))]))) }
    let event = JSONValue.object(members)
    let serialized = event.serialized()
    checkHandler(serialized, event: event, request: checkRequest(event))
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = input(data, size)
    if bracketDepth(bytes) >= 64 { onThread { run(bytes) } } else { run(bytes) }
    return 0
}

runFuzzer(testOneInput)
