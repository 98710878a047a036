import Foundation
import RillFormat

/// Runs a workload's cells on their target and writes the results directory: the shell around
/// `MeasurementLoop`, `ClientDriver`, `EngineDriver` and `EmbeddedCluster`.
public struct BenchmarkRunner: Sendable {
    public struct Options: Sendable {
        /// Where the results go; nil: `results/<workload>/<timestamp>/` under `resultsRoot`.
        public var outputDirectory: URL?
        public var resultsRoot: URL
        /// The `rill` executable for embedded brokers (found automatically when nil).
        public var rillExecutable: URL?
        /// Delete the benchmark's topics afterwards on a bootstrap target.
        public var deletesTopics = true
        /// Console output: progress and messages.
        public var log: @Sendable (String) -> Void
        public var isTerminal: Bool

        public init(outputDirectory: URL?, resultsRoot: URL, rillExecutable: URL? = nil, isTerminal: Bool, log: @escaping @Sendable (String) -> Void) {
            self.outputDirectory = outputDirectory
            self.resultsRoot = resultsRoot
            self.rillExecutable = rillExecutable
            self.isTerminal = isTerminal
            self.log = log
        }
    }

    public let options: Options

    public init(options: Options) { self.options = options }

    /// Runs every cell in turn; returns the summary and the directory written.
    public func run(_ cells: [WorkloadCell], isMatrix: Bool) async throws -> (RunSummary, URL) {
        guard let first = cells.first else { throw HarnessError("the workload has no cells to run") }
        let startedAt = Date()
        let directory = options.outputDirectory ?? ResultWriter.defaultDirectory(root: options.resultsRoot, workload: first.workload.name, startedAt: startedAt)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let environment = RunEnvironment.current(startedAt: startedAt)
        var outputs: [ResultWriter.CellOutput] = []
        for (index, cell) in cells.enumerated() {
            if isMatrix { options.log("cell \(index + 1)/\(cells.count): \(cell.label)\n") }
            let logDirectory = isMatrix ? directory.appendingPathComponent("cells/\(String(format: "%02d", index + 1))-\(ResultWriter.directoryName(cell.label))") : directory
            outputs.append(try await runCell(cell, logDirectory: logDirectory))
        }
        let summary = try ResultWriter(directory: directory).write(outputs, workload: first.workload.name, target: first.workload.target.description,
                                                                   environment: environment, isMatrix: isMatrix)
        return (summary, directory)
    }

    /// One cell on its target.
    public func runCell(_ cell: WorkloadCell, logDirectory: URL) async throws -> ResultWriter.CellOutput {
        let workload = cell.workload
        let pool = try PayloadPool(workload: workload) { Array(try Data(contentsOf: URL(fileURLWithPath: $0))) }
        let printer = ProgressPrinter(isTerminal: options.isTerminal, write: options.log)
        let progress = ProgressBox(printer: printer)
        let loop = MeasurementLoop(cell: cell, target: workload.target.description) { progress.show($0) }
        defer { printer.finish() }
        switch workload.target {
        case .engine:
            let parent = workload.dataDirectory.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory
            let driver = EngineDriver(workload: workload, directory: parent.appendingPathComponent("rill-engine-\(UUID().uuidString.prefix(8))"), pool: pool)
            var output = try await loop.run(driver)
            if let error = driver.error { output.result.notes.append("the engine stopped early: \(error)") }
            return output
        case .bootstrap(let address):
            if workload.checks != nil {
                try FileManager.default.createDirectory(at: logDirectory, withIntermediateDirectories: true)
                return try await runChecked(loop, workload: workload, bootstrap: address, cluster: nil, directory: logDirectory)
            }
            return try await runClients(loop, workload: workload, bootstrap: address, pool: pool, deletesTopics: options.deletesTopics)
        case .embedded:
            let executable = try options.rillExecutable ?? EmbeddedCluster.rillExecutable()
            return try await EmbeddedCluster.run(count: workload.replicationFactor, executable: executable, brokerConfig: workload.embeddedBrokerConfig, logDirectory: logDirectory,
                                                 dataParent: workload.dataDirectory.map { URL(fileURLWithPath: $0) }) { cluster in
                workload.checks != nil
                    ? try await runChecked(loop, workload: workload, bootstrap: cluster.bootstrap, cluster: cluster, directory: logDirectory)
                    : try await runClients(loop, workload: workload, bootstrap: cluster.bootstrap, pool: pool, deletesTopics: false)
            }
        }
    }

    private func runClients(_ loop: MeasurementLoop, workload: Workload, bootstrap: String, pool: PayloadPool, deletesTopics: Bool) async throws -> ResultWriter.CellOutput {
        let runID = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let driver = try await ClientDriver.prepare(workload: workload, bootstrap: bootstrap, runID: runID, deletesTopics: deletesTopics, pool: pool)
        do {
            let output = try await loop.run(driver)
            _ = await finishes(within: DriverControl.shutdownTimeout) { await driver.close() }
            return output
        } catch {
            _ = await finishes(within: DriverControl.shutdownTimeout) { await driver.close() }
            throw error
        }
    }
}

/// The progress printer, shared with the measurement loop's callback.
///
/// `@unchecked Sendable`: `printer` is only touched under `lock`.
final class ProgressBox: @unchecked Sendable {
    private let lock = NSLock()
    private var printer: ProgressPrinter

    init(printer: ProgressPrinter) { self.printer = printer }

    func show(_ snapshot: ProgressSnapshot) { lock.withLock { printer.show(snapshot) } }
}

extension RunEnvironment {
    /// This machine and the git checkout of the current directory.
    public static func current(startedAt: Date) -> RunEnvironment {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        var name = utsname()
        uname(&name)
        let kernel = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let architecture = withUnsafeBytes(of: &name.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let git = Git(commit: command("git", ["rev-parse", "HEAD"]) ?? "", isDirty: !(command("git", ["status", "--porcelain", "--untracked-files=no"]) ?? "").isEmpty,
                      branch: command("git", ["rev-parse", "--abbrev-ref", "HEAD"]) ?? "")
        let machine = Machine(cores: ProcessInfo.processInfo.activeProcessorCount, memoryBytes: ProcessInfo.processInfo.physicalMemory,
                              kernel: kernel, architecture: architecture)
        return RunEnvironment(git: git, machine: machine, startedAt: formatter.string(from: startedAt))
    }

    /// A command's trimmed standard output, or nil if it cannot run or fails.
    private static func command(_ name: String, _ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [name] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
