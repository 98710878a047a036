import ArgumentParser
import Foundation
import RillHarness

/// `rill run WORKLOAD.yaml`: runs a benchmark workload and writes its results directory.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a benchmark workload (OpenMessaging Benchmark YAML plus Rill's fields).",
        discussion: """
            Targets: embedded (default: brokers started here as child processes on 127.0.0.1 with \
            fresh data directories), bootstrap:HOST:PORT (any Kafka-compatible cluster), engine (the \
            storage engine in-process). Results go to results/<workload>/<timestamp>/: summary.json, \
            omb-result.json, timeline.csv, *.hgrm, report.md and report.html. See docs/workloads.md.
            """)

    @Argument(help: "The workload file.") var workload: String
    @Option(help: "embedded, engine, bootstrap:HOST:PORT or HOST:PORT (overrides the workload's target).") var target: String?
    @Option(help: "Results directory (default results/<workload>/<timestamp>).") var out: String?
    @Option(name: .customLong("set"), parsing: .singleValue, help: "Override a workload field, key=value (repeatable), e.g. --set producerRate=50000.")
    var overrides: [String] = []
    @Option(name: .customLong("results-root"), help: "Where default results directories go.") var resultsRoot = "results"
    @Flag(name: .customLong("keep-topics"), help: "On a bootstrap target, leave the benchmark's topics in place.") var keepsTopics = false

    func run() async throws {
        let cells = try parseCells()
        if let first = cells.first, first.workload.exactlyOnce != nil { return try await runExactlyOnce(first) }
        let options = makeOptions()
        let (summary, directory) = try await runOrReport(cells: cells, options: options)
        print("\n" + Report.textTable(Report.summaryTable(summary.allCells)))
        for cell in summary.allCells {
            if let search = cell.rateSearch {
                print("\n\(cell.label): maximum-rate search chose \(Int(search.chosenRate)) records/s:")
                for decision in search.decisions { print("  \(Int(decision.rate)) records/s: \(decision.reason)") }
            }
            for note in cell.notes { print("note (\(cell.label)): \(note)") }
        }
        print("\nresults: \(directory.path)/ (report.html, summary.json, omb-result.json, timeline.csv)")
        try gate(on: summary, directory: directory)
    }

    /// Prints each correctness run's verdict; an invalid one (or a final read that did not reach
    /// every acknowledged offset) makes `rill run` exit 1.
    func gate(on summary: RunSummary, directory: URL) throws {
        var isInvalid = false
        for cell in summary.allCells {
            guard let verdict = cell.verdict else { continue }
            let place = directory.appendingPathComponent(cell.directory ?? "").appendingPathComponent(verdict.verdict).path
            let found = verdict.anomalies.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            print("verdict (\(cell.label)): \(verdict.valid ? "valid" : "INVALID")\(found.isEmpty ? "" : " — \(found)") — \(place)")
            if !verdict.finalReadComplete {
                print("final read (\(cell.label)): INCOMPLETE — acknowledged offsets never became readable in \(verdict.finalReadBehind.joined(separator: ", "))")
            }
            if !verdict.passed {
                isInvalid = true
                if case .object(let fields) = cell.config.json, case .number(let seed)? = fields["seed"] {
                    let kept = overrides.filter { !$0.hasPrefix("seed=") }.map { " --set \($0)" }.joined()
                    print("rerun with: rill run \(workload)\(kept) --set seed=\(Int(seed))")
                }
            }
        }
        if isInvalid { throw ExitCode(1) }
    }

    func parseCells() throws -> [WorkloadCell] {
        var allOverrides = overrides
        if let target { allOverrides.append("target=\(target.contains(":") && !target.hasPrefix("bootstrap:") ? "bootstrap:" + target : target)") }
        let text: String
        do { text = try String(contentsOfFile: workload, encoding: .utf8) } catch {
            throw ValidationError("cannot read the workload file \(workload): \(error.localizedDescription)")
        }
        do {
            return try WorkloadParser().parse(text, file: workload, overrides: allOverrides)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func makeOptions() -> BenchmarkRunner.Options {
        var options = BenchmarkRunner.Options(
            outputDirectory: out.map { URL(fileURLWithPath: $0) }, resultsRoot: URL(fileURLWithPath: resultsRoot),
            isTerminal: isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["CI"] == nil,
            log: { FileHandle.standardError.write(Data($0.utf8)) })
        options.deletesTopics = !keepsTopics
        return options
    }

    func runOrReport(cells: [WorkloadCell], options: BenchmarkRunner.Options) async throws -> (RunSummary, URL) {
        let isMatrix = cells.count > 1 || !(cells.first?.parameters.isEmpty ?? true)
        return try await Self.untilDoneOrInterrupted { try await BenchmarkRunner(options: options).run(cells, isMatrix: isMatrix) }
    }

    /// Runs `work`; Ctrl-C or SIGTERM cancels it, so that embedded brokers and child processes
    /// are stopped and nothing is left behind. An error is printed and becomes exit status 1.
    static func untilDoneOrInterrupted<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await work() }
        let sources = terminationSignalSources { task.cancel() }
        defer { for source in sources { source.cancel() } }
        do {
            return try await task.value
        } catch {
            FileHandle.standardError.write(Data("\nerror: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// `rill compare DIR DIR…`: results side by side with relative differences (like benchstat).
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare result directories of `rill run` side by side.",
        discussion: "The first directory is the base; every metric of every cell is shown with its relative difference. Writes comparison.md to --out.")

    @Argument(help: "Result directories (the first is the base).") var directories: [String]
    @Option(help: "Where to write comparison.md (default: results/compare/<timestamp>).") var out: String?

    func run() throws {
        guard directories.count >= 2 else { throw ValidationError("give at least two result directories") }
        let runs: [Comparison.Run]
        do {
            runs = try directories.map { Comparison.Run(name: $0, summary: try ResultWriter.readSummary(in: URL(fileURLWithPath: $0))) }
        } catch {
            throw ValidationError("\(error)")
        }
        let comparison = Comparison(runs: runs)
        print(Report.textTable(comparison.table()))
        let directory = out.map { URL(fileURLWithPath: $0) }
            ?? ResultWriter.defaultDirectory(root: URL(fileURLWithPath: "results"), workload: "compare", startedAt: Date())
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(comparison.markdown().utf8).write(to: directory.appendingPathComponent("comparison.md"))
        print("\nwritten: \(directory.appendingPathComponent("comparison.md").path)")
    }
}
