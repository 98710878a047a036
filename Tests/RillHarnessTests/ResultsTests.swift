import Foundation
@testable import RillHarness
import Testing

/// Synthetic runs for the results, reports and comparisons (no driver, no clock).
enum Fixtures {
    static func cell(_ name: String = "fixture", parameters: [(String, String)] = []) -> WorkloadCell {
        var workload = Workload()
        workload.name = name
        workload.producerRate = 1000
        workload.messageSize = 100
        return WorkloadCell(parameters: parameters.map { (name: $0.0, value: $0.1) }, workload: workload)
    }

    static func data(records: Int64, latencyMicroseconds: UInt64) -> IntervalData {
        var data = IntervalData()
        data.publishedRecords = records
        data.publishedBytes = records * 100
        data.consumedRecords = records
        data.consumedBytes = records * 100
        for index in 0..<UInt64(records) {
            _ = data.histograms.publish.record(latencyMicroseconds + index % 100)
            _ = data.histograms.service.record(latencyMicroseconds / 2 + index % 50)
            _ = data.histograms.delay.record(index % 10)
            _ = data.histograms.endToEnd.record(latencyMicroseconds * 2 + index % 100)
        }
        return data
    }

    /// A run fed second by second through the loop's state: 2 s warm-up, 12 s measured.
    static func output(_ cell: WorkloadCell = cell(), latencyMicroseconds: UInt64 = 1000, records: Int64 = 1000) -> ResultWriter.CellOutput {
        var workload = cell.workload
        workload.warmupSeconds = 2
        workload.durationSeconds = 12
        var state = LoopState(workload: workload)
        let control = DriverControl(start: 0, rate: 1000)
        var second = 0.0
        while !state.isFinished && second < 100 {
            second += 1
            let row = state.record(data(records: state.phase == .draining ? 0 : records, latencyMicroseconds: latencyMicroseconds), seconds: 1, elapsed: second, targetRate: 1000)
            state.advance(control: control, row: row)
        }
        return state.output(cell: WorkloadCell(parameters: cell.parameters, workload: workload), target: "embedded")
    }

    static let environment = RunEnvironment(
        git: .init(commit: "0123456789abcdef", isDirty: false, branch: "harness"),
        machine: .init(cores: 2, memoryBytes: 24 << 30, kernel: "6.18.0", architecture: "x86_64"), startedAt: "2026-11-21T12:00:00Z")
}

@Suite struct LoopStateTests {
    @Test func phasesRunWarmupMeasuredThenDrain() {
        let output = Fixtures.output()
        let phases = output.result.timeline.map(\.phase)
        #expect(phases.prefix(2) == [.warmup, .warmup])
        #expect(phases.filter { $0 == .measuring }.count == 12)
        #expect(phases.last == .draining)
        #expect(output.result.measuredSeconds == 12)
        #expect(output.result.publish.records == 12_000)
        #expect(output.result.publish.recordsPerSecond == 1000)
        #expect(output.result.histograms.publish.totalCount == 12_000, "warm-up is excluded")
        #expect(output.ombWindows.count == 2, "one 10-second window and the rest")
    }

    @Test func backlogPhaseHoldsConsumersThenDrains() {
        var workload = Fixtures.cell().workload
        workload.warmupSeconds = 0
        workload.durationSeconds = 2
        workload.consumerBacklogSizeGB = 0.000_000_5  // 500 bytes: 5 records of 100 bytes
        workload.drainProducerRate = 10
        var state = LoopState(workload: workload)
        let control = DriverControl(start: 0, rate: 1000)
        #expect(state.phase == .backlog)
        var data = IntervalData()
        data.publishedRecords = 10
        data.publishedBytes = 1000
        state.advance(control: control, row: state.record(data, seconds: 1, elapsed: 1, targetRate: 1000))
        #expect(state.phase == .measuring)
        #expect(control.areConsumersPaused == false)
        #expect(control.rate == 10, "drainProducerRate applies while the backlog drains")
        #expect(state.backlogAtMeasureStart == 10)
        var consumed = IntervalData()
        consumed.consumedRecords = 4
        for second in 2...3 { state.advance(control: control, row: state.record(consumed, seconds: 1, elapsed: Double(second), targetRate: 10)) }
        #expect(state.phase == .measuring, "the measured phase goes on until the backlog is drained")
        consumed.consumedRecords = 2
        state.advance(control: control, row: state.record(consumed, seconds: 1, elapsed: 4, targetRate: 10))
        #expect(state.phase == .draining)
        #expect(control.areProducersStopping)
    }

    /// 1,000 records a second published for 12 measured seconds, `consumedPerSecond` read.
    static func notes(consumedPerSecond: Int64) -> [String] {
        var workload = Fixtures.cell().workload
        workload.warmupSeconds = 0
        workload.durationSeconds = 12
        var state = LoopState(workload: workload)
        let control = DriverControl(start: 0, rate: 1000)
        var data = Fixtures.data(records: 1000, latencyMicroseconds: 100)
        data.consumedRecords = consumedPerSecond
        for second in 1...12 { state.advance(control: control, row: state.record(data, seconds: 1, elapsed: Double(second), targetRate: 1000)) }
        #expect(state.phase == .draining)
        return state.notes
    }

