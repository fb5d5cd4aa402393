import AWSCore
import AWSServices
import Handlers
import JSON
import LambdaRuntime
import Testing

/// Records what would have been sent to IVS Chat.
final class FakeChat: ChatEventSending {
    var sent: [(room: String, name: String, attributes: [String: String])] = []
    var failure: Error?

    func sendEvent(roomIdentifier: String, eventName: String, attributes: [String: String], call: AWSCallContext) throws -> String {
        if let failure { throw failure }
        sent.append((roomIdentifier, eventName, attributes))
        return "AbCdEf123456"
    }
}

@Suite struct StreamStateHandlerTests {
    static let room = "arn:aws:ivschat:us-east-1:123456789012:room/AbCdEf"
    static let channel = "arn:aws:ivs:us-east-1:123456789012:channel/12345678-1a23-4567-a1bc-1a2b34567890"
    let context = InvocationContext(requestId: "r", deadlineEpochMilliseconds: Int64.max / 2)

    static func event(_ name: String, channelName: String = "Your Channel", extra: String = "") -> String {
        #"{"version":"0","id":"01234567-0123-0123-0123-012345678901","detail-type":"IVS Stream State Change","source":"aws.ivs","account":"123456789012","time":"2017-06-12T10:23:43Z","region":"us-east-1","resources":["\#(channel)"],"detail":{"event_name":"\#(name)","channel_name":"\#(channelName)","stream_id":"st-1A2b3c4D5e6F78ghij9Klmn"\#(extra)}}"#
    }

    func run(_ event: String, configuration: StreamStateConfiguration = .init(defaultRoom: room), chat: FakeChat = FakeChat()) throws -> JSONValue {
        let handler = StreamStateHandler(configuration: configuration, chat: chat)
        return try JSONValue.parse(handler.handle(Array(event.utf8), context: context))
    }

    @Test func streamStartSendsTheOriginalEventCompact() throws {
        let chat = FakeChat()
        let pretty = Self.event("Stream Start").replacingOccurrences(of: ",", with: ",\n  ")
        let result = try run(pretty, chat: chat)
        #expect(result["sent"] == .bool(true))
        #expect(result["chatEventId"] == .string("AbCdEf123456"))
        #expect(chat.sent.count == 1)
        #expect(chat.sent[0].room == Self.room)
        #expect(chat.sent[0].name == "STREAM_STARTED")
        #expect(chat.sent[0].attributes == ["event": Self.event("Stream Start")])
    }

    @Test func streamEndSendsStreamEnded() throws {
        let chat = FakeChat()
        _ = try run(Self.event("Stream End"), chat: chat)
        #expect(chat.sent.map(\.name) == ["STREAM_ENDED"])
    }

    @Test(arguments: ["Stream Failure", "Session Created", "Stream Takeover"])
    func otherStreamEventsAreAcknowledgedWithoutACall(_ name: String) throws {
        let chat = FakeChat()
        let result = try run(Self.event(name), chat: chat)
        #expect(result["sent"] == .bool(false))
        #expect(result["reason"]?.stringValue?.contains(name) == true)
        #expect(chat.sent.isEmpty)
    }

    @Test func otherEventTypesAreAcknowledgedWithoutACall() throws {
        let chat = FakeChat()
        let health = Self.event("Stream Start").replacingOccurrences(of: "IVS Stream State Change", with: "IVS Stream Health Change")
        #expect(try run(health, chat: chat)["sent"] == .bool(false))
        #expect(chat.sent.isEmpty)
    }

    @Test func configurableMapping() throws {
        let chat = FakeChat()
        let configuration = StreamStateConfiguration(defaultRoom: Self.room, chatEventNames: ["Stream Failure": "STREAM_FAILED"])
        _ = try run(Self.event("Stream Failure"), configuration: configuration, chat: chat)
        _ = try run(Self.event("Stream Start"), configuration: configuration, chat: chat)
        #expect(chat.sent.map(\.name) == ["STREAM_FAILED"])
    }

