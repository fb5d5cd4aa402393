import AWSCore
import Foundation
import JSON

/// What API Gateway and EventBridge do for the functions on AWS, done locally on one loopback port
/// for the viewer page:
/// - serves the page's static files from `webRoot`, and `/config.js` (the page's settings);
/// - turns `/chat/…`, `/channel/…` and `/multihost/…` requests into HTTP API (payload 2.0) events for the API
///   function, with the JWT authorizer's claims, and its answers back into HTTP answers. Routes in
///   `publicRoutes` carry no claims (they have no authorizer on AWS); the others need
///   `Authorization: Bearer <token from /local/sign-in>` or get API Gateway's 401;
/// - `POST /local/sign-in` `{"userId", "username"?}` stands in for the sign-in (Cognito): an HS256
///   JWT signed with a key made for this run;
/// - `POST /local/events` takes an EventBridge event and invokes the function whose rule matches its
///   `detail-type`, as EventBridge would, answering with the function's outcome.
///
/// `/local/*` is for the gateway's own page and local tools only (`localOnlyProblem`): another web page
/// the developer has open must not sign in as someone or send events through it.
public final class LocalAPIGateway: @unchecked Sendable {
    /// A function behind the gateway; invocations are handed to it one at a time.
    public final class Target: @unchecked Sendable {
        let function: LocalFunction
        private let lock = NSLock()
        public init(_ function: LocalFunction) { self.function = function }
        func invoke(_ event: [UInt8]) -> RuntimeAPIEmulator.Outcome { lock.withLock { function.invoke(event, timeoutMilliseconds: 10_000) } }
    }

    private var server: HTTPServer?
    private let webRoot: String
    private let api: Target
    private let eventRules: [String: Target]
    private let publicRoutes: Set<String>
    private let pageConfig: JSONValue
    private let eventObserver: @Sendable (JSONValue) -> Void
    private let signingKey = Array(SecureRandom.hex(byteCount: 32).utf8)
    private let lock = NSLock()
    private var requestCount = 0

    /// `eventRules`: EventBridge `detail-type` → function; `pageConfig`: the object `/config.js` gives
    /// the page (as `window.IVS_CHAT_EVENTS_CONFIG`); `eventObserver` sees each event before its
    /// function does (what IVS itself knows when it emits the event, e.g. that a channel is live).
    public init(port: Int = 0, webRoot: String, api: Target, eventRules: [String: Target], publicRoutes: Set<String>,
                pageConfig: JSONValue, eventObserver: @escaping @Sendable (JSONValue) -> Void = { _ in }) throws {
        self.eventObserver = eventObserver
        self.webRoot = webRoot
        self.api = api
        self.eventRules = eventRules
        self.publicRoutes = publicRoutes
        self.pageConfig = pageConfig
        server = try HTTPServer(port: port) { [weak self] request in
            self?.handle(request) ?? .dropConnection
        }
    }

    /// `http://127.0.0.1:<port>`.
    public var url: String { server?.baseURL ?? "" }

    public func stop() { server?.stop() }

