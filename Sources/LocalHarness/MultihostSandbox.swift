import Foundation

/// The local world of `multihostInvite`: the IVS stand-in knowing one stage (owned, through its
/// `ivs-chat-events:owner` tag, by the broadcaster of `events/invite.json`, with a `chatRoomArn` tag) and a moto
/// DynamoDB with the invites table and the state table (channel states, shared stage and room tags). Used by `local-invoke`, the integration tests and benchmarks.
public final class MultihostSandbox: @unchecked Sendable {
    /// The sample stage, room and users (as in `events/`).
    public static let stageArn = "arn:aws:ivs:us-east-1:123456789012:stage/AbCdEfGh1234"
    public static let stageName = "streamcat-demo"
    public static let roomArn = "arn:aws:ivschat:us-east-1:123456789012:room/AbCdEfGh1234"
    public static let broadcaster = "11111111-aaaa-4aaa-8aaa-111111111111"
    public static let guest = "22222222-bbbb-4bbb-8bbb-222222222222"

    public let ivs: IVSStandIn
    public let moto: MotoServer
    public let table: String
    /// `STATE_TABLE`: `<table>-state`.
    public let stateTable: String
    private let ownsIVS: Bool
    private let ownsMoto: Bool
    private var reportedEvents = 0

    /// The sample stage as `GetStage` shows it.
    public static let stage = IVSStandIn.StageInfo(name: stageName, tags: [ownerTagKey: broadcaster, "chatRoomArn": roomArn])
    /// The ownership tag the function reads by default (`OWNER_TAG_KEY`).
    public static let ownerTagKey = "ivs-chat-events:owner"

    /// Adds the sample stage to `ivs` (default: a stand-in of its own) and creates `table` on `moto`
    /// (default: a server of its own; pass `MotoServer.shared()` to share one, with a table per user).
    public init(ivs: IVSStandIn? = nil, moto: MotoServer? = nil, table: String = "ivs-chat-events-invites") throws {
        ownsIVS = ivs == nil
        self.ivs = try ivs ?? IVSStandIn()
        self.ivs.setStage(Self.stageArn, Self.stage)
        self.ivs.setRoom(Self.roomArn, IVSStandIn.RoomInfo(name: Self.stageName, tags: [Self.ownerTagKey: Self.broadcaster]))
        ownsMoto = moto == nil
        do { self.moto = try moto ?? MotoServer() } catch { if ownsIVS { self.ivs.stop() }; throw error }
        self.table = table
        stateTable = table + "-state"
        try self.moto.createInvitesTable(table)
        try self.moto.createStateTable(stateTable)
    }

    /// The function's environment: endpoints, test credentials, region, `INVITES_TABLE` and `STATE_TABLE`.
    public var environment: [String: String] {
        ivs.environment.merging(moto.environment) { $1 }.merging(["INVITES_TABLE": table, "STATE_TABLE": stateTable]) { $1 }
    }

    /// Chat events received since the last call, as `<room> <- <event> {…}` lines.
    public func drainEventLines() -> [String] {
        let lines = ivs.eventLines()
        defer { reportedEvents = lines.count }
        return Array(lines.dropFirst(reportedEvents))
    }

    /// Stops the stand-in and the moto server, those it started itself.
    public func stop() {
        if ownsIVS { ivs.stop() }
        if ownsMoto { moto.stop() }
    }
}
