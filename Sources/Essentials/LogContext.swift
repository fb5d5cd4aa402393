import JSON

/// The keys Powertools for AWS Lambda puts on every structured log line (`service`, `cold_start`,
/// `function_request_id`, `xray_trace_id`), so tools and queries written for Powertools work on ours.
/// `level`, `message` and `timestamp` are in every JSON line already (`Log.formatLine`).
extension Log {
    /// What a worker's current invocation adds to its lines: the X-Ray trace id and whether it is the
    /// process's first invocation. Per thread, like `requestId`.
    public struct InvocationFields: Sendable {
        /// `Root=…` of the trace header (`1-5759e988-bd862e3fe1be46a994272793`), as Powertools writes it.
        public var xrayTraceId: String?
        public var coldStart: Bool

        public init(traceHeader: String?, coldStart: Bool) {
            xrayTraceId = Log.xrayRoot(traceHeader)
            self.coldStart = coldStart
        }
    }

    /// The calling thread's invocation fields (set by the runtime around each invocation).
    public static var invocation: InvocationFields? {
        get { currentInvocation.value }
        set { currentInvocation.value = newValue }
    }
    private static let currentInvocation = ThreadLocal<InvocationFields>()

    /// `service` of every JSON line: `POWERTOOLS_SERVICE_NAME`, else `ivs-chat-events` (set at start-up).
    nonisolated(unsafe) public static var service = MetricsConfiguration.defaultService
    /// `service` as a JSON string (computed once).
    nonisolated(unsafe) static var quotedService = JSONValue.quoted(MetricsConfiguration.defaultService)

    /// Sets `service` (call before any worker starts).
    public static func setService(_ name: String) {
        service = name
        quotedService = JSONValue.quoted(name)
    }

    /// `,"service":…,"cold_start":…,"function_request_id":…,"xray_trace_id":…` for a JSON line.
    static func powertoolsKeys(requestId: String?) -> String {
        var keys = ",\"service\":" + quotedService
        if let fields = invocation {
            keys += fields.coldStart ? ",\"cold_start\":true" : ",\"cold_start\":false"
            if let trace = fields.xrayTraceId { keys += ",\"xray_trace_id\":" + JSONValue.quoted(trace) }
        }
        if let requestId { keys += ",\"function_request_id\":" + JSONValue.quoted(requestId) }
        return keys
    }

    /// The `Root=` part of an X-Ray trace header (`Root=1-…;Parent=…;Sampled=1`); the header itself
    /// when it has no `Root=`; nil for nil or empty.
    public static func xrayRoot(_ header: String?) -> String? {
        guard let header, !header.isEmpty else { return nil }
        // Lambda's header starts with Root=: no splitting (this runs for every invocation).
        let utf8 = header.utf8
        if utf8.starts(with: "Root=".utf8) {
            let start = utf8.index(utf8.startIndex, offsetBy: 5)
            let end = utf8[start...].firstIndex(of: UInt8(ascii: ";")) ?? utf8.endIndex
            return String(header[start..<end])
        }
        for part in header.split(separator: ";") {
            let p = part.drop(while: { $0 == " " })
            if p.hasPrefix("Root=") { return String(p.dropFirst(5)) }
        }
        return header
    }

    /// The `level` of metric lines: INFO, or the configured minimum when that is higher, so Lambda's
    /// application log-level filter (which reads `level`) never drops the metrics.
    public static var metricsLevel: String { (level > .info ? level : .info).name }
}
