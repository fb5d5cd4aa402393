// EventBridge events: `IVS Stream State Change` (StreamStateHandler) and `IVS Stage Update`
// (StageUpdateHandler), read from untrusted bytes. Properties: a parsed event never yields a chat
// attribute map over IVS Chat's 1 KB (whatever its source or type); the stream event's `event`
// attribute is JSON; bad input is a FunctionError (`Event.…`), never a crash or another error; every
// answer is a JSON object.
import AWSCore
import AWSServices
import FuzzSupport
import Handlers
import JSON
import LambdaRuntime

let room = "arn:aws:ivschat:us-east-1:123456789012:room/AbCdEfGh1234"
let channel = "arn:aws:ivs:us-east-1:123456789012:channel/12345678-1a23-4567-a1bc-1a2b34567890"
let context = InvocationContext(requestId: "fuzz", deadlineEpochMilliseconds: Int64.max / 2)

/// IVS Chat as seen by the handlers: checks every attribute map it is handed.
final class CheckingChat: ChatEventSending {
    var sent = 0
    func sendEvent(roomIdentifier: String, eventName: String, attributes: [String: String], call: AWSCallContext) throws -> String {
        let size = attributes.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
        check(size <= 1024, "\(eventName) attributes total \(size) bytes, over 1024")
        check(size == IVSConstraints.attributesSize(attributes), "attributesSize disagrees with the UTF-8 byte count")
        check(IVSConstraints.roomARNProblem(roomIdentifier) == nil, "sent to \(roomIdentifier), not a room ARN")
        sent += 1
        return "AbCdEf123456"
    }
}

/// IVS real-time: any stage ARN exists, owned by the sample events' user, its room tagged.
final class Stages: StageService {
    func stageDetails(arn: String, call: AWSCallContext) throws -> StageDetails {
        StageDetails(arn: arn, name: "fuzz-stage", tags: [OwnerTag.defaultKey: "11111111-aaaa-4aaa-8aaa-111111111111", "chatRoomArn": room])
    }
    func issueToken(stageArn: String, userId: String, attributes: [String: String], capabilities: [ParticipantCapability],
                    durationMinutes: Int, call: AWSCallContext) throws -> IssuedParticipantToken {
        fatalError("property violated: stageUpdated issued a token")
    }
    func revoke(stageArn: String, participantId: String, reason: String, call: AWSCallContext) throws {
        fatalError("property violated: stageUpdated revoked a participant")
    }
}

func checkAnswer(_ run: () throws -> [UInt8], _ name: String) {
    do {
        let answer = try run()
        check((try? JSONValue.parse(answer))?.objectValue != nil, "\(name) answered something other than a JSON object")
    } catch let error as LambdaError {
        check(error.errorType.hasPrefix("Event."), "\(name) failed with \(error.errorType) on bad input")
    } catch {
        fatalError("property violated: \(name) threw \(type(of: error)), not a FunctionError")
    }
}

silenceLogs()
let streamConfiguration = StreamStateConfiguration(
    defaultRoom: room, roomsByChannel: [channel: room],
    chatEventNames: ["Stream Start": "STREAM_STARTED", "Stream End": "STREAM_ENDED", "Stream Failure": "STREAM_FAILED"])

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let payload = Array(input(data, size))
    // The reduction on its own, for any JSON at all.
    if let event = try? JSONValue.parse(payload) {
        let attributes = ChatEventAttributes.forStreamEvent(event)
        check(attributes.size <= ChatEventAttributes.budget, "forStreamEvent: \(attributes.size) bytes of attributes")
        check(attributes.reduced || attributes.values == ["event": event.compactText], "unreduced attributes are not the event")
        check((try? JSONValue.parse(attributes.values["event"] ?? "")) != nil, "the event attribute is not JSON")
    }
    let chat = CheckingChat()
    checkAnswer({ try StreamStateHandler(configuration: streamConfiguration, chat: chat).handle(payload, context: context) }, "streamStarted")
    let stage = StageUpdateHandler(configuration: .init(defaultRoom: room, stageCacheSeconds: 0), stages: Stages(), chat: chat)
    checkAnswer({ try stage.handle(payload, context: context) }, "stageUpdated")
    return 0
}

runFuzzer(testOneInput)
