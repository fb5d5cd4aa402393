import AWSCore
import AWSServices
import Essentials
import JSON

/// IVS Chat's moderation call the ban route makes: the seam between the handler and the service.
public protocol ChatModeration: AnyObject {
    /// Disconnects every connection of `userId` from the room (`DisconnectUser`).
    func disconnectUser(roomArn: String, userId: String, reason: String, call: AWSCallContext) throws
}

extension IVSChatClient: ChatModeration {
    public func disconnectUser(roomArn: String, userId: String, reason: String, call: AWSCallContext) throws {
        try disconnectUser(roomIdentifier: roomArn, userId: userId, reason: reason, deadline: call.deadline, traceId: call.traceId)
    }
}

/// Bans, for the room's owner only (its `owner` tag, compared byte for byte with the caller's identity):
/// - `POST /chat/ban {userId, durationMinutes?, channelArn? | stageArn?, chatArn?}`: stores the ban
///   (`durationMinutes` 1-525600; none: until unbanned) where the review handler reads it, then
///   disconnects the user (`DisconnectUser`) → 201 `{userId, roomArn, expiresAt?}`;
/// - `POST /chat/unban {userId, channelArn? | stageArn?, chatArn?}` → 204;
/// - `GET /chat/bans` (body, if any, as above) → 200 `{roomArn, bans: [{userId, expiresAt?}]}` (active ones).
/// The room is chosen as for chat tokens (`chatRoom(for:)`); without `STATE_TABLE` there are no bans (404).
extension MultihostInviteHandler {
    static let maxBanMinutes = 525_600

    func ban(_ request: HTTPAPIRequest, caller: String, call: AWSCallContext) throws(APIFailure) -> HTTPAPIResponse {
        let (store, body, room) = try moderatedRoom(request, caller: caller, call: call, expected: "{\"userId\": …, \"durationMinutes\"?: …}")
        let userId = try bannedUser(body)
        guard !sameIdentity(userId, caller) else { throw .badRequest("userId is you: the room's owner cannot ban themself") }
        var minutes: Int?
        if let value = body.members.first(where: { $0.key == "durationMinutes" })?.value, value != .null {
            guard let n = value.intValue, (1...Self.maxBanMinutes).contains(n) else {
                throw .badRequest("durationMinutes must be a whole number from 1 to \(Self.maxBanMinutes) (leave it out for a ban without end)")
            }
            minutes = n
        }
        let current = now()
        let ban = Ban(roomArn: room, userId: userId, bannedBy: caller, bannedAt: current, expiresAt: minutes.map { current + Int64($0) * 60 })
        do { try store.put(ban, call: call) } catch { throw .upstream("PutItem", error) }
        do {
            try moderation?.disconnectUser(roomArn: room, userId: userId, reason: "banned by the room's owner", call: call)
        } catch {
            throw .upstream("DisconnectUser", error, message: "the ban is saved (their messages are denied) but the user could not be disconnected; try again")
        }
        Log.info("ban: \(userId) banned from \(room) by \(caller) \(minutes.map { "for \($0) min" } ?? "until unbanned"); disconnected")
        var members: [(key: String, value: JSONValue)] = [("userId", .string(userId)), ("roomArn", .string(room))]
        if let expiresAt = ban.expiresAt { members.append(("expiresAt", .string(UTCTimestamp(epochMilliseconds: expiresAt * 1000).iso8601))) }
        return HTTPAPIResponse(statusCode: 201, body: .object(members))
    }

    func unban(_ request: HTTPAPIRequest, caller: String, call: AWSCallContext) throws(APIFailure) -> HTTPAPIResponse {
        let (store, body, room) = try moderatedRoom(request, caller: caller, call: call, expected: "{\"userId\": …}")
        let userId = try bannedUser(body)
        do { try store.remove(roomArn: room, userId: userId, call: call) } catch { throw .upstream("DeleteItem", error) }
        Log.info("ban: \(userId) unbanned from \(room) by \(caller)")
        return HTTPAPIResponse(statusCode: 204, body: nil)
    }

    func listBans(_ request: HTTPAPIRequest, caller: String, call: AWSCallContext) throws(APIFailure) -> HTTPAPIResponse {
        let (store, _, room) = try moderatedRoom(request, caller: caller, call: call, expected: "{} or {\"channelArn\": …}", allowEmpty: true)
        let bans: [Ban]
        do { bans = try store.bans(roomArn: room, call: call) } catch { throw .upstream("GetItem", error) }
        let current = now()
        let listed: [JSONValue] = bans.filter { $0.isActive(at: current) }.map { ban in
            var members: [(key: String, value: JSONValue)] = [("userId", .string(ban.userId))]
            if let expiresAt = ban.expiresAt { members.append(("expiresAt", .string(UTCTimestamp(epochMilliseconds: expiresAt * 1000).iso8601))) }
            return .object(members)
        }
        return HTTPAPIResponse(statusCode: 200, body: .object([("roomArn", .string(room)), ("bans", .array(listed))]))
    }

    /// The ban store, the body and the room, once the caller is known to own that room.
    private func moderatedRoom(_ request: HTTPAPIRequest, caller: String, call: AWSCallContext, expected: String,
                               allowEmpty: Bool = false) throws(APIFailure) -> (BanStoring, JSONBody, String) {
        let body = try APIFailure.jsonObject(request.body, expected: expected, allowEmpty: allowEmpty)
        guard let store = bans else { throw .notFound("bans are not kept here: set STATE_TABLE") }
        let room = try chatRoom(for: body, call: call)
        if let chatArn = try body.string("chatArn", maxLength: 128), !sameIdentity(chatArn, room) {
            throw .forbidden("chatArn is not the chat room of this stage or channel")
        }
        guard let owner = try roomOwner(room, call: call) else { throw .forbidden("this room has no owner: tag it with its owner (OWNER_TAG_KEY)") }
        guard sameIdentity(owner, caller) else { throw .forbidden("only the room's owner can moderate it") }
        return (store, body, room)
    }

    private func bannedUser(_ body: JSONBody) throws(APIFailure) -> String {
        guard let userId = try body.string("userId", maxLength: 128) else { throw .badRequest("userId is required: the chat user id to ban or unban") }
        return userId
    }
}
