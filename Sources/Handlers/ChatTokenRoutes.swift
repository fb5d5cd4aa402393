import AWSCore
import AWSServices
import Essentials
import JSON

/// IVS Chat as the token routes use it: the seam between `MultihostInviteHandler` and the service.
public protocol ChatRoomService: AnyObject {
    /// The room's name and tags (`GetRoom`).
    func roomDetails(arn: String, call: AWSCallContext) throws -> ChatRoomDetails
    /// A token for `userId` to connect to the room once (`CreateChatToken`).
    func issueChatToken(roomArn: String, userId: String, capabilities: [ChatCapability], sessionMinutes: Int,
                        attributes: [String: String], call: AWSCallContext) throws -> ChatToken
}

extension IVSChatClient: ChatRoomService {
    public func roomDetails(arn: String, call: AWSCallContext) throws -> ChatRoomDetails {
        try getRoom(arn: arn, deadline: call.deadline, traceId: call.traceId, metrics: call.metrics)
    }

    public func issueChatToken(roomArn: String, userId: String, capabilities: [ChatCapability], sessionMinutes: Int,
                               attributes: [String: String], call: AWSCallContext) throws -> ChatToken {
        try createChatToken(roomIdentifier: roomArn, userId: userId, capabilities: capabilities, sessionDurationInMinutes: sessionMinutes,
                            attributes: attributes, deadline: call.deadline, traceId: call.traceId, metrics: call.metrics)
    }
}

/// `POST /chat/token` and `POST /chat/guest-token`: a chat token for the room a client may join.
///
/// - The room is never the client's choice: it is the room of the stage named by `stageArn` (its
///   `chatRoomArn` tag, else `CHAT_ROOM_ARN`), of the channel named by `channelArn` (`CHANNEL_ROOM_MAP`,
///   else `CHAT_ROOM_ARN`: where `streamStarted` sends that channel's events), or with neither
///   `CHAT_ROOM_ARN` (else `DEFAULT_STAGE_ARN`'s room).
/// - A signed-in caller's `userId` is their identity claim, so invites addressed to them reach them;
///   `username` comes from `USERNAME_CLAIM`. They may send messages; the room's owner (its
///   ownership tag, `OWNER_TAG_KEY`, from `GetRoom`) may also disconnect users and delete messages.
/// - A guest gets a random `guest-…` id and no capabilities: it receives events and messages only.
/// - As StreamCat's `/api/chat/token`: attributes `username` and `isGuest`, `isAdmin` in the answer, and
///   a `chatArn` in the body must be the room.
extension MultihostInviteHandler {
    func chatToken(_ request: HTTPAPIRequest, caller: String, guest: Bool, call: AWSCallContext) throws(APIFailure) -> HTTPAPIResponse {
        guard caller.count <= 128 else {
            throw .badRequest("your '\(configuration.identityClaim)' claim is longer than a chat user id may be (128 characters)")
        }
        let body = try APIFailure.jsonObject(request.body, expected: "{\"stageArn\": …} or {\"channelArn\": …} or {}", allowEmpty: true)
        let room = try chatRoom(for: body, call: call)
        // StreamCat's clients name the room they expect: it must be this one.
        if let chatArn = try body.string("chatArn", maxLength: 128), chatArn != room {
            throw .forbidden("chatArn is not the chat room of this stage or channel")
        }
        var capabilities: [ChatCapability] = []
        // StreamCat's sender attributes: `username` (from USERNAME_CLAIM) and `isGuest`.
        var attributes = ["isGuest": guest ? "true" : "false"]
        var isOwner = false
        if !guest {
            capabilities = [.sendMessage]
            isOwner = try roomOwner(room, call: call).map { sameIdentity($0, caller) } ?? false
            if isOwner { capabilities += [.disconnectUser, .deleteMessage] }
            if let name = request.claims[configuration.usernameClaim], !name.isEmpty { attributes["username"] = String(name.prefix(128)) }
        }
        let token: ChatToken
        do {
            token = try rooms.issueChatToken(roomArn: room, userId: caller, capabilities: capabilities,
                                             sessionMinutes: configuration.chatSessionMinutes, attributes: attributes, call: call)
        } catch { throw .upstream("CreateChatToken", error, notFound: "chat room \(room) does not exist") }
        call.metrics?.add(.tokensIssued, 1, guest ? TokenKind.guestChat : isOwner ? TokenKind.moderatorChat : TokenKind.chat)
        Log.info("chat token for \(caller) in \(room) [\(capabilities.map(\.rawValue).joined(separator: ","))] until \(token.sessionExpirationTime ?? "?")")
        var members: [(key: String, value: JSONValue)] = [
            ("token", .string(token.token.reveal)), ("userId", .string(caller)), ("roomArn", .string(room)),
            ("capabilities", .array(capabilities.map { .string($0.rawValue) })), ("isAdmin", .bool(isOwner)),
        ]
        if let name = attributes["username"] { members.append(("username", .string(name))) }
        if let t = token.tokenExpirationTime { members.append(("tokenExpirationTime", .string(t))) }
        if let t = token.sessionExpirationTime { members.append(("sessionExpirationTime", .string(t))) }
        return HTTPAPIResponse(statusCode: 200, body: .object(members))
    }

    /// The room a token request is for (see the type's comment).
    func chatRoom(for body: JSONBody, call: AWSCallContext) throws(APIFailure) -> String {
        let stageArn = try body.string("stageArn", maxLength: 128)
        let channelArn = try body.string("channelArn", maxLength: 128)
        if stageArn != nil && channelArn != nil { throw .badRequest("name a stageArn or a channelArn, not both") }
        if let channelArn {
            if let problem = IVSConstraints.channelARNProblem(channelArn) { throw .badRequest("channelArn \(problem)") }
            try requireInScope(channelArn, field: "channelArn")
            guard let room = configuration.roomsByChannel[channelArn] ?? configuration.defaultRoom else {
                throw .notFound("channel \(channelArn) has no chat room here")
            }
            return room
        }
        if stageArn == nil, let room = configuration.defaultRoom { return room }
        guard stageArn != nil || configuration.defaultStage != nil else {
            throw .badRequest("no chat room is configured: name a stageArn or a channelArn")
        }
        let stage = try knownStage(try self.stageArn(body), call: call)
        guard let room = stage.chatRoom(defaultRoom: configuration.defaultRoom) else {
            throw .notFound("stage \(stage.arn) has no chat room: tag it with 'chatRoomArn'")
        }
        return room
    }

    /// The room's ownership tag, `OWNER_TAG_KEY` (nil: nobody moderates it), shared across instances (`SharedMetadataCache`).
    func roomOwner(_ room: String, call: AWSCallContext) throws(APIFailure) -> String? {
        do {
            let details = try roomCache.metadata(key: "room#" + room, call: call) {
                let details = try rooms.roomDetails(arn: room, call: call)
                return (details.name, details.tags)
            }
            return details.tags[configuration.ownerTagKey].flatMap { $0.isEmpty ? nil : $0 }
        } catch { throw .upstream("GetRoom", error, notFound: "chat room \(room) does not exist") }
    }
}
