import Essentials
import Foundation
import Handlers
import JSON
import LocalHarness
import Testing

/// Metrics (CloudWatch Embedded Metric Format) and the Powertools log keys, from the real handlers in
/// the real `bootstrap`: every EMF line is valid by the specification, at most one per invocation, its
/// dimensions bounded (never an id), and the counts are what happened.
@Suite struct MetricsTests {
    typealias S = MultihostSandbox
    static let namespace = "Test/IVSChatEvents"
    static let service = "metrics-test-stack"
    static let env = ["METRICS_NAMESPACE": namespace, "POWERTOOLS_SERVICE_NAME": service, "AWS_LAMBDA_LOG_FORMAT": "JSON"]

    /// The values each dimension may take: fixed sets, never a user, room, stage or channel id.
    static let allowedDimensionValues: [String: Set<String>] = [
        "service": [service],
        "Handler": ["streamStarted", "api", "multihostInvite", "stageUpdated", "messageReview"],
        "Result": Set(MessageReviewHandler.outcomes),
        "EventName": ["STREAM_STARTED", "STREAM_ENDED", "StreamCat:MultihostInvite", "StreamCat:RealTimeUpdate"],
        "TokenKind": ["InviteParticipant", "HostParticipant", "ViewerParticipant", "GuestViewerParticipant", "Chat", "ModeratorChat", "GuestChat"],
        "Operation": ["SendEvent", "CreateChatToken", "GetRoom", "GetStage", "CreateParticipantToken", "DisconnectParticipant",
                      "GetStream", "ListStreams", "GetItem", "PutItem", "DeleteItem", "Query", "UpdateItem", "DisconnectUser"],
    ]

    /// The EMF lines of `function`, each checked: valid EMF, namespace, bounded dimensions, the
    /// Powertools keys; and at most one per invocation.
    static func checkedMetricLines(_ function: LocalFunction, sourceLocation: SourceLocation = #_sourceLocation) throws -> [(line: JSONValue, data: [EMF.Datum])] {
        let lines = function.metricLines()
        var requestIds: [String] = []
        var out: [(JSONValue, [EMF.Datum])] = []
        for line in lines {
            #expect(EMF.problems(line).isEmpty, "\(EMF.problems(line)): \(line)", sourceLocation: sourceLocation)
            let json = try JSONValue.parse(Array(line.utf8))
            let data = EMF.data(line)
            #expect(!data.isEmpty, sourceLocation: sourceLocation)
            for datum in data {
                #expect(datum.namespace == namespace, sourceLocation: sourceLocation)
                #expect(datum.dimensions["service"] == service, "every metric has the service dimension: \(datum)", sourceLocation: sourceLocation)
                for (key, value) in datum.dimensions {
                    #expect(allowedDimensionValues[key]?.contains(value) == true, "dimension \(key)=\(value) is not of a bounded set", sourceLocation: sourceLocation)
                }
            }
            // The Powertools keys, and what Lambda's JSON log format needs (level, timestamp, requestId).
            for key in ["service", "cold_start", "function_request_id", "xray_trace_id", "level", "message", "timestamp", "requestId"] {
                #expect(json[key] != nil, "EMF line without \(key): \(line)", sourceLocation: sourceLocation)
            }
            requestIds.append(json["function_request_id"]?.stringValue ?? "")
            out.append((json, data))
        }
        #expect(Set(requestIds).count == requestIds.count, "two EMF lines for one invocation: \(requestIds)", sourceLocation: sourceLocation)
        return out
    }

    /// The value of `name` under its most specific dimension set in `data`, by its dimension (nil: `service` only).
    static func value(_ data: [EMF.Datum], _ name: String, _ dimension: String? = nil) -> Double? {
        data.first { $0.name == name && (dimension == nil ? $0.dimensions.count == 1 : $0.dimensions.values.contains(dimension!)) }?.values.reduce(0, +)
    }

