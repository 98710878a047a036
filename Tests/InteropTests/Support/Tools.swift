import Foundation

/// The programs the interop tests drive: the `rill` executable built with the tests, `kcat`,
/// and the Python driver scripts (confluent-kafka and kafka-python). A missing one is a test
/// failure that says how to install it, never a silent skip.
enum Tools {
    struct MissingTool: Error, CustomStringConvertible {
        var description: String
    }

    /// The `rill` executable of this build: `swift test` builds it next to the test bundle
    /// (InteropTests depends on the `rill` target). `RILL_EXECUTABLE` overrides the search.
    static func rill() throws -> URL {
        var candidates: [URL] = []
        if let path = ProcessInfo.processInfo.environment["RILL_EXECUTABLE"] { candidates.append(URL(fileURLWithPath: path)) }
        // The resource bundle lives in the build products directory, beside `rill`.
        candidates.append(Bundle.module.bundleURL.deletingLastPathComponent().appendingPathComponent("rill"))
        if let executable = Bundle.main.executableURL {
            candidates.append(executable.deletingLastPathComponent().appendingPathComponent("rill"))
        }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(packageRoot.appendingPathComponent(".build/debug/rill"))
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw MissingTool(description: "the rill executable was not found (looked at \(candidates.map(\.path))); run `swift build` first")
        }
        return found
    }

    static func kcat() throws -> URL {
        try onPath("kcat", hint: "kcat is not installed: run `make deps`")
    }

    static func python() throws -> URL {
        try onPath("python3", hint: "python3 is not installed: run `make deps`")
    }

    static func onPath(_ name: String, hint: String) throws -> URL {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        for directory in directories {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw MissingTool(description: hint)
    }

    static func script(_ name: String) throws -> URL {
        guard let directory = Bundle.module.url(forResource: "Scripts", withExtension: nil) else {
            throw MissingTool(description: "the Scripts resource directory is missing from the test bundle")
        }
        return directory.appendingPathComponent(name)
    }

    /// Exit status of a driver script whose Python module is missing (interop_common.py).
    static let missingModuleExitStatus: Int32 = 3

    /// Runs a driver script and decodes the one JSON object it prints last on standard output.
    static func runScript<Result: Decodable>(_ name: String, _ arguments: [String], timeout: Duration = .seconds(60), as _: Result.Type = Result.self) async throws -> Result {
        let process = try ChildProcess(
            executable: try python(), arguments: ["-u", try script(name).path] + arguments,
            environment: ["PYTHONDONTWRITEBYTECODE": "1"])
        let finished = try await process.run(timeout: timeout)
        let lastLine = finished.outputText.split(separator: "\n").last.map(String.init) ?? ""
        if finished.termination?.status == missingModuleExitStatus, !finished.termination!.wasSignalled {
            let message = (try? JSONDecoder().decode([String: String].self, from: Data(lastLine.utf8)))?["error"] ?? lastLine
            throw MissingTool(description: message)
        }
        guard finished.termination == ProcessSnapshot.Termination(status: 0, wasSignalled: false) else {
            throw ChildProcessError(description: "\(name) ended with \(finished.termination!); stderr:\n\(finished.errorText.suffixLines(30))")
        }
        do {
            return try JSONDecoder().decode(Result.self, from: Data(lastLine.utf8))
        } catch {
            throw ChildProcessError(description: "\(name) printed no valid result (\(error)); stdout: \(lastLine.prefix(2000)); stderr:\n\(finished.errorText.suffixLines(20))")
        }
    }

    /// Runs kcat to completion; it must exit 0.
    @discardableResult
    static func runKcat(_ arguments: [String], input: Data? = nil, timeout: Duration = .seconds(60)) async throws -> ProcessSnapshot {
        let process = try ChildProcess(executable: try kcat(), arguments: arguments, input: input)
        let finished = try await process.run(timeout: timeout)
        guard finished.termination == ProcessSnapshot.Termination(status: 0, wasSignalled: false) else {
            throw ChildProcessError(description: "\(process.commandLine) ended with \(finished.termination!); stderr:\n\(finished.errorText.suffixLines(30))")
        }
        return finished
    }
}
