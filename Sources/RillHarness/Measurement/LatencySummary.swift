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
        let (values, mean) = histogram.valuesAndMean(atAscendingPercentiles: Self.percentiles)
        let milliseconds = values.map { Double($0) / 1000 }
        self.init(count: histogram.totalCount, mean: mean / 1000, p50: milliseconds[0], p75: milliseconds[1], p95: milliseconds[2],
                  p99: milliseconds[3], p999: milliseconds[4], p9999: milliseconds[5], max: Double(histogram.max) / 1000)
    }

    static let percentiles = [50, 75, 95, 99, 99.9, 99.99]
}

extension Histogram where Count == UInt64 {
    /// The values at `percentiles` (ascending, each below 100), exactly as `valueAtPercentile`
    /// gives them, and the mean as `mean` gives it, in one pass over the recorded values.
    ///
    /// `valueAtPercentile` walks every bucket from the first for each percentile, in the library's
    /// unspecialised generic code: a timeline row's 24 percentiles took the sampler 4 ms every
    /// second, on a core the clients and the broker were using (the once-a-second stall in
    /// `fixed-rate-latency`'s publish delay). The recorded-values iterator is inlinable, so it
    /// is specialised here and visits only buckets that hold values.
    func valuesAndMean(atAscendingPercentiles percentiles: [Double]) -> (values: [UInt64], mean: Double) {
        let total = totalCount
        guard total > 0 else { return ([UInt64](repeating: 0, count: percentiles.count), 0) }
        // The count each percentile must reach, computed as valueAtPercentile does (1 ulp below,
        // rounded up, at least the first value).
        let thresholds = percentiles.map { percentile in
            Swift.max(1, UInt64((Swift.min(Swift.max(percentile.nextDown, 0), 100) * Double(total) / 100).rounded(.up)))
        }
        let lowest = self.min
        let highest = maxRecorded
        var values = [UInt64](repeating: 0, count: percentiles.count)
        var next = 0
        var sum = 0.0
        for recorded in recordedValues() {
            sum += Double(medianEquivalentForValue(recorded.value)) * Double(recorded.count)
            while next < thresholds.count, recorded.totalCountToThisValue >= thresholds[next] {
                values[next] = Swift.max(Swift.min(recorded.value, highest), lowest)
                next += 1
            }
        }
        return (values, sum / Double(total))
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
    let values = histogram.valuesAndMean(atAscendingPercentiles: points).values
    return zip(points, values).map { ($0, Double($1) / 1000) } + [(100, Double(histogram.max) / 1000)]
}