    /// A signed token for `userId`, as `/local/sign-in` gives it (`sub` and `username` claims).
    public func signIn(userId: String, username: String? = nil) -> String {
        let now = Int(Date().timeIntervalSince1970)
        let claims = JSONValue.object([("sub", .string(userId)), ("username", .string(username ?? userId)), ("iss", .string("ivs-chat-events-local")),
                                       ("iat", .int(now)), ("exp", .int(now + 12 * 3600))])
        let signingInput = Self.base64URL(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8)) + "." + Self.base64URL(Array(claims.compactText.utf8))
        return signingInput + "." + Self.base64URL(Digest.hmacSHA256(key: signingKey, data: Array(signingInput.utf8)))
    }

    /// The claims of a token this gateway signed and that has not expired, else nil.
    func verify(_ token: String) -> [(key: String, value: JSONValue)]? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else { return nil }
        let expected = Self.base64URL(Digest.hmacSHA256(key: signingKey, data: Array((parts[0] + "." + parts[1]).utf8)))
        guard expected == parts[2], let payload = Self.base64URLDecode(parts[1]),
              let claims = try? JSONValue.parse(payload), let members = claims.objectValue,
              let exp = claims["exp"]?.intValue, exp > Int(Date().timeIntervalSince1970) else { return nil }
        return members
    }

    // MARK: - Serving

    private func handle(_ request: ServerRequest) -> ServerReply {
        let path = request.path
        if path.hasPrefix("/chat/") || path.hasPrefix("/multihost/") || path.hasPrefix("/channel/") { return invokeAPI(request) }
        if path.hasPrefix("/local/"), let (status, message) = localOnlyProblem(request) {
            return .json(status, JSONValue.object([("message", .string(message))]).compactText)
        }
        switch (request.method, path) {
        case ("POST", "/local/sign-in"):
            guard let body = try? JSONValue.parse(request.body), let userId = body["userId"]?.stringValue, !userId.isEmpty, userId.count <= 128 else {
                return .json(400, #"{"message":"body must be {\"userId\": \"…\"} (1-128 characters)"}"#)
            }
            let token = signIn(userId: userId, username: body["username"]?.stringValue)
            return .json(200, JSONValue.object([("idToken", .string(token)), ("userId", .string(userId))]).compactText)
        case ("POST", "/local/events"):
            return deliverEvent(request.body)
        case ("GET", "/config.js"):
            return .respond(status: 200, headers: [("Content-Type", "text/javascript"), ("Cache-Control", "no-store")],
                            body: Array("window.IVS_CHAT_EVENTS_CONFIG = \(pageConfig.compactText);\n".utf8))
        case ("GET", _):
            return staticFile(path == "/" ? "/index.html" : path)
        default:
            return .json(404, #"{"message":"Not Found"}"#)
        }
    }

    /// The origins of this gateway's own page: loopback, on its port.
    var ownOrigins: [String] {
        let port = server?.port ?? 0
        return ["http://127.0.0.1:\(port)", "http://localhost:\(port)", "http://[::1]:\(port)"]
    }

    /// Why a `/local/*` request is refused, or nil. 403 for another origin: a browser names the page a
    /// request comes from in `Origin` (`null` when it will not say), and only this gateway's own page
    /// may sign in or send events. 403 for a `Host` that is not loopback (a DNS-rebound name). Without
    /// an `Origin` (`curl`, local tools) the body must be `application/json`, which no HTML form can send.
    func localOnlyProblem(_ request: ServerRequest) -> (status: Int, message: String)? {
        let port = server?.port ?? 0
        if let host = request.header("host")?.lowercased(), !["127.0.0.1:\(port)", "localhost:\(port)", "[::1]:\(port)"].contains(host) {
            return (403, "/local/* answers requests to this gateway's loopback address only (Host: \(host))")
        }
        if let origin = request.header("origin") {
            guard ownOrigins.contains(origin.lowercased()) else {
                return (403, "/local/* answers this gateway's own page only, not \(origin)")
            }
            return nil
        }
        guard request.method == "GET" || request.header("content-type")?.lowercased().split(separator: ";").first?
            .trimmingCharacters(in: .whitespaces) == "application/json" else {
            return (415, "/local/* takes Content-Type: application/json")
        }
        return nil
    }

    /// The HTTP API (payload format 2.0) event API Gateway would hand the function for a request;
    /// `authorizer` is the `requestContext.authorizer` object's members (empty: no authorizer).
    public static func httpAPIEvent(method: String, path: String, body: [UInt8], authorizer: [(key: String, value: JSONValue)] = [],
                                    requestId: String, query: String = "", headers: [(String, String)] = [],
                                    userAgent: String = "") -> JSONValue {
        var context: [(key: String, value: JSONValue)] = [
            ("accountId", .string("123456789012")), ("apiId", .string("local")), ("domainName", .string("127.0.0.1")),
            ("http", .object([("method", .string(method)), ("path", .string(path)), ("protocol", .string("HTTP/1.1")),
                              ("sourceIp", .string("127.0.0.1")), ("userAgent", .string(userAgent))])),
            ("requestId", .string(requestId)), ("routeKey", .string("\(method) \(path)")), ("stage", .string("$default")),
        ]
        if !authorizer.isEmpty { context.append(("authorizer", .object(authorizer))) }
        var event: [(key: String, value: JSONValue)] = [
            ("version", .string("2.0")), ("routeKey", .string("\(method) \(path)")), ("rawPath", .string(path)),
            ("rawQueryString", .string(query)), ("headers", .object(headers.map { ($0.0, .string($0.1)) })),
            ("requestContext", .object(context)), ("isBase64Encoded", .bool(false)),
        ]
        if !body.isEmpty { event.append(("body", .string(String(decoding: body, as: UTF8.self)))) }
        return .object(event)
    }

    private func invokeAPI(_ request: ServerRequest) -> ServerReply {
        let route = request.path
        var authorizer: [(key: String, value: JSONValue)] = []
        if request.method != "OPTIONS", !publicRoutes.contains(route) {
            // As API Gateway's JWT authorizer: no valid bearer token, no invocation.
            guard let header = request.header("authorization"), header.lowercased().hasPrefix("bearer "),
                  let claims = verify(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)) else {
                return .json(401, #"{"message":"Unauthorized"}"#, headers: [("www-authenticate", "Bearer")])
            }
            authorizer = [("jwt", .object([("claims", .object(claims)), ("scopes", .null)]))]
        }
        let requestId = lock.withLock { requestCount += 1; return "local-\(requestCount)" }
        let query = request.target.firstIndex(of: "?").map { String(request.target[request.target.index(after: $0)...]) } ?? ""
        let event = Self.httpAPIEvent(method: request.method, path: route, body: request.body, authorizer: authorizer, requestId: requestId,
                                      query: query, headers: request.headers.filter { $0.name != "authorization" }.map { ($0.name, $0.value) },
                                      userAgent: request.header("user-agent") ?? "")
        switch api.invoke(event.serialized()) {
        case let .response(bytes):
            guard let answer = try? JSONValue.parse(bytes), let status = answer["statusCode"]?.intValue else {
                return .json(502, #"{"message":"Internal Server Error"}"#)
            }
            let headers = (answer["headers"]?.objectValue ?? []).compactMap { m in m.value.stringValue.map { (m.key, $0) } }
            return .respond(status: status, headers: headers, body: Array((answer["body"]?.stringValue ?? "").utf8))
        default:
            // API Gateway's answer to a function error, time-out or crash.
            return .json(500, #"{"message":"Internal Server Error"}"#)
        }
    }

    private func deliverEvent(_ body: [UInt8]) -> ServerReply {
        guard let event = try? JSONValue.parse(body), let detailType = event["detail-type"]?.stringValue else {
            return .json(400, #"{"message":"body must be an EventBridge event with a detail-type"}"#)
        }
        guard let target = eventRules[detailType] else {
            return .json(404, JSONValue.object([("message", .string("no rule matches detail-type '\(detailType)'"))]).compactText)
        }
        eventObserver(event)
        let outcome = target.invoke(body)
        let result: JSONValue
        switch outcome {
        case let .response(bytes): result = .object([("outcome", .string("response")), ("response", (try? JSONValue.parse(bytes)) ?? .string(outcome.text))])
        case let .error(type, _): result = .object([("outcome", .string("error")), ("errorType", .string(type)), ("message", .string(outcome.text))])
        default: result = .object([("outcome", .string("failed")), ("message", .string(outcome.text))])
        }
        return .json(200, result.compactText)
    }

    private func staticFile(_ path: String) -> ServerReply {
        guard !path.contains(".."), let data = FileManager.default.contents(atPath: webRoot + path) else {
            return .respond(status: 404, headers: [("Content-Type", "text/plain")], body: Array("not found\n".utf8))
        }
        let types = ["html": "text/html; charset=utf-8", "js": "text/javascript", "css": "text/css", "webm": "video/webm",
                     "png": "image/png", "svg": "image/svg+xml", "json": "application/json"]
        let type = types[String(path.split(separator: ".").last ?? "")] ?? "application/octet-stream"
        return .respond(status: 200, headers: [("Content-Type", type), ("Cache-Control", "no-store")], body: Array(data))
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func base64URLDecode(_ text: String) -> [UInt8]? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s).map(Array.init)
    }
}
