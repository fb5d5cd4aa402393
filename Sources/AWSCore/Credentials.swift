import Essentials

/// AWS credentials: an access key, its secret and an optional session token.
/// Its `description` names the key's source and never shows the secret or the token.
public struct AWSCredentials: Sendable, CustomStringConvertible {
    public let accessKeyId: String
    public let secretAccessKey: Secret
    public let sessionToken: Secret?
    /// Where they were found (`environment`, or the shared credentials file and profile).
    public let source: String

    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil, source: String = "static") {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = Secret(secretAccessKey)
        self.sessionToken = sessionToken.flatMap { $0.isEmpty ? nil : Secret($0) }
        self.source = source
    }

    /// The secret parts, for scrubbing them out of text that echoes a request.
    public var secrets: [String] { [secretAccessKey.reveal] + (sessionToken.map { [$0.reveal] } ?? []) }

    public var description: String {
        "AWSCredentials(accessKeyId: \(accessKeyId), secretAccessKey: <redacted>, sessionToken: \(sessionToken == nil ? "none" : "<redacted>"), source: \(source))"
    }

    /// Reads credentials from the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN`), else from the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`,
    /// default `$HOME/.aws/credentials`, profile `AWS_PROFILE`, default `default`).
    /// `lookup` reads a variable (the process environment unless replaced, e.g. by tests).
    public static func resolve(lookup: (String) -> String? = Environment.nonEmpty) throws(AWSConfigurationError) -> AWSCredentials {
        if let id = lookup("AWS_ACCESS_KEY_ID"), let secret = lookup("AWS_SECRET_ACCESS_KEY") {
            return AWSCredentials(accessKeyId: id, secretAccessKey: secret, sessionToken: lookup("AWS_SESSION_TOKEN"), source: "environment")
        }
        let home = lookup("HOME")
        let path = lookup("AWS_SHARED_CREDENTIALS_FILE") ?? ((home ?? "~") + "/.aws/credentials")
        let profile = lookup("AWS_PROFILE") ?? "default"
        var whyNot = "file not readable"
        if let bytes = Files.read(path) {
            let section = iniSection(named: profile, in: String(decoding: bytes, as: UTF8.self))
            if let section, let id = section["aws_access_key_id"], let secret = section["aws_secret_access_key"], !id.isEmpty, !secret.isEmpty {
                return AWSCredentials(accessKeyId: id, secretAccessKey: secret,
                                      sessionToken: section["aws_session_token"] ?? section["aws_security_token"],
                                      source: "shared credentials file \(path) [\(profile)]")
            }
            whyNot = section == nil ? "no profile [\(profile)]" : "profile [\(profile)] lacks aws_access_key_id/aws_secret_access_key"
        }
        throw AWSConfigurationError(
            "no AWS credentials found: looked in the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY unset or empty) "
            + "and in the shared credentials file \(path) (\(whyNot))")
    }

    /// The `key = value` pairs of INI section `[name]`, or nil when there is no such section.
    static func iniSection(named name: String, in text: String) -> [String: String]? {
        var current: String?
        var found: [String: String]?
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let line = rawLine.trimmingSpaces
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                current = String(line.dropFirst().dropLast()).trimmingSpaces
                if current == name, found == nil { found = [:] }
                continue
            }
            guard current == name, let eq = line.firstIndex(of: "=") else { continue }
            found?[String(line[..<eq]).trimmingSpaces.lowercased()] = String(line[line.index(after: eq)...]).trimmingSpaces
        }
        return found
    }
}

/// The region to call: `AWS_REGION`, else `AWS_DEFAULT_REGION`.
public enum AWSRegion {
    public static func resolve(lookup: (String) -> String? = Environment.nonEmpty) throws(AWSConfigurationError) -> String {
        if let region = lookup("AWS_REGION") ?? lookup("AWS_DEFAULT_REGION") { return region }
        throw AWSConfigurationError("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)")
    }
}

/// Set-up is missing or wrong (credentials, region, endpoint URL): no request was made.
public struct AWSConfigurationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