    @Test func perChannelRoomsAndNoRoom() throws {
        let other = "arn:aws:ivschat:us-east-1:123456789012:room/Other"
        let chat = FakeChat()
        _ = try run(Self.event("Stream Start"), configuration: .init(defaultRoom: Self.room, roomsByChannel: [Self.channel: other]), chat: chat)
        #expect(chat.sent.map(\.room) == [other])
        let none = try run(Self.event("Stream Start"), configuration: .init(defaultRoom: nil, roomsByChannel: ["arn:aws:ivs:us-east-1:1:channel/x": other]), chat: chat)
        #expect(none["sent"] == .bool(false))
        #expect(chat.sent.count == 1)
    }

    @Test func oversizedEventIsReducedNeverRefused() throws {
        let chat = FakeChat()
        let bigReason = String(repeating: "r", count: 2000)
        let result = try run(Self.event("Stream Start", extra: #","reason":"\#(bigReason)""#), chat: chat)
        #expect(result["truncated"] == .bool(true))
        let attributes = chat.sent[0].attributes
        #expect(attributes["truncated"] == "true")
        #expect(IVSConstraints.attributesSize(attributes) <= 1024)
        let sent = try JSONValue.parse(attributes["event"]!)
        #expect(sent["id"] == .string("01234567-0123-0123-0123-012345678901"))
        #expect(sent["detail"]?["channel_name"] == .string("Your Channel"))
        #expect(sent["detail"]?["stream_id"] == .string("st-1A2b3c4D5e6F78ghij9Klmn"))
        #expect(sent["detail"]?["reason"] == nil)
        #expect(sent["resources"] == .array([.string(Self.channel)]))
    }

    @Test func hugeEventStillFitsAfterFurtherReduction() throws {
        let chat = FakeChat()
        let resources = (0..<40).map { #""arn:aws:ivs:us-east-1:123456789012:channel/\#($0)-aaaaaaaaaaaaaaaa""# }.joined(separator: ",")
        let event = Self.event("Stream Start", channelName: String(repeating: "é", count: 600))
            .replacingOccurrences(of: #""resources":["\#(Self.channel)"]"#, with: #""resources":[\#(resources)]"#)
        _ = try run(event, chat: chat)
        let attributes = chat.sent[0].attributes
        #expect(IVSConstraints.attributesSize(attributes) <= 1024)
        let sent = try JSONValue.parse(attributes["event"]!)
        #expect(sent["detail"]?["event_name"] == .string("Stream Start"))
        #expect(sent["resources"]?.arrayValue?.count == 1)
    }

    @Test(arguments: [
        ("not json", "Event.InvalidJSON"),
        ("[1,2]", "Event.InvalidShape"),
        (#"{"source":"aws.ivs"}"#, "Event.InvalidShape"),
        (#"{"source":"aws.ivs","detail-type":"IVS Stream State Change","detail":"x"}"#, "Event.InvalidShape"),
        (#"{"source":"aws.ivs","detail-type":"IVS Stream State Change","detail":{"event_name":5}}"#, "Event.InvalidShape"),
    ])
    func badInputIsAClearFunctionError(_ input: String, _ type: String) throws {
        let handler = StreamStateHandler(configuration: .init(defaultRoom: Self.room), chat: FakeChat())
        do {
            _ = try handler.handle(Array(input.utf8), context: context)
            Issue.record("expected an error")
        } catch let error as LambdaError {
            #expect(error.errorType == type)
            #expect(!error.errorMessage.isEmpty)
        }
    }

    @Test func chatFailureIsAFunctionError() throws {
        let chat = FakeChat()
        chat.failure = LambdaError("X", "y")
        #expect(throws: LambdaError.self) { _ = try run(Self.event("Stream Start"), chat: chat) }
    }
}
