import Essentials

/// The `TokenKind` values of `TokensIssued`: a fixed set, never an id.
enum TokenKind {
    /// An invitee's PUBLISH+SUBSCRIBE participant token, made when they join (`POST /multihost/join`).
    static let inviteParticipant = "InviteParticipant"
    /// The stage owner's own PUBLISH+SUBSCRIBE token (`POST /multihost/host-token`).
    static let hostParticipant = "HostParticipant"
    /// A signed-in viewer's SUBSCRIBE token (`POST /multihost/viewer-token`).
    static let viewerParticipant = "ViewerParticipant"
    /// A guest's SUBSCRIBE token (`POST /multihost/guest-viewer-token`).
    static let guestViewerParticipant = "GuestViewerParticipant"
    /// Chat tokens: a signed-in user's, the room owner's (with moderation), a guest's (receive-only).
    static let chat = "Chat"
    static let moderatorChat = "ModeratorChat"
    static let guestChat = "GuestChat"
}

extension MetricsRecorder {
    /// A chat event sent: `ChatEventsSent`, and `ChatEventsTruncated` when its attributes were reduced.
    func chatEventSent(_ eventName: String, truncated: Bool = false) {
        add(.chatEventsSent, 1, eventName)
        if truncated { add(.chatEventsTruncated, 1, eventName) }
    }

    /// An HTTP API answer: `APIRequests` 1, `APIThrottled` and `APIServerErrors` 1 or 0 (their averages are rates).
    func apiResponse(_ status: Int) {
        add(.apiRequests)
        add(.apiThrottled, status == 429 ? 1 : 0)
        add(.apiServerErrors, status >= 500 ? 1 : 0)
    }
}
