import Foundation
import RillChecker

/// Inline SVG charts for the reports: line charts (time series, latency percentile curves with
/// a logarithmic percentile axis) and grouped bar charts (matrix cells). Pure text generation:
/// the same data gives the same bytes; no scripts, no fonts or files from elsewhere.
enum SVGChart {
    struct Series {
        var name: String
        var points: [(x: Double, y: Double)]
    }

    /// How the x axis is laid out.
    enum XAxis {
        /// Seconds.
        case linear
        /// Percentiles (0–100) placed at log10(100 / (100 − p)): 90% at 1, 99% at 2, 99.99% at 4.
        case percentile
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    static let width = 760.0
    static let height = 320.0
    static let margin = (left: 72.0, right: 16.0, top: 34.0, bottom: 64.0)

    /// A line chart; `bands` shades x ranges (e.g. the measured phase).
    static func line(id: String, title: String, xLabel: String, yLabel: String, series: [Series], xAxis: XAxis = .linear,
                     bands: [(from: Double, to: Double, label: String)] = []) -> String {
        let mapped = series.map { item in
            Series(name: item.name, points: item.points.compactMap { point in
                guard point.y.isFinite else { return nil }
                switch xAxis {
                case .linear: return point
                case .percentile: return point.x < 100 ? (log10(100 / (100 - point.x)), point.y) : nil
                }
            })
        }
        let xs = mapped.flatMap { $0.points.map(\.x) } + bands.flatMap { [$0.from, $0.to] }
        let ys = mapped.flatMap { $0.points.map(\.y) }
        let xRange = xAxis == .percentile ? (0.0, 4.0) : (xs.min() ?? 0, max(xs.max() ?? 1, (xs.min() ?? 0) + 1))
        let yTicks = niceTicks(minimum: 0, maximum: max(ys.max() ?? 1, 1e-9))
        let yRange = (0.0, yTicks.last ?? 1)
        var body = frame(id: id, title: title, xLabel: xLabel, yLabel: yLabel)
        let plot = PlotArea(xRange: xRange, yRange: yRange)
        for band in bands {
            let x0 = plot.x(max(band.from, xRange.0)), x1 = plot.x(min(band.to, xRange.1))
            // The measured phase in green; anything else (a fault) in red, its label lower down.
            let isPhase = band.label == "measured"
            body += "<rect class=\"band\(isPhase ? "" : " fault")\" x=\"\(f(x0))\" y=\"\(f(margin.top))\" width=\"\(f(max(0, x1 - x0)))\" height=\"\(f(plot.height))\" fill=\"\(isPhase ? "#eef4ea" : "#f6d5d5")\" fill-opacity=\"\(isPhase ? "1" : "0.8")\"/>"
            body += "<text x=\"\(f(x0 + 4))\" y=\"\(f(margin.top + (isPhase ? 12 : 24)))\" font-size=\"10\" fill=\"\(isPhase ? "#6a8a5a" : "#a04040")\">\(escape(band.label))</text>"
        }
        body += yAxis(plot: plot, ticks: yTicks)
        switch xAxis {
        case .linear: body += xAxisTicks(plot: plot, ticks: niceTicks(minimum: xRange.0, maximum: xRange.1).filter { $0 >= xRange.0 && $0 <= xRange.1 }, label: { format($0, digits: 2) })
        case .percentile: body += xAxisTicks(plot: plot, ticks: [0, 1, 2, 3, 4], label: { ["0%", "90%", "99%", "99.9%", "99.99%"][Int($0)] })
        }
        for (index, item) in mapped.enumerated() where !item.points.isEmpty {
            let color = palette[index % palette.count]
            let points = item.points.map { "\(f(plot.x($0.x))),\(f(plot.y($0.y)))" }.joined(separator: " ")
            body += "<polyline class=\"series\" data-series=\"\(escape(item.name))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\" points=\"\(points)\"/>"
            if item.points.count == 1 {
                body += "<circle class=\"series\" cx=\"\(f(plot.x(item.points[0].x)))\" cy=\"\(f(plot.y(item.points[0].y)))\" r=\"3\" fill=\"\(color)\"/>"
            }
        }
        body += legend(mapped.map(\.name))
        return body + "</svg>"
    }

    /// Grouped bars: one group per category, one bar per series.
    static func bars(id: String, title: String, yLabel: String, categories: [String], series: [(name: String, values: [Double])]) -> String {
        let maximum = series.flatMap(\.values).filter(\.isFinite).max() ?? 1
        let ticks = niceTicks(minimum: 0, maximum: max(maximum, 1e-9))
        let plot = PlotArea(xRange: (0, Double(max(categories.count, 1))), yRange: (0, ticks.last ?? 1))
        var body = frame(id: id, title: title, xLabel: "", yLabel: yLabel) + yAxis(plot: plot, ticks: ticks)
        let groupWidth = plot.width / Double(max(categories.count, 1))
        let barWidth = groupWidth * 0.8 / Double(max(series.count, 1))
        for (categoryIndex, category) in categories.enumerated() {
            let groupX = margin.left + Double(categoryIndex) * groupWidth
            for (seriesIndex, item) in series.enumerated() {
                let value = categoryIndex < item.values.count && item.values[categoryIndex].isFinite ? item.values[categoryIndex] : 0
                let top = plot.y(value)
                body += "<rect class=\"bar\" x=\"\(f(groupX + groupWidth * 0.1 + Double(seriesIndex) * barWidth))\" y=\"\(f(top))\" "
                    + "width=\"\(f(barWidth))\" height=\"\(f(max(1, margin.top + plot.height - top)))\" fill=\"\(palette[seriesIndex % palette.count])\">"
                    + "<title>\(escape(category)) — \(escape(item.name)): \(format(value, digits: 3))</title></rect>"
            }
            let labelX = groupX + groupWidth / 2, labelY = margin.top + plot.height + 14
            body += "<text x=\"\(f(labelX))\" y=\"\(f(labelY))\" font-size=\"10\" text-anchor=\"end\" transform=\"rotate(-20 \(f(labelX)) \(f(labelY)))\">\(escape(String(category.prefix(40))))</text>"
        }
        body += legend(series.map(\.name))
        return body + "</svg>"
    }