    @Test func streamStartedCountsEventsThrottlesAndFailuresInOneLineEach() throws {
        let ivs = try IVSStandIn()
        defer { ivs.stop() }
        let f = try LocalFunction(handler: "streamStarted", environment: ivs.environment.merging(Self.env) { $1 }
            .merging(["CHAT_ROOM_ARN": StreamStartedTests.room]) { $1 })
        defer { f.stop() }
        // 1: sent (cold start). 2: a foreign event: nothing counted, no line. 3: throttled twice, then sent.
        // 4: refused (400): the event failed, one upstream error.
        #expect(try JSONValue.parse(f.invoke(try StreamStartedTests.sample("stream-start")).text)["sent"] == .bool(true))
        _ = f.invoke(#"{"source":"aws.s3","detail-type":"Object Created","detail":{}}"#)
        ivs.inject(Array(repeating: .error(status: 429, type: "ThrottlingException"), count: 2), for: "SendEvent")
        #expect(try JSONValue.parse(f.invoke(try StreamStartedTests.sample("stream-end"), timeoutMilliseconds: 10_000).text)["sent"] == .bool(true))
        ivs.inject([.error(status: 400, type: "ValidationException", message: "nope")], for: "SendEvent")
        guard case .error = f.invoke(try StreamStartedTests.sample("stream-start")) else { Issue.record("expected a function error"); return }

        let lines = try Self.checkedMetricLines(f)
        try #require(lines.count == 3, "\(lines.map(\.line.compactText))")
        let (cold, throttled, failed) = (lines[0].data, lines[1].data, lines[2].data)
        #expect(lines[0].line["cold_start"] == .bool(true) && lines[1].line["cold_start"] == .bool(false))
        #expect(Self.value(cold, "ColdStart", "streamStarted") == 1)
        #expect((Self.value(cold, "InitDuration", "streamStarted") ?? -1) > 0)
        #expect(cold.first { $0.name == "InitDuration" }?.unit == "Milliseconds")
        #expect(Self.value(cold, "ChatEventsSent", "STREAM_STARTED") == 1)
        #expect(Self.value(throttled, "ChatEventsSent", "STREAM_ENDED") == 1)
        #expect(Self.value(throttled, "UpstreamThrottles", "SendEvent") == 2)
        #expect(Self.value(throttled, "UpstreamThrottles") == 2, "the [service] roll-up the alarm reads")
        #expect(Self.value(throttled, "ColdStart", "streamStarted") == nil)
        #expect(Self.value(failed, "ChatEventsFailed", "STREAM_STARTED") == 1)
        #expect(Self.value(failed, "UpstreamErrors", "SendEvent") == 1)
        #expect(Self.value(failed, "ChatEventsSent", "STREAM_STARTED") == nil)

        // Every JSON log line carries the Powertools keys beside Lambda's.
        let logLines = f.process.lines.compactMap { try? JSONValue.parse(Array($0.utf8)) }.filter { $0["_aws"] == nil && $0["requestId"] != nil }
        #expect(!logLines.isEmpty)
        for line in logLines {
            #expect(line["service"] == .string(Self.service) && line["function_request_id"] == line["requestId"], "\(line.compactText)")
            #expect(line["cold_start"]?.boolValue != nil && line["xray_trace_id"]?.stringValue?.hasPrefix("1-") == true, "\(line.compactText)")
        }
    }

    @Test func moderationResultsAreCountedByResult() throws {
        let ivs = try IVSStandIn()
        defer { ivs.stop() }
        let f = try LocalFunction(handler: "messageReview", environment: ivs.environment.merging(Self.env) { $1 }
            .merging(["REVIEW_BLOCKED_TERMS": "badword:deny,darn:mask"]) { $1 })
        defer { f.stop() }
        func review(_ content: String) throws -> JSONValue {
            try JSONValue.parse(f.invoke(#"{"Content":"\#(content)","MessageId":"m","RoomArn":"arn:aws:ivschat:us-east-1:123456789012:room/R1","Attributes":{},"Sender":{"UserId":"u","Attributes":{},"Ip":"127.0.0.1"}}"#).text)
        }
        #expect(try review("hello")["ReviewResult"] == .string("ALLOW"))
        #expect(try review("a badword")["ReviewResult"] == .string("DENY"))
        #expect(try review("oh darn")["Content"] == .string("oh ****"))
        _ = f.invoke("[]")
        let lines = try Self.checkedMetricLines(f)
        #expect(lines.count == 4)
        let all = lines.flatMap(\.data)
        for (result, count) in [("ALLOW", 1.0), ("DENY", 1), ("MASK", 1), ("MALFORMED", 1)] {
            #expect(Self.value(all, "ModerationResults", result) == count, "\(result)")
        }
    }

    @Test func truncatedStreamEventsAreCounted() throws {
        let ivs = try IVSStandIn()
        defer { ivs.stop() }
        let f = try LocalFunction(handler: "streamStarted", environment: ivs.environment.merging(Self.env) { $1 }
            .merging(["CHAT_ROOM_ARN": StreamStartedTests.room]) { $1 })
        defer { f.stop() }
        // An event of more than 1 KB (many resources) is sent reduced.
        guard case var .object(members) = try JSONValue.parse(try StreamStartedTests.sample("stream-start")) else { Issue.record("sample"); return }
        members = members.map { $0.key == "resources" ? ("resources", .array([.string(StreamStartedTests.channel)] + (0..<20).map { .string("arn:aws:ivs:us-east-1:123456789012:channel/extra\($0)-aaaaaaaaaaaaaaaa") })) : $0 }
        let response = try JSONValue.parse(f.invoke(JSONValue.object(members).compactText).text)
        #expect(response["truncated"] == .bool(true), "\(response)")
        let lines = try Self.checkedMetricLines(f)
        #expect(Self.value(lines.first?.data ?? [], "ChatEventsTruncated", "STREAM_STARTED") == 1)
        #expect(Self.value(lines.first?.data ?? [], "ChatEventsSent", "STREAM_STARTED") == 1)
    }

    @Test func stageUpdatesAreCounted() throws {
        let ivs = try IVSStandIn()
        defer { ivs.stop() }
        ivs.setStage(S.stageArn, S.stage)
        let f = try LocalFunction(handler: "stageUpdated", environment: ivs.environment.merging(Self.env) { $1 })
        defer { f.stop() }
        let event = try String(contentsOfFile: BuildProducts.packageRoot + "/events/stage-participant-published.json", encoding: .utf8)
        #expect(try JSONValue.parse(f.invoke(event).text)["sent"] == .bool(true))
        let lines = try Self.checkedMetricLines(f)
        try #require(lines.count == 1)
        #expect(Self.value(lines[0].data, "StageUpdates") == 1)
        #expect(Self.value(lines[0].data, "ChatEventsSent", "StreamCat:RealTimeUpdate") == 1)
        #expect(Self.value(lines[0].data, "ColdStart", "stageUpdated") == 1)
    }

    @Test func theAPICountsInvitesJoinsKicksTokensAndThrottles() throws {
        let sandbox = try MultihostSandbox(moto: MotoServer.shared(), table: "metrics-\(UUID().uuidString.prefix(8))")
        defer { sandbox.stop() }
        let f = try LocalFunction(handler: "api", environment: sandbox.environment.merging(Self.env) { $1 }
            .merging(["ALLOW_GUESTS": "true", "GUEST_STAGE_ARNS": S.stageArn]) { $1 })
        defer { f.stop() }
        func call(_ method: String, _ path: String, _ body: String?, caller: String? = S.broadcaster) throws -> Int {
            let outcome = f.invoke(MultihostInviteTests.event(method, path, body: body, caller: caller))
            return try #require(try JSONValue.parse(outcome.text)["statusCode"]?.intValue, "\(outcome)")
        }
        let stage = #"{"stageArn":"\#(S.stageArn)"}"#
        #expect(try call("POST", "/multihost/invite", MultihostInviteTests.inviteBody()) == 201)
        #expect(try call("POST", "/multihost/join", stage, caller: S.guest) == 200)
        #expect(try call("POST", "/multihost/disconnect", #"{"userId":"\#(S.guest)","stageArn":"\#(S.stageArn)"}"#) == 204)
        #expect(try call("POST", "/multihost/host-token", stage) == 200)
        #expect(try call("POST", "/multihost/viewer-token", stage, caller: S.guest) == 200)
        #expect(try call("POST", "/multihost/guest-viewer-token", stage, caller: nil) == 200)
        #expect(try call("POST", "/chat/token", stage) == 200)          // the room's owner: moderator
        #expect(try call("POST", "/chat/token", stage, caller: S.guest) == 200)
        #expect(try call("POST", "/chat/guest-token", stage, caller: nil) == 200)
        sandbox.ivs.inject([.error(status: 429, type: "ThrottlingException")], for: "CreateChatToken")
        #expect(try call("POST", "/chat/token", stage, caller: S.guest) == 429)
        #expect(try call("POST", "/multihost/cancel", #"{"userId":"\#(S.guest)","stageArn":"\#(S.stageArn)"}"#) == 404)

        let lines = try Self.checkedMetricLines(f)
        try #require(lines.count == 11, "one line per invocation")
        let d = lines.map(\.data)
        #expect(Self.value(d[0], "Invites") == 1 && Self.value(d[0], "TokensIssued", "InviteParticipant") == nil, "the token is made at join")
        #expect(Self.value(d[0], "ChatEventsSent", "StreamCat:MultihostInvite") == 1)
        #expect(Self.value(d[1], "Joins") == 1 && Self.value(d[1], "TokensIssued", "InviteParticipant") == 1)
        #expect(Self.value(d[2], "Kicks") == 1)
        #expect(Self.value(d[3], "TokensIssued", "HostParticipant") == 1)
        #expect(Self.value(d[4], "TokensIssued", "ViewerParticipant") == 1)
        #expect(Self.value(d[5], "TokensIssued", "GuestViewerParticipant") == 1)
        #expect(Self.value(d[6], "TokensIssued", "ModeratorChat") == 1)
        #expect(Self.value(d[7], "TokensIssued", "Chat") == 1)
        #expect(Self.value(d[8], "TokensIssued", "GuestChat") == 1)
        #expect(Self.value(d[9], "UpstreamThrottles", "CreateChatToken") == 1)
        #expect(Self.value(d[9], "APIThrottled") == 1 && Self.value(d[9], "TokensIssued", "Chat") == nil)
        #expect(Self.value(d[10], "Cancels") == nil)
        for data in d {
            #expect(Self.value(data, "APIRequests") == 1)
            #expect(Self.value(data, "APIServerErrors") == 0)
        }
        #expect(d.dropFirst(1).allSatisfy { Self.value($0, "ColdStart", "api") == nil })
        #expect(d.enumerated().allSatisfy { $0.offset == 9 || Self.value($0.element, "APIThrottled") == 0 })
    }

    /// Managed Instances: 4 workers, 12 overlapping invocations: one line each, each its own
    /// invocation's (request id and trace), one cold start in the process.
    @Test func concurrentWorkersEachWriteTheirOwnInvocationsLine() throws {
        let ivs = try IVSStandIn()
        defer { ivs.stop() }
        ivs.inject(Array(repeating: .delay(milliseconds: 100), count: 12), for: "SendEvent")
        let f = try LocalFunction(handler: "streamStarted", environment: ivs.environment.merging(Self.env) { $1 }
            .merging(["CHAT_ROOM_ARN": StreamStartedTests.room, "AWS_LAMBDA_MAX_CONCURRENCY": "4"]) { $1 })
        defer { f.stop() }
        #expect(f.emulator.waitForWaitingNextRequests(4))
        let event = try StreamStartedTests.sample("stream-start")
        let invocations = (0..<12).map { i in
            RuntimeAPIEmulator.Invocation(event: event, traceId: "Root=1-00000000-\(String(repeating: String(i % 10), count: 24));Sampled=1")
        }
        for invocation in invocations { f.emulator.submit(invocation) }
        for invocation in invocations { _ = f.emulator.waitForOutcome(requestId: invocation.requestId, waitLimitSeconds: 30) }
        #expect(f.emulator.maxConcurrentInvocations > 1)
        _ = f.emulator.waitForWaitingNextRequests(4)
        let lines = try Self.checkedMetricLines(f)
        #expect(lines.count == 12)
        #expect(Set(lines.compactMap { $0.line["function_request_id"]?.stringValue }) == Set(invocations.map(\.requestId)))
        for (line, data) in lines {
            let invocation = invocations.first { $0.requestId == line["function_request_id"]?.stringValue }
            #expect(line["xray_trace_id"]?.stringValue == invocation.flatMap { Log.xrayRoot($0.traceId) })
            #expect(Self.value(data, "ChatEventsSent", "STREAM_STARTED") == 1, "each line counts its own invocation only")
        }
        #expect(lines.filter { Self.value($0.data, "ColdStart", "streamStarted") == 1 }.count == 1)
        #expect(lines.filter { $0.line["cold_start"] == .bool(true) }.count == 1)
    }

    /// The recorder alone: two values of one dimension in one invocation (two operations throttled)
    /// are written as exact sums under `[service]` and a per-value breakdown member; the line stays valid.
    @Test func twoValuesOfOneDimensionKeepExactTotalsAndABreakdown() throws {
        let recorder = MetricsRecorder(configuration: MetricsConfiguration(namespace: Self.namespace, service: Self.service))
        #expect(recorder.emfLine(epochMilliseconds: 1_800_000_000_000, level: "INFO", requestId: "r", traceId: nil, coldStart: false) == nil,
                "nothing recorded: no line")
        recorder.add(.upstreamThrottles, 1, "GetStage")
        recorder.add(.upstreamThrottles, 2, "SendEvent")
        recorder.add(.upstreamErrors, 1, "SendEvent")
        recorder.add(.chatEventsFailed, 1, "STREAM_STARTED")
        recorder.add(.invites)
        recorder.add(.initDuration, 12.3456, "streamStarted")
        let line = try #require(recorder.emfLine(epochMilliseconds: 1_800_000_000_000, level: "INFO",
                                                 requestId: "req-1", traceId: "Root=1-abc-def;Sampled=1", coldStart: true))
        #expect(EMF.problems(line).isEmpty, "\(EMF.problems(line))")
        let json = try JSONValue.parse(Array(line.utf8))
        let data = EMF.data(line)
        #expect(json["Operation"] == nil, "no single Operation value to write")
        #expect(Self.value(data, "UpstreamThrottles") == 3 && Self.value(data, "UpstreamErrors") == 1)
        #expect(!data.contains { $0.name.hasPrefix("Upstream") && $0.dimensions.count > 1 })
        #expect(json["OperationBreakdown"]?["GetStage"]?["UpstreamThrottles"]?.intValue == 1)
        #expect(json["OperationBreakdown"]?["SendEvent"]?["UpstreamThrottles"]?.intValue == 2)
        #expect(json["OperationBreakdown"]?["SendEvent"]?["UpstreamErrors"]?.intValue == 1)
        #expect(json["OperationBreakdown"]?["GetStage"]?["UpstreamErrors"] == nil)
        #expect(Self.value(data, "ChatEventsFailed", "STREAM_STARTED") == 1 && Self.value(data, "Invites") == 1)
        #expect(json["InitDuration"] == .number("12.346"))
        #expect(json["xray_trace_id"] == .string("1-abc-def") && json["cold_start"] == .bool(true))
        recorder.reset()
        #expect(recorder.isEmpty)

        // Disabled: no line; a namespace CloudWatch refuses falls back to the default.
        let off = MetricsRecorder(configuration: .fromEnvironment(lookup: ["METRICS_DISABLED": "true"].lookup))
        off.add(.invites)
        #expect(off.emfLine(epochMilliseconds: 1, level: "INFO", requestId: nil, traceId: nil, coldStart: false) == nil)
        #expect(MetricsConfiguration.fromEnvironment(lookup: ["METRICS_NAMESPACE": "AWS/Lambda"].lookup).namespace == MetricsConfiguration.defaultNamespace)
        #expect(MetricsConfiguration.fromEnvironment(lookup: ["POWERTOOLS_METRICS_NAMESPACE": "Mine", "POWERTOOLS_SERVICE_NAME": "svc"].lookup).namespace == "Mine")
        #expect(MetricsConfiguration.fromEnvironment(lookup: ["METRICS_NAMESPACE": "A", "POWERTOOLS_METRICS_NAMESPACE": "B"].lookup).namespace == "A")
    }

