import Foundation
import NIOConcurrencyHelpers

/// The embedded target: `rill broker` child processes on 127.0.0.1, each on a free port chosen
/// by the kernel (`--listen 127.0.0.1:0`) with a fresh data directory, started and waited for
/// by the harness and stopped (SIGTERM, then SIGKILL after a bound) when the run ends. Their
/// output goes to `broker-N.log` in the results directory.
public final class EmbeddedCluster: Sendable {
    /// Bound on a broker's start-up and on its clean shutdown.
    public static let startTimeout: Duration = .seconds(30)
    public static let stopTimeout: Duration = .seconds(30)

    /// The running child of each node; a node killed by the nemesis gets a new child on restart.
    private let children: NIOLockedValueBox<[BrokerChild]>
    /// Each node's command line, with the port it got at first start (a restart keeps it, so
    /// clients and proxies find the broker where they left it).
    private let arguments: [[String]]
    private let executable: URL
    private let logDirectory: URL
    public let dataRoot: URL
    /// The broker addresses as a bootstrap list (fixed at start: restarts keep the ports).
    public let bootstrap: String

    public var brokers: [BrokerChild] { children.withLockedValue { $0 } }

    /// Starts `count` brokers with `executable` (the `rill` tool) and waits until each listens.
    public static func start(count: Int, executable: URL, brokerConfig: [String: String], logDirectory: URL, dataParent: URL? = nil) async throws -> EmbeddedCluster {
        let dataRoot = (dataParent ?? FileManager.default.temporaryDirectory).appendingPathComponent("rill-embedded-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dataRoot, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: logDirectory, withIntermediateDirectories: true)
        var brokers: [BrokerChild] = []
        var commandLines: [[String]] = []
        do {
            for node in 0..<count {
                var arguments = ["broker", "--data-dir", dataRoot.appendingPathComponent("broker-\(node)").path, "--listen", "127.0.0.1:0", "--node-id", String(node),
                                 "--stop-when-stdin-closes"]
                let settings = brokerSettings(brokerConfig)
                for (name, value) in settings.sorted(by: { $0.key < $1.key }) { arguments += ["--override", "\(name)=\(value)"] }
                let child = try BrokerChild(executable: executable, arguments: arguments, log: logDirectory.appendingPathComponent("broker-\(node).log"))
                brokers.append(child)
                try await child.waitUntilListening(timeout: startTimeout)
                arguments[arguments.firstIndex(of: "127.0.0.1:0")!] = child.address
                commandLines.append(arguments)
            }
        } catch {
            for broker in brokers { await broker.stop(timeout: stopTimeout) }
            try? FileManager.default.removeItem(at: dataRoot)
            throw error
        }
        return EmbeddedCluster(brokers: brokers, arguments: commandLines, executable: executable, logDirectory: logDirectory, dataRoot: dataRoot)
    }

    /// The settings each embedded broker starts with: the workload's `brokerConfig` over the
    /// harness's default that a benchmark's groups form at once, with no waiting for more members.
    static func brokerSettings(_ brokerConfig: [String: String]) -> [String: String] {
        ["group.initial.rebalance.delay.ms": "0"].merging(brokerConfig) { $1 }
    }

    private init(brokers: [BrokerChild], arguments: [[String]], executable: URL, logDirectory: URL, dataRoot: URL) {
        children = NIOLockedValueBox(brokers)
        self.arguments = arguments
        self.executable = executable
        self.logDirectory = logDirectory
        self.dataRoot = dataRoot
        bootstrap = brokers.map(\.address).joined(separator: ",")
    }

    /// Starts the brokers as `start` does, runs `body` against them, and stops them when it
    /// returns or throws.
    public static func run<Result>(count: Int, executable: URL, brokerConfig: [String: String], logDirectory: URL, dataParent: URL? = nil,
                                   _ body: (EmbeddedCluster) async throws -> Result) async throws -> Result {
        let cluster = try await start(count: count, executable: executable, brokerConfig: brokerConfig, logDirectory: logDirectory, dataParent: dataParent)
        do {
            let result = try await body(cluster)
            await cluster.stop()
            return result
        } catch {
            await cluster.stop()
            throw error
        }
    }

    /// Stops every broker and removes the data directories.
    public func stop() async {
        for broker in brokers {
            broker.signal(SIGCONT)  // a paused broker cannot handle SIGTERM
            await broker.stop(timeout: Self.stopTimeout)
        }
        try? FileManager.default.removeItem(at: dataRoot)
    }

    /// The data directory of `node`.
    public func dataDirectory(of node: Int) -> URL { dataRoot.appendingPathComponent("broker-\(node)") }

    /// kill -9 of `node`; returns once the process is gone.
    public func kill(_ node: Int) async {
        await brokers[node].killAndWait()
    }

    /// SIGSTOP (`isPaused`) or SIGCONT of `node`.
    public func pause(_ node: Int, _ isPaused: Bool) {
        brokers[node].signal(isPaused ? SIGSTOP : SIGCONT)
    }

    /// Starts `node` again on its port and data directory (after `kill`); its output is appended
    /// to its log.
    public func restart(_ node: Int) async throws {
        let child = try BrokerChild(executable: executable, arguments: arguments[node], log: logDirectory.appendingPathComponent("broker-\(node).log"), appending: true)
        children.withLockedValue { $0[node] = child }
        try await child.waitUntilListening(timeout: Self.startTimeout)
    }

    /// The `rill` executable to start brokers with: `RILL_EXECUTABLE`, else this process's own
    /// executable when it is `rill` (read from /proc/self/exe, so a relative or PATH-found
    /// `rill` works), else `rill` beside this executable or on the PATH.
    public static func rillExecutable(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> URL {
        if let path = environment["RILL_EXECUTABLE"], !path.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: path) else { throw HarnessError("RILL_EXECUTABLE=\(path) is not an executable file") }
            return URL(fileURLWithPath: path)
        }
        let own = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        if own.lastPathComponent == "rill" { return own }
        let beside = own.deletingLastPathComponent().appendingPathComponent("rill")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        for directory in (environment["PATH"] ?? "").split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent("rill")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw HarnessError("cannot find the rill executable to start brokers with; set RILL_EXECUTABLE")
    }
}

