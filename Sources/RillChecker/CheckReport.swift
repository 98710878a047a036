/// Human reports of a `CheckResult`: Markdown (for report.md and terminals) and an HTML fragment
/// with a small inline SVG picture of the partition's log around each example (for the
/// harness's report.html). Both are deterministic and self-contained (no scripts, no external
/// files).
public enum CheckReport {
    /// What each anomaly means, in one or two sentences, for the report.
    public static func explanation(of anomaly: AnomalyName) -> String {
        switch anomaly {
        case .lostWrite:
            "An acknowledged send lies below the highest offset consumers read in its partition, yet no consumer ever returned it: the log lost an acknowledged record."
        case .unseen:
            "Acknowledged sends that no consumer returned by the end of the history. They may be lost or merely late; the final reads should have reached them."
        case .duplicate:
            "A value (sent once) appears at more than one offset: the record was written twice, e.g. by a retry without idempotence."
        case .inconsistentOffsets:
            "One offset of a partition was observed holding different values: replicas or reads disagree about the log."
        case .pollSkip:
            "Two successive polls of one consumer (no assign or subscribe between) jumped over records known to exist."
        case .nonmonotonicPoll:
            "A consumer's poll started at or before the offset where its previous poll ended: it went back or read a record again."
        case .internalPollSkip:
            "Inside one poll, consecutive records of a partition jumped over records known to exist."
        case .internalNonmonotonicPoll:
            "Inside one poll, records of a partition went backwards or repeated."
        case .nonmonotonicSend:
            "A producer's later send to a partition landed at or before its earlier send."
        case .internalNonmonotonicSend:
            "Inside one send, records for one partition got offsets out of order."
        case .abortedRead:
            "A consumer read a value whose send definitely failed (Jepsen's G1a)."
        case .duplicateEffect:
            "Exactly-once with external offsets: an input was applied to the external store twice, or the stored next offset is behind the effects applied (a restart would apply them again)."
        case .missingEffect:
            "Exactly-once with external offsets: an input below the store's next offset was never applied, or the stored next offset is ahead of the effects applied (a restart would skip inputs)."
        case .outOfOrderEffect:
            "Exactly-once with external offsets: an input was applied after a later offset of its partition."
        }
    }

    /// The Markdown report: verdict, a table of anomalies, each example explained with a small
    /// table of its log neighbourhood, statistics and notes.
    public static func markdown(_ result: CheckResult, title: String = "History check") -> String {
        var out = "# \(title): \(result.isValid ? "valid" : "INVALID")\n\n"
        out += introduction(result) + "\n\n"
        if !result.anomalies.isEmpty {
            out += "| anomaly | count | invalidates the history |\n|---|---:|---|\n"
            for name in result.anomalyNames {
                let invalidates = result.invalidatingAnomalies.contains(name) ? "yes" : "no (allowed)"
                out += "| `\(name)` | \(result.anomalies[name]?.count ?? 0) | \(invalidates) |\n"
            }
            out += "\n"
        }
        for name in result.anomalyNames {
            guard let report = result.anomalies[name] else { continue }
            out += "## `\(name)` — \(report.count)\n\n\(explanation(of: name))\n\n"
            if report.count > report.examples.count {
                out += "The first \(report.examples.count) of \(report.count), by partition and offset:\n\n"
            }
            for (number, example) in report.examples.enumerated() {
                out += "\(number + 1). \(escapeMarkdown(example.summary))\n"
                if let window = example.window { out += "\n" + markdownTable(window) + "\n" }
            }
            out += "\n"
        }
        out += "## Statistics\n\n| | |\n|---|---:|\n"
        for (name, value) in result.statistics.fields { out += "| \(name) | \(value) |\n" }
        if !result.notes.isEmpty {
            out += "\n## Notes\n\n" + result.notes.map { "- \(escapeMarkdown($0))" }.joined(separator: "\n") + "\n"
        }
        return out
    }

    static func introduction(_ result: CheckResult) -> String {
        let configuration = result.configuration
        let allowed = configuration.effectiveAllowedAnomalies.map(\.rawValue).sorted()
        let mode = configuration.consumerMode == .subscribe ? "subscribe (rebalances excuse skips and rewinds)" : "assign"
        var text = "\(result.statistics.operations) operations (\(result.statistics.events) events) by \(result.statistics.processes) processes on \(result.statistics.partitions) partitions; consumers: \(mode); idempotence: \(configuration.isIdempotenceEnabled ? "on" : "off"); allowed anomalies: \(allowed.isEmpty ? "none" : allowed.joined(separator: ", "))."
        if result.anomalies.isEmpty {
            text += " No anomalies found."
        } else if result.isValid {
            text += " Only allowed anomalies were found."
        } else {
            text += " Invalidated by: \(result.invalidatingAnomalies.map(\.rawValue).joined(separator: ", "))."
        }
        return text
    }

    /// Rows: offset (the anomaly's offsets in bold), value, acknowledged, read.
    static func markdownTable(_ window: LogWindow) -> String {
        let cells = window.runs.enumerated().flatMap { number, run in
            (number > 0 ? [nil] : []) + run.map { Optional($0) }
        }
        func row(_ name: String, _ text: (LogCell) -> String) -> String {
            "   | \(name) | " + cells.map { $0.map(text) ?? "…" }.joined(separator: " | ") + " |\n"
        }
        var out = row(window.partition) { cell in
            switch cell.role {
            case .subject: "**\(cell.offset)**"
            case .boundary: "_\(cell.offset)_"
            case .skipped: "\(cell.offset) (skipped)"
            case .context: "\(cell.offset)"
            }
        }
        out += "   |---|" + String(repeating: "---|", count: cells.count) + "\n"
        out += row("value") { cell in cell.value.map { escapeMarkdown($0) + (cell.isInconsistent ? " (+others)" : "") } ?? "—" }
        out += row("acknowledged") { cell in cell.value == nil ? "" : cell.isAcknowledged ? "yes" : cell.isFailed ? "failed" : "no" }
        out += row("read") { cell in cell.value == nil ? "" : cell.isRead ? "yes" : "no" }
        return out
    }

    static func escapeMarkdown(_ text: String) -> String {
        var out = ""
        for character in text {
            if "|*_`[]<>\\".contains(character) { out.append("\\") }
            out.append(character)
        }
        return out
    }
}
