import Foundation
import Testing
import AWSCore
import AWSServices
import JSON
import LocalHarness

/// A clock whose sleeps only move a virtual offset: retries run fast and deterministically.
final class VirtualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var offset: Int64 = 0
    private var slept: [Int64] = []

    var sleeps: [Int64] { lock.withLock { slept } }
    func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) + lock.withLock { offset } }

    var clock: AWSClock {
        AWSClock(now: { self.now() }, sleep: { ms in self.lock.withLock { self.offset += ms; self.slept.append(ms) } })
    }
}

/// Stand-ins stay up for the whole run: `HTTPServer.stop()` closes its listener while its accept
/// loop may still call `accept` on that descriptor number, which a parallel test may have reused
/// (reported to the lead); keeping servers alive avoids that race.
nonisolated(unsafe) private var keptAlive: [IVSStandIn] = []
private let keptAliveLock = NSLock()

/// Clients wired to a fresh stand-in.
struct Fixture {
    static let room = "arn:aws:ivschat:us-east-1:123456789012:room/AbCd1234"
    static let stage = "arn:aws:ivs:us-east-1:123456789012:stage/StAgE5678"

    let standIn: IVSStandIn
    let clock = VirtualClock()
    let chat: IVSChatClient
    let realTime: IVSRealTimeClient

    init(secret: String = IVSStandIn.secretAccessKey, region: String = IVSStandIn.region,
         baseDelay: Int64 = 100, maxAttempts: Int = 3) throws {
        standIn = try IVSStandIn(stages: [Self.stage: .init(name: "studio-1", tags: ["ivs-chat-events:owner": "u-42", "env": "test"], activeSessionId: "st-1")])
        keptAliveLock.withLock { [standIn] in keptAlive.append(standIn) }
        let env = standIn.environment
        let configuration = AWSClientConfiguration(
            credentials: AWSCredentials(accessKeyId: IVSStandIn.accessKeyId, secretAccessKey: secret, sessionToken: "session-token-value"),
            region: region,
            retry: RetryPolicy(maxAttempts: maxAttempts, baseDelayMilliseconds: baseDelay, jitter: { $0 }),
            clock: clock.clock)
        chat = try IVSChatClient(configuration: configuration, lookup: { env[$0] })
        realTime = try IVSRealTimeClient(configuration: configuration, lookup: { env[$0] })
    }

    var farDeadline: Int64 { clock.now() + 60_000 }
}

