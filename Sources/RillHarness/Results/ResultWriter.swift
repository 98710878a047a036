import Foundation
import Histogram

/// Writes a run's results directory: summary.json, omb-result.json, timeline.csv, one `.hgrm`
/// per latency, report.md and report.html. A matrix gets one subdirectory per cell
/// (`cells/NN-label/`) with the per-cell files, and the combined summary and report at the top.
public struct ResultWriter {
    public struct CellOutput: Sendable {
        public var result: RunResult
        /// 10-second windows of the measured phase, for omb-result.json.
        public var ombWindows: [TimelineRow]

        public init(result: RunResult, ombWindows: [TimelineRow]) {
            self.result = result
            self.ombWindows = ombWindows
        }
    }

    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    /// `results/<workload>/<UTC timestamp>`.
    public static func defaultDirectory(root: URL, workload: String, startedAt: Date) -> URL {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return root.appendingPathComponent(directoryName(workload)).appendingPathComponent(formatter.string(from: startedAt))
    }

    /// Writes everything; returns the summary it wrote.
    @discardableResult
    public func write(_ outputs: [CellOutput], workload: String, target: String, environment: RunEnvironment, isMatrix: Bool) throws -> RunSummary {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var cells: [CellSummary] = []
        for (index, output) in outputs.enumerated() {
            let relative = isMatrix ? "cells/\(String(format: "%02d", index + 1))-\(Self.directoryName(output.result.cell.label))" : nil
            let cellDirectory = relative.map { directory.appendingPathComponent($0) } ?? directory
            try FileManager.default.createDirectory(at: cellDirectory, withIntermediateDirectories: true)
            let cell = CellSummary(output.result, directory: relative)
            cells.append(cell)
            try writeCellFiles(output, summary: cell, environment: environment, to: cellDirectory)
        }
        let summary = RunSummary(workload: workload, target: target, environment: environment, cells: cells, isMatrix: isMatrix)
        try Self.json(summary).write(to: directory.appendingPathComponent("summary.json"))
        let charts = outputs.map { CellChartData(timeline: $0.result.timeline, histograms: $0.result.histograms, check: $0.result.check) }
        try Data(Report.markdown(summary, checks: outputs.map(\.result.check)).utf8).write(to: directory.appendingPathComponent("report.md"))
        try Data(Report.html(summary, charts: charts).utf8).write(to: directory.appendingPathComponent("report.html"))
        return summary
    }

    private func writeCellFiles(_ output: CellOutput, summary: CellSummary, environment: RunEnvironment, to cellDirectory: URL) throws {
        let result = output.result
        let driver = "Rill (\(result.target))"
        try Self.json(OMBResult.make(result, windows: output.ombWindows, driver: driver)).write(to: cellDirectory.appendingPathComponent("omb-result.json"))
        try Data(timelineCSV(result.timeline).utf8).write(to: cellDirectory.appendingPathComponent("timeline.csv"))
        let histograms: [(String, LatencyHistogram)] = [
            ("publish-latency", result.histograms.publish), ("service-time", result.histograms.service),
            ("publish-delay", result.histograms.delay), ("end-to-end-latency", result.histograms.endToEnd),
        ]
        for (name, histogram) in histograms {
            try Data(Self.hgrm(histogram).utf8).write(to: cellDirectory.appendingPathComponent("\(name).hgrm"))
        }
        if summary.directory != nil {
            let single = RunSummary(workload: result.cell.workload.name, target: result.target, environment: environment, cells: [summary], isMatrix: false)
            try Self.json(single).write(to: cellDirectory.appendingPathComponent("summary.json"))
        }
    }

    /// HdrHistogram's percentile distribution text, values in milliseconds (what
    /// HdrHistogram's plotter reads).
    public static func hgrm(_ histogram: LatencyHistogram) -> String {
        var text = ""
        histogram.outputPercentileDistribution(to: &text, outputValueUnitScalingRatio: 1000)
        return text
    }

    static func json<Value: Encodable>(_ value: Value) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value) + Data("\n".utf8)
    }

    /// A label as a directory name: letters, digits, `.`, `-`, `_` and `=`; others become `_`.
    static func directoryName(_ label: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_=")
        return String(String(label.map { allowed.contains($0) ? $0 : "_" }).prefix(80))
    }

    /// Reads a result directory's summary.json (for `rill compare`).
    public static func readSummary(in directory: URL) throws -> RunSummary {
        let file = directory.appendingPathComponent("summary.json")
        let data: Data
        do { data = try Data(contentsOf: file) } catch {
            throw ResultError("\(directory.path): no summary.json here (\(error.localizedDescription)); give a directory that `rill run` wrote")
        }
        do { return try JSONDecoder().decode(RunSummary.self, from: data) } catch {
            throw ResultError("\(file.path): not a summary.json of `rill run`: \(error)")
        }
    }
}

/// A result directory that cannot be read or written.
public struct ResultError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