    @Test func consumersFallingBehindInTheMeasuredPhaseIsNoted() throws {
        let behind = Self.notes(consumedPerSecond: 900)
        let note = try #require(behind.first { $0.hasPrefix("consumers fell behind") }, "\(behind)")
        #expect(note.contains("from 0 to 1200 records, 100 records/s (10.0% of what was published for them)"), "\(note)")
        #expect(Self.notes(consumedPerSecond: 1000).isEmpty, "consumers that keep up leave no note")
        #expect(Self.notes(consumedPerSecond: 990).isEmpty, "1% behind is within what the rate search tolerates")
    }

    @Test func rateSearchPhaseHandsOverToWarmup() {
        var workload = Fixtures.cell().workload
        workload.producerRate = 0
        workload.warmupSeconds = 1
        workload.rateSearch.stepSeconds = 1
        workload.rateSearch.maximumSteps = 2
        var state = LoopState(workload: workload)
        let control = DriverControl(start: 0, rate: workload.rateSearch.initialRate)
        #expect(state.phase == .rateSearch)
        for second in 1...2 {
            var data = Fixtures.data(records: Int64(control.rate ?? 0), latencyMicroseconds: 100)
            data.consumedRecords = data.publishedRecords
            state.advance(control: control, row: state.record(data, seconds: 1, elapsed: Double(second), targetRate: control.rate ?? 0))
        }
        #expect(state.phase == .warmup)
        #expect(control.rate == 20_000)
        #expect(state.output(cell: Fixtures.cell(), target: "embedded").result.rateSearch?.decisions.count == 2)
    }
}

