import Foundation
import RillChecker

/// The data one cell's charts need beyond its summary.
public struct CellChartData: Sendable {
    public var timeline: [TimelineRow]
    public var histograms: LatencyHistograms
    /// The checker's verdict (correctness runs): its report section follows the charts.
    public var check: CheckResult?

    public init(timeline: [TimelineRow], histograms: LatencyHistograms, check: CheckResult? = nil) {
        self.timeline = timeline
        self.histograms = histograms
        self.check = check
    }
}

extension Report {
    /// The self-contained HTML report. `charts[i]` belongs to `summary.allCells[i]`.
    public static func html(_ summary: RunSummary, charts: [CellChartData]) -> String {
        let cells = summary.allCells
        var body = "<h1>\(SVGChart.escape(summary.workload))</h1>\n<ul>"
        body += header(summary).map { "<li>\(SVGChart.escape($0))</li>" }.joined() + "</ul>\n"
        body += "<h2>Summary</h2>\n" + htmlTable(summaryTable(cells))
        if cells.count > 1 { body += "<h2>Cells compared</h2>\n" + comparisonCharts(cells) }
        for (index, cell) in cells.enumerated() {
            let id = "cell\(index)"
            body += cells.count > 1 ? "<h2>\(SVGChart.escape(cell.label))</h2>\n" : "<h2>Latency</h2>\n"
            body += htmlTable(latencyTable(cell))
            if index < charts.count { body += cellCharts(id: id, data: charts[index], faults: cell.faults ?? []) }
            if let search = cell.rateSearch {
                body += "<p>Maximum-rate search: measured at \(number(search.chosenRate, 0)) records/s.</p>" + htmlTable(searchTable(search))
            }
            for note in cell.notes { body += "<p class=\"note\">\(SVGChart.escape(note))</p>" }
            if let faults = cell.faults { body += "<h3>Faults</h3>\n" + htmlTable(faultTable(faults)) }
            if index < charts.count, let check = charts[index].check { body += CheckReport.htmlFragment(check, title: "Correctness") }
        }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(SVGChart.escape(summary.workload)) — Rill benchmark</title>
            <style>
            body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1100px; }
            table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
            th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
            th:first-child, td:first-child { text-align: left; }
            th { background: #f3f3f3; }
            svg.chart { display: block; margin: 8px 0 20px; border: 1px solid #eee; }
            .note { background: #fff6e0; padding: 6px 10px; }
            </style></head>
            <body data-charts-rendered="pending">
            \(body)
            <script>
            // Checks that every chart was laid out and drew its marks (lines or bars); the
            // headless-browser test reads the verdict from <body data-charts-rendered>.
            (function () {
              var charts = document.querySelectorAll('svg.chart'), drawn = 0;
              charts.forEach(function (svg) {
                var box = svg.getBoundingClientRect(), marks = 0;
                svg.querySelectorAll('polyline.series, circle.series, rect.bar').forEach(function (mark) {
                  var b = mark.getBBox();
                  if (b.width > 0 || b.height > 0) { marks++; }
                });
                if (box.width > 100 && box.height > 100 && marks > 0) { drawn++; }
              });
              document.body.setAttribute('data-charts-total', String(charts.length));
              document.body.setAttribute('data-charts-rendered', String(drawn));
            })();
            </script>
            </body></html>

            """
    }

    static func htmlTable(_ rows: [[String]]) -> String {
        guard let header = rows.first else { return "" }
        var text = "<table><tr>" + header.map { "<th>\(SVGChart.escape($0))</th>" }.joined() + "</tr>"
        for row in rows.dropFirst() { text += "<tr>" + row.map { "<td>\(SVGChart.escape($0))</td>" }.joined() + "</tr>" }
        return text + "</table>\n"
    }

    /// Throughput over time, latency percentile curves, latency over time; `faults` drawn as
    /// shaded bands on the time charts.
    static func cellCharts(id: String, data: CellChartData, faults: [FaultRecord]) -> String {
        let timeline = data.timeline
        let measured = timeline.filter { $0.phase == .measuring }
        var bands: [(from: Double, to: Double, label: String)] = []
        if let first = measured.first, let last = measured.last { bands.append((first.second - 1, last.second, "measured")) }
        // Fault times count from the producers' start, which is the timeline's origin.
        bands += faults.map { ($0.start, max($0.end, $0.start + 0.3), $0.kind) }
        let throughput = SVGChart.line(
            id: "\(id)-throughput", title: "Throughput over time", xLabel: "seconds", yLabel: "records/s",
            series: [.init(name: "published", points: timeline.map { ($0.second, $0.publishRate) }),
                     .init(name: "consumed", points: timeline.map { ($0.second, $0.consumeRate) }),
                     .init(name: "target", points: timeline.filter { $0.targetRate > 0 }.map { ($0.second, $0.targetRate) })],
            bands: bands)
        let histograms = data.histograms
        let quantiles = SVGChart.line(
            id: "\(id)-percentiles", title: "Latency by percentile (measured phase)", xLabel: "percentile", yLabel: "ms",
            series: [.init(name: "publish", points: latencyQuantiles(histograms.publish).map { ($0.percentile, $0.milliseconds) }),
                     .init(name: "end-to-end", points: latencyQuantiles(histograms.endToEnd).map { ($0.percentile, $0.milliseconds) }),
                     .init(name: "service time", points: latencyQuantiles(histograms.service).map { ($0.percentile, $0.milliseconds) }),
                     .init(name: "publish delay", points: latencyQuantiles(histograms.delay).map { ($0.percentile, $0.milliseconds) })],
            xAxis: .percentile)
        let overTime = SVGChart.line(
            id: "\(id)-latency", title: "Latency over time", xLabel: "seconds", yLabel: "ms",
            series: [.init(name: "publish p50", points: timeline.filter { $0.publishLatency.count > 0 }.map { ($0.second, $0.publishLatency.p50) }),
                     .init(name: "publish p99", points: timeline.filter { $0.publishLatency.count > 0 }.map { ($0.second, $0.publishLatency.p99) }),
                     .init(name: "end-to-end p50", points: timeline.filter { $0.endToEndLatency.count > 0 }.map { ($0.second, $0.endToEndLatency.p50) }),
                     .init(name: "end-to-end p99", points: timeline.filter { $0.endToEndLatency.count > 0 }.map { ($0.second, $0.endToEndLatency.p99) })],
            bands: bands)
        return throughput + "\n" + quantiles + "\n" + overTime + "\n"
    }

    /// Throughput and p99 latencies per matrix cell.
    static func comparisonCharts(_ cells: [CellSummary]) -> String {
        let labels = cells.map(\.label)
        let throughput = SVGChart.bars(
            id: "compare-throughput", title: "Throughput by cell", yLabel: "records/s", categories: labels,
            series: [("published", cells.map(\.publish.recordsPerSecond)), ("consumed", cells.map(\.consume.recordsPerSecond))])
        let latency = SVGChart.bars(
            id: "compare-latency", title: "p99 latency by cell", yLabel: "ms", categories: labels,
            series: [("publish p99", cells.map(\.publishLatencyMs.p99)), ("end-to-end p99", cells.map(\.endToEndLatencyMs.p99))])
        return throughput + "\n" + latency + "\n"
    }
}
