#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// UTC calendar time, formatted the ways AWS wants it (ISO 8601, SigV4 basic format).
public struct UTCTimestamp: Sendable, Equatable {
    public var year, month, day, hour, minute, second, millisecond: Int

    /// The timestamp for `epochMilliseconds` since the Unix epoch.
    public init(epochMilliseconds ms: Int64) {
        var seconds = time_t(ms / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        year = Int(parts.tm_year) + 1900
        month = Int(parts.tm_mon) + 1
        day = Int(parts.tm_mday)
        hour = Int(parts.tm_hour)
        minute = Int(parts.tm_min)
        second = Int(parts.tm_sec)
        millisecond = Int(ms % 1000)
    }

    /// Now.
    public static func now() -> UTCTimestamp { UTCTimestamp(epochMilliseconds: Clock.epochMilliseconds()) }

    /// `20150830T123600Z`: the `X-Amz-Date` form.
    public var amzDate: String { "\(dateStamp)T\(pad(hour, 2))\(pad(minute, 2))\(pad(second, 2))Z" }
    /// `20150830`: the SigV4 credential-scope date.
    public var dateStamp: String { "\(pad(year, 4))\(pad(month, 2))\(pad(day, 2))" }
    /// `2015-08-30T12:36:00.123Z`. Written digit by digit: it stamps every log line.
    public var iso8601Milliseconds: String {
        String(unsafeUninitializedCapacity: 24) { out in
            var i = 0
            func put(_ value: Int, _ width: Int) {
                var v = value
                for k in stride(from: width - 1, through: 0, by: -1) { out[i + k] = UInt8(48 + v % 10); v /= 10 }
                i += width
            }
            func mark(_ byte: UInt8) { out[i] = byte; i += 1 }
            put(year, 4); mark(45); put(month, 2); mark(45); put(day, 2); mark(84)
            put(hour, 2); mark(58); put(minute, 2); mark(58); put(second, 2); mark(46); put(millisecond, 3); mark(90)
            return i
        }
    }
    /// `2015-08-30T12:36:00Z`.
    public var iso8601: String {
        "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff…][Z|±HH:MM]` into epoch seconds; nil when malformed.
    public static func parseISO8601(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        func num(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var v = 0
            for i in from..<(from + count) {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                v = v * 10 + Int(b[i] - 48)
            }
            return v
        }
        guard b.count >= 19, b[4] == 45, b[7] == 45, b[10] == 84 || b[10] == 116, b[13] == 58, b[16] == 58,
              let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2),
              let h = num(11, 2), let mi = num(14, 2), let s = num(17, 2),
              (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61 else { return nil }
        var i = 19
        if i < b.count, b[i] == 46 { i += 1; while i < b.count, b[i] >= 48, b[i] <= 57 { i += 1 } }
        var offset = 0
        if i < b.count {
            if b[i] == 90 || b[i] == 122 { i += 1 }
            else if b[i] == 43 || b[i] == 45, let oh = num(i + 1, 2), i + 3 < b.count, b[i + 3] == 58, let om = num(i + 4, 2) {
                offset = (oh * 3600 + om * 60) * (b[i] == 43 ? 1 : -1)
                i += 6
            } else { return nil }
        }
        guard i == b.count else { return nil }
        // Days from civil (Howard Hinnant's algorithm).
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        return Int64(days) * 86400 + Int64(h * 3600 + mi * 60 + s) - Int64(offset)
    }
}

@inline(__always)
private func pad(_ value: Int, _ width: Int) -> String {
    let s = String(value)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}
