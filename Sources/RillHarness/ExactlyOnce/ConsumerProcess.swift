import Foundation
import NIOConcurrencyHelpers
import RillChecker

/// One `rill exactly-once-consumer` child process and its history process id. Its standard
/// output (history events, one JSON line each) is read by a thread of its own, which hands each
/// complete line to `onLine` in order (the owner decodes it, and counts applied batches with
/// `noteAppliedBatch()`) and calls `onEnd` once at end of file (the process exited or was
/// killed — every line it wrote before has been handed over by then). Standard error goes
/// to its log file. Its standard input is a pipe the harness holds: closing it asks the consumer
/// to stop, and a harness that dies takes its consumers with it.
///
/// `@unchecked Sendable`: `process` is configured in `init`, then only used through
/// `processIdentifier` and kill(2), which are thread-safe; `state` is locked.
final class ConsumerProcess: @unchecked Sendable {
    /// The longest line kept while waiting for its newline: a report is far shorter.
    static let maximumLineBytes = 16 << 20

    let historyProcess: ProcessID
    private let process = Process()
    private let lifeline = Pipe()
    private let state = NIOLockedValueBox(State())

    struct State {
        var isEnded = false
        var isKilled = false
        /// `ok` process operations reported since start.
        var appliedBatches = 0
    }

    init(executable: URL, arguments: [String], historyProcess: ProcessID, log: URL,
         onLine: @escaping @Sendable (ConsumerProcess, String) -> Void, onEnd: @escaping @Sendable (ConsumerProcess) -> Void) throws {
        self.historyProcess = historyProcess
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let logHandle = try FileHandle(forWritingTo: log)
        process.executableURL = executable
        process.arguments = arguments
        process.standardInput = lifeline
        let output = Pipe()
        process.standardOutput = output
        process.standardError = logHandle
        let state = self.state
        do { try process.run() } catch {
            throw HarnessError("cannot start \(executable.path) \(arguments.joined(separator: " ")): \(error)")
        }
        let reader = output.fileHandleForReading
        let thread = Thread { [self] in
            var pending: [UInt8] = []
            while true {
                let data = reader.availableData
                if data.isEmpty { break }
                pending.append(contentsOf: data)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[..<newline], as: UTF8.self)
                    pending.removeSubrange(...newline)
                    onLine(self, line)
                }
                if pending.count > Self.maximumLineBytes { pending.removeAll() }
            }
            // A line cut short by a kill was never reported: the operation stays in flight.
            if !pending.isEmpty { logHandle.write(Data("harness: dropped an unfinished report line of \(pending.count) bytes\n".utf8)) }
            state.withLockedValue { $0.isEnded = true }
            onEnd(self)
        }
        thread.name = "rill-exactly-once-consumer-output"
        thread.start()
    }

    var pid: Int32 { process.processIdentifier }
    var isEnded: Bool { state.withLockedValue { $0.isEnded } }
    var isKilled: Bool { state.withLockedValue { $0.isKilled } }
    var appliedBatches: Int { state.withLockedValue { $0.appliedBatches } }

    /// Counts one `ok` process operation the consumer reported (an applied batch).
    func noteAppliedBatch() { state.withLockedValue { $0.appliedBatches += 1 } }

    /// SIGKILL now; `onEnd` follows once its output is drained.
    func kill() {
        state.withLockedValue { $0.isKilled = true }
        Foundation.kill(process.processIdentifier, SIGKILL)
    }

    /// SIGSTOP: the consumer freezes mid-whatever (a GC pause, a stalled VM) and, held longer
    /// than its session timeout, becomes a zombie whose partitions move to other members.
    func pause() { Foundation.kill(process.processIdentifier, SIGSTOP) }

    /// SIGCONT: the zombie wakes up, possibly holding a batch it polled before.
    func resume() { Foundation.kill(process.processIdentifier, SIGCONT) }

    /// Returns once the output reached its end (true) or `timeout` passed (false).
    func waitUntilEnded(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !isEnded {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    /// Asks the consumer to stop (closes its standard input); SIGKILL after `timeout`.
    /// Returns true when it stopped by itself.
    func stop(timeout: Duration) async -> Bool {
        try? lifeline.fileHandleForWriting.close()
        if await waitUntilEnded(timeout: timeout) { return true }
        kill()
        _ = await waitUntilEnded(timeout: .seconds(5))
        return false
    }
}
