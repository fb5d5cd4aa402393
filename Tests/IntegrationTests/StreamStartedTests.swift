import Foundation
import JSON
import LocalHarness
import Testing

/// `streamStarted` through the real binary, the Runtime API emulator and the IVS stand-in
/// (which verifies every request's SigV4 signature).
@Suite struct StreamStartedTests {
    static let room = "arn:aws:ivschat:us-east-1:123456789012:room/RoomOne"
    static let channel = "arn:aws:ivs:us-east-1:123456789012:channel/12345678-1a23-4567-a1bc-1a2b34567890"

    final class Fixture {
        let ivs: IVSStandIn
        let function: LocalFunction
        /// `tls`: the stand-in serves HTTPS with that identity.
        init(env: [String: String] = [:], tls: TLSServerIdentity? = nil, prepareIVS: (IVSStandIn) -> Void = { _ in }) throws {
            ivs = try IVSStandIn(tls: tls)
            prepareIVS(ivs)
            var environment = ivs.environment
            environment["CHAT_ROOM_ARN"] = StreamStartedTests.room
            environment.merge(env) { $1 }
            function = try LocalFunction(handler: "streamStarted", environment: environment)
        }
        deinit {
            function.stop()
            ivs.stop()
        }
    }

    static func sample(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: BuildProducts.packageRoot + "/events/\(name).json")))
    }

    @Test func streamStartReachesTheRoomAsReceived() throws {
        let f = try Fixture()
        let event = try Self.sample("stream-start")
        let outcome = f.function.invoke(event)
        let response = try JSONValue.parse(outcome.text)
        #expect(response["sent"] == .bool(true), "\(outcome)")
        #expect(response["eventName"] == .string("STREAM_STARTED"))
        #expect(response["room"] == .string(Self.room))
        #expect(f.ivs.events.count == 1)
        let received = try #require(f.ivs.events.first)
        #expect(received.room == Self.room)
        #expect(received.eventName == "STREAM_STARTED")
        #expect(response["chatEventId"] == .string(received.id))
        // Clients run JSON.parse(Attributes.event): every field and value as received.
        let attribute = try #require(received.attributes["event"])
        #expect(try JSONValue.parse(attribute) == JSONValue.parse(event))
        #expect(attribute == (try JSONValue.parse(event)).compactText)
        #expect(received.attributes["truncated"] == nil)
        #expect(f.ivs.rejectedSignatures == 0)
    }

    @Test func streamEndAndLongChannelName() throws {
        let f = try Fixture()
        _ = f.function.invoke(try Self.sample("stream-end"))
        _ = f.function.invoke(try Self.sample("stream-start-long-channel-name"))
        #expect(f.ivs.events.map(\.eventName) == ["STREAM_ENDED", "STREAM_STARTED"])
        let longEvent = try JSONValue.parse(f.ivs.events[1].attributes["event"] ?? "")
        #expect(longEvent["detail"]?["channel_name"]?.stringValue?.count == 128)
    }

    @Test func unmappedAndForeignEventsAreAcknowledgedWithoutACall() throws {
        let f = try Fixture()
        let failure = try JSONValue.parse(f.function.invoke(try Self.sample("stream-failure")).text)
        #expect(failure["sent"] == .bool(false))
        let foreign = #"{"source":"aws.s3","detail-type":"Object Created","detail":{}}"#
        #expect(try JSONValue.parse(f.function.invoke(foreign).text)["sent"] == .bool(false))
        #expect(f.ivs.requestCount(for: "SendEvent") == 0)
    }

    @Test func mappingAndChannelRoomsFromTheEnvironment() throws {
        let other = "arn:aws:ivschat:us-east-1:123456789012:room/ChannelRoom"
        let f = try Fixture(env: [
            "STREAM_EVENT_MAP": #"{"Stream Failure":"STREAM_FAILED","Stream Start":"LIVE"}"#,
            "CHANNEL_ROOM_MAP": #"{"\#(Self.channel)":"\#(other)"}"#,
        ])
        _ = f.function.invoke(try Self.sample("stream-failure"))
        _ = f.function.invoke(try Self.sample("stream-start"))
        _ = f.function.invoke(try Self.sample("stream-end"))
        #expect(f.ivs.events.map(\.eventName) == ["STREAM_FAILED", "LIVE"])
        #expect(f.ivs.events.allSatisfy { $0.room == other })
    }

    @Test func oversizedEventIsSentReduced() throws {
        let f = try Fixture()
        var event = try String(decoding: Self.sample("stream-start"), as: UTF8.self)
        event = event.replacingOccurrences(of: #""stream_id""#, with: #""notes": "\#(String(repeating: "n", count: 1500))", "stream_id""#)
        let response = try JSONValue.parse(f.function.invoke(event).text)
        #expect(response["truncated"] == .bool(true))
        let received = try #require(f.ivs.events.first)
        #expect(received.attributes["truncated"] == "true")
        let sent = try JSONValue.parse(received.attributes["event"] ?? "")
        #expect(sent["detail"]?["notes"] == nil)
        #expect(sent["detail"]?["stream_id"] == .string("st-1A2b3c4D5e6F78ghij9Klmn"))
        #expect(sent["id"] == .string("01234567-0123-0123-0123-012345678901"))
    }

    @Test func badInputIsAFunctionErrorAndTheProcessKeepsServing() throws {
        let f = try Fixture()
        guard case let .error(type, body) = f.function.invoke("{oops") else { Issue.record("expected an error"); return }
        #expect(type == "Event.InvalidJSON")
        #expect(String(decoding: body, as: UTF8.self).contains("not JSON"))
        guard case let .error(shapeType, _) = f.function.invoke(#"{"source":"aws.ivs","detail-type":"IVS Stream State Change"}"#) else {
            Issue.record("expected an error"); return
        }
        #expect(shapeType == "Event.InvalidShape")
        #expect(try JSONValue.parse(f.function.invoke(try Self.sample("stream-start")).text)["sent"] == .bool(true))
    }

    @Test func ivsErrorsLeftAfterRetriesAreFunctionErrors() throws {
        // An EventBridge-driven handler keeps retrying within its deadline, then fails, so that Lambda's
        // asynchronous retries and the dead-letter queue take over.
        let f = try Fixture(prepareIVS: {
            $0.inject(Array(repeating: .error(status: 500, type: "InternalServerException", message: "x"), count: 40), for: "SendEvent")
        })
        let outcome = f.function.invoke(try Self.sample("stream-start"), timeoutMilliseconds: 3_000)
        guard case let .error(type, body) = outcome else { Issue.record("expected an error, got \(outcome)"); return }
        #expect(type.hasPrefix("IVSChat."))
        #expect(String(decoding: body, as: UTF8.self).contains("InternalServerException"))
        #expect(f.ivs.requestCount(for: "SendEvent") > 3, "more than the SDKs' 3 attempts: it retries until the deadline")
        f.ivs.reset()
        // A transient failure is retried and succeeds.
        f.ivs.inject([.error(status: 429, type: "ThrottlingException", message: "slow down")], for: "SendEvent")
        #expect(try JSONValue.parse(f.function.invoke(try Self.sample("stream-start")).text)["sent"] == .bool(true))
    }

    @Test(arguments: [
        (["CHAT_ROOM_ARN": "not-an-arn"], "CHAT_ROOM_ARN"),
        (["CHAT_ROOM_ARN": ""], "no chat room configured"),
        (["CHANNEL_ROOM_MAP": "[1]"], "CHANNEL_ROOM_MAP"),
        (["STREAM_EVENT_MAP": "{"], "STREAM_EVENT_MAP"),
        (["AWS_REGION": "", "AWS_DEFAULT_REGION": ""], "region"),
    ])
    func badConfigurationIsAnInitError(_ env: [String: String], _ mention: String) throws {
        let f = try Fixture(env: env)
        let report = f.function.emulator.waitForInitError()
        #expect(report?.type == "Runtime.InvalidConfiguration")
        let message = try JSONValue.parse(report?.body ?? [])["errorMessage"]?.stringValue ?? ""
        #expect(message.contains(mention), "\(message)")
        #expect(f.function.process.waitForExit() != 0)
    }

    @Test func logsNameTheEventAndNeverTheCredentials() throws {
        let f = try Fixture()
        _ = f.function.invoke(try Self.sample("stream-start"))
        f.function.stop()
        let logs = f.function.process.lines.joined(separator: "\n")
        #expect(logs.contains("STREAM_STARTED"))
        #expect(logs.contains("01234567-0123-0123-0123-012345678901"))
        #expect(!logs.contains(IVSStandIn.secretAccessKey))
        #expect(!logs.contains("Signature="))
    }
}
