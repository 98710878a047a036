/// The phase a second of the run belongs to.
public enum RunPhase: String, Codable, Sendable {
    /// Creating topics, starting clients, waiting for partition assignments.
    case preparing
    /// Finding the maximum sustainable rate (`producerRate: 0`).
    case rateSearch = "rate-search"
    /// Running, not measured.
    case warmup
    /// Consumers held back until the backlog is built (`consumerBacklogSizeGB`).
    case backlog
    /// Measured.
    case measuring
    /// Producers stopped; consumers reading what is left (not measured).
    case draining
}

/// One second of a run: rates, backlog and latency percentiles of that second alone.
public struct TimelineRow: Codable, Sendable, Equatable {
    /// Seconds since the driver started (end of this interval).
    public var second: Double
    public var phase: RunPhase
    public var targetRate: Double
    public var publishRate: Double
    public var publishMegabytesPerSecond: Double
    public var publishErrorRate: Double
    public var consumeRate: Double
    public var consumeMegabytesPerSecond: Double
    /// Published and not yet consumed, summed over subscriptions, at the end of the second.
    public var backlog: Double
    public var publishLatency: LatencySummary
    public var serviceTime: LatencySummary
    public var publishDelay: LatencySummary
    public var endToEndLatency: LatencySummary

    public init(second: Double, phase: RunPhase, targetRate: Double, publishRate: Double, publishMegabytesPerSecond: Double, publishErrorRate: Double,
                consumeRate: Double, consumeMegabytesPerSecond: Double, backlog: Double, publishLatency: LatencySummary,
                serviceTime: LatencySummary, publishDelay: LatencySummary, endToEndLatency: LatencySummary) {
        self.second = second
        self.phase = phase
        self.targetRate = targetRate
        self.publishRate = publishRate
        self.publishMegabytesPerSecond = publishMegabytesPerSecond
        self.publishErrorRate = publishErrorRate
        self.consumeRate = consumeRate
        self.consumeMegabytesPerSecond = consumeMegabytesPerSecond
        self.backlog = backlog
        self.publishLatency = publishLatency
        self.serviceTime = serviceTime
        self.publishDelay = publishDelay
        self.endToEndLatency = endToEndLatency
    }

    static let csvHeader = "second,phase,targetRate,publishRate,publishMBps,publishErrorRate,consumeRate,consumeMBps,backlog,"
        + "publishP50Ms,publishP99Ms,publishP999Ms,publishMaxMs,serviceP50Ms,serviceP99Ms,delayP50Ms,delayP99Ms,delayMaxMs,"
        + "endToEndP50Ms,endToEndP99Ms,endToEndP999Ms,endToEndMaxMs"

    var csvLine: String {
        let numbers: [Double] = [
            targetRate, publishRate, publishMegabytesPerSecond, publishErrorRate, consumeRate, consumeMegabytesPerSecond, backlog,
            publishLatency.p50, publishLatency.p99, publishLatency.p999, publishLatency.max, serviceTime.p50, serviceTime.p99,
            publishDelay.p50, publishDelay.p99, publishDelay.max, endToEndLatency.p50, endToEndLatency.p99, endToEndLatency.p999,
            endToEndLatency.max,
        ]
        return ([format(second, digits: 1), phase.rawValue] + numbers.map { format($0, digits: 3) }).joined(separator: ",")
    }
}

/// The timeline as CSV, one line per second.
public func timelineCSV(_ rows: [TimelineRow]) -> String {
    ([TimelineRow.csvHeader] + rows.map(\.csvLine)).joined(separator: "\n") + "\n"
}

/// A number with at most `digits` decimals, trailing zeros removed (deterministic text).
func format(_ value: Double, digits: Int) -> String {
    guard value.isFinite else { return "0" }
    var text = String(format: "%.\(digits)f", value)
    if text.contains(".") {
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
    }
    return text == "-0" ? "0" : text
}
