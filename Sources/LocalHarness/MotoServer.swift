import AWSCore
import AWSServices
import Essentials
import Foundation
import JSON
#if canImport(Glibc)
import Glibc
#endif

/// A local DynamoDB: `moto_server` (Python `moto[server]`) on a free loopback port, for the tests and
/// `local-invoke`. It starts the server, waits until it answers, creates tables, and stops it; the
/// server also exits by itself when the process that started it dies. moto checks no signatures, so
/// the `IVSStandIn` test credentials do.
///
/// The interpreter is `MOTO_PYTHON` (default `python3`); `pip install 'moto[server]'` provides moto.
public final class MotoServer: @unchecked Sendable {
    /// `http://127.0.0.1:<port>`.
    public let url: String
    public let process: LambdaProcess

    /// A moto server shared by everything in this process, started on first use and stopped at exit.
    public static func shared() throws -> MotoServer {
        try sharedLock.withLock {
            if let server = sharedServer { return server }
            let server = try MotoServer()
            sharedServer = server
            atexit { MotoServer.sharedServer?.stop() }
            return server
        }
    }
    nonisolated(unsafe) private static var sharedServer: MotoServer?
    private static let sharedLock = NSLock()

    /// Starts `moto_server` and waits (up to `startTimeoutSeconds`) until it answers.
    public init(startTimeoutSeconds: Double = 30) throws {
        let python = ProcessInfo.processInfo.environment["MOTO_PYTHON"] ?? "python3"
        let port = try Self.freePort()
        url = "http://127.0.0.1:\(port)"
        // Exits when its parent (this process) goes away, so no server outlives a crashed test run.
        let script = """
            import os, sys, threading, time
            parent = os.getppid()
            def watch():
                while os.getppid() == parent: time.sleep(0.5)
                os._exit(0)
            threading.Thread(target=watch, daemon=True).start()
            from moto.server import main
            main(["-H", "127.0.0.1", "-p", sys.argv[1]])
            """
        process = try LambdaProcess(command: ["/usr/bin/env", python, "-c", script, String(port)], environment: [:])
        let limit = Date(timeIntervalSinceNow: startTimeoutSeconds)
        while true {
            if (try? call("ListTables", .object([]), timeoutMilliseconds: 500)) != nil { return }
            guard process.isRunning, Date() < limit else {
                let output = process.lines.suffix(20).joined(separator: "\n")
                stop()
                throw ServerError("moto_server did not start on \(url) (is moto[server] installed for \(python)?)\n\(output)")
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    /// The variables that point DynamoDB clients at it.
    public var environment: [String: String] { ["AWS_ENDPOINT_URL_DYNAMODB": url] }

    /// A DynamoDB client for it (a new one each time: clients are not thread-safe).
    public func client() throws -> DynamoDBClient {
        DynamoDBClient(client: AWSClient(service: .dynamoDB, endpoint: try AWSEndpoint(url: url), configuration: Self.configuration))
    }

    /// Creates the invites table of `multihostInvite` (`inviteeId` + `stageArn`, TTL on `expiresAt`).
    public func createInvitesTable(_ name: String) throws {
        _ = try call("CreateTable", .object([
            ("TableName", .string(name)),
            ("AttributeDefinitions", .array([
                .object([("AttributeName", .string("inviteeId")), ("AttributeType", .string("S"))]),
                .object([("AttributeName", .string("stageArn")), ("AttributeType", .string("S"))]),
            ])),
            ("KeySchema", .array([
                .object([("AttributeName", .string("inviteeId")), ("KeyType", .string("HASH"))]),
                .object([("AttributeName", .string("stageArn")), ("KeyType", .string("RANGE"))]),
            ])),
            ("BillingMode", .string("PAY_PER_REQUEST")),
        ]))
        _ = try call("UpdateTimeToLive", .object([
            ("TableName", .string(name)),
            ("TimeToLiveSpecification", .object([("Enabled", .bool(true)), ("AttributeName", .string("expiresAt"))])),
        ]))
    }

    /// Creates the state table (`STATE_TABLE`): partition key `pk` (S), TTL `expiresAt`.
    public func createStateTable(_ name: String) throws {
        _ = try call("CreateTable", .object([
            ("TableName", .string(name)),
            ("AttributeDefinitions", .array([.object([("AttributeName", .string("pk")), ("AttributeType", .string("S"))])])),
            ("KeySchema", .array([.object([("AttributeName", .string("pk")), ("KeyType", .string("HASH"))])])),
            ("BillingMode", .string("PAY_PER_REQUEST")),
        ]))
        _ = try call("UpdateTimeToLive", .object([
            ("TableName", .string(name)),
            ("TimeToLiveSpecification", .object([("Enabled", .bool(true)), ("AttributeName", .string("expiresAt"))])),
        ]))
    }

    /// Every item of `table` (one Scan page), in DynamoDB's wire form.
    public func scan(_ table: String) throws -> [JSONValue] {
        try call("Scan", .object([("TableName", .string(table))]))["Items"]?.arrayValue ?? []
    }

    /// Calls a DynamoDB operation on it.
    public func call(_ operation: String, _ input: JSONValue, timeoutMilliseconds: Int64 = 5000) throws -> JSONValue {
        try client().client.call(operation, input: input, deadline: Clock.epochMilliseconds() + timeoutMilliseconds)
    }

    /// Stops the server.
    public func stop() { process.stop() }

    private static let configuration = AWSClientConfiguration(
        credentials: AWSCredentials(accessKeyId: IVSStandIn.accessKeyId, secretAccessKey: IVSStandIn.secretAccessKey),
        region: IVSStandIn.region, retry: RetryPolicy(maxAttempts: 1))

    /// A loopback port nobody listens on right now.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServerError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw ServerError("bind: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