@Suite struct AWSStandInTests {
    @Test func sendEventIsRecordedAndPrintable() throws {
        let f = try Fixture()
        let id = try f.chat.sendEvent(roomIdentifier: Fixture.room, eventName: "STREAM_STARTED",
                                      attributes: ["event": #"{"a":"é"}"#], deadline: f.farDeadline)
        #expect(id.count == 12)
        #expect(f.standIn.events == [.init(room: Fixture.room, eventName: "STREAM_STARTED", attributes: ["event": #"{"a":"é"}"#], id: id)])
        #expect(f.standIn.eventLines() == [#"\#(Fixture.room) <- STREAM_STARTED {event={"a":"é"}}"#])
        // The connection is kept: a second call works too.
        _ = try f.chat.sendEvent(roomIdentifier: Fixture.room, eventName: "STREAM_ENDED", deadline: f.farDeadline)
        #expect(f.standIn.events(inRoom: Fixture.room).map(\.eventName) == ["STREAM_STARTED", "STREAM_ENDED"])
    }

    @Test func chatToken() throws {
        let f = try Fixture()
        let token = try f.chat.createChatToken(roomIdentifier: Fixture.room, userId: "u-1", capabilities: [.sendMessage],
                                               sessionDurationInMinutes: 30, deadline: f.farDeadline)
        #expect(token.token.reveal.hasPrefix("AQICAH") && token.sessionExpirationTime != nil)
        #expect(!"\(token)".contains(token.token.reveal))
    }

    @Test func participantTokenAndStage() throws {
        let f = try Fixture()
        let t = try f.realTime.createParticipantToken(stageArn: Fixture.stage, userId: "invitee", attributes: ["username": "bob"],
                                                      capabilities: [.publish, .subscribe], durationMinutes: 60, deadline: f.farDeadline)
        #expect(t.userId == "invitee" && t.attributes == ["username": "bob"] && t.durationMinutes == 60)
        #expect(t.capabilities == [.publish, .subscribe] && t.participantId?.count == 12 && !t.token.reveal.isEmpty)
        let expires = try #require(t.expirationEpochSeconds)
        #expect(abs(expires - (Int64(Date().timeIntervalSince1970) + 3600)) < 120)
        #expect(!"\(t)".contains(t.token.reveal))
        let stage = try f.realTime.getStage(arn: Fixture.stage, deadline: f.farDeadline)
        #expect(stage == Stage(arn: Fixture.stage, name: "studio-1", activeSessionId: "st-1", tags: ["ivs-chat-events:owner": "u-42", "env": "test"]))
        do {
            _ = try f.realTime.getStage(arn: "arn:aws:ivs:us-east-1:123456789012:stage/Unknown1", deadline: f.farDeadline)
            Issue.record("expected ResourceNotFoundException")
        } catch {
            #expect(error.serviceError?.type == "ResourceNotFoundException" && error.serviceError?.status == 404)
            #expect(error.serviceError?.message.contains("Unknown1") == true) // read from exceptionMessage
        }
    }

    @Test func retriesOn500ThenSucceeds() throws {
        let f = try Fixture()
        f.standIn.inject([.error(status: 500, type: "InternalServerException")], for: "SendEvent")
        _ = try f.chat.sendEvent(roomIdentifier: Fixture.room, eventName: "E", deadline: f.farDeadline)
        #expect(f.standIn.requestCount(for: "SendEvent") == 2 && f.standIn.events.count == 1)
        #expect(f.clock.sleeps == [100])
    }

    @Test func retriesOn429ThenSucceeds() throws {
        let f = try Fixture()
        f.standIn.inject(Array(repeating: .error(status: 429, type: "ThrottlingException"), count: 2), for: "CreateParticipantToken")
        _ = try f.realTime.createParticipantToken(stageArn: Fixture.stage, deadline: f.farDeadline)
        #expect(f.standIn.requestCount(for: "CreateParticipantToken") == 3)
        #expect(f.clock.sleeps == [100, 200])
    }

    @Test func givesUpAfterThreeAttempts() throws {
        let f = try Fixture()
        f.standIn.inject(Array(repeating: .error(status: 503, type: "ServiceUnavailable"), count: 5), for: "SendEvent")
        do {
            _ = try f.chat.sendEvent(roomIdentifier: Fixture.room, eventName: "E", deadline: f.farDeadline)
            Issue.record("expected an error")
        } catch {
            #expect(error.serviceError?.type == "ServiceUnavailable" && error.attempts == 3)
        }
        #expect(f.standIn.requestCount(for: "SendEvent") == 3)
    }

    @Test func noRetryOn400() throws {
        let f = try Fixture()
        f.standIn.inject([.error(status: 400, type: "ValidationException", message: "nope")], for: "SendEvent")
        do {
            _ = try f.chat.sendEvent(roomIdentifier: Fixture.room, eventName: "E", deadline: f.farDeadline)
            Issue.record("expected an error")
        } catch {
            let e = try #require(error.serviceError)
            #expect(e.type == "ValidationException" && e.message == "nope" && e.status == 400 && e.attempts == 1 && e.requestId != nil)
        }
        #expect(f.standIn.requestCount(for: "SendEvent") == 1 && f.clock.sleeps.isEmpty)
    }

    @Test func deadlineUnderEndless429s() throws {
        let f = try Fixture(baseDelay: 400, maxAttempts: 10)
        f.standIn.inject(Array(repeating: .error(status: 429, type: "ThrottlingException"), count: 20), for: "SendEvent")
        do {
            // 1 s budget: attempt, 400 ms back-off, attempt, then an 800 ms back-off would pass the deadline.
            _ = try f.chat.sendEvent(roomIdentifier: Fixture.room, eventName: "E", deadline: f.clock.now() + 1000)
            Issue.record("expected an error")
        } catch {
            guard case let .deadlineExceeded(e) = error else { Issue.record("wrong error: \(error)"); return }
            #expect(e.attempts == 2 && e.lastError?.contains("ThrottlingException") == true)
        }
        #expect(f.standIn.requestCount(for: "SendEvent") == 2 && f.clock.sleeps == [400])
    }

    @Test func deadlineUnderSlowAnswer() throws {
        let f = try Fixture()
        f.standIn.inject([.delay(milliseconds: 3000)], for: "GetStage")
        do {
            _ = try f.realTime.getStage(arn: Fixture.stage, deadline: f.clock.now() + 400)
            Issue.record("expected an error")
        } catch {
            guard case let .deadlineExceeded(e) = error else { Issue.record("wrong error: \(error)"); return }
            #expect(e.attempts == 1, "\(e)")
        }
        #expect(f.standIn.requestCount(for: "GetStage") == 1)
    }

    @Test func noAttemptWhenDeadlineAlreadyPassed() throws {
        let f = try Fixture()
        do {
            _ = try f.chat.sendEvent(roomIdentifier: Fixture.room, eventName: "E", deadline: f.clock.now() - 1)
            Issue.record("expected an error")
        } catch {
            guard case let .deadlineExceeded(e) = error else { Issue.record("wrong error: \(error)"); return }
            #expect(e.attempts == 0)
        }
        #expect(f.standIn.totalRequests == 0)
    }

    @Test(arguments: [IVSStandIn.Fault.resetMidResponse, .dropConnection])
    func connectionFailureIsRetried(_ fault: IVSStandIn.Fault) throws {
        let f = try Fixture()
        f.standIn.inject([fault], for: "SendEvent")
        let id = try f.chat.sendEvent(roomIdentifier: Fixture.room, eventName: "E", deadline: f.farDeadline)
        #expect(f.standIn.requestCount(for: "SendEvent") == 2 && f.standIn.events.map(\.id) == [id])
    }

    @Test func invalidInputNeverReachesTheService() throws {
        let f = try Fixture()
        func field(_ call: () throws -> Void) -> String? {
            do { try call(); return nil } catch {
                if case let .invalidInput(e)? = error as? AWSError { return e.field }
                return "unexpected: \(error)"
            }
        }
        let d = f.farDeadline
        #expect(field { _ = try f.chat.sendEvent(roomIdentifier: "room-1", eventName: "E", deadline: d) } == "roomIdentifier")
        #expect(field { _ = try f.chat.sendEvent(roomIdentifier: Fixture.room, eventName: "", deadline: d) } == "eventName")
        #expect(field { _ = try f.chat.sendEvent(roomIdentifier: Fixture.room, eventName: String(repeating: "e", count: 101), deadline: d) } == "eventName")
        #expect(field { _ = try f.chat.sendEvent(roomIdentifier: Fixture.room, eventName: "E", attributes: ["k": String(repeating: "v", count: 1024)], deadline: d) } == "attributes")
        #expect(field { _ = try f.chat.createChatToken(roomIdentifier: Fixture.room, userId: "", deadline: d) } == "userId")
        #expect(field { _ = try f.chat.createChatToken(roomIdentifier: Fixture.room, userId: "u", sessionDurationInMinutes: 181, deadline: d) } == "sessionDurationInMinutes")
        #expect(field { _ = try f.realTime.createParticipantToken(stageArn: Fixture.room, deadline: d) } == "stageArn")
        #expect(field { _ = try f.realTime.createParticipantToken(stageArn: Fixture.stage, userId: String(repeating: "u", count: 129), deadline: d) } == "userId")
        #expect(field { _ = try f.realTime.createParticipantToken(stageArn: Fixture.stage, durationMinutes: 20161, deadline: d) } == "duration")
        #expect(field { _ = try f.realTime.getStage(arn: "arn:aws:ivs:us-east-1:1:stage/", deadline: d) } == "arn")
        #expect(f.standIn.totalRequests == 0)
    }

    @Test func standInValidatesLikeTheService() throws {
        let f = try Fixture()
        do {
            _ = try f.chat.client.call("SendEvent", input: .object([("roomIdentifier", .string("bad")), ("eventName", .string(""))]), deadline: f.farDeadline)
            Issue.record("expected an error")
        } catch {
            let e = try #require(error.serviceError)
            #expect(e.type == "ValidationException" && e.status == 400 && e.message.contains("roomIdentifier") && e.message.contains("eventName"))
        }
        do {
            _ = try f.realTime.client.call("CreateParticipantToken", input: .object([("stageArn", .string(Fixture.stage)), ("duration", .int(0))]), deadline: f.farDeadline)
            Issue.record("expected an error")
        } catch {
            #expect(error.serviceError?.type == "ValidationException" && error.serviceError?.message.contains("duration") == true)
        }
        #expect(f.standIn.events.isEmpty)
    }

    @Test func standInRejectsBadSignatures() throws {
        for f in [try Fixture(secret: "wrong-secret"), try Fixture(region: "eu-west-1")] {
            do {
                _ = try f.chat.sendEvent(roomIdentifier: Fixture.room, eventName: "E", deadline: f.farDeadline)
                Issue.record("expected an error")
            } catch {
                let e = try #require(error.serviceError)
                #expect(e.type == "InvalidSignatureException" && e.status == 403 && e.attempts == 1)
            }
            #expect(f.standIn.rejectedSignatures == 1 && f.standIn.events.isEmpty)
        }
    }
}
