import Foundation

/// `rill compare`: several runs side by side, like benchstat — each metric of each cell, the
/// first run as the base and every other run's value with its relative difference. Higher is
/// better for rates, lower for latencies and errors; the table says which way each metric goes.
public struct Comparison: Sendable {
    public struct Run: Sendable {
        /// Shown in column headers (the result directory).
        public var name: String
        public var summary: RunSummary

        public init(name: String, summary: RunSummary) {
            self.name = name
            self.summary = summary
        }
    }

    public struct Metric: Sendable {
        public var name: String
        public var isHigherBetter: Bool
        public var value: @Sendable (CellSummary) -> Double?
    }

    public static let metrics: [Metric] = [
        Metric(name: "publish records/s", isHigherBetter: true) { $0.publish.recordsPerSecond },
        Metric(name: "publish MB/s", isHigherBetter: true) { $0.publish.megabytesPerSecond },
        Metric(name: "consume records/s", isHigherBetter: true) { $0.consume.recordsPerSecond },
        Metric(name: "consume MB/s", isHigherBetter: true) { $0.consume.megabytesPerSecond },
        Metric(name: "publish p50 ms", isHigherBetter: false) { latency($0.publishLatencyMs, \.p50) },
        Metric(name: "publish p99 ms", isHigherBetter: false) { latency($0.publishLatencyMs, \.p99) },
        Metric(name: "publish p99.9 ms", isHigherBetter: false) { latency($0.publishLatencyMs, \.p999) },
        Metric(name: "publish max ms", isHigherBetter: false) { latency($0.publishLatencyMs, \.max) },
        Metric(name: "service p99 ms", isHigherBetter: false) { latency($0.serviceTimeMs, \.p99) },
        Metric(name: "publish delay p99 ms", isHigherBetter: false) { latency($0.publishDelayMs, \.p99) },
        Metric(name: "end-to-end p50 ms", isHigherBetter: false) { latency($0.endToEndLatencyMs, \.p50) },
        Metric(name: "end-to-end p99 ms", isHigherBetter: false) { latency($0.endToEndLatencyMs, \.p99) },
        Metric(name: "end-to-end max ms", isHigherBetter: false) { latency($0.endToEndLatencyMs, \.max) },
        Metric(name: "errors", isHigherBetter: false) { Double($0.publish.errors + $0.consume.errors) },
    ]

    private static func latency(_ summary: LatencySummary, _ path: KeyPath<LatencySummary, Double>) -> Double? {
        summary.count == 0 ? nil : summary[keyPath: path]
    }

    public var runs: [Run]

    public init(runs: [Run]) { self.runs = runs }

    /// Cell labels in the order of the first run, then any only later runs have.
    var cellLabels: [String] {
        var labels: [String] = []
        for run in runs {
            for cell in run.summary.allCells where !labels.contains(cell.label) { labels.append(cell.label) }
        }
        return labels
    }

    /// The comparison as rows: metric, cell, base value, then value and delta for each other run.
    public func table() -> [[String]] {
        var header = ["metric", "cell", runs.first?.name ?? "base"]
        for run in runs.dropFirst() { header += [run.name, "Δ"] }
        var rows = [header]
        let labels = cellLabels
        for metric in Self.metrics {
            for label in labels {
                let values = runs.map { run in run.summary.allCells.first { $0.label == label }.flatMap { metric.value($0) } }
                guard values.contains(where: { $0 != nil }) else { continue }
                var row = [metric.name + (metric.isHigherBetter ? " ↑" : " ↓"), labels.count > 1 || label != runs.first?.summary.workload ? label : "", render(values[0])]
                for value in values.dropFirst() {
                    row += [render(value), delta(base: values[0], value: value)]
                }
                rows.append(row)
            }
        }
        return rows
    }

    private func render(_ value: Double?) -> String {
        guard let value else { return "—" }
        return abs(value) >= 1000 ? Report.number(value, 0) : Report.number(value, 3)
    }

    /// +5.3%, −12.0%, ~ when both are zero, — when one is missing.
    func delta(base: Double?, value: Double?) -> String {
        guard let base, let value else { return "—" }
        if base == 0 { return value == 0 ? "~" : "new" }
        let change = (value - base) / abs(base) * 100
        if abs(change) < 0.05 { return "~" }
        return (change > 0 ? "+" : "−") + String(format: "%.1f%%", abs(change))
    }

    /// The comparison as Markdown (what `rill compare` writes).
    public func markdown() -> String {
        var text = "# Comparison\n\n"
        for (index, run) in runs.enumerated() {
            text += "- \(index == 0 ? "base" : "run \(index)"): \(run.name) — \(run.summary.workload) on \(run.summary.target), \(run.summary.startedAt), git \(run.summary.git.commit.prefix(12))\n"
        }
        return text + "\n" + Report.markdownTable(table()) + "\n\n↑ higher is better, ↓ lower is better; Δ is relative to the base (the first run).\n"
    }
}
