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
    private var records: [(metric: Metric, value: String?, amount: Double)] = []

    public init(configuration: MetricsConfiguration) {
        self.configuration = configuration
        records.reserveCapacity(16)
    }

    /// Adds `amount` to `metric` (for `value` of its dimension; ignored for a metric without one).
    @inline(__always)
    public func add(_ metric: Metric, _ amount: Double = 1, _ value: String? = nil) {
        records.append((metric, metric.dimension == .none ? nil : value, amount))
    }

    /// Whether anything was recorded since the last `reset`.
    public var isEmpty: Bool { records.isEmpty }

    /// What was recorded: each metric's sum, per value of its dimension (tests and tools).
    public var totals: [String: Double] {
        var t: [String: Double] = [:]
        for r in records { t[r.metric.name + (r.value.map { "{\($0)}" } ?? ""), default: 0] += r.amount }
        return t
    }

    /// Forgets what was recorded (keeps its storage), for the next invocation.
    public func reset() { records.removeAll(keepingCapacity: true) }

    /// The EMF line for what was recorded, with the Powertools log keys beside the metrics; nil when
    /// nothing was (or metrics are disabled). `level` is the line's `level` (so Lambda's log-level
    /// filter keeps it: see `Log.metricsLevel`).
    public func emfLine(epochMilliseconds: Int64, timestamp: String, level: String, requestId: String?,
                        traceId: String?, coldStart: Bool) -> String? {
        guard configuration.enabled, !records.isEmpty else { return nil }
        let service = JSONValue.quoted(configuration.service)
        var directives = ""
        var members = ""
        for dimension in MetricDimension.allCases {
            // The metrics of this dimension, in catalog order, with their sums; the distinct values.
            var sums: [(Metric, Double)] = []
            var values: [String] = []
            for r in records where r.metric.dimension == dimension {
                if let i = sums.firstIndex(where: { $0.0 == r.metric }) { sums[i].1 += r.amount } else { sums.append((r.metric, r.amount)) }
                if let v = r.value, !values.contains(v) { values.append(v) }
            }
            if sums.isEmpty { continue }
            var sets = "[[\"service\"]]"
            if let key = dimension.key {
                if values.count == 1 {
                    sets = "[[\"service\",\"\(key)\"],[\"service\"]]"
                    members += ",\"\(key)\":" + JSONValue.quoted(Self.dimensionValue(values[0]))
                } else if values.count > 1 {
                    members += ",\"\(key)Breakdown\":{"
                    for (i, v) in values.enumerated() {
                        if i > 0 { members += "," }
                        members += JSONValue.quoted(Self.dimensionValue(v)) + ":{"
                        var first = true
                        for (metric, _) in sums {
                            let amount = records.reduce(0.0) { $1.metric == metric && $1.value == v ? $0 + $1.amount : $0 }
                            if amount == 0 && !records.contains(where: { $0.metric == metric && $0.value == v }) { continue }
                            members += (first ? "" : ",") + "\"\(metric.name)\":" + Self.number(amount)
                            first = false
                        }
                        members += "}"
                    }
                    members += "}"
                }
            }
            if !directives.isEmpty { directives += "," }
            directives += "{\"Namespace\":" + JSONValue.quoted(configuration.namespace) + ",\"Dimensions\":" + sets + ",\"Metrics\":["
            for (i, (metric, amount)) in sums.enumerated() {
                directives += (i > 0 ? "," : "") + "{\"Name\":\"\(metric.name)\",\"Unit\":\"\(metric.unit)\"}"
                members += ",\"\(metric.name)\":" + Self.number(amount)
            }
            directives += "]}"
        }
        var line = "{\"_aws\":{\"Timestamp\":\(epochMilliseconds),\"CloudWatchMetrics\":[" + directives + "]},\"service\":" + service
        line += members
        line += ",\"level\":\"\(level)\",\"timestamp\":\"\(timestamp)\",\"message\":\"metrics\",\"cold_start\":\(coldStart)"
        if let requestId {
            let quoted = JSONValue.quoted(requestId)
            line += ",\"requestId\":" + quoted + ",\"function_request_id\":" + quoted
        }
        if let traceId = Log.xrayRoot(traceId) { line += ",\"xray_trace_id\":" + JSONValue.quoted(traceId) }
        return line + "}"
    }

    /// A dimension value CloudWatch takes: 1-1024 characters (longer ones cut, an empty one `none`).
    static func dimensionValue(_ v: String) -> String {
        if v.isEmpty { return "none" }
        return v.utf8.count > 250 ? String(v.prefix(250)) : v
    }

    /// A whole number without a fraction, else up to 3 decimals.
    static func number(_ d: Double) -> String {
        if d.isFinite, d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        guard d.isFinite else { return "0" }
        return String((d * 1000).rounded() / 1000)
    }
}
