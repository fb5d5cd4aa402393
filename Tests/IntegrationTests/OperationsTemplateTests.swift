import Essentials
import Foundation
import JSON
import LocalHarness
import Testing

/// template.yaml as an operator relies on it: every alarm watches a metric that exists (one the
/// functions write, with the dimensions they write it under, or one AWS publishes), deployments are
/// gradual and rolled back by alarms, and every event source invokes the `live` alias.
@Suite struct OperationsTemplateTests {
    /// template.yaml as JSON, read by PyYAML (short-form tags become `{"Ref": …}`, `{"GetAtt": …}`, …).
    static func template() throws -> JSONValue {
        let script = """
        import json, sys, yaml
        class L(yaml.SafeLoader): pass
        def tag(loader, suffix, node):
            if isinstance(node, yaml.ScalarNode): v = loader.construct_scalar(node)
            elif isinstance(node, yaml.SequenceNode): v = loader.construct_sequence(node, deep=True)
            else: v = loader.construct_mapping(node, deep=True)
            return {suffix: v}
        L.add_multi_constructor('!', tag)
        json.dump(yaml.load(open(sys.argv[1]), Loader=L), sys.stdout)
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, BuildProducts.packageRoot + "/template.yaml"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "python3 with PyYAML could not read template.yaml")
        return try JSONValue.parse(Array(data))
    }

    /// Metrics AWS publishes that the alarms may use: namespace → metric names, and the dimension keys they carry.
    static let awsMetrics: [String: (names: Set<String>, dimensions: Set<Set<String>>)] = [
        "AWS/Lambda": (["Errors", "Throttles", "Invocations", "Duration", "ConcurrentExecutions"], [["FunctionName"], ["FunctionName", "Resource"]]),
        "AWS/SQS": (["ApproximateNumberOfMessagesVisible", "NumberOfMessagesSent", "ApproximateAgeOfOldestMessage"], [["QueueName"]]),
        "AWS/ApiGateway": (["Count", "4xx", "5xx", "Latency", "IntegrationLatency"], [["ApiId"], ["ApiId", "Stage"]]),
    ]

    /// (namespace, metric name, dimension keys) of each metric an alarm reads (plain or in metric math).
    static func watchedMetrics(_ alarm: JSONValue) -> [(namespace: JSONValue, name: String, keys: Set<String>)] {
        func keys(_ dims: JSONValue?) -> Set<String> { Set((dims?.arrayValue ?? []).compactMap { $0["Name"]?.stringValue }) }
        if let name = alarm["MetricName"]?.stringValue {
            return [(alarm["Namespace"] ?? .null, name, keys(alarm["Dimensions"]))]
        }
        return (alarm["Metrics"]?.arrayValue ?? []).compactMap { query in
            guard let metric = query["MetricStat"]?["Metric"], let name = metric["MetricName"]?.stringValue else { return nil }
            return (metric["Namespace"] ?? .null, name, keys(metric["Dimensions"]))
        }
    }

    @Test func everyAlarmWatchesAMetricThatExists() throws {
        let resources = try #require(try Self.template()["Resources"]?.objectValue)
        let alarms = resources.filter { $0.value["Type"] == .string("AWS::CloudWatch::Alarm") }
        #expect(alarms.count >= 11, "\(alarms.map(\.key))")
        let ours = Dictionary(uniqueKeysWithValues: Metric.allCases.map { ($0.name, $0) })
        for (name, alarm) in alarms {
            let properties = try #require(alarm["Properties"])
            let watched = Self.watchedMetrics(properties)
            #expect(!watched.isEmpty, "\(name) watches nothing")
            for metric in watched {
                if metric.namespace == .object([("Ref", .string("MetricsNamespace"))]) {
                    // Ours: a catalogued name, under a dimension set the recorder writes ([service] or [service, key]).
                    let catalogued = try #require(ours[metric.name], "\(name): \(metric.name) is not a metric the functions write")
                    let written: Set<Set<String>> = [["service"], Set(["service"] + [catalogued.dimension.key].compactMap { $0 })]
                    #expect(written.contains(metric.keys), "\(name): \(metric.name) is never written with dimensions \(metric.keys)")
                } else {
                    let namespace = try #require(metric.namespace.stringValue, "\(name): namespace \(metric.namespace)")
                    let known = try #require(Self.awsMetrics[namespace], "\(name): \(namespace) is not a namespace the alarms may use")
                    #expect(known.names.contains(metric.name), "\(name): AWS publishes no \(namespace) \(metric.name)")
                    #expect(known.dimensions.contains(metric.keys), "\(name): \(namespace) \(metric.name) has no dimensions \(metric.keys)")
                }
            }
            // Every alarm notifies the optional topic, on alarm and back to OK.
            for key in ["AlarmActions", "OKActions"] {
                #expect(properties[key]?["Fn::If"] != nil || properties[key]?["If"] != nil, "\(name): \(key) is not the AlarmTopicArn condition")
            }
            #expect(properties["TreatMissingData"] == .string("notBreaching"), "\(name)")
        }
        // What the issue asks for.
        let watched = alarms.flatMap { Self.watchedMetrics($0.value["Properties"] ?? .null).map(\.name) }
        for metric in ["ApproximateNumberOfMessagesVisible", "Errors", "Throttles", "5xx", "APIThrottled", "UpstreamThrottles"] {
            #expect(watched.contains(metric), "no alarm on \(metric)")
        }
    }

    @Test func deploymentsAreGradualAndRolledBackByAlarmsThroughTheAlias() throws {
        let template = try Self.template()
        let resources = try #require(template["Resources"]?.objectValue)
        let globals = try #require(template["Globals"]?["Function"])
        #expect(globals["AutoPublishAlias"] == .string("live"))
        #expect(globals["Environment"]?["Variables"]?["METRICS_NAMESPACE"] == .object([("Ref", .string("MetricsNamespace"))]))
        #expect(template["Parameters"]?["DeploymentType"]?["Default"]?.stringValue?.hasPrefix("Canary") == true)
        let alarmNames = Set(resources.filter { $0.value["Type"] == .string("AWS::CloudWatch::Alarm") }.map(\.key))
        let functions = resources.filter { $0.value["Type"] == .string("AWS::Serverless::Function") }
        #expect(functions.count == 4)
        for (name, function) in functions {
            let preference = try #require(function["Properties"]?["DeploymentPreference"], "\(name) has no DeploymentPreference")
            #expect(preference["Type"] == .object([("Ref", .string("DeploymentType"))]))
            let triggers = (preference["Alarms"]?.arrayValue ?? []).compactMap { $0["Ref"]?.stringValue }
            #expect(triggers.contains("\(name)ErrorsAlarm") && triggers.contains("\(name)ThrottlesAlarm"), "\(name): \(triggers)")
            #expect(triggers.allSatisfy(alarmNames.contains), "\(name): \(triggers)")
        }
        // The explicit EventBridge rules and their permissions name the alias, not the function.
        for (name, resource) in resources where resource["Type"] == .string("AWS::Events::Rule") {
            for target in resource["Properties"]?["Targets"]?.arrayValue ?? [] {
                #expect(target["Arn"]?["Ref"]?.stringValue?.hasSuffix(".Alias") == true, "\(name) targets \(target["Arn"]?.compactText ?? "?")")
            }
        }
        for (name, resource) in resources where resource["Type"] == .string("AWS::Lambda::Permission") {
            #expect(resource["Properties"]?["FunctionName"]?["Ref"]?.stringValue?.hasSuffix(".Alias") == true, "\(name)")
        }
    }

    @Test func theDashboardIsValidJSONAndShowsEveryAlarm() throws {
        let resources = try #require(try Self.template()["Resources"])
        let body = try #require(resources["Dashboard"]?["Properties"]?["DashboardBody"]?["Sub"]?.stringValue)
        // ${…} are CloudFormation's substitutions; the rest must be JSON.
        var text = body
        while let start = text.range(of: "${"), let end = text[start.upperBound...].firstIndex(of: "}") {
            text.replaceSubrange(start.lowerBound...end, with: "X")
        }
        let dashboard = try JSONValue.parse(Array(text.utf8))
        let widgets = try #require(dashboard["widgets"]?.arrayValue)
        let alarmWidget = try #require(widgets.first { $0["type"] == .string("alarm") })
        let alarmCount = resources.objectValue?.filter { $0.value["Type"] == .string("AWS::CloudWatch::Alarm") }.count ?? 0
        #expect(alarmWidget["properties"]?["alarms"]?.arrayValue?.count == alarmCount)
        for name in ["ChatEventsSent", "TokensIssued", "UpstreamThrottles", "UpstreamErrors", "ColdStart", "Invites"] {
            #expect(body.contains(name), "the dashboard does not show \(name)")
        }
    }
}
