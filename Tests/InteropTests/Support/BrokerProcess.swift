import Foundation
import Synchronization

/// A `rill broker` child process on 127.0.0.1 with its own temporary data directory, which a
/// test can stop cleanly (SIGTERM), kill (SIGKILL) and start again on the same data directory.
///
/// Use `BrokerProcess.with(overrides:_:)`, which always kills the broker and removes its data
/// directory at the end, whatever the test did.
final class BrokerProcess: Sendable {
    /// Bound on a start (recovery included) and on a clean shutdown.
    static let startTimeout: Duration = .seconds(30)
    static let stopTimeout: Duration = .seconds(30)

    let rootDirectory: URL
    let dataDirectory: URL
    let overrides: [String]
    private let state = Mutex(State())

    private struct State {
        var port = 0
        var current: ChildProcess?
        /// Standard error of the runs before the current one.
        var earlierLogs = ""
        var startCount = 0
    }

    struct BrokerError: Error, CustomStringConvertible {
        var description: String
    }

    private init(overrides: [String]) throws {
        rootDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("rill-interop-\(UUID().uuidString)")
        dataDirectory = rootDirectory.appendingPathComponent("data")
        self.overrides = overrides
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
    }

    /// Starts a broker, runs `body` with it, then kills it and removes its files.
    static func with<Result>(overrides: [String] = [], _ body: (BrokerProcess) async throws -> Result) async throws -> Result {
        let broker = try BrokerProcess(overrides: overrides)
        defer { broker.cleanUp() }
        try await broker.start()
        return try await body(broker)
    }

    var port: Int { state.withLock { $0.port } }
    var bootstrap: String { "127.0.0.1:\(port)" }
    var isRunning: Bool { state.withLock { $0.current?.snapshot.value.termination == nil && $0.current != nil } }

    /// Everything the broker wrote on standard error (its log), over every run so far.
    var log: String {
        state.withLock { $0.earlierLogs + ($0.current?.snapshot.value.errorText ?? "") }
    }

    /// Whether the current run's log (standard error) contains `text` within `timeout`.
    func waitForLog(containing text: String, timeout: Duration) async -> Bool {
        guard let process = state.withLock({ $0.current }) else { return false }
        return await process.snapshot.wait(timeout: timeout) { $0.errorText.contains(text) } != nil
    }

    /// The first segment file of a partition.
    func segmentFile(topic: String, partition: Int) -> URL {
        dataDirectory.appendingPathComponent("\(topic)-\(partition)").appendingPathComponent("00000000000000000000.log")
    }

    /// Starts the broker (on the port of the previous run, if any) and returns once it prints
    /// that it listens. If the port was taken meanwhile, starts on a new free port.
    func start() async throws {
        var lastFailure = ""
        for attempt in 0..<3 {
            let port = try state.withLock { state in
                if state.port == 0 || attempt > 0 { state.port = try Self.freePort() }
                return state.port
            }
            let outcome = try await launch(port: port)
            switch outcome {
            case .listening: return
            case .portInUse(let log): lastFailure = log
            }
        }
        throw BrokerError(description: "the broker could not bind a free port in 3 attempts:\n\(lastFailure.suffixLines(20))")
    }

    private enum LaunchOutcome { case listening, portInUse(String) }

    private func launch(port: Int) async throws -> LaunchOutcome {
        precondition(!isRunning, "start() while the broker is running")
        var arguments = ["broker", "--data-dir", dataDirectory.path, "--listen", "127.0.0.1:\(port)"]
        for override in overrides { arguments += ["--override", override] }
        let process = try ChildProcess(executable: try Tools.rill(), arguments: arguments)
        state.withLock { state in
            if let previous = state.current { state.earlierLogs += previous.snapshot.value.errorText }
            state.current = process
            state.startCount += 1
        }
        try process.start()
        let listeningLine = "rill broker listening on 127.0.0.1:\(port) "
        let snapshot = await process.snapshot.wait(timeout: Self.startTimeout) { $0.outputText.contains(listeningLine) || $0.termination != nil }
        guard let snapshot else {
            process.send(SIGKILL)
            throw BrokerError(description: "the broker did not listen within \(Self.startTimeout); log:\n\(log.suffixLines(30))")
        }
        if let termination = snapshot.termination {
            let finished = await process.waitUntilFinished(timeout: .seconds(5)) ?? snapshot
            if finished.errorText.contains("Address already in use") { return .portInUse(finished.errorText) }
            throw BrokerError(description: "the broker exited at start-up (\(termination)); log:\n\(finished.errorText.suffixLines(30))")
        }
        return .listening
    }

    /// SIGTERM, then waits for the broker to exit; returns how it ended.
    @discardableResult
    func terminate() async throws -> ProcessSnapshot.Termination {
        try await stop(signal: SIGTERM)
    }

    /// SIGKILL (`kill -9`), then waits for the process to be gone.
    func kill9() async throws {
        _ = try await stop(signal: SIGKILL)
    }

    /// Starts again on the same data directory.
    func restart() async throws {
        try await start()
    }

    private func stop(signal: Int32) async throws -> ProcessSnapshot.Termination {
        guard let process = state.withLock({ $0.current }) else { throw BrokerError(description: "the broker was never started") }
        process.send(signal)
        guard let finished = await process.waitUntilFinished(timeout: Self.stopTimeout), let termination = finished.termination else {
            process.send(SIGKILL)
            throw BrokerError(description: "the broker did not exit within \(Self.stopTimeout) of signal \(signal); log:\n\(log.suffixLines(30))")
        }
        return termination
    }

    /// Kills the broker if it runs and removes its files. Synchronous, for `defer`.
    func cleanUp() {
        if let process = state.withLock({ $0.current }), process.snapshot.value.termination == nil {
            process.send(SIGKILL)
        }
        try? FileManager.default.removeItem(at: rootDirectory)
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago (bound with port 0, then released).
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw BrokerError(description: "socket() failed: errno \(errno)") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(descriptor, socketAddress, length) == 0 && getsockname(descriptor, socketAddress, &length) == 0
            }
        }
        guard bound else { throw BrokerError(description: "binding 127.0.0.1:0 failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
