import Foundation
import JSON
import LocalHarness
import Testing

/// The deployment proofs: the template lints clean, `sam build` packages both functions without
/// Docker, and the packaged artifact runs in an empty root filesystem (bubblewrap) and handles a
/// Stream Start end to end. Slow (a release build and a SAM install on a cold machine), so serialized.
@Suite(.serialized) struct DeployTests {
    static let root = BuildProducts.packageRoot

    /// Runs a repository script; returns its exit status and output.
    static func run(_ arguments: [String], env: [String: String] = [:]) throws -> (status: Int32, output: String) {
        // The scripts take the machine-wide Swift build lock themselves; a caller of `swift test`
        // may be holding it already, so they must not wait for it here.
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BUILD_LOCK"] = ""
        environment.merge(env) { $1 }
        let process = try LambdaProcess(command: ["/usr/bin/env", "bash"] + arguments.map { $0.hasPrefix("scripts/") ? root + "/" + $0 : $0 },
                                        environment: environment)
        let status = process.waitForExit(waitLimitSeconds: 1800)
        return (status, process.lines.joined(separator: "\n"))
    }

    @Test func templateLintsClean() throws {
        let result = try Self.run(["scripts/lint-template.sh"])
        #expect(result.status == 0, "\(result.output)")
    }

    @Test func samBuildPackagesBothFunctionsThatRunInAnEmptyRoot() throws {
        let build = try Self.run(["scripts/sam-build.sh"])
        try #require(build.status == 0, "\(build.output)")
        let artifact = Self.root + "/.aws-sam/build/StreamFunction"
        #expect(FileManager.default.isExecutableFile(atPath: Self.root + "/.aws-sam/build/ApiFunction/bootstrap"))

        // The zip of one function stays under 10 MB.
        let zip = NSTemporaryDirectory() + "ivs-chat-events-\(getpid()).zip"
        defer { try? FileManager.default.removeItem(atPath: zip) }
        let zipped = try Self.run(["scripts/zip-lambda.sh", artifact, zip])
        #expect(zipped.status == 0, "\(zipped.output)")
        let size = (try FileManager.default.attributesOfItem(atPath: zip)[.size] as? Int) ?? .max
        #expect(size <= 10 * 1024 * 1024, "zip is \(size) bytes")

        // Only the artifact at /var/task, /tmp, /proc, /dev and a CA bundle at the Amazon Linux path.
        let ivs = try IVSStandIn()
        defer { ivs.stop() }
        let room = "arn:aws:ivschat:us-east-1:123456789012:room/EmptyRoot"
        let function = try LocalFunction(handler: "streamStarted",
                                         environment: ivs.environment.merging(["CHAT_ROOM_ARN": room]) { $1 },
                                         command: [Self.root + "/scripts/run-in-empty-root.sh", artifact])
        defer { function.stop() }
        let event = try Data(contentsOf: URL(fileURLWithPath: Self.root + "/events/stream-start.json"))
        let outcome = function.invoke(Array(event), timeoutMilliseconds: 10_000)
        #expect(try JSONValue.parse(outcome.text)["sent"] == .bool(true), "\(outcome) \(function.process.lines)")
        #expect(ivs.events(inRoom: room).map(\.eventName) == ["STREAM_STARTED"])

        // Over HTTPS: the package's libssl verifies the stand-in against the bundle at Amazon Linux's path
        // (this machine's full bundle + a test CA), and refuses it when that CA is missing.
        let pki = try TestPKI()
        defer { pki.remove() }
        let tls = try IVSStandIn(tls: try pki.serverIdentity())
        defer { tls.stop() }
        for trusted in [true, false] {
            let bundle = trusted ? try pki.bundle(named: "al-bundle.pem", appendingTo: "/etc/ssl/certs/ca-certificates.crt")
                                 : "/etc/ssl/certs/ca-certificates.crt"
            let overTLS = try LocalFunction(handler: "streamStarted",
                                            environment: tls.environment.merging(["CHAT_ROOM_ARN": room, "CA_BUNDLE_SOURCE": bundle]) { $1 },
                                            command: [Self.root + "/scripts/run-in-empty-root.sh", artifact])
            let answer = overTLS.invoke(Array(event), timeoutMilliseconds: 10_000)
            if trusted {
                #expect(try JSONValue.parse(answer.text)["sent"] == .bool(true), "\(answer) \(overTLS.process.lines)")
            } else {
                #expect(answer.text.contains("SSL certificate problem"), "\(answer)")
            }
            overTLS.stop()
        }
        #expect(tls.events(inRoom: room).count == 1)
    }
}
