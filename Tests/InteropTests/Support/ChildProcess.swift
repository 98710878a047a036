import Foundation

/// What a child process has written so far, and how it ended.
struct ProcessSnapshot: Sendable {
    var standardOutput = Data()
    var standardError = Data()
    var isStandardOutputClosed = false
    var isStandardErrorClosed = false
    var termination: Termination?

    struct Termination: Sendable, Equatable, CustomStringConvertible {
        var status: Int32
        var wasSignalled: Bool
        var description: String { wasSignalled ? "killed by signal \(status)" : "exit status \(status)" }
    }

    var outputText: String { String(decoding: standardOutput, as: UTF8.self) }
    var errorText: String { String(decoding: standardError, as: UTF8.self) }
    /// Exited, and both pipes read to their end.
    var isFinished: Bool { termination != nil && isStandardOutputClosed && isStandardErrorClosed }
}

/// Why a tool could not be run to completion.
struct ChildProcessError: Error, CustomStringConvertible {
    var description: String
}

/// A child process (the broker, kcat, a Python driver) whose output and exit the test watches
/// without blocking a test's task: standard output and error are read by a thread each into a
/// `Watched` snapshot, standard input comes from a file.
///
/// `@unchecked Sendable`: `process` is configured in `init` and afterwards only used through
/// `run()` (once, from `start`), `processIdentifier` and `kill(2)`, which are thread-safe;
/// everything that changes lives in `snapshot`.
final class ChildProcess: @unchecked Sendable {
    let executable: URL
    let arguments: [String]
    let snapshot = Watched(ProcessSnapshot())
    private let process = Process()
    private let outputPipe = Pipe()
    private let errorPipe = Pipe()
    private let inputFile: URL?

    /// `input` is written to a temporary file that becomes standard input (so a large input never
    /// blocks on a pipe); without it standard input is /dev/null.
    init(executable: URL, arguments: [String], input: Data? = nil, environment: [String: String] = [:]) throws {
        self.executable = executable
        self.arguments = arguments
        process.executableURL = executable
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        if let input {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("rill-interop-input-\(UUID().uuidString)")
            try input.write(to: file)
            inputFile = file
            process.standardInput = try FileHandle(forReadingFrom: file)
        } else {
            inputFile = nil
            process.standardInput = FileHandle.nullDevice
        }
        process.standardOutput = outputPipe
        process.standardError = errorPipe
        let snapshot = self.snapshot
        process.terminationHandler = { process in
            let termination = ProcessSnapshot.Termination(status: process.terminationStatus, wasSignalled: process.terminationReason == .uncaughtSignal)
            snapshot.update { $0.termination = termination }
        }
    }

    /// Reads `handle` to its end on a thread of its own with blocking reads, handing each chunk
    /// to `body` and finally an empty chunk. (With FileHandle's readabilityHandler instead, a kcat
    /// printing ~100 KB said it was exiting and then never exited, in 2 of 3 runs: its last write
    /// to the full pipe was never drained.)
    private static func drain(_ handle: FileHandle, name: String, _ body: @escaping @Sendable (Data) -> Void) {
        let descriptor = handle.fileDescriptor
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                if count <= 0 { break }
                body(Data(buffer[0..<count]))
            }
            // Keeps the handle (and so the descriptor) open until the end of the stream.
            withExtendedLifetime(handle) { body(Data()) }
        }
        thread.name = "rill-interop-\(name)"
        thread.start()
    }

    deinit {
        if let inputFile { try? FileManager.default.removeItem(at: inputFile) }
    }

    var commandLine: String { ([executable.lastPathComponent] + arguments).joined(separator: " ") }
    var processIdentifier: Int32 { process.processIdentifier }

    /// Runs the process and starts reading its output (once the child holds the pipes' write
    /// ends, and this process no longer does, so the readers see the end of the streams).
    func start() throws {
        do {
            try process.run()
        } catch {
            throw ChildProcessError(description: "cannot start \(commandLine): \(error)")
        }
        let snapshot = self.snapshot
        Self.drain(outputPipe.fileHandleForReading, name: "stdout") { data in
            snapshot.update { data.isEmpty ? ($0.isStandardOutputClosed = true) : $0.standardOutput.append(data) }
        }
        Self.drain(errorPipe.fileHandleForReading, name: "stderr") { data in
            snapshot.update { data.isEmpty ? ($0.isStandardErrorClosed = true) : $0.standardError.append(data) }
        }
    }

    /// Sends `signal` to this process (and only this one) if it has not exited yet.
    func send(_ signal: Int32) {
        guard snapshot.value.termination == nil else { return }
        kill(process.processIdentifier, signal)
    }

    /// The snapshot once the process has exited and its output is read, or nil after `timeout`.
    func waitUntilFinished(timeout: Duration) async -> ProcessSnapshot? {
        await snapshot.wait(timeout: timeout) { $0.isFinished }
    }

    /// Runs to the end within `timeout`; on timeout the process is killed and this throws with
    /// what it had written.
    func run(timeout: Duration) async throws -> ProcessSnapshot {
        try start()
        if let finished = await waitUntilFinished(timeout: timeout) { return finished }
        send(SIGKILL)
        let partial = await waitUntilFinished(timeout: .seconds(10)) ?? snapshot.value
        throw ChildProcessError(description: "\(commandLine) did not finish within \(timeout); killed. stderr:\n\(partial.errorText.suffixLines(30))")
    }
}

extension String {
    /// The last `count` lines, for failure messages.
    func suffixLines(_ count: Int) -> String {
        split(separator: "\n", omittingEmptySubsequences: false).suffix(count).joined(separator: "\n")
    }
}
