import AWSCore

/// Who may call a route, as API Gateway and the function see it.
public enum RouteAuthorization: String, Sendable, CaseIterable {
    /// Behind the JWT authorizer: the caller is the `IDENTITY_CLAIM` claim (401 without it).
    case jwt
    /// No authorizer, public: there is no caller.
    case none
    /// No authorizer, only when `ALLOW_GUESTS` is on (else 403): the caller is a fresh random `guest-…` id.
    case guest
}

/// One route of the HTTP API: method, path, who may call it, and what answers it. The table
/// `MultihostInviteHandler.routes` is the API's single declaration: the router dispatches from it,
/// and a test holds the template's routes, `openapi.yaml` and the README's tables to it.
public struct APIRoute: Sendable {
    public let method: String
    public let path: String
    public let authorization: RouteAuthorization
    /// The OpenAPI `operationId`.
    public let operationId: String
    /// Answers the request; `caller` is the identity (JWT), a guest id, or "" on public routes.
    let handle: @Sendable (MultihostInviteHandler, HTTPAPIRequest, String, AWSCallContext) throws(APIFailure) -> HTTPAPIResponse

    init(_ method: String, _ path: String, _ authorization: RouteAuthorization, _ operationId: String,
         _ handle: @escaping @Sendable (MultihostInviteHandler, HTTPAPIRequest, String, AWSCallContext) throws(APIFailure) -> HTTPAPIResponse) {
        self.method = method
        self.path = path
        self.authorization = authorization
        self.operationId = operationId
        self.handle = handle
    }
}

extension MultihostInviteHandler {
    /// Every route of the HTTP API.
    public static let routes: [APIRoute] = [
        APIRoute("POST", "/multihost/invite", .jwt, "invite") { h, r, caller, call throws(APIFailure) in try h.invite(r, caller: caller, call: call) },
        APIRoute("GET", "/multihost/invites", .jwt, "listInvites") { h, _, caller, call throws(APIFailure) in try h.pendingInvites(caller: caller, call: call) },
        APIRoute("POST", "/multihost/join", .jwt, "join") { h, r, caller, call throws(APIFailure) in try h.join(r, caller: caller, call: call) },
        APIRoute("POST", "/multihost/disconnect", .jwt, "disconnect") { h, r, caller, call throws(APIFailure) in try h.revoke(r, caller: caller, call: call) },
        APIRoute("POST", "/multihost/cancel", .jwt, "cancel") { h, r, caller, call throws(APIFailure) in try h.revoke(r, caller: caller, call: call) },
        APIRoute("POST", "/multihost/host-token", .jwt, "hostToken") { h, r, caller, call throws(APIFailure) in try h.hostToken(r, caller: caller, call: call) },
        APIRoute("POST", "/multihost/viewer-token", .jwt, "viewerToken") { h, r, caller, call throws(APIFailure) in try h.viewerToken(r, caller: caller, call: call) },
        APIRoute("POST", "/multihost/guest-viewer-token", .guest, "guestViewerToken") { h, r, caller, call throws(APIFailure) in
            try h.viewerToken(r, caller: caller, guest: true, call: call)
        },
        APIRoute("POST", "/chat/token", .jwt, "chatToken") { h, r, caller, call throws(APIFailure) in try h.chatToken(r, caller: caller, guest: false, call: call) },
        APIRoute("POST", "/chat/guest-token", .guest, "guestChatToken") { h, r, caller, call throws(APIFailure) in
            try h.chatToken(r, caller: caller, guest: true, call: call)
        },
        APIRoute("POST", "/channel/state", .none, "channelState") { h, r, _, call throws(APIFailure) in try h.channelState(r, call: call) },
        APIRoute("POST", "/chat/ban", .jwt, "banUser") { h, r, caller, call throws(APIFailure) in try h.ban(r, caller: caller, call: call) },
        APIRoute("POST", "/chat/unban", .jwt, "unbanUser") { h, r, caller, call throws(APIFailure) in try h.unban(r, caller: caller, call: call) },
        APIRoute("GET", "/chat/bans", .jwt, "listBans") { h, r, caller, call throws(APIFailure) in try h.listBans(r, caller: caller, call: call) },
    ]
}
