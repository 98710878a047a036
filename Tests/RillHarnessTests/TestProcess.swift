import Foundation

/// Runs a child process to its end, bounded in time: its standard output is read while it runs
/// (so a full pipe cannot stall it) and its exit is awaited through `terminationHandler` (no
/// polling); past `timeout` it is terminated, and killed if it is still there 5 s later.
enum TestProcess {
    struct Finished {
        var status: Int32
        var output: String
        /// The process was terminated at the timeout.
        var timedOut: Bool
    }

    static func run(_ executable: URL, _ arguments: [String], timeout: Duration) async throws -> Finished {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let (exits, exit) = AsyncStream<Void>.makeStream()
        process.terminationHandler = { _ in exit.finish() }
        try process.run()
        let reader = Task.detached { output.fileHandleForReading.readDataToEndOfFile() }
        let timer = Task { () -> Bool in
            guard (try? await Task.sleep(for: timeout)) != nil else { return false }
            process.terminate()
            if (try? await Task.sleep(for: .seconds(5))) != nil, process.isRunning { kill(process.processIdentifier, SIGKILL) }
            return true
        }
        for await _ in exits {}
        timer.cancel()
        let timedOut = await timer.value
        process.waitUntilExit()
        return Finished(status: process.terminationStatus, output: String(decoding: await reader.value, as: UTF8.self), timedOut: timedOut)
    }

    /// `rill ARGUMENTS`, bounded.
    static func rill(_ arguments: [String], timeout: Duration = .seconds(120)) async throws -> Finished {
        try await run(try RunTests.rillExecutable(), arguments, timeout: timeout)
    }
}
