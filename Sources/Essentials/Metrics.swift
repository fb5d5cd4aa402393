import JSON

/// What the functions count, as CloudWatch metrics written in the Embedded Metric Format (EMF): a log
/// line per invocation, no API call, no SDK. Each metric has one fixed unit and at most one dimension
/// besides `service`, and every dimension's values are bounded (event names, token kinds, AWS operation
/// names, handler names): never a user, room, stage or channel id.
public enum Metric: Int, CaseIterable, Sendable {
    /// Chat events sent (`SendEvent` answered), by `EventName`.
    case chatEventsSent
    /// Stream chat events whose attributes had to be reduced to fit 1 KB, by `EventName`.
    case chatEventsTruncated
    /// Chat events that could not be sent (the invocation failed, or the invite was saved without its event), by `EventName`.
    case chatEventsFailed
    /// IVS Stage Update events (participant published or unpublished) handled.
    case stageUpdates
    /// Invites made, invites joined, participants kicked, invites cancelled.
    case invites, joins, kicks, cancels
    /// Participant and chat tokens issued, by `TokenKind`.
    case tokensIssued
    /// Moderation decisions, by `Result`.
    case moderationResults
    /// AWS answers that were throttling errors (each attempt, retried or not), by `Operation`.
    case upstreamThrottles
    /// AWS calls that failed for good (5xx, transport, deadline, credentials, unexpected 4xx), by `Operation`.
    case upstreamErrors
    /// HTTP API requests answered, and of those (0 or 1 each, so the average is the rate) the 429s and 5xx.
    case apiRequests, apiThrottled, apiServerErrors
    /// 1 on the first invocation of a process, with `InitDuration`, by `Handler`.
    case coldStart
    /// From the runtime's start to its first `/next`: the part of Lambda's Init Duration that is ours.
    case initDuration

    /// The metric's name in CloudWatch.
    public var name: String {
        switch self {
        case .chatEventsSent: "ChatEventsSent"
        case .chatEventsTruncated: "ChatEventsTruncated"
        case .chatEventsFailed: "ChatEventsFailed"
        case .stageUpdates: "StageUpdates"
        case .invites: "Invites"
        case .joins: "Joins"
        case .kicks: "Kicks"
        case .cancels: "Cancels"
        case .tokensIssued: "TokensIssued"
        case .moderationResults: "ModerationResults"
        case .upstreamThrottles: "UpstreamThrottles"
        case .upstreamErrors: "UpstreamErrors"
        case .apiRequests: "APIRequests"
        case .apiThrottled: "APIThrottled"
        case .apiServerErrors: "APIServerErrors"
        case .coldStart: "ColdStart"
        case .initDuration: "InitDuration"
        }
    }

    /// Its unit (one of CloudWatch's).
    public var unit: String { self == .initDuration ? "Milliseconds" : "Count" }

    /// The dimension its values are broken down by (besides `service`).
    public var dimension: MetricDimension {
        switch self {
        case .chatEventsSent, .chatEventsTruncated, .chatEventsFailed: .eventName
        case .tokensIssued: .tokenKind
        case .moderationResults: .result
        case .upstreamThrottles, .upstreamErrors: .operation
        case .coldStart, .initDuration: .handler
        case .stageUpdates, .invites, .joins, .kicks, .cancels, .apiRequests, .apiThrottled, .apiServerErrors: .none
        }
    }
}

/// The dimension of a metric, besides `service` (which every metric has).
public enum MetricDimension: Int, CaseIterable, Sendable {
    case none, handler, eventName, tokenKind, operation, result

    /// Its key in the EMF line (nil: `service` alone).
    public var key: String? {
        switch self {
        case .none: nil
        case .handler: "Handler"
        case .eventName: "EventName"
        case .tokenKind: "TokenKind"
        case .operation: "Operation"
        case .result: "Result"
        }
    }
}

/// Where metrics go: the namespace and the `service` dimension, read once at start-up.
public struct MetricsConfiguration: Sendable {
    /// The default namespace when neither `METRICS_NAMESPACE` nor `POWERTOOLS_METRICS_NAMESPACE` is set.
    public static let defaultNamespace = "IVSChatEvents"
    /// The default `service` when `POWERTOOLS_SERVICE_NAME` is unset.
    public static let defaultService = "ivs-chat-events"

    public var namespace: String
    public var service: String
    /// False with `METRICS_DISABLED=true` (or Powertools' `POWERTOOLS_METRICS_DISABLED=true`): no EMF lines.
    public var enabled: Bool

