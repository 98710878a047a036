import Foundation
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

@testable import RillChecker

@Suite struct CheckReportTests {
    static func invalidResult() throws -> CheckResult {
        var history = HistoryBuilder()
        history.send(0, [("t-0", "a", 0), ("t-0", "b", 1), ("t-0", "c", 2), ("t-0", "<d&\"e'>", 3)])
        history.assign(1, ["t-0"])
        history.poll(1, ["t-0": [(0, "a")]])
        history.poll(1, ["t-0": [(2, "c")]])
        return try history.check(CheckerConfiguration(allowedAnomalies: [.unseen]))
    }

    @Test func markdownExplainsEveryAnomalyWithItsNeighbourhood() throws {
        let result = try Self.invalidResult()
        #expect(result.anomalyNames == [.lostWrite, .pollSkip, .unseen])
        let markdown = CheckReport.markdown(result, title: "Test")
        #expect(markdown.hasPrefix("# Test: INVALID\n"))
        for name in result.anomalyNames { #expect(markdown.contains("## `\(name)`")) }
        #expect(markdown.contains("| `unseen` | 1 | no (allowed) |"))
        #expect(markdown.contains("\"b\" was acknowledged at offset 1 of t-0"))
        #expect(markdown.contains("| t-0 | 0 | **1** | 2 | 3 |"))
        #expect(markdown.contains("| t-0 | _0_ | 1 (skipped) | _2_ | 3 |"))
        #expect(markdown.contains("\\<d&\"e'\\>"))
        #expect(markdown.contains("| operations | 4 |"))
    }

    @Test func htmlPageEscapesTheTitle() throws {
        let page = CheckReport.htmlPage(try Self.invalidResult(), title: "History check of a<b>&c.jsonl")
        #expect(page.hasPrefix("<!DOCTYPE html>\n"))
        #expect(page.contains("<title>History check of a&lt;b&gt;&amp;c.jsonl</title>"))
        #expect(!page.contains("a<b>&c"))
        #expect(page.hasSuffix("</body></html>\n"))
    }

    @Test func htmlFragmentEscapesValuesAndDrawsWellFormedPictures() throws {
        let result = try Self.invalidResult()
        let html = CheckReport.htmlFragment(result, title: "Test <1>")
        #expect(html.hasPrefix("<section"))
        #expect(html.contains("Test &lt;1&gt;"))
        #expect(!html.contains("<d&"))
        #expect(html.contains("&lt;d&amp;"))
        let pictures = html.components(separatedBy: "<svg").dropFirst().map { "<svg" + $0.components(separatedBy: "</svg>")[0] + "</svg>" }
        #expect(pictures.count == 1 + 3)  // the legend and one picture per example
        for picture in pictures {
            let parser = XMLParser(data: Data(picture.utf8))
            #expect(parser.parse(), "\(picture)")
        }
        // The lost value has the subject's red frame; the skipped one a dashed frame.
        #expect(html.contains("stroke=\"#c0392b\" stroke-width=\"3\""))
        #expect(html.contains("stroke-dasharray=\"4 2\""))
    }

    @Test func aValidResultSaysSo() throws {
        let result = try HistoryBuilder().check()
        #expect(CheckReport.markdown(result).contains("No anomalies found."))
        #expect(CheckReport.htmlFragment(result).contains(">valid<"))
    }
}
