import ArgumentParser
import Foundation
import RillChecker

/// `rill check`: checks a history.jsonl (docs/history-format.md) and prints the verdict JSON.
/// Exits 0 when valid, 1 when invalid, 2 when the history cannot be read or is malformed.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a history (JSON lines) for Jepsen's Kafka anomalies and print the verdict.",
        discussion: """
            The history format, the anomalies and the verdict are described in docs/history-format.md. \
            Exit status: 0 valid, 1 invalid (an anomaly outside the allowed set), 2 the history is \
            unreadable or malformed (the message names the line).
            """
    )

    enum Idempotence: String, ExpressibleByArgument, CaseIterable {
        case on, off
    }

    @Argument(help: "The history file (history.jsonl).")
    var history: String

    @Flag(help: "Consumers used subscribe: skips and rewinds across a rebalance of the partition are expected.")
    var subscribe = false

    @Option(help: "Whether producers ran with idempotence (off allows duplicate).")
    var idempotence: Idempotence = .on

    @Option(name: .customLong("allow"), help: ArgumentHelp("An anomaly that does not invalidate the history (repeatable, or comma-separated).", valueName: "anomaly"))
    var allowed: [String] = []

    @Option(help: ArgumentHelp("Also write verdict.json, report.md and report.html into this directory.", valueName: "directory"))
    var out: String?

    @Option(help: ArgumentHelp("The exactly-once workload's store.sqlite: audit it together with the history (docs/workloads.md).", valueName: "store.sqlite"))
    var store: String?

    @Option(name: .customLong("max-examples"), help: "Examples listed per anomaly (the count is always total).")
    var maximumExamples = CheckerLimits.defaultExamplesPerAnomaly

    @Option(name: .customLong("generate"), help: .hidden)
    var generateOperations: Int?

    @Option(help: .hidden)
    var seed: UInt64 = 1

    @Option(help: .hidden)
    var partitions = 8

    @Option(help: .hidden)
    var producers = 8

    @Option(help: .hidden)
    var consumers = 4

    @Option(help: .hidden)
    var processors = 0

    func validate() throws {
        for name in allowedNames() where AnomalyName(name: name) == nil {
            throw ValidationError("unknown anomaly '\(name)'; known: \(AnomalyName.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard maximumExamples > 0 else { throw ValidationError("--max-examples must be positive") }
    }

    private func allowedNames() -> [String] {
        allowed.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }.filter { !$0.isEmpty }
    }

    func run() throws {
        if let generateOperations {
            try generate(operations: generateOperations)
            return
        }
        let configuration = CheckerConfiguration(
            consumerMode: subscribe ? .subscribe : .assign, isIdempotenceEnabled: idempotence == .on,
            allowedAnomalies: Set(allowedNames().compactMap { AnomalyName(name: $0) }), examplesPerAnomaly: maximumExamples
        )
        let audit = try store.map(Self.audit)
        let result: CheckResult
        do {
            result = try HistoryChecker.check(path: history, storeAudit: audit, configuration: configuration)
        } catch {
            FileHandle.standardError.write(Data("rill check: \(history): \(error)\n".utf8))
            throw ExitCode(2)
        }
        let verdict = result.verdictJSON()
        print(verdict, terminator: "")
        if let out { try writeReports(result, verdict: verdict, to: out) }
        if !result.isValid { throw ExitCode(1) }
    }

    private func writeReports(_ result: CheckResult, verdict: String, to directory: String) throws {
        let url = URL(fileURLWithPath: directory, isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        let title = "History check of \(URL(fileURLWithPath: history).lastPathComponent)"
        try Data(verdict.utf8).write(to: url.appendingPathComponent("verdict.json"))
        try Data(CheckReport.markdown(result, title: title).utf8).write(to: url.appendingPathComponent("report.md"))
        try Data(CheckReport.htmlPage(result, title: title).utf8).write(to: url.appendingPathComponent("report.html"))
    }

    /// `--generate N`: writes a valid synthetic history of N operations (plus draining and final
    /// reads) to the history path, for benchmarks of the checker.
    private func generate(operations: Int) throws {
        var generatorConfiguration = HistoryGeneratorConfiguration(operations: operations, seed: seed)
        generatorConfiguration.partitions = partitions
        generatorConfiguration.producers = producers
        generatorConfiguration.consumers = consumers
        generatorConfiguration.processors = processors
        generatorConfiguration.consumerMode = subscribe ? .subscribe : .assign
        guard FileManager.default.createFile(atPath: history, contents: nil), let handle = FileHandle(forWritingAtPath: history) else {
            throw ValidationError("cannot create \(history)")
        }
        defer { try? handle.close() }
        var buffer = ""
        buffer.reserveCapacity(1 << 21)
        var lines = 0
        for event in HistoryGenerator(configuration: generatorConfiguration) {
            buffer += event.jsonLine()
            buffer += "\n"
            lines += 1
            if buffer.utf8.count >= 1 << 20 {
                try handle.write(contentsOf: Data(buffer.utf8))
                buffer.removeAll(keepingCapacity: true)
            }
        }
        try handle.write(contentsOf: Data(buffer.utf8))
        FileHandle.standardError.write(Data("rill check: wrote \(lines) events to \(history)\n".utf8))
    }
}