    public init(namespace: String = defaultNamespace, service: String = defaultService, enabled: Bool = true) {
        self.namespace = namespace
        self.service = service
        self.enabled = enabled
    }

    /// `METRICS_NAMESPACE` (else `POWERTOOLS_METRICS_NAMESPACE`, else `IVSChatEvents`), `POWERTOOLS_SERVICE_NAME`
    /// (else `ivs-chat-events`), `METRICS_DISABLED` / `POWERTOOLS_METRICS_DISABLED`. A namespace CloudWatch
    /// would refuse (over 255 characters, or a character outside `[A-Za-z0-9.\-_/#:]`, or starting with `AWS/`)
    /// falls back to the default, with a warning.
    public static func fromEnvironment(lookup: (String) -> String? = Environment.nonEmpty) -> MetricsConfiguration {
        var namespace = lookup("METRICS_NAMESPACE") ?? lookup("POWERTOOLS_METRICS_NAMESPACE") ?? defaultNamespace
        if !isValidNamespace(namespace) {
            Log.warn("metrics namespace '\(namespace)' is not one CloudWatch accepts: using \(defaultNamespace)")
            namespace = defaultNamespace
        }
        var service = lookup("POWERTOOLS_SERVICE_NAME") ?? defaultService
        if service.utf8.count > 250 { service = String(service.prefix(250)) }
        let disabled = (lookup("METRICS_DISABLED") ?? lookup("POWERTOOLS_METRICS_DISABLED"))?.lowercased() == "true"
        return MetricsConfiguration(namespace: namespace, service: service, enabled: !disabled)
    }

    /// CloudWatch's rule for a namespace: 1-255 of `0-9A-Za-z.-_/#:`, not starting with `AWS/`.
    public static func isValidNamespace(_ s: String) -> Bool {
        guard (1...255).contains(s.utf8.count), !s.hasPrefix("AWS/") else { return false }
        return s.utf8.allSatisfy { c in
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 46 || c == 45 || c == 95 || c == 47 || c == 35 || c == 58
        }
    }
}

/// One invocation's metrics, written as one EMF line when it ends.
///
/// Each runtime worker owns one recorder and hands it to its handler through the invocation's context
/// (`InvocationContext.metrics`, and from there `AWSCallContext.metrics`): never a global, so the
/// concurrent invocations of Lambda Managed Instances (one per worker thread) each count their own.
/// A recorder is used by one thread at a time (its worker's), hence `@unchecked Sendable`.
///
/// One line per invocation, and a dimension has one value per line (EMF takes its value from the line's
/// top-level member of that name). Each metric is written under two dimension sets, `[service, <key>]` and
/// `[service]`. When one invocation records two values of one dimension (two AWS operations throttled, say),
/// that dimension's metrics are written under `[service]` alone, as their sums (so totals, and the alarms on
/// them, stay exact), and the per-value breakdown goes in the same line as a plain member, e.g.
/// `"OperationBreakdown":{"GetStage":{"UpstreamThrottles":1},"SendEvent":{"UpstreamThrottles":2}}`, which
/// Logs Insights can read though CloudWatch Metrics does not. The per-operation metric then misses that
/// invocation's counts: rare (most invocations make one or two AWS calls) and said in the README.
public final class MetricsRecorder: @unchecked Sendable {
    public let configuration: MetricsConfiguration
    /// Each add, in order (for the per-value breakdown and `totals`).
    private var records: [(metric: Metric, value: String?, amount: Double)] = []
    /// Each metric's sum, and which metrics were recorded (bit `rawValue`).
    private var sums = [Double](repeating: 0, count: Metric.allCases.count)
    private var touched: UInt32 = 0
    /// Per dimension: its first value, and whether a second, different one came (bit `rawValue`).
    private var firstValues = [String?](repeating: nil, count: MetricDimension.allCases.count)
    private var multiValued: UInt32 = 0
    /// `{"Namespace":"…","Dimensions":` and `,"service":"…"`, made once.
    private let directiveStart: [UInt8]
    private let serviceMember: [UInt8]
    private var buffer: [UInt8] = []

