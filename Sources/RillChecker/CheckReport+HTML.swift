extension CheckReport {
    /// A whole HTML page (`report.html` of `rill check --out`): `htmlFragment` in a document
    /// whose `<title>` is `title`, escaped.
    public static func htmlPage(_ result: CheckResult, title: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escapeHTML(title))</title></head>
        <body>
        \(htmlFragment(result, title: title))</body></html>

        """
    }

    /// An HTML fragment (a `<section>`, no `<html>` or `<body>`) for the harness's report: the
    /// verdict, a table of anomalies, and for each example its sentence and an inline SVG of the
    /// partition's log around it. Styles are inline so the fragment embeds anywhere.
    public static func htmlFragment(_ result: CheckResult, title: String = "History check") -> String {
        var out = "<section class=\"rill-check\" style=\"font-family: system-ui, sans-serif; font-size: 14px;\">\n"
        let verdictColor = result.isValid ? "#1e7b34" : "#b3261e"
        out += "<h2>\(escapeHTML(title)): <span style=\"color: \(verdictColor);\">\(result.isValid ? "valid" : "INVALID")</span></h2>\n"
        out += "<p>\(escapeHTML(introduction(result)))</p>\n"
        if !result.anomalies.isEmpty {
            out += "<table style=\"border-collapse: collapse;\">\n<tr><th style=\"text-align: left; padding: 2px 8px;\">anomaly</th><th style=\"padding: 2px 8px;\">count</th><th style=\"text-align: left; padding: 2px 8px;\">invalidates</th></tr>\n"
            for name in result.anomalyNames {
                let invalidates = result.invalidatingAnomalies.contains(name)
                out += "<tr><td style=\"padding: 2px 8px;\"><code>\(name)</code></td><td style=\"text-align: right; padding: 2px 8px;\">\(result.anomalies[name]?.count ?? 0)</td><td style=\"padding: 2px 8px;\">\(invalidates ? "yes" : "no (allowed)")</td></tr>\n"
            }
            out += "</table>\n" + legendSVG() + "\n"
        }
        for name in result.anomalyNames {
            guard let report = result.anomalies[name] else { continue }
            out += "<details open>\n<summary><b><code>\(name)</code></b> — \(report.count)</summary>\n"
            out += "<p>\(escapeHTML(explanation(of: name)))"
            if report.count > report.examples.count { out += " The first \(report.examples.count) of \(report.count), by partition and offset." }
            out += "</p>\n<ol>\n"
            for example in report.examples {
                out += "<li><p>\(escapeHTML(example.summary))</p>\n"
                if let window = example.window { out += windowSVG(window) + "\n" }
                out += "</li>\n"
            }
            out += "</ol>\n</details>\n"
        }
        if !result.notes.isEmpty {
            out += "<h3>Notes</h3>\n<ul>\n" + result.notes.map { "<li>\(escapeHTML($0))</li>\n" }.joined() + "</ul>\n"
        }
        out += "<details><summary>Statistics</summary>\n<table>\n"
        for (name, value) in result.statistics.fields {
            out += "<tr><td style=\"padding: 0 8px;\">\(name)</td><td style=\"text-align: right; padding: 0 8px;\">\(value)</td></tr>\n"
        }
        out += "</table>\n</details>\n</section>\n"
        return out
    }

    static let cellWidth = 46
    static let gapWidth = 22

    /// One partition's log around an example: a box per offset (colour: what is known about the
    /// value there), the offset above, a dot below when a consumer read it. The anomaly's
    /// offsets have a thick red frame, transition ends a blue one, skipped offsets a dashed one.
    public static func windowSVG(_ window: LogWindow) -> String {
        let left = 8 + 8 * min(window.partition.count, 16)
        var x = left
        var body = ""
        for (number, run) in window.runs.enumerated() {
            if number > 0 {
                body += "<text x=\"\(x + gapWidth / 2)\" y=\"44\" text-anchor=\"middle\" fill=\"#666\">…</text>"
                x += gapWidth
            }
            for cell in run {
                body += cellSVG(cell, x: x)
                x += cellWidth
            }
        }
        let width = x + 8
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"78\" viewBox=\"0 0 \(width) 78\" role=\"img\" aria-label=\"\(escapeHTML(window.partition)) around the anomaly\" style=\"font-family: ui-monospace, monospace; font-size: 10px;\">"
        svg += "<text x=\"4\" y=\"44\" fill=\"#333\">\(escapeHTML(String(window.partition.prefix(16))))</text>"
        svg += body + "</svg>"
        return svg
    }

    private static func cellSVG(_ cell: LogCell, x: Int) -> String {
        let fill: String
        if cell.value == nil {
            fill = "#ffffff"
        } else if cell.isInconsistent {
            fill = "#ffd59e"
        } else if cell.isFailed {
            fill = "#f4c2dd"
        } else if cell.isAcknowledged {
            fill = cell.isRead ? "#cfe8cf" : "#f6b6b0"
        } else {
            fill = cell.isRead ? "#d7e3f4" : "#eeeeee"
        }
        let stroke: String
        switch cell.role {
        case .subject: stroke = "stroke=\"#c0392b\" stroke-width=\"3\""
        case .boundary: stroke = "stroke=\"#2c6fbb\" stroke-width=\"3\""
        case .skipped: stroke = "stroke=\"#c0392b\" stroke-width=\"1.5\" stroke-dasharray=\"4 2\""
        case .context: stroke = cell.value == nil ? "stroke=\"#bbbbbb\" stroke-dasharray=\"2 2\"" : "stroke=\"#888888\""
        }
        var out = "<g><title>\(escapeHTML(cellTitle(cell)))</title>"
        out += "<text x=\"\(x + cellWidth / 2)\" y=\"14\" text-anchor=\"middle\" fill=\"#555\">\(cell.offset)</text>"
        out += "<rect x=\"\(x + 2)\" y=\"22\" width=\"\(cellWidth - 4)\" height=\"30\" rx=\"3\" fill=\"\(fill)\" \(stroke)/>"
        if let value = cell.value {
            let label = value.count > 7 ? String(value.prefix(6)) + "…" : value
            out += "<text x=\"\(x + cellWidth / 2)\" y=\"41\" text-anchor=\"middle\" fill=\"#111\">\(escapeHTML(label))</text>"
            if cell.isRead { out += "<circle cx=\"\(x + cellWidth / 2)\" cy=\"64\" r=\"4\" fill=\"#1e7b34\"/>" }
            else { out += "<circle cx=\"\(x + cellWidth / 2)\" cy=\"64\" r=\"4\" fill=\"none\" stroke=\"#999\"/>" }
        }
        return out + "</g>"
    }

    private static func cellTitle(_ cell: LogCell) -> String {
        guard let value = cell.value else { return "offset \(cell.offset): nothing observed" }
        var parts = ["offset \(cell.offset): \(value)"]
        parts.append(cell.isAcknowledged ? "send acknowledged" : cell.isFailed ? "send failed" : "send not acknowledged")
        parts.append(cell.isRead ? "read by a consumer" : "never read")
        if cell.isInconsistent { parts.append("other values observed here too") }
        switch cell.role {
        case .subject: parts.append("the anomaly")
        case .boundary: parts.append("where the consumer or processor was")
        case .skipped: parts.append("skipped")
        case .context: break
        }
        return parts.joined(separator: "; ")
    }

    /// A legend for the pictures, once per fragment.
    static func legendSVG() -> String {
        let entries: [(String, String)] = [
            ("#cfe8cf", "acknowledged, read"), ("#f6b6b0", "acknowledged, never read"), ("#d7e3f4", "unacknowledged, read"),
            ("#f4c2dd", "send failed"), ("#ffd59e", "several values"), ("#ffffff", "nothing observed"),
        ]
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(entries.count * 150)\" height=\"22\" style=\"font-family: system-ui, sans-serif; font-size: 11px;\">"
        for (number, entry) in entries.enumerated() {
            let x = number * 150
            svg += "<rect x=\"\(x + 2)\" y=\"4\" width=\"14\" height=\"14\" rx=\"2\" fill=\"\(entry.0)\" stroke=\"#888\"/><text x=\"\(x + 20)\" y=\"15\">\(entry.1)</text>"
        }
        return svg + "</svg>"
    }

    /// `text` made safe for HTML and SVG text and attribute values: `&`, `<`, `>`, `"` and `'`
    /// become character references. The reports of RillChecker and RillHarness share it.
    /// O(text). Works on Unicode scalars, so a combining mark after a quote cannot hide it.
    public static func escapeHTML(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
