import Foundation
import RillChecker

/// report.md and report.html of a run: the summary table, and (HTML) charts as inline SVG —
/// throughput over time, latency percentile curves to 99.99%, latency over time, and for a
/// matrix a chart comparing the cells. The HTML needs no network: no scripts or styles from
/// elsewhere. Its one inline script only checks, in the browser, that every chart was laid out
/// and drew its marks, and says so on `<body data-charts-rendered=…>` (the headless test reads it).
public enum Report {
    // MARK: Tables

    /// The summary table: one row per cell.
    public static func summaryTable(_ cells: [CellSummary]) -> [[String]] {
        let header = ["run", "publish rec/s", "publish MB/s", "consume rec/s", "consume MB/s", "errors",
                      "publish p50 ms", "publish p99 ms", "publish p99.9 ms", "publish max ms", "e2e p50 ms", "e2e p99 ms", "e2e max ms"]
        let rows = cells.map { cell in
            [cell.label, number(cell.publish.recordsPerSecond, 0), number(cell.publish.megabytesPerSecond, 1),
             number(cell.consume.recordsPerSecond, 0), number(cell.consume.megabytesPerSecond, 1),
             String(cell.publish.errors + cell.consume.errors),
             number(cell.publishLatencyMs.p50, 3), number(cell.publishLatencyMs.p99, 3), number(cell.publishLatencyMs.p999, 3),
             number(cell.publishLatencyMs.max, 3), latency(cell.endToEndLatencyMs, \.p50), latency(cell.endToEndLatencyMs, \.p99),
             latency(cell.endToEndLatencyMs, \.max)]
        }
        return [header] + rows
    }

    /// Every latency of one cell: mean and percentiles.
    public static func latencyTable(_ cell: CellSummary) -> [[String]] {
        let header = ["latency (ms)", "count", "mean", "p50", "p75", "p95", "p99", "p99.9", "p99.99", "max"]
        let rows: [(String, LatencySummary)] = [
            ("publish (ack − intended send)", cell.publishLatencyMs), ("service time (ack − send)", cell.serviceTimeMs),
            ("publish delay (send − intended)", cell.publishDelayMs), ("end-to-end (receipt − intended send)", cell.endToEndLatencyMs),
        ]
        return [header] + rows.map { name, summary in
            [name, String(summary.count)] + [summary.mean, summary.p50, summary.p75, summary.p95, summary.p99, summary.p999, summary.p9999, summary.max].map { number($0, 3) }
        }
    }

    static func latency(_ summary: LatencySummary, _ path: KeyPath<LatencySummary, Double>) -> String {
        summary.count == 0 ? "—" : number(summary[keyPath: path], 3)
    }

    static func number(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return "—" }
        let text = String(format: "%.\(digits)f", value)
        guard digits == 0, abs(value) >= 10_000 else { return text }
        // Thousands separators for large counts.
        var digitsOnly = Array(text)
        var index = digitsOnly.count - 3
        while index > (digitsOnly.first == "-" ? 1 : 0) {
            digitsOnly.insert(",", at: index)
            index -= 3
        }
        return String(digitsOnly)
    }

    /// A Markdown table.
    public static func markdownTable(_ rows: [[String]]) -> String {
        guard let header = rows.first else { return "" }
        var lines = ["| " + header.joined(separator: " | ") + " |", "|" + header.map { _ in "---|" }.joined()]
        lines += rows.dropFirst().map { "| " + $0.joined(separator: " | ") + " |" }
        return lines.joined(separator: "\n")
    }

    /// A plain-text table with aligned columns (the console's summary).
    public static func textTable(_ rows: [[String]]) -> String {
        guard let header = rows.first else { return "" }
        let widths = header.indices.map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: max(0, widths[column] - cell.count))
                return column == 0 ? cell + padding : padding + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    // MARK: Markdown

    /// `checks[i]` is the checker's verdict of `summary.allCells[i]` (correctness runs).
    public static func markdown(_ summary: RunSummary, checks: [CheckResult?] = []) -> String {
        var text = "# \(summary.workload)\n\n"
        text += header(summary).map { "- \($0)" }.joined(separator: "\n") + "\n\n"
        text += "## Summary\n\n" + markdownTable(summaryTable(summary.allCells)) + "\n\n"
        for (index, cell) in summary.allCells.enumerated() {
            if summary.run == nil { text += "## \(cell.label)\n\n" } else { text += "## Latency\n\n" }
            text += markdownTable(latencyTable(cell)) + "\n\n"
            if let search = cell.rateSearch {
                text += "Maximum-rate search: measured at \(number(search.chosenRate, 0)) records/s.\n\n"
                text += markdownTable(searchTable(search)) + "\n\n"
            }
            for note in cell.notes { text += "> \(note)\n\n" }
            if let faults = cell.faults {
                text += "### Faults\n\n" + markdownTable(faultTable(faults)) + "\n\n"
            }
            if index < checks.count, let check = checks[index] {
                // The checker's report, one heading level down.
                let section = CheckReport.markdown(check, title: "Correctness").split(separator: "\n", omittingEmptySubsequences: false)
                    .map { $0.hasPrefix("#") ? "#" + $0 : String($0) }.joined(separator: "\n")
                text += section + "\n"
            }
        }
        text += "Charts: report.html. Data: summary.json, omb-result.json, timeline.csv, *.hgrm.\n"
        return text
    }

    static func header(_ summary: RunSummary) -> [String] {
        let git = summary.git.commit.isEmpty ? "unknown" : summary.git.commit + (summary.git.isDirty ? " (with uncommitted changes)" : "")
        let machine = summary.machine
        return ["target: \(summary.target)", "started: \(summary.startedAt)", "git: \(git) on \(summary.git.branch)",
                "machine: \(machine.cores) cores, \(format(Double(machine.memoryBytes) / 1_073_741_824, digits: 1)) GiB, Linux \(machine.kernel) (\(machine.architecture))"]
    }

    static func faultTable(_ faults: [FaultRecord]) -> [[String]] {
        [["fault", "target", "from s", "to s", "detail"]] + faults.map {
            [$0.kind, $0.target, number($0.start, 1), number($0.end, 1), $0.detail ?? ""]
        }
    }

    static func searchTable(_ search: RateSearchOutcome) -> [[String]] {
        [["rate", "achieved", "backlog start", "backlog end", "p99 ms", "verdict"]] + search.decisions.map {
            [number($0.rate, 0), number($0.achievedRate, 0), number($0.backlogAtStart, 0), number($0.backlogAtEnd, 0),
             number($0.publishP99Milliseconds, 3), ($0.isSustainable ? "sustainable" : "not sustainable") + ": " + $0.reason]
        }
    }
}
