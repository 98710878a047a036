import Foundation

/// `omb-result.json`: OpenMessaging Benchmark's TestResult layout, so OMB's `bin/create_charts.py`
/// and users' own OMB scripts read Rill's results. Series are per 10-second window of the
/// measured phase, as OMB reports them; publish and end-to-end latencies are in milliseconds,
/// publish delay in microseconds (OMB's units).
public enum OMBResult {
    /// The TestResult as a JSON value (keys in OMB's spelling).
    public static func make(_ result: RunResult, windows: [TimelineRow], driver: String) -> JSONValue {
        let workload = result.cell.workload
        var object: [String: JSONValue] = [
            "workload": .string(result.cell.parameters.isEmpty ? workload.name : "\(workload.name) \(result.cell.label)"),
            "driver": .string(driver),
            "messageSize": .number(Double(workload.messageSize)),
            "topics": .number(Double(workload.topics)),
            "partitions": .number(Double(workload.partitionsPerTopic)),
            "producersPerTopic": .number(Double(workload.producersPerTopic)),
            "consumersPerTopic": .number(Double(workload.subscriptionsPerTopic * workload.consumerPerSubscription)),
            "publishRate": series(windows.map(\.publishRate)),
            "publishErrorRate": series(windows.map(\.publishErrorRate)),
            "consumeRate": series(windows.map(\.consumeRate)),
            "backlog": series(windows.map { $0.backlog.rounded() }),
        ]
        add(&object, prefix: "publishLatency", windows.map(\.publishLatency), scale: 1)
        add(&object, prefix: "publishDelayLatency", windows.map(\.publishDelay), scale: 1000, integral: true)
        add(&object, prefix: "endToEndLatency", windows.map(\.endToEndLatency), scale: 1)
        aggregate(&object, prefix: "aggregatedPublishLatency", result.histograms.publish, scale: 1)
        aggregate(&object, prefix: "aggregatedPublishDelayLatency", result.histograms.delay, scale: 1000, integral: true)
        aggregate(&object, prefix: "aggregatedEndToEndLatency", result.histograms.endToEnd, scale: 1)
        return .object(object)
    }

    // nonisolated(unsafe): a constant table of key paths, never mutated.
    private static func series(_ values: [Double]) -> JSONValue { .array(values.map { .number($0) }) }

    nonisolated(unsafe) private static let suffixes: [(String, KeyPath<LatencySummary, Double>)] = [
        ("Avg", \.mean), ("50pct", \.p50), ("75pct", \.p75), ("95pct", \.p95), ("99pct", \.p99), ("999pct", \.p999),
        ("9999pct", \.p9999), ("99999pct", \.p9999), ("Max", \.max),
    ]

    private static func add(_ object: inout [String: JSONValue], prefix: String, _ summaries: [LatencySummary], scale: Double, integral: Bool = false) {
        for (suffix, path) in suffixes {
            object[prefix + suffix] = series(summaries.map { value($0[keyPath: path] * scale, integral: integral && suffix != "Avg") })
        }
    }

    private static func aggregate(_ object: inout [String: JSONValue], prefix: String, _ histogram: LatencyHistogram, scale: Double, integral: Bool = false) {
        let summary = LatencySummary(microseconds: histogram)
        for (suffix, path) in suffixes {
            object[prefix + suffix] = .number(value(summary[keyPath: path] * scale, integral: integral && suffix != "Avg"))
        }
        // p99.999 from the histogram itself (the summary stops at p99.99).
        if histogram.totalCount > 0 {
            object[prefix + "99999pct"] = .number(value(Double(histogram.valueAtPercentile(99.999)) / 1000 * scale, integral: integral))
        }
        var quantiles: [String: JSONValue] = [:]
        for (percentile, milliseconds) in latencyQuantiles(histogram) where percentile < 100 {
            quantiles[String(percentile)] = .number(value(milliseconds * scale, integral: integral))
        }
        object[prefix + "Quantiles"] = .object(quantiles)
    }

    private static func value(_ number: Double, integral: Bool) -> Double {
        integral ? number.rounded() : (number * 1000).rounded() / 1000
    }
}
