// Configuration from the environment: every variable the three handlers and the AWS set-up read,
// including the JSON maps CHANNEL_ROOM_MAP and STREAM_EVENT_MAP, endpoint URLs and the container
// credentials URI. Input: the variables' values in a fixed order, separated by NUL bytes (an
// environment value never holds one); an empty value is unset. Properties: a configuration that is
// accepted holds only valid room and stage ARNs, chat event names of 1-100 characters and numbers in
// range; a rejected one is `Runtime.InvalidConfiguration` naming its variable; an endpoint URL that
// parses is origin + base path, with a host name (not just a port) free of `/`, `@` and `?`.
import AWSCore
import AWSServices
import FuzzSupport
import Handlers
import JSON
import LambdaRuntime

let variables = ["CHAT_ROOM_ARN", "CHANNEL_ROOM_MAP", "STREAM_EVENT_MAP", "DEFAULT_STAGE_ARN", "STAGE_OWNER", "STAGE_CACHE_SECONDS",
                 "INVITES_TABLE", "INVITE_DURATION_MINUTES", "IDENTITY_CLAIM", "CORS_ALLOWED_ORIGIN", "AWS_ENDPOINT_URL",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "CHAT_SESSION_MINUTES", "USERNAME_CLAIM", "ALLOW_GUESTS"]

func checkRejection(_ error: InitError, _ names: [String]) {
    check(error.errorType == "Runtime.InvalidConfiguration", "\(error.errorType)")
    check(names.contains { error.errorMessage.hasPrefix($0) } || error.errorMessage.hasPrefix("no chat room configured"),
          "the message names no variable: \(error.errorMessage.debugDescription)")
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let parts = input(data, size).split(separator: 0, omittingEmptySubsequences: false)
    var environment: [String: String] = [:]
    for (name, value) in zip(variables, parts) where !value.isEmpty { environment[name] = String(decoding: value, as: UTF8.self) }
    let lookup: (String) -> String? = { environment[$0] }

    do {
        let c = try StreamStateConfiguration.fromEnvironment(lookup: lookup)
        check(c.defaultRoom.map { IVSConstraints.roomARNProblem($0) == nil } ?? !c.roomsByChannel.isEmpty, "no valid room")
        for room in c.roomsByChannel.values { check(IVSConstraints.roomARNProblem(room) == nil, "room \(room) accepted") }
        for name in c.chatEventNames.values { check((1...100).contains(name.count), "chat event name \(name.debugDescription) accepted") }
        if environment["STREAM_EVENT_MAP"] == nil { check(c.chatEventNames.count == 2, "default event map lost") }
    } catch {
        checkRejection(error, ["CHAT_ROOM_ARN", "CHANNEL_ROOM_MAP", "STREAM_EVENT_MAP"])
    }
    do {
        let c = try MultihostInviteConfiguration.fromEnvironment(lookup: lookup)
        check(c.table == environment["INVITES_TABLE"], "table changed")
        check(c.defaultStage.map { IVSConstraints.stageARNProblem($0) == nil } ?? true, "stage accepted")
        check(c.defaultRoom.map { IVSConstraints.roomARNProblem($0) == nil } ?? true, "room accepted")
        check((1...20160).contains(c.inviteDurationMinutes) && (0...3600).contains(c.stageCacheSeconds), "number out of range")
        check(!c.identityClaim.isEmpty && !c.usernameClaim.isEmpty, "empty claim name")
        check((1...180).contains(c.chatSessionMinutes), "chat session minutes out of range")
        for room in c.roomsByChannel.values { check(IVSConstraints.roomARNProblem(room) == nil, "room \(room) accepted") }
        let guests = environment["ALLOW_GUESTS"]?.lowercased()
        check(c.allowGuests == (guests == "true" || guests == "1" || guests == "yes"), "guests allowed by \(String(describing: guests))")
    } catch {
        checkRejection(error, ["INVITES_TABLE", "DEFAULT_STAGE_ARN", "CHAT_ROOM_ARN", "INVITE_DURATION_MINUTES", "STAGE_CACHE_SECONDS",
                               "CHANNEL_ROOM_MAP", "CHAT_SESSION_MINUTES", "ALLOW_GUESTS"])
    }
    do {
        let c = try StageUpdateHandler.Configuration.fromEnvironment(lookup: lookup)
        check(c.defaultStage.map { IVSConstraints.stageARNProblem($0) == nil } ?? true, "stage accepted")
        check((0...3600).contains(c.stageCacheSeconds), "cache seconds out of range")
    } catch {
        checkRejection(error, ["DEFAULT_STAGE_ARN", "STAGE_CACHE_SECONDS", "CHAT_ROOM_ARN"])
    }
    if let url = environment["AWS_ENDPOINT_URL"], let endpoint = try? AWSEndpoint(url: url) {
        check(endpoint.url == endpoint.origin + endpoint.basePath, "url is not origin + base path")
        check(!endpoint.host.isEmpty && !endpoint.host.hasPrefix(":") && !endpoint.host.contains("/") && !endpoint.host.contains("@") && !endpoint.host.contains("?"),
              "host \(endpoint.host.debugDescription)")
        check(!endpoint.url.hasSuffix("/"), "trailing slash")
    }
    if let uri = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] {
        _ = AWSCredentialsProvider.containerURLProblem(uri)
    }
    return 0
}

runFuzzer(testOneInput)