/// One `rill broker` child process, which exits with the harness (its standard input is a pipe
/// the harness holds; see `--stop-when-stdin-closes`). Standard output is read by a thread of its own (to learn the
/// address from "rill broker listening on HOST:PORT"); both streams are copied to the log file.
///
/// `@unchecked Sendable`: `process` is configured in `init`, then only used through
/// `processIdentifier`, `isRunning` and kill(2), which are thread-safe; `state` is locked.
public final class BrokerChild: @unchecked Sendable {
    private let process = Process()
    /// The broker's standard input: held open while the harness lives; when the harness exits
    /// (even killed) the broker reads its end and shuts down (`--stop-when-stdin-closes`).
    private let lifeline = Pipe()
    private let state = NIOLockedValueBox(State())
    public let logFile: URL

    struct State {
        var output = ""
        var address: String?
        var exited = false
        var status: Int32 = 0
    }

    init(executable: URL, arguments: [String], log: URL, appending: Bool = false) throws {
        logFile = log
        if !appending || !FileManager.default.fileExists(atPath: log.path) { _ = FileManager.default.createFile(atPath: log.path, contents: nil) }
        let logHandle = try FileHandle(forWritingTo: log)
        if appending { _ = try? logHandle.seekToEnd() }
        process.executableURL = executable
        process.arguments = arguments
        process.standardInput = lifeline
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = logHandle
        let state = self.state
        process.terminationHandler = { process in
            state.withLockedValue { $0.exited = true; $0.status = process.terminationStatus }
        }
        do {
            try process.run()
        } catch {
            throw HarnessError("cannot start \(executable.path) \(arguments.joined(separator: " ")): \(error)")
        }
        let reader = pipe.fileHandleForReading
        let thread = Thread {
            while true {
                let data = reader.availableData
                if data.isEmpty { break }
                logHandle.write(data)
                let text = String(decoding: data, as: UTF8.self)
                state.withLockedValue { state in
                    state.output += text
                    if state.address == nil, let range = state.output.range(of: "rill broker listening on ") {
                        let rest = state.output[range.upperBound...]
                        if let end = rest.firstIndex(where: { $0 == " " || $0 == "\n" }) { state.address = String(rest[..<end]) }
                    }
                }
            }
        }
        thread.name = "rill-embedded-broker-output"
        thread.start()
    }

    public var address: String { state.withLockedValue { $0.address } ?? "?" }

    /// Returns once the broker prints its address; throws if it exits or takes too long.
    func waitUntilListening(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            let (address, exited, status) = state.withLockedValue { ($0.address, $0.exited, $0.status) }
            if address != nil { return }
            if exited {
                throw HarnessError("the embedded broker exited at start-up (status \(status)); its log: \(logFile.path)\n\(tail(of: logFile))")
            }
            guard ContinuousClock.now < deadline else {
                kill(process.processIdentifier, SIGKILL)
                throw HarnessError("the embedded broker did not listen within \(timeout); its log: \(logFile.path)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Sends `number` to the broker unless it has exited.
    func signal(_ number: Int32) {
        guard !state.withLockedValue({ $0.exited }) else { return }
        kill(process.processIdentifier, number)
    }

    /// SIGKILL, then waits (bounded by `EmbeddedCluster.stopTimeout`) until the process is gone.
    func killAndWait() async {
        signal(SIGKILL)
        _ = await waitForExit(timeout: EmbeddedCluster.stopTimeout)
    }

    /// SIGTERM (the broker syncs and closes its partitions), SIGKILL after `timeout`.
    func stop(timeout: Duration) async {
        guard !state.withLockedValue({ $0.exited }) else { return }
        kill(process.processIdentifier, SIGTERM)
        if !(await waitForExit(timeout: timeout)) { kill(process.processIdentifier, SIGKILL) }
    }

    /// Waits until the process has exited (true) or `timeout` has passed (false).
    private func waitForExit(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !state.withLockedValue({ $0.exited }) {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    private func tail(of file: URL) -> String {
        let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(20).joined(separator: "\n")
    }
}