@Suite struct ResultFilesTests {
    func writeRun(_ outputs: [ResultWriter.CellOutput], isMatrix: Bool) throws -> (URL, RunSummary) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rill-results-test-\(UUID().uuidString)")
        let summary = try ResultWriter(directory: directory).write(outputs, workload: "fixture", target: "embedded", environment: Fixtures.environment, isMatrix: isMatrix)
        return (directory, summary)
    }

    func jsonObject(_ url: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
    }

    @Test func summaryJSONHasTheDocumentedFields() throws {
        let (directory, _) = try writeRun([Fixtures.output()], isMatrix: false)
        defer { try? FileManager.default.removeItem(at: directory) }
        let summary = try jsonObject(directory.appendingPathComponent("summary.json"))
        for key in ["workload", "target", "config", "startedAt", "durationSeconds", "git", "machine", "publish", "consume",
                    "publishLatencyMs", "serviceTimeMs", "publishDelayMs", "endToEndLatencyMs"] {
            #expect(summary[key] != nil, "summary.json lacks \(key)")
        }
        let publish = summary["publish"] as? [String: Any] ?? [:]
        #expect(Set(publish.keys).isSuperset(of: ["records", "bytes", "recordsPerSecond", "megabytesPerSecond", "errors"]))
        let latency = summary["endToEndLatencyMs"] as? [String: Any] ?? [:]
        #expect(Set(latency.keys).isSuperset(of: ["mean", "p50", "p75", "p95", "p99", "p999", "p9999", "max"]))
        let machine = summary["machine"] as? [String: Any] ?? [:]
        #expect(Set(machine.keys).isSuperset(of: ["cores", "memoryBytes", "kernel"]))
        #expect((summary["config"] as? [String: Any])?["producerRate"] as? Double == 1000)
        let decoded = try ResultWriter.readSummary(in: directory)
        #expect(decoded.run?.publish.records == 12_000)
        for file in ["omb-result.json", "timeline.csv", "publish-latency.hgrm", "service-time.hgrm", "publish-delay.hgrm", "end-to-end-latency.hgrm", "report.md", "report.html"] {
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent(file).path), "\(file) missing")
        }
        let csv = try String(contentsOf: directory.appendingPathComponent("timeline.csv"), encoding: .utf8).split(separator: "\n")
        #expect(csv.first?.hasPrefix("second,phase,targetRate,publishRate") == true)
        #expect(csv.count == 1 + Fixtures.output().result.timeline.count)
    }

    /// The fields OMB's TestResult has and its create_charts.py reads.
    @Test func ombResultHasTestResultLayout() throws {
        let (directory, _) = try writeRun([Fixtures.output()], isMatrix: false)
        defer { try? FileManager.default.removeItem(at: directory) }
        let omb = try jsonObject(directory.appendingPathComponent("omb-result.json"))
        for key in ["workload", "driver", "messageSize", "topics", "partitions", "producersPerTopic", "consumersPerTopic",
                    "publishRate", "publishErrorRate", "consumeRate", "backlog", "publishLatencyAvg", "publishLatency50pct", "publishLatency99pct",
                    "publishLatencyMax", "publishDelayLatency99pct", "endToEndLatency95pct", "endToEndLatencyAvg",
                    "aggregatedPublishLatency99pct", "aggregatedPublishDelayLatency50pct", "aggregatedEndToEndLatency9999pct",
                    "aggregatedPublishLatencyQuantiles", "aggregatedPublishDelayLatencyQuantiles", "aggregatedEndToEndLatencyQuantiles"] {
            #expect(omb[key] != nil, "omb-result.json lacks \(key)")
        }
        #expect((omb["publishRate"] as? [Double])?.count == 2)
        let quantiles = omb["aggregatedPublishLatencyQuantiles"] as? [String: Double] ?? [:]
        #expect(quantiles.keys.compactMap(Double.init).contains(99.99))
        #expect(abs((omb["aggregatedPublishLatency50pct"] as? Double ?? 0) - 1.05) < 0.1, "milliseconds, as OMB")
    }

    @Test func matrixWritesOneEntryAndDirectoryPerCell() throws {
        let outputs = [Fixtures.output(Fixtures.cell(parameters: [("lingerMs", "0")])), Fixtures.output(Fixtures.cell(parameters: [("lingerMs", "5")]), latencyMicroseconds: 3000)]
        let (directory, summary) = try writeRun(outputs, isMatrix: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(summary.cells.count == 2 && summary.run == nil)
        let json = try jsonObject(directory.appendingPathComponent("summary.json"))
        #expect((json["cells"] as? [[String: Any]])?.map { $0["label"] as? String } == ["lingerMs=0", "lingerMs=5"])
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("cells/02-lingerMs=5/omb-result.json").path))
        let html = try String(contentsOf: directory.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains("id=\"compare-throughput\"") && html.contains("id=\"compare-latency\""))
        #expect(try ResultWriter.readSummary(in: directory).cells.count == 2)
    }

    @Test func reportsAreDeterministicAndSelfContained() throws {
        let output = Fixtures.output()
        let summary = RunSummary(workload: "fixture", target: "embedded", environment: Fixtures.environment, cells: [CellSummary(output.result, directory: nil)], isMatrix: false)
        let charts = [CellChartData(timeline: output.result.timeline, histograms: output.result.histograms)]
        let html = Report.html(summary, charts: charts)
        #expect(html == Report.html(summary, charts: charts))
        #expect(!html.contains("http://") || html.components(separatedBy: "http://").dropFirst().allSatisfy { $0.hasPrefix("www.w3.org/2000/svg") })
        #expect(!html.contains("https://") && !html.contains("<link") && !html.contains("src="))
        #expect(html.components(separatedBy: "<svg class=\"chart\"").count - 1 == 3)
        let markdown = Report.markdown(summary)
        #expect(markdown.contains("| run | publish rec/s |"))
        #expect(markdown.contains("end-to-end (receipt − intended send)"))
    }

    @Test func comparisonShowsRelativeDifferences() {
        let base = RunSummary(workload: "fixture", target: "embedded", environment: Fixtures.environment,
                              cells: [CellSummary(Fixtures.output(records: 1000).result, directory: nil)], isMatrix: false)
        let faster = RunSummary(workload: "fixture", target: "embedded", environment: Fixtures.environment,
                                cells: [CellSummary(Fixtures.output(latencyMicroseconds: 500, records: 1100).result, directory: nil)], isMatrix: false)
        let comparison = Comparison(runs: [.init(name: "a", summary: base), .init(name: "b", summary: faster)])
        let rows = comparison.table()
        #expect(rows[0] == ["metric", "cell", "a", "b", "Δ"])
        let throughput = rows.first { $0[0] == "publish records/s ↑" }
        #expect(throughput?[4] == "+10.0%")
        let p50 = rows.first { $0[0] == "publish p50 ms ↓" }
        #expect(p50?[4].hasPrefix("−") == true)
        #expect(comparison.delta(base: 0, value: 0) == "~")
        #expect(comparison.markdown().contains("| metric | cell | a | b | Δ |"))
    }

    @Test func progressLineShowsPhaseRatesAndP99() {
        let row = Fixtures.output().result.timeline[5]
        let line = ProgressSnapshot(cellLabel: "", phase: .measuring, elapsedSeconds: 6.2, totalSeconds: 14, row: row).line
        #expect(line.hasPrefix("[measuring 6/14 s] pub 1000 rec/s 0.1 MB/s · con 1000 rec/s · backlog 0 · p99 pub"))
        final class Lines: @unchecked Sendable { var text = "" }
        let lines = Lines()
        var plain = ProgressPrinter(isTerminal: false, plainIntervalSeconds: 10) { lines.text += $0 }
        for second in 1...25 { plain.show(ProgressSnapshot(cellLabel: "", phase: second < 3 ? .warmup : .measuring, elapsedSeconds: Double(second), totalSeconds: 25, row: row)) }
        #expect(lines.text.split(separator: "\n").count == 4, "phase changes and every 10 s, one line each: \(lines.text)")
        #expect(!lines.text.contains("\u{1B}"))
        var terminal = ProgressPrinter(isTerminal: true) { lines.text = $0 }
        terminal.show(ProgressSnapshot(cellLabel: "", phase: .warmup, elapsedSeconds: 1, totalSeconds: 5, row: nil))
        #expect(lines.text.hasPrefix("\r\u{1B}[K[warmup 1/5 s]"))
    }
}
