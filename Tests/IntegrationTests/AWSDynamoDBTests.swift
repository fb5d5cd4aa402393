import Foundation
import Testing
import AWSCore
import AWSServices
import Essentials
import JSON
import LocalHarness

/// Records requests and answers with scripted replies.
final class RecordingServer: @unchecked Sendable {
    private let lock = NSLock()
    private var requests: [ServerRequest] = []
    private var replies: [ServerReply] = []
    var server: HTTPServer!

    init() throws {
        server = try HTTPServer { [unowned self] request in
            lock.withLock {
                requests.append(request)
                return replies.isEmpty ? .json(200, "{}") : replies.removeFirst()
            }
        }
        keptAliveLock2.withLock { keptAlive2.append(self) }
    }

    func reply(_ r: ServerReply) { lock.withLock { replies.append(r) } }
    var received: [ServerRequest] { lock.withLock { requests } }
}

nonisolated(unsafe) private var keptAlive2: [RecordingServer] = []
private let keptAliveLock2 = NSLock()

@Suite(.serialized) struct AWSDynamoDBTests {
    static func client(_ server: RecordingServer) throws -> DynamoDBClient {
        let configuration = AWSClientConfiguration(
            credentials: AWSCredentials(accessKeyId: IVSStandIn.accessKeyId, secretAccessKey: IVSStandIn.secretAccessKey),
            region: IVSStandIn.region)
        let url = server.server.baseURL
        return try DynamoDBClient(configuration: configuration, lookup: { $0 == "AWS_ENDPOINT_URL" ? url : nil })
    }

    @Test func requestShapeHeadersAndSignature() throws {
        let server = try RecordingServer()
        let ddb = try Self.client(server)
        server.reply(.json(200, #"{"Item":{"pk":{"S":"invite#1"},"ttl":{"N":"1700000000"},"used":{"BOOL":false}}}"#))
        // The trace id comes from the call (the invocation's context), never from the process environment.
        Environment.set("_X_AMZN_TRACE_ID", "Root=1-00000000-000000000000000000000000;Sampled=0")
        defer { Environment.set("_X_AMZN_TRACE_ID", nil) }
        let item = try #require(try ddb.getItem(table: "invites", key: ["pk": DynamoDBValue.string("invite#1")], consistentRead: true,
                                                deadline: Clock.epochMilliseconds() + 5000,
                                                traceId: "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"))
        #expect(DynamoDBValue.string(from: item["pk"]) == "invite#1" && DynamoDBValue.int64(from: item["ttl"]) == 1_700_000_000)
        #expect(DynamoDBValue.bool(from: item["used"]) == false)

        let request = try #require(server.received.first)
        #expect(request.method == "POST" && request.path == "/")
        #expect(request.header("x-amz-target") == "DynamoDB_20120810.GetItem")
        #expect(request.header("content-type") == "application/x-amz-json-1.0")
        #expect(request.header("user-agent") == "ivs-chat-events/0.1.0")
        #expect(request.header("x-amzn-trace-id") == "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
        #expect(request.header("host") == "127.0.0.1:\(server.server.port)")
        #expect(IVSStandIn.signatureProblem(request, signingName: "dynamodb") == nil)
        #expect(request.header("authorization")?.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-target,") == true)
        let body = try JSONValue.parse(request.body)
        #expect(body == .object([("TableName", .string("invites")), ("Key", .object([("pk", DynamoDBValue.string("invite#1"))])),
                                 ("ConsistentRead", .bool(true))]))
    }

    @Test func operationsAndErrors() throws {
        let server = try RecordingServer()
        let ddb = try Self.client(server)
        let deadline = Clock.epochMilliseconds() + 5000
        try ddb.putItem(table: "t", item: ["pk": DynamoDBValue.string("a"), "n": DynamoDBValue.number(3)],
                        conditionExpression: "attribute_not_exists(pk)", deadline: deadline)
        server.reply(.json(200, #"{"Items":[{"pk":{"S":"a"}}],"Count":1,"LastEvaluatedKey":{"pk":{"S":"a"}}}"#))
        let page = try ddb.query(table: "t", keyConditionExpression: "pk = :p", expressionAttributeValues: [":p": DynamoDBValue.string("a")],
                                 limit: 1, deadline: deadline)
        #expect(page.items.count == 1 && page.lastEvaluatedKey?["pk"] == DynamoDBValue.string("a"))
        server.reply(.json(400, #"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}"#))
        do {
            try ddb.deleteItem(table: "t", key: ["pk": DynamoDBValue.string("a")], conditionExpression: "attribute_exists(pk)", deadline: deadline)
            Issue.record("expected an error")
        } catch {
            #expect(error.serviceError?.type == "ConditionalCheckFailedException" && error.attempts == 1)
        }
        #expect(server.received.map { $0.header("x-amz-target") ?? "" }
                == ["DynamoDB_20120810.PutItem", "DynamoDB_20120810.Query", "DynamoDB_20120810.DeleteItem"])
        let put = try JSONValue.parse(server.received[0].body)
        #expect(put["ConditionExpression"]?.stringValue == "attribute_not_exists(pk)" && put["Item"]?["n"] == DynamoDBValue.number(3))
    }
}
