import Foundation
@testable import RillHarness
import Testing

/// Renders pages in Debian's `chromium` (installed by `make deps`), headless, and reads the
/// verdict the report's own check leaves on `<body>` after layout: how many charts there are and
/// how many were laid out with their lines or bars drawn.
enum HeadlessBrowser {
    struct Verdict: Equatable, CustomStringConvertible {
        var total: Int
        var rendered: Int
        var description: String { "\(rendered) of \(total)" }
    }

    static func chromium() throws -> URL {
        for name in ["chromium", "chromium-browser"] {
            for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
                let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
                if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            }
        }
        throw HarnessError("chromium is not installed: run `make deps` (Debian's chromium package)")
    }

    /// `chromium --headless --dump-dom` of a local file, bounded in time.
    static func dumpDOM(of file: URL) async throws -> String {
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("rill-chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        let finished = try await TestProcess.run(try chromium(), [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--user-data-dir=\(profile.path)", "--virtual-time-budget=2000", "--dump-dom", file.absoluteString,
        ], timeout: .seconds(60))
        if finished.timedOut { throw HarnessError("chromium did not finish within 60 s") }
        return finished.output
    }

    static func chartVerdict(of file: URL) async throws -> Verdict {
        let dom = try await dumpDOM(of: file)
        func attribute(_ name: String) -> Int? {
            guard let range = dom.range(of: "\(name)=\"") else { return nil }
            return Int(dom[range.upperBound...].prefix { $0 != "\"" })
        }
        guard let total = attribute("data-charts-total"), let rendered = attribute("data-charts-rendered") else {
            throw HarnessError("the page's chart check did not run (no verdict on <body>); DOM starts: \(dom.prefix(300))")
        }
        return Verdict(total: total, rendered: rendered)
    }
}

@Suite struct ReportRenderingTests {
    func write(_ html: String) throws -> URL {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("rill-report-\(UUID().uuidString).html")
        try Data(html.utf8).write(to: file)
        return file
    }

    @Test(.timeLimit(.minutes(2))) func matrixReportRendersEveryChartInChromium() async throws {
        let outputs = [Fixtures.output(Fixtures.cell(parameters: [("compression", "none")])),
                       Fixtures.output(Fixtures.cell(parameters: [("compression", "zstd")]), latencyMicroseconds: 2500)]
        let cells = outputs.map { CellSummary($0.result, directory: nil) }
        let summary = RunSummary(workload: "fixture", target: "embedded", environment: Fixtures.environment, cells: cells, isMatrix: true)
        let file = try write(Report.html(summary, charts: outputs.map { CellChartData(timeline: $0.result.timeline, histograms: $0.result.histograms) }))
        defer { try? FileManager.default.removeItem(at: file) }
        let verdict = try await HeadlessBrowser.chartVerdict(of: file)
        #expect(verdict == .init(total: 2 + 2 * 3, rendered: 8))
    }

    /// The check can fail: a chart with nothing drawn, or markup the browser cannot lay out as
    /// SVG, is not counted as rendered.
    @Test(.timeLimit(.minutes(2))) func aChartThatDrawsNothingIsNotCountedAsRendered() async throws {
        let output = Fixtures.output()
        let summary = RunSummary(workload: "fixture", target: "embedded", environment: Fixtures.environment,
                                 cells: [CellSummary(output.result, directory: nil)], isMatrix: false)
        var html = Report.html(summary, charts: [CellChartData(timeline: output.result.timeline, histograms: output.result.histograms)])
        // Break the first chart: every line loses its points (the browser draws nothing).
        let first = try #require(html.range(of: "<svg class=\"chart\""))
        let end = try #require(html.range(of: "</svg>", range: first.upperBound..<html.endIndex))
        let chart = String(html[first.lowerBound..<end.upperBound])
        let emptied = chart.replacingOccurrences(of: #"points="[^"]*""#, with: #"points="""#, options: .regularExpression)
            .replacingOccurrences(of: "<circle class=\"series\"", with: "<circle class=\"series\" r=\"0\"")
        html.replaceSubrange(first.lowerBound..<end.upperBound, with: emptied)
        // And the second chart is not SVG at all (the browser lays out nothing).
        html = html.replacingOccurrences(of: "<svg class=\"chart\" id=\"cell0-percentiles\"", with: "<svg class=\"chart\" id=\"cell0-percentiles\" style=\"display:none\"")
        let file = try write(html)
        defer { try? FileManager.default.removeItem(at: file) }
        let verdict = try await HeadlessBrowser.chartVerdict(of: file)
        #expect(verdict.total == 3)
        #expect(verdict.rendered < 3, "a broken chart was counted: \(verdict)")
    }
}