    public init(configuration: MetricsConfiguration) {
        self.configuration = configuration
        records.reserveCapacity(16)
        buffer.reserveCapacity(1024)
        var start = Array(#"{"Namespace":"#.utf8)
        JSONValue.writeString(configuration.namespace, to: &start)
        start += Array(#","Dimensions":"#.utf8)
        directiveStart = start
        var service = Array(#","service":"#.utf8)
        JSONValue.writeString(configuration.service, to: &service)
        serviceMember = service
    }

    /// Adds `amount` to `metric` (for `value` of its dimension; ignored for a metric without one).
    public func add(_ metric: Metric, _ amount: Double = 1, _ value: String? = nil) {
        let dimension = metric.dimension
        let v = dimension == .none ? nil : value
        records.append((metric, v, amount))
        sums[metric.rawValue] += amount
        touched |= 1 << UInt32(metric.rawValue)
        if let v {
            if let first = firstValues[dimension.rawValue] {
                if first != v { multiValued |= 1 << UInt32(dimension.rawValue) }
            } else {
                firstValues[dimension.rawValue] = v
            }
        }
    }

    /// Whether anything was recorded since the last `reset`.
    public var isEmpty: Bool { touched == 0 }

    /// What was recorded: each metric's sum, per value of its dimension (tests and tools).
    public var totals: [String: Double] {
        var t: [String: Double] = [:]
        for r in records { t[r.metric.name + (r.value.map { "{\($0)}" } ?? ""), default: 0] += r.amount }
        return t
    }

    /// Forgets what was recorded (keeps its storage), for the next invocation.
    public func reset() {
        guard touched != 0 else { return }
        records.removeAll(keepingCapacity: true)
        for i in sums.indices { sums[i] = 0 }
        for i in firstValues.indices { firstValues[i] = nil }
        touched = 0
        multiValued = 0
    }

    /// The EMF line for what was recorded, with the Powertools log keys beside the metrics; nil when
    /// nothing was (or metrics are disabled). `level` is the line's `level` (so Lambda's log-level
    /// filter keeps it: see `Log.metricsLevel`). Written byte by byte into a kept buffer: it runs once
    /// per invocation (a few microseconds: BENCHMARKS.md).
    public func emfLine(epochMilliseconds: Int64, level: String, requestId: String?, traceId: String?, coldStart: Bool) -> String? {
        guard configuration.enabled, touched != 0 else { return nil }
        buffer.removeAll(keepingCapacity: true)
        buffer.append(contentsOf: Self.lineStart)
        Self.writeInteger(epochMilliseconds, to: &buffer)
        buffer.append(contentsOf: Self.directivesStart)
        var first = true
        for dimension in MetricDimension.allCases where Self.dimensionMask[dimension.rawValue] & touched != 0 {
            if !first { buffer.append(44) }
            first = false
            buffer.append(contentsOf: directiveStart)
            let single = firstValues[dimension.rawValue] != nil && multiValued & (1 << UInt32(dimension.rawValue)) == 0
            buffer.append(contentsOf: single ? Self.keyedSets[dimension.rawValue] : Self.serviceSet)
            buffer.append(contentsOf: Self.metricsStart)
            var firstMetric = true
            for metric in Self.metricsOf[dimension.rawValue] where touched & (1 << UInt32(metric.rawValue)) != 0 {
                if !firstMetric { buffer.append(44) }
                firstMetric = false
                buffer.append(contentsOf: Self.declarations[metric.rawValue])
            }
            buffer.append(contentsOf: Self.directiveEnd)
        }
        buffer.append(contentsOf: Self.directivesEnd)
        buffer.append(contentsOf: serviceMember)
        for dimension in MetricDimension.allCases where Self.dimensionMask[dimension.rawValue] & touched != 0 {
            guard let key = dimension.key, let value = firstValues[dimension.rawValue] else { continue }
            if multiValued & (1 << UInt32(dimension.rawValue)) == 0 {
                buffer.append(contentsOf: Self.memberKeys[dimension.rawValue])
                JSONValue.writeString(Self.dimensionValue(value), to: &buffer)
            } else {
                writeBreakdown(dimension, key: key)
            }
        }
        for metric in Metric.allCases where touched & (1 << UInt32(metric.rawValue)) != 0 {
            buffer.append(contentsOf: Self.metricKeys[metric.rawValue])
            Self.writeNumber(sums[metric.rawValue], to: &buffer)
        }
        buffer.append(contentsOf: Self.levelKey)
        buffer.append(contentsOf: level.utf8)
        buffer.append(contentsOf: Self.timestampKey)
        buffer.append(contentsOf: UTCTimestamp(epochMilliseconds: epochMilliseconds).iso8601Milliseconds.utf8)
        buffer.append(contentsOf: coldStart ? Self.coldStartTrue : Self.coldStartFalse)
        if let requestId {
            let at = buffer.count
            buffer.append(contentsOf: Self.requestIdKey)
            JSONValue.writeString(requestId, to: &buffer)
            let quoted = buffer[(at + Self.requestIdKey.count)...]
            buffer.append(contentsOf: Self.functionRequestIdKey)
            buffer.append(contentsOf: Array(quoted))
        }
        if let traceId = Log.xrayRoot(traceId) {
            buffer.append(contentsOf: Self.traceKey)
            JSONValue.writeString(traceId, to: &buffer)
        }
        buffer.append(125)
        return String(decoding: buffer, as: UTF8.self)
    }

    /// `,"<Key>Breakdown":{"<value>":{"<metric>":n,…},…}`: the rare invocation with two values of a dimension.
    private func writeBreakdown(_ dimension: MetricDimension, key: String) {
        var values: [String] = []
        for r in records where r.metric.dimension == dimension { if let v = r.value, !values.contains(v) { values.append(v) } }
        buffer.append(contentsOf: Array(",\"\(key)Breakdown\":{".utf8))
        for (i, v) in values.enumerated() {
            if i > 0 { buffer.append(44) }
            JSONValue.writeString(Self.dimensionValue(v), to: &buffer)
            buffer.append(contentsOf: [58, 123])
            var firstMetric = true
            for metric in Self.metricsOf[dimension.rawValue] {
                let mine = records.filter { $0.metric == metric && $0.value == v }
                if mine.isEmpty { continue }
                if !firstMetric { buffer.append(44) }
                firstMetric = false
                buffer.append(contentsOf: Array(Self.metricKeys[metric.rawValue].dropFirst()))
                Self.writeNumber(mine.reduce(0) { $0 + $1.amount }, to: &buffer)
            }
            buffer.append(125)
        }
        buffer.append(125)
    }

    // MARK: - The line's fixed parts, made once

    private static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
    private static let lineStart = bytes(#"{"_aws":{"Timestamp":"#)
    private static let directivesStart = bytes(#","CloudWatchMetrics":["#)
    private static let directivesEnd = bytes("]}")
    private static let metricsStart = bytes(#","Metrics":["#)
    private static let directiveEnd = bytes("]}")
    private static let serviceSet = bytes(#"[["service"]]"#)
    /// Per dimension: `[["service","<Key>"],["service"]]`.
    private static let keyedSets: [[UInt8]] = MetricDimension.allCases.map { d in
        d.key.map { bytes(#"[["service",""# + $0 + #""],["service"]]"#) } ?? serviceSet
    }
    /// Per dimension: `,"<Key>":`.
    private static let memberKeys: [[UInt8]] = MetricDimension.allCases.map { bytes(",\"" + ($0.key ?? "") + "\":") }
    /// Per metric: `{"Name":"…","Unit":"…"}` and `,"<Name>":`.
    private static let declarations: [[UInt8]] = Metric.allCases.map { bytes(#"{"Name":""# + $0.name + #"","Unit":""# + $0.unit + #""}"#) }
    private static let metricKeys: [[UInt8]] = Metric.allCases.map { bytes(",\"" + $0.name + "\":") }
    /// Per dimension: its metrics, and their bits.
    private static let metricsOf: [[Metric]] = MetricDimension.allCases.map { d in Metric.allCases.filter { $0.dimension == d } }
    private static let dimensionMask: [UInt32] = metricsOf.map { $0.reduce(0) { $0 | 1 << UInt32($1.rawValue) } }
    private static let levelKey = bytes(#","level":""#)
    private static let timestampKey = bytes(#"","timestamp":""#)
    private static let coldStartTrue = bytes(#"","message":"metrics","cold_start":true"#)
    private static let coldStartFalse = bytes(#"","message":"metrics","cold_start":false"#)
    private static let requestIdKey = bytes(#","requestId":"#)
    private static let functionRequestIdKey = bytes(#","function_request_id":"#)
    private static let traceKey = bytes(#","xray_trace_id":"#)

    /// A dimension value CloudWatch takes: 1-1024 characters (longer ones cut, an empty one `none`).
    static func dimensionValue(_ v: String) -> String {
        if v.isEmpty { return "none" }
        return v.utf8.count > 250 ? String(v.prefix(250)) : v
    }

    /// A whole number without a fraction, else up to 3 decimals.
    static func writeNumber(_ d: Double, to out: inout [UInt8]) {
        if d.isFinite, d == d.rounded(), abs(d) < 1e15 { writeInteger(Int64(d), to: &out); return }
        out.append(contentsOf: (d.isFinite ? String((d * 1000).rounded() / 1000) : "0").utf8)
    }

    static func writeInteger(_ n: Int64, to out: inout [UInt8]) {
        if n < 0 { out.append(45) }
        var v = n.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat { d[19 - count] = UInt8(48 + v % 10); v /= 10; count += 1 } while v > 0
            out.append(contentsOf: d[(20 - count)...])
        }
    }
}
