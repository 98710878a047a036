import Histogram

/// Latency histograms hold microseconds, auto-resizing (no upper bound: a ten-minute stall is
/// recorded as ten minutes), three significant digits.
public typealias LatencyHistogram = Histogram<UInt64>

extension Histogram where Count == UInt64 {
    /// An empty latency histogram (microseconds, no upper bound).
    public static func latency() -> Histogram<UInt64> {
        Histogram<UInt64>(numberOfSignificantValueDigits: .three)
    }
}

/// A latency distribution in milliseconds, as summary.json and the reports give it.
public struct LatencySummary: Codable, Equatable, Sendable {
    public var count: UInt64
    public var mean: Double
    public var p50: Double
    public var p75: Double
    public var p95: Double
    public var p99: Double
    public var p999: Double
    public var p9999: Double
    public var max: Double

    public static let empty = LatencySummary(count: 0, mean: 0, p50: 0, p75: 0, p95: 0, p99: 0, p999: 0, p9999: 0, max: 0)

    public init(count: UInt64, mean: Double, p50: Double, p75: Double, p95: Double, p99: Double, p999: Double, p9999: Double, max: Double) {
        self.count = count
        self.mean = mean
        self.p50 = p50
        self.p75 = p75
        self.p95 = p95
        self.p99 = p99
        self.p999 = p999
        self.p9999 = p9999
        self.max = max
    }

    /// From a histogram of microseconds.
    public init(microseconds histogram: LatencyHistogram) {
        guard histogram.totalCount > 0 else {
            self = .empty
            return
        }
        func milliseconds(_ percentile: Double) -> Double { Double(histogram.valueAtPercentile(percentile)) / 1000 }
        self.init(count: histogram.totalCount, mean: histogram.mean / 1000, p50: milliseconds(50), p75: milliseconds(75),
                  p95: milliseconds(95), p99: milliseconds(99), p999: milliseconds(99.9), p9999: milliseconds(99.99),
                  max: Double(histogram.max) / 1000)
    }
}

/// The four latencies the harness measures, each a histogram of microseconds.
///
/// - publish latency: acknowledgement − intended send time (what a user of an open-loop system
///   sees; no coordinated omission);
/// - service time: acknowledgement − actual send time;
/// - publish delay: actual − intended send time (how far the driver fell behind);
/// - end-to-end: consumer receipt − intended send time, on the same monotonic clock.
public struct LatencyHistograms: Sendable {
    public var publish = LatencyHistogram.latency()
    public var service = LatencyHistogram.latency()
    public var delay = LatencyHistogram.latency()
    public var endToEnd = LatencyHistogram.latency()

    public init() {}

    public mutating func add(_ other: LatencyHistograms) {
        publish.add(other.publish)
        service.add(other.service)
        delay.add(other.delay)
        endToEnd.add(other.endToEnd)
    }
}

/// Percentiles (0–100) from a histogram of microseconds, as milliseconds: the latency curve of
/// the reports and OMB's `aggregated…Quantiles`. Dense up to 99.99%, then the maximum.
public func latencyQuantiles(_ histogram: LatencyHistogram) -> [(percentile: Double, milliseconds: Double)] {
    guard histogram.totalCount > 0 else { return [] }
    var points: [Double] = []
    var step = 10.0
    var percentile = 0.0
    // 10, 20, … 90, 91, … 99, 99.1, … 99.9, 99.91, … 99.99: ten points per decade of 1/(1−p).
    while percentile < 99.99 - 1e-9 {
        percentile += step
        if percentile >= 100 - step - 1e-9 { step /= 10 }
        points.append((percentile * 1e6).rounded() / 1e6)
    }
    var result: [(percentile: Double, milliseconds: Double)] = []
    for point in points {
        result.append((point, Double(histogram.valueAtPercentile(point)) / 1000))
    }
    result.append((100, Double(histogram.max) / 1000))
    return result
}
