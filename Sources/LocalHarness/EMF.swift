import JSON

/// CloudWatch Embedded Metric Format lines as the tests and `local-invoke` read them: validation
/// against the specification ("Specification: Embedded metric format", CloudWatch user guide) and a
/// one-line readable summary.
public enum EMF {
    /// The units CloudWatch accepts (`MetricDatum.Unit`).
    public static let units: Set<String> = [
        "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
        "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
        "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
        "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
    ]

    /// Whether `line` is meant as an EMF line (a JSON object with `_aws`).
    public static func isEMF(_ line: String) -> Bool {
        line.hasPrefix("{") && line.contains("\"_aws\"") && (try? JSONValue.parse(Array(line.utf8)))?["_aws"] != nil
    }

    /// One metric value as the line states it.
    public struct Datum: Equatable, CustomStringConvertible {
        public var namespace: String
        public var name: String
        public var unit: String?
        /// The dimension set's keys and values.
        public var dimensions: [String: String]
        public var values: [Double]

        public var description: String {
            let dims = dimensions.filter { $0.key != "service" }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            let shown = values.map { $0 == $0.rounded() ? String(Int64($0)) : String($0) }.joined(separator: ",")
            return "\(name)\(dims.isEmpty ? "" : "{\(dims)}")=\(shown)\(unit == "Milliseconds" ? "ms" : "")"
        }
    }

    /// The problems of `line` as an EMF line (empty: valid): the root is an object with `_aws`
    /// {`Timestamp` (epoch ms), `CloudWatchMetrics` [directives]}; each directive has a `Namespace`
    /// CloudWatch accepts, `Dimensions` (arrays of at most 30 keys, each naming a top-level string
    /// member), `Metrics` (at most 100, each `{Name, Unit?, StorageResolution?}` with a unit from
    /// CloudWatch's list, naming a top-level number or array of at most 100 numbers); and no metric
    /// is named twice in a line.
    public static func problems(_ line: String) -> [String] {
        guard let root = try? JSONValue.parse(Array(line.utf8)), root.objectValue != nil else { return ["not a JSON object"] }
        guard let aws = root["_aws"], aws.objectValue != nil else { return ["no _aws object"] }
        var problems: [String] = []
        if let t = aws["Timestamp"]?.doubleValue {
            if t != t.rounded() || t < 1_000_000_000_000 { problems.append("_aws.Timestamp \(t) is not epoch milliseconds") }
        } else { problems.append("_aws.Timestamp must be a number") }
        guard let directives = aws["CloudWatchMetrics"]?.arrayValue else { return problems + ["_aws.CloudWatchMetrics must be an array"] }
        if directives.isEmpty { problems.append("_aws.CloudWatchMetrics is empty") }
        var names: Set<String> = []
        for (i, d) in directives.enumerated() {
            let at = "CloudWatchMetrics[\(i)]"
            guard let namespace = d["Namespace"]?.stringValue else { problems.append("\(at).Namespace must be a string"); continue }
            if !validNamespace(namespace) { problems.append("\(at).Namespace '\(namespace)' is not one CloudWatch accepts") }
            guard let sets = d["Dimensions"]?.arrayValue else { problems.append("\(at).Dimensions must be an array"); continue }
            for set in sets {
                guard let keys = set.arrayValue else { problems.append("\(at).Dimensions holds a non-array"); continue }
                if keys.count > 30 { problems.append("\(at): a dimension set of \(keys.count) keys (at most 30)") }
                for key in keys {
                    guard let k = key.stringValue else { problems.append("\(at): a dimension key that is not a string"); continue }
                    guard let v = root[k] else { problems.append("\(at): dimension '\(k)' has no top-level member"); continue }
                    guard let s = v.stringValue else { problems.append("\(at): dimension '\(k)' is \(v.kindName), not a string"); continue }
                    if s.isEmpty || s.count > 1024 || s.hasPrefix(":") { problems.append("\(at): dimension '\(k)' value '\(s)' is not one CloudWatch accepts") }
                }
            }
            guard let metrics = d["Metrics"]?.arrayValue else { problems.append("\(at).Metrics must be an array"); continue }
            if metrics.count > 100 { problems.append("\(at): \(metrics.count) metrics (at most 100)") }
            for m in metrics {
                guard let name = m["Name"]?.stringValue, (1...255).contains(name.count) else { problems.append("\(at): a metric without a Name"); continue }
                if !names.insert(name).inserted { problems.append("metric '\(name)' is declared twice in one line") }
                if let unit = m["Unit"] {
                    if unit.stringValue.map(units.contains) != true { problems.append("metric '\(name)': unit \(unit.compactText) is not CloudWatch's") }
                }
                if let r = m["StorageResolution"], r.doubleValue != 1 && r.doubleValue != 60 { problems.append("metric '\(name)': StorageResolution must be 1 or 60") }
                switch root[name] {
                case .number?: break
                case let .array(items)?:
                    if items.count > 100 || items.isEmpty { problems.append("metric '\(name)': \(items.count) values (1-100)") }
                    if items.contains(where: { $0.doubleValue == nil }) { problems.append("metric '\(name)': a value that is not a number") }
                case let other?: problems.append("metric '\(name)' is \(other.kindName), not a number")
                case nil: problems.append("metric '\(name)' has no top-level member")
                }
            }
        }
        return problems
    }

