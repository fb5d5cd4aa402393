import Foundation
import Handlers
import JSON
import LocalHarness
import Testing

/// One contract for the HTTP API: the route table (`MultihostInviteHandler.routes`) against the
/// template's routes, `openapi.yaml` and the README's table; then schemathesis against the document,
/// through the local API gateway and the real `bootstrap`.
@Suite(.serialized) struct APIContractTests {
    static let root = BuildProducts.packageRoot

    /// The table's routes as `METHOD /path auth`; `templateView` folds guest into none (the template
    /// cannot tell them apart: neither has an authorizer).
    static func table(templateView: Bool = false) -> [String] {
        MultihostInviteHandler.routes.map { r in
            let auth = templateView && r.authorization == .guest ? "none" : r.authorization.rawValue
            return "\(r.method) \(r.path) \(auth)"
        }.sorted()
    }

    /// What each source declares (scripts/api-routes.py), optionally on other files.
    static func declared(template: String = root + "/template.yaml", openapi: String = root + "/openapi.yaml",
                         readme: String = root + "/README.md") throws -> [String: [String]] {
        let (status, output) = try run(["python3", root + "/scripts/api-routes.py", template, openapi, readme])
        try #require(status == 0, "\(output)")
        var out: [String: [String]] = [:]
        for (key, value) in try JSONValue.parse(Array(output.utf8)).objectValue ?? [] {
            out[key] = value.arrayValue?.compactMap(\.stringValue) ?? []
        }
        return out
    }

    /// The sources that disagree with the table.
    static func drift(_ sources: [String: [String]]) -> [String] {
        var problems: [String] = []
        if sources["template"] != table(templateView: true) { problems.append("template: \(sources["template"] ?? [])") }
        for name in ["openapi", "readme"] where sources[name] != table() { problems.append("\(name): \(sources[name] ?? [])") }
        return problems
    }

    static func run(_ command: [String], environment: [String: String] = [:]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func everySourceDeclaresExactlyTheTablesRoutes() throws {
        let sources = try Self.declared()
        #expect(Self.table().count == 14)
        #expect(Self.drift(sources).isEmpty, "\(Self.drift(sources))")
    }

    /// The drift check fails when any one source gains or loses a route.
    @Test(arguments: ["template", "openapi", "readme"])
    func driftInAnyOneSourceIsCaught(_ source: String) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("drift-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var files = ["template": Self.root + "/template.yaml", "openapi": Self.root + "/openapi.yaml", "readme": Self.root + "/README.md"]
        let original = try String(contentsOfFile: files[source]!, encoding: .utf8)
        // Lose a route: the cancel route's declaration renamed away; gain one: a route the table lacks.
        let (lose, gain): (String, String) = switch source {
        case "template": ("Path: /multihost/cancel", "Path: /multihost/cancel-all")
        case "openapi": ("  /multihost/cancel:", "  /multihost/cancel-all:")
        default: ("| `POST /multihost/cancel` |", "| `POST /multihost/cancel-all` |")
        }
        #expect(original.contains(lose))
        let mutated = dir + "/" + URL(fileURLWithPath: files[source]!).lastPathComponent
        try original.replacingOccurrences(of: lose, with: gain).write(toFile: mutated, atomically: true, encoding: .utf8)
        files[source] = mutated
        let problems = Self.drift(try Self.declared(template: files["template"]!, openapi: files["openapi"]!, readme: files["readme"]!))
        #expect(problems.count == 1 && problems[0].hasPrefix(source), "\(problems)")
    }

    /// `st`: `SCHEMATHESIS_BIN` (make test sets it), else the one on PATH.
    static var schemathesis: String? {
        let env = ProcessInfo.processInfo.environment
        if let bin = env["SCHEMATHESIS_BIN"], FileManager.default.isExecutableFile(atPath: bin) { return bin }
        return (env["PATH"] ?? "").split(separator: ":").map { "\($0)/st" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// schemathesis against the document: the local gateway and the real bootstrap, with and without
    /// a JWT. `make test` installs it (test-deps). One worker: with two, CPython 3.11's AST validator
    /// can fail under hypothesis' concurrent lambda descriptions ("AST constructor recursion depth
    /// mismatch", a runtime error of the tool, not a finding).
    @Test(.enabled(if: schemathesis != nil, "needs schemathesis (make test installs it into .venv-test)"))
    func schemathesisFindsNothing() throws {
        let stack = try ViewerStack(moto: MotoServer.shared())
        defer { stack.stop() }
        let jwt = stack.gateway.signIn(userId: MultihostSandbox.broadcaster, username: "host")
        for headers in [["-H", "Authorization: Bearer \(jwt)"], []] {
            let (status, output) = try Self.run(
                [Self.schemathesis!, "run", Self.root + "/openapi.yaml", "--url", stack.url, "--max-examples", "50", "--checks", "all",
                 "--exclude-checks", "positive_data_acceptance", "--workers", "1", "--seed", "20261130", "--no-color"] + headers,
                environment: ["SCHEMATHESIS_HOOKS": "st-hooks", "PYTHONPATH": Self.root + "/scripts"])
            #expect(status == 0, "schemathesis \(headers.isEmpty ? "without" : "with") a JWT:\n\(output.suffix(6000))")
            #expect(output.contains("14 selected / 14 total"), "\(output.prefix(2000))")
        }
    }
}
