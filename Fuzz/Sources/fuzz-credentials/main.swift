// The container credentials endpoint's answer (AWSCredentialsProvider.parse) and the ISO 8601 times
// it carries (UTCTimestamp.parseISO8601). Properties: a failure never echoes the secret key or token
// the answer held; what parses keeps the values exactly and never prints them; a time that parses is
// the epoch second a formatter gives back (for canonical `YYYY-MM-DDTHH:MM:SSZ` times of real dates).
@_spi(Fuzzing) import AWSCore
import Essentials
import FuzzSupport
import JSON

let target = "http://169.254.170.2/v2/credentials"

func daysIn(_ month: Int, _ year: Int) -> Int {
    switch month {
    case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
}

func checkTime(_ text: String) {
    guard let seconds = UTCTimestamp.parseISO8601(text) else { return }
    let b = Array(text.utf8)
    check(b.count >= 19, "\(text.debugDescription) parsed though too short")
    // Canonical times: the formatter gives the same text back.
    guard b.count == 20, b[10] == 84, b[19] == 90 else { return }
    let year = Int(String(decoding: b[0..<4], as: UTF8.self))!, month = Int(String(decoding: b[5..<7], as: UTF8.self))!
    let day = Int(String(decoding: b[8..<10], as: UTF8.self))!, second = Int(String(decoding: b[17..<19], as: UTF8.self))!
    guard year >= 1, day <= daysIn(month, year), second < 60 else { return }
    let back = UTCTimestamp(epochMilliseconds: seconds * 1000).iso8601
    check(back == text, "\(text) parsed as \(seconds), which is \(back)")
}

let template = "container credentials endpoint \(target): the answer lacks AccessKeyId or SecretAccessKey Expiration is not an ISO 8601 time"

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let body = Array(input(data, size))
    checkTime(String(decoding: body, as: UTF8.self))
    let json = try? JSONValue.parse(body)
    if let expiration = json?["Expiration"]?.stringValue { checkTime(expiration) }
    let secrets = [json?["SecretAccessKey"]?.stringValue, json?["Token"]?.stringValue].compactMap { $0 }.filter { $0.utf8.count >= 8 }
    do {
        let (credentials, expires) = try AWSCredentialsProvider.parse(body, from: target)
        check(credentials.accessKeyId == json?["AccessKeyId"]?.stringValue, "access key id changed")
        check(credentials.secretAccessKey.reveal == json?["SecretAccessKey"]?.stringValue, "secret key changed")
        check(credentials.sessionToken?.reveal == json?["Token"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }, "token changed")
        if let text = json?["Expiration"]?.stringValue { check(expires == UTCTimestamp.parseISO8601(text), "expiry changed") }
        let printed = "\(credentials)"
        // (The access key id and the source are printed by design: a "secret" that is part of them is not one.)
        let shown = credentials.accessKeyId + " " + credentials.source + " AWSCredentials(accessKeyId: secretAccessKey: <redacted>, sessionToken: none)"
        for secret in secrets where !containsBytes(shown.utf8, secret.utf8) {
            check(!containsBytes(printed.utf8, secret.utf8), "credentials print a secret")
        }
    } catch {
        let expiration = json?["Expiration"]?.stringValue ?? ""
        for secret in secrets where !containsBytes(template.utf8, secret.utf8) && !containsBytes(expiration.utf8, secret.utf8) {
            check(!containsBytes(error.description.utf8, secret.utf8), "the error echoes a secret: \(error.description.debugDescription)")
        }
    }
    return 0
}

runFuzzer(testOneInput)