    /// Every metric value of a valid line, once per dimension set.
    public static func data(_ line: String) -> [Datum] {
        guard let root = try? JSONValue.parse(Array(line.utf8)), let directives = root["_aws"]?["CloudWatchMetrics"]?.arrayValue else { return [] }
        var out: [Datum] = []
        for d in directives {
            let namespace = d["Namespace"]?.stringValue ?? ""
            for set in d["Dimensions"]?.arrayValue ?? [] {
                var dims: [String: String] = [:]
                for key in set.arrayValue ?? [] { if let k = key.stringValue { dims[k] = root[k]?.stringValue ?? "" } }
                for m in d["Metrics"]?.arrayValue ?? [] {
                    guard let name = m["Name"]?.stringValue else { continue }
                    let values = root[name].map { v in v.arrayValue?.compactMap(\.doubleValue) ?? [v.doubleValue].compactMap { $0 } } ?? []
                    out.append(Datum(namespace: namespace, name: name, unit: m["Unit"]?.stringValue, dimensions: dims, values: values))
                }
            }
        }
        return out
    }

    /// `◆ metrics <namespace> [service]: ChatEventsSent{EventName=STREAM_STARTED}=1 …`: each metric once,
    /// under its most specific dimension set; nil for a line that is not EMF.
    public static func summary(_ line: String) -> String? {
        guard isEMF(line), let root = try? JSONValue.parse(Array(line.utf8)) else { return nil }
        var seen: Set<String> = []
        var parts: [String] = []
        var namespace = ""
        for datum in data(line).sorted(by: { $0.dimensions.count > $1.dimensions.count }) where seen.insert(datum.name).inserted {
            namespace = datum.namespace
            parts.append(datum.description)
        }
        // Keep catalogue order as written.
        let order = (root["_aws"]?["CloudWatchMetrics"]?.arrayValue ?? []).flatMap { $0["Metrics"]?.arrayValue ?? [] }.compactMap { $0["Name"]?.stringValue }
        parts.sort { a, b in
            (order.firstIndex { a.hasPrefix($0 + "{") || a.hasPrefix($0 + "=") } ?? 0) < (order.firstIndex { b.hasPrefix($0 + "{") || b.hasPrefix($0 + "=") } ?? 0)
        }
        let problems = problems(line)
        return "◆ metrics \(namespace) [\(root["service"]?.stringValue ?? "?")]: " + parts.joined(separator: " ")
            + (problems.isEmpty ? "" : "  ✘ INVALID EMF: " + problems.joined(separator: "; "))
    }

    static func validNamespace(_ s: String) -> Bool {
        guard (1...255).contains(s.utf8.count), !s.hasPrefix("AWS/") else { return false }
        return s.utf8.allSatisfy { c in
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 46 || c == 45 || c == 95 || c == 47 || c == 35 || c == 58
        }
    }
}

extension JSONValue {
    /// The number as a `Double`, if it is a number.
    fileprivate var doubleValue: Double? { if case let .number(text) = self { return Double(text) }; return nil }
}
