import AWSCore
import Essentials
import JSON

/// A channel's live stream, as `GetStream` shows it.
public struct LiveStream: Sendable, Equatable {
    public let channelArn: String
    public let streamId: String?
    /// `LIVE` or `OFFLINE`.
    public let state: String
    /// ISO 8601: when the stream started.
    public let startTime: String?

    public init(channelArn: String, streamId: String?, state: String, startTime: String?) {
        self.channelArn = channelArn
        self.streamId = streamId
        self.state = state
        self.startTime = startTime
    }
}

/// Amazon IVS low-latency streaming (channels): `GetStream`, `ListStreams`.
public final class IVSClient {
    public let client: AWSClient

    public init(client: AWSClient) { self.client = client }

    /// A client for the endpoint the environment names (`AWS_ENDPOINT_URL_IVS`, …).
    public convenience init(configuration: AWSClientConfiguration, lookup: (String) -> String? = Environment.nonEmpty) throws(AWSConfigurationError) {
        self.init(client: try AWSClient(service: .ivs, configuration: configuration, lookup: lookup))
    }

    /// The channel's current stream, or nil when it is not broadcasting (`ChannelNotBroadcasting`).
    public func getStream(channelArn: String, deadline: Int64, traceId: String? = nil) throws(AWSError) -> LiveStream? {
        let op = "GetStream"
        try AWSError.check(IVSConstraints.channelARNProblem(channelArn), operation: op, field: "channelArn")
        let output: JSONValue
        do {
            output = try client.call(op, input: .object([("channelArn", .string(channelArn))]), deadline: deadline, traceId: traceId)
        } catch {
            if error.serviceError?.type == "ChannelNotBroadcasting" { return nil }
            throw error
        }
        let s = output["stream"]
        return LiveStream(channelArn: s?["channelArn"]?.stringValue ?? channelArn, streamId: s?["streamId"]?.stringValue,
                          state: s?["state"]?.stringValue ?? "LIVE", startTime: s?["startTime"]?.stringValue)
    }

    /// One page of the account's live streams (`ListStreams`, 5 TPS per account): `nextToken` is nil on the last page.
    public func listStreams(nextToken: String?, deadline: Int64, traceId: String? = nil) throws(AWSError) -> (streams: [LiveStream], nextToken: String?) {
        var input: [(key: String, value: JSONValue)] = [("maxResults", .int(100))]
        if let nextToken { input.append(("nextToken", .string(nextToken))) }
        let output = try client.call("ListStreams", input: .object(input), deadline: deadline, traceId: traceId)
        let streams: [LiveStream] = (output["streams"]?.arrayValue ?? []).compactMap { s in
            guard let channel = s["channelArn"]?.stringValue else { return nil }
            return LiveStream(channelArn: channel, streamId: s["streamId"]?.stringValue, state: s["state"]?.stringValue ?? "LIVE",
                              startTime: s["startTime"]?.stringValue)
        }
        return (streams, output["nextToken"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 })
    }
}