    // MARK: Parts

    struct PlotArea {
        var xRange: (Double, Double)
        var yRange: (Double, Double)
        var width: Double { SVGChart.width - margin.left - margin.right }
        var height: Double { SVGChart.height - margin.top - margin.bottom }
        func x(_ value: Double) -> Double {
            margin.left + (value - xRange.0) / max(xRange.1 - xRange.0, 1e-12) * width
        }
        func y(_ value: Double) -> Double {
            margin.top + height - (min(max(value, yRange.0), yRange.1) - yRange.0) / max(yRange.1 - yRange.0, 1e-12) * height
        }
    }

    static func frame(id: String, title: String, xLabel: String, yLabel: String) -> String {
        "<svg class=\"chart\" id=\"\(escape(id))\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(width))\" height=\"\(f(height))\" "
            + "viewBox=\"0 0 \(f(width)) \(f(height))\" font-family=\"sans-serif\" role=\"img\" aria-label=\"\(escape(title))\">"
            + "<rect x=\"0\" y=\"0\" width=\"\(f(width))\" height=\"\(f(height))\" fill=\"#ffffff\"/>"
            + "<text x=\"\(f(width / 2))\" y=\"20\" font-size=\"14\" text-anchor=\"middle\" font-weight=\"bold\">\(escape(title))</text>"
            + "<text x=\"\(f(margin.left + (width - margin.left - margin.right) / 2))\" y=\"\(f(height - 26))\" font-size=\"11\" text-anchor=\"middle\">\(escape(xLabel))</text>"
            + "<text x=\"14\" y=\"\(f(margin.top + (height - margin.top - margin.bottom) / 2))\" font-size=\"11\" text-anchor=\"middle\" "
            + "transform=\"rotate(-90 14 \(f(margin.top + (height - margin.top - margin.bottom) / 2)))\">\(escape(yLabel))</text>"
    }

    static func yAxis(plot: PlotArea, ticks: [Double]) -> String {
        var text = ""
        for tick in ticks {
            let y = plot.y(tick)
            text += "<line x1=\"\(f(margin.left))\" y1=\"\(f(y))\" x2=\"\(f(margin.left + plot.width))\" y2=\"\(f(y))\" stroke=\"#dddddd\" stroke-width=\"1\"/>"
            text += "<text x=\"\(f(margin.left - 6))\" y=\"\(f(y + 4))\" font-size=\"10\" text-anchor=\"end\">\(escape(compact(tick)))</text>"
        }
        return text + "<line x1=\"\(f(margin.left))\" y1=\"\(f(margin.top))\" x2=\"\(f(margin.left))\" y2=\"\(f(margin.top + plot.height))\" stroke=\"#333333\"/>"
    }

    static func xAxisTicks(plot: PlotArea, ticks: [Double], label: (Double) -> String) -> String {
        let baseline = margin.top + plot.height
        var text = "<line x1=\"\(f(margin.left))\" y1=\"\(f(baseline))\" x2=\"\(f(margin.left + plot.width))\" y2=\"\(f(baseline))\" stroke=\"#333333\"/>"
        for tick in ticks {
            let x = plot.x(tick)
            text += "<line x1=\"\(f(x))\" y1=\"\(f(baseline))\" x2=\"\(f(x))\" y2=\"\(f(baseline + 4))\" stroke=\"#333333\"/>"
            text += "<text x=\"\(f(x))\" y=\"\(f(baseline + 16))\" font-size=\"10\" text-anchor=\"middle\">\(escape(label(tick)))</text>"
        }
        return text
    }

    static func legend(_ names: [String]) -> String {
        var text = ""
        var x = margin.left
        for (index, name) in names.enumerated() {
            let y = height - 8
            text += "<rect x=\"\(f(x))\" y=\"\(f(y - 9))\" width=\"10\" height=\"10\" fill=\"\(palette[index % palette.count])\"/>"
            text += "<text x=\"\(f(x + 14))\" y=\"\(f(y))\" font-size=\"11\">\(escape(name))</text>"
            x += 24 + Double(name.count) * 6.5
        }
        return text
    }

    /// Ticks at 1, 2 or 5 × 10^k covering [minimum, maximum], about five of them.
    static func niceTicks(minimum: Double, maximum: Double) -> [Double] {
        let span = max(maximum - minimum, 1e-12)
        let rough = span / 5
        let magnitude = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
        var ticks: [Double] = []
        var tick = floor(minimum / step) * step
        while tick < maximum + step * 0.999, ticks.count < 50 {
            ticks.append(tick)
            tick += step
        }
        return ticks
    }

    /// 1500000 → 1.5M, 0.25 → 0.25.
    static func compact(_ value: Double) -> String {
        switch abs(value) {
        case 1e9...: format(value / 1e9, digits: 2) + "G"
        case 1e6...: format(value / 1e6, digits: 2) + "M"
        case 1e4...: format(value / 1e3, digits: 1) + "k"
        default: format(value, digits: 3)
        }
    }

    static func f(_ value: Double) -> String { format(value, digits: 1) }

    /// `text` escaped for HTML and SVG (one escape for all reports: `CheckReport.escapeHTML`).
    static func escape(_ text: String) -> String { CheckReport.escapeHTML(text) }
}
