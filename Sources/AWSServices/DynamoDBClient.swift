import AWSCore
import Essentials
import JSON

/// A DynamoDB item: attribute name to value in DynamoDB's wire form (`{"S": "…"}`, `{"N": "1"}`, …).
public typealias DynamoDBItem = [String: JSONValue]

/// Builders and readers for DynamoDB attribute values in wire form.
public enum DynamoDBValue {
    public static func string(_ s: String) -> JSONValue { .object([("S", .string(s))]) }
    public static func number<I: BinaryInteger>(_ n: I) -> JSONValue { .object([("N", .string(String(n)))]) }
    public static func bool(_ b: Bool) -> JSONValue { .object([("BOOL", .bool(b))]) }

    /// The string of an `S` value.
    public static func string(from value: JSONValue?) -> String? { value?["S"]?.stringValue }
    /// The integer of an `N` value.
    public static func int64(from value: JSONValue?) -> Int64? { value?["N"]?.stringValue.flatMap { Int64($0) } }
    /// The boolean of a `BOOL` value.
    public static func bool(from value: JSONValue?) -> Bool? { value?["BOOL"]?.boolValue }
}

/// One page of `Query` results.
public struct DynamoDBQueryResult: Sendable {
    public let items: [DynamoDBItem]
    /// Where the next page starts; nil on the last page.
    public let lastEvaluatedKey: DynamoDBItem?
}

/// Amazon DynamoDB (JSON 1.0): `PutItem`, `GetItem`, `UpdateItem`, `Query`, `DeleteItem`.
public final class DynamoDBClient {
    public let client: AWSClient

    public init(client: AWSClient) { self.client = client }

    /// A client for the endpoint the environment names (`AWS_ENDPOINT_URL_DYNAMODB`, …).
    public convenience init(configuration: AWSClientConfiguration, lookup: (String) -> String? = Environment.nonEmpty) throws(AWSConfigurationError) {
        self.init(client: try AWSClient(service: .dynamoDB, configuration: configuration, lookup: lookup))
    }

    /// Writes `item` (optionally only when `conditionExpression` holds).
    public func putItem(table: String, item: DynamoDBItem, conditionExpression: String? = nil,
                        expressionAttributeNames: [String: String] = [:], expressionAttributeValues: DynamoDBItem = [:],
                        deadline: Int64, traceId: String? = nil, metrics: MetricsRecorder? = nil) throws(AWSError) {
        var input: [(key: String, value: JSONValue)] = [("TableName", .string(table)), ("Item", Self.encode(item))]
        Self.addExpressions(&input, condition: conditionExpression, names: expressionAttributeNames, values: expressionAttributeValues)
        _ = try client.call("PutItem", input: .object(input), deadline: deadline, traceId: traceId, metrics: metrics)
    }

    /// The item with `key`, or nil.
    public func getItem(table: String, key: DynamoDBItem, consistentRead: Bool = false, deadline: Int64, traceId: String? = nil, metrics: MetricsRecorder? = nil) throws(AWSError) -> DynamoDBItem? {
        var input: [(key: String, value: JSONValue)] = [("TableName", .string(table)), ("Key", Self.encode(key))]
        if consistentRead { input.append(("ConsistentRead", .bool(true))) }
        let output = try client.call("GetItem", input: .object(input), deadline: deadline, traceId: traceId, metrics: metrics)
        return output["Item"].map(Self.decode)
    }

    /// One page of items matching `keyConditionExpression`.
    public func query(table: String, indexName: String? = nil, keyConditionExpression: String,
                      expressionAttributeNames: [String: String] = [:], expressionAttributeValues: DynamoDBItem = [:],
                      limit: Int? = nil, scanIndexForward: Bool = true, exclusiveStartKey: DynamoDBItem? = nil,
                      consistentRead: Bool = false, deadline: Int64, traceId: String? = nil, metrics: MetricsRecorder? = nil) throws(AWSError) -> DynamoDBQueryResult {
        var input: [(key: String, value: JSONValue)] = [("TableName", .string(table))]
        if let indexName { input.append(("IndexName", .string(indexName))) }
        input.append(("KeyConditionExpression", .string(keyConditionExpression)))
        Self.addExpressions(&input, condition: nil, names: expressionAttributeNames, values: expressionAttributeValues)
        if let limit { input.append(("Limit", .int(limit))) }
        if !scanIndexForward { input.append(("ScanIndexForward", .bool(false))) }
        if consistentRead { input.append(("ConsistentRead", .bool(true))) }
        if let exclusiveStartKey { input.append(("ExclusiveStartKey", Self.encode(exclusiveStartKey))) }
        let output = try client.call("Query", input: .object(input), deadline: deadline, traceId: traceId, metrics: metrics)
        return DynamoDBQueryResult(items: (output["Items"]?.arrayValue ?? []).map(Self.decode),
                                   lastEvaluatedKey: output["LastEvaluatedKey"].map(Self.decode))
    }

    /// Applies `updateExpression` to the item with `key` (creating it when missing).
    public func updateItem(table: String, key: DynamoDBItem, updateExpression: String, conditionExpression: String? = nil,
                           expressionAttributeNames: [String: String] = [:], expressionAttributeValues: DynamoDBItem = [:],
                           deadline: Int64, traceId: String? = nil) throws(AWSError) {
        var input: [(key: String, value: JSONValue)] = [("TableName", .string(table)), ("Key", Self.encode(key)),
                                                        ("UpdateExpression", .string(updateExpression))]
        Self.addExpressions(&input, condition: conditionExpression, names: expressionAttributeNames, values: expressionAttributeValues)
        _ = try client.call("UpdateItem", input: .object(input), deadline: deadline, traceId: traceId)
    }

    /// Deletes the item with `key` (optionally only when `conditionExpression` holds).
    public func deleteItem(table: String, key: DynamoDBItem, conditionExpression: String? = nil,
                           expressionAttributeNames: [String: String] = [:], expressionAttributeValues: DynamoDBItem = [:],
                           deadline: Int64, traceId: String? = nil, metrics: MetricsRecorder? = nil) throws(AWSError) {
        var input: [(key: String, value: JSONValue)] = [("TableName", .string(table)), ("Key", Self.encode(key))]
        Self.addExpressions(&input, condition: conditionExpression, names: expressionAttributeNames, values: expressionAttributeValues)
        _ = try client.call("DeleteItem", input: .object(input), deadline: deadline, traceId: traceId, metrics: metrics)
    }

    static func encode(_ item: DynamoDBItem) -> JSONValue { .object(item.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }) }

    static func decode(_ value: JSONValue) -> DynamoDBItem {
        var item: DynamoDBItem = [:]
        for member in value.objectValue ?? [] { item[member.key] = member.value }
        return item
    }

    private static func addExpressions(_ input: inout [(key: String, value: JSONValue)], condition: String?,
                                       names: [String: String], values: DynamoDBItem) {
        if let condition { input.append(("ConditionExpression", .string(condition))) }
        if !names.isEmpty { input.append(("ExpressionAttributeNames", .stringMap(names))) }
        if !values.isEmpty { input.append(("ExpressionAttributeValues", encode(values))) }
    }
}