    /// Every catalogued metric has a unit CloudWatch accepts, and a line with all of them is valid
    /// (far under the 100 metrics per directive and 30 keys per dimension set).
    @Test func everyMetricOfTheCatalogueMakesAValidLine() throws {
        let recorder = MetricsRecorder(configuration: MetricsConfiguration(namespace: Self.namespace, service: Self.service))
        for metric in Metric.allCases {
            #expect(EMF.units.contains(metric.unit))
            recorder.add(metric, 1, "value")
        }
        let line = try #require(recorder.emfLine(epochMilliseconds: 1_800_000_000_000, level: "WARN", requestId: "r",
                                                 traceId: nil, coldStart: false))
        #expect(EMF.problems(line).isEmpty, "\(EMF.problems(line))")
        #expect(Set(EMF.data(line).map(\.name)) == Set(Metric.allCases.map(\.name)))
    }

    /// `make invoke` shows metric lines as a readable summary.
    @Test func localInvokeShowsMetricLinesReadably() throws {
        let process = try LambdaProcess(command: [BuildProducts.path("local-invoke"), "--handler", "streamStarted",
                                                  "--event", BuildProducts.packageRoot + "/events/stream-start.json"],
                                        environment: ProcessInfo.processInfo.environment)
        #expect(process.waitForExit(waitLimitSeconds: 60) == 0)
        let summary = process.lines.first { $0.contains("◆ metrics") } ?? ""
        #expect(summary.contains("IVSChatEvents [ivs-chat-events]: ColdStart{Handler=streamStarted}=1"), "\(process.lines)")
        #expect(summary.contains("ChatEventsSent{EventName=STREAM_STARTED}=1") && !summary.contains("INVALID"), "\(summary)")
        #expect(!process.lines.contains { $0.contains("\"_aws\"") }, "the raw line is replaced by its summary")
    }
}

extension Dictionary where Key == String, Value == String {
    /// As an environment lookup.
    var lookup: (String) -> String? { { self[$0] } }
}
