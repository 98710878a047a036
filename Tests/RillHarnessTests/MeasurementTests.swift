import Foundation
import Histogram
import RillFormat
@testable import RillHarness
import Testing

@Suite struct KeyChooserTests {
    func draws(_ distribution: KeyDistribution, seed: UInt64 = 7, count: Int = 100_000) -> [Int] {
        var chooser = KeyChooser(distribution, seed: seed)
        return (0..<count).map { _ in chooser.nextKey() ?? -1 }
    }

    @Test func sameSeedSameKeysOtherSeedOtherKeys() {
        #expect(draws(.zipf(keys: 1000, exponent: 1.1), count: 1000) == draws(.zipf(keys: 1000, exponent: 1.1), count: 1000))
        #expect(draws(.uniform(keys: 1000), count: 1000) != draws(.uniform(keys: 1000), seed: 8, count: 1000))
    }

    @Test func noneAndRoundRobin() {
        #expect(draws(.none, count: 3) == [-1, -1, -1])
        #expect(draws(.roundRobin(keys: 3), count: 7) == [0, 1, 2, 0, 1, 2, 0])
    }

    @Test func uniformCoversEveryKeyEvenly() {
        let counts = Dictionary(grouping: draws(.uniform(keys: 10)), by: { $0 }).mapValues(\.count)
        #expect(counts.keys.sorted() == Array(0..<10))
        #expect(counts.values.allSatisfy { abs($0 - 10_000) < 600 })
    }

    /// Zipf with s = 1 over N keys: P(rank 0) = 1 / H(N); P(rank 1) = P(rank 0) / 2.
    @Test func zipfFollowsItsLaw() {
        let keys = 100
        let harmonic = (1...keys).reduce(0.0) { $0 + 1 / Double($1) }
        let counts = Dictionary(grouping: draws(.zipf(keys: keys, exponent: 1)), by: { $0 }).mapValues(\.count)
        let first = Double(counts[0] ?? 0) / 100_000
        #expect(abs(first - 1 / harmonic) < 0.01)
        #expect(abs(Double(counts[1] ?? 0) / Double(counts[0] ?? 1) - 0.5) < 0.05)
        #expect(counts.keys.allSatisfy { (0..<keys).contains($0) })
    }

    @Test func hotSetSendsItsFractionToItsKeys() {
        let keys = draws(.hotSet(keys: 1000, trafficFraction: 0.8, keyFraction: 0.05))
        let hot = keys.filter { $0 < 50 }.count
        #expect(abs(Double(hot) / 100_000 - 0.8) < 0.01)
        #expect(keys.allSatisfy { (0..<1000).contains($0) })
        #expect(Set(keys.filter { $0 >= 50 }).count > 900)
    }
}

@Suite struct RateScheduleTests {
    @Test func intendedTimesFollowTheRateFromTheStart() {
        let schedule = RateSchedule(recordsPerSecond: 1000, start: 5_000_000)
        #expect(schedule.intendedTime(ofRecord: 0) == 5_000_000)
        #expect(schedule.intendedTime(ofRecord: 3) == 8_000_000)
        #expect(schedule.dueCount(from: 0, at: 4_000_000, limit: 100) == 0)
        #expect(schedule.dueCount(from: 0, at: 5_000_000, limit: 100) == 1)
        #expect(schedule.dueCount(from: 0, at: 8_500_000, limit: 100) == 4)
        #expect(schedule.dueCount(from: 2, at: 8_500_000, limit: 100) == 2)
        #expect(schedule.dueCount(from: 0, at: 1_000_000_000, limit: 100) == 100)
    }

    /// A stall does not move the schedule: records due during it keep their intended times.
    @Test func aStallLeavesLaterRecordsLateNotRescheduled() {
        let schedule = RateSchedule(recordsPerSecond: 100, start: 0)
        // The sender wakes 1 s late: 101 records are due, and record 50 was due at 0.5 s.
        #expect(schedule.dueCount(from: 0, at: 1_000_000_000, limit: 1000) == 101)
        #expect(schedule.intendedTime(ofRecord: 50) == 500_000_000)
    }

    /// At low rates the sender wakes per record; when many records fall within the slack, once
    /// for all of them, at the last one's intended time.
    @Test func wakeTimeGathersAChunkOnlyWhenManyRecordsFallWithinTheSlack() {
        let slow = RateSchedule(recordsPerSecond: 20_000, start: 0)  // one record per 50 µs
        #expect(slow.wakeTime(forRecord: 4, slack: 100_000, minimumChunk: 8, limit: 512) == 200_000)
        let fast = RateSchedule(recordsPerSecond: 1_000_000, start: 0)  // one per µs
        // Records 10…110 are due within 100 µs of record 10: wake when the last is due.
        #expect(fast.wakeTime(forRecord: 10, slack: 100_000, minimumChunk: 8, limit: 512) == 110_000)
        #expect(fast.wakeTime(forRecord: 10, slack: 100_000, minimumChunk: 8, limit: 64) == 73_000)
        #expect(RateSchedule(recordsPerSecond: nil, start: 0).wakeTime(forRecord: 0, slack: 100_000, minimumChunk: 8, limit: 512) == nil)
        // The sleep is the way to the wake time from now, at most 10 ms.
        #expect(slow.sleepNanoseconds(beforeRecord: 4, at: 150_000, limit: 512) == 50_000)
        // Above 80,000 records/s the sender wakes for the records due within 500 µs, not 100 µs.
        #expect(fast.sleepNanoseconds(beforeRecord: 10, at: 9_500, limit: 512) == 500_500)
        #expect(slow.pacesPerRecord && !RateSchedule(recordsPerSecond: 80_000, start: 0).pacesPerRecord)
        #expect((490_000...500_000).contains(RateSchedule(recordsPerSecond: 300_000, start: 0).sleepNanoseconds(beforeRecord: 0, at: 0, limit: 512)))
        #expect(RateSchedule(recordsPerSecond: 1, start: 0).sleepNanoseconds(beforeRecord: 1, at: 0, limit: 512) == 10_000_000)
    }

    /// Below `pacingMinimumChunk` records per slack (80,000 records/s) the sender paces each
    /// record, and the driver runs it on the client's event loop; above, and unthrottled, not.
    @Test func pacesPerRecordBelowAChunkPerSlack() {
        #expect(RateSchedule(recordsPerSecond: 20_000, start: 0).pacesPerRecord)
        #expect(RateSchedule(recordsPerSecond: 79_999, start: 0).pacesPerRecord)
        #expect(!RateSchedule(recordsPerSecond: 80_000, start: 0).pacesPerRecord)
        #expect(!RateSchedule(recordsPerSecond: 2_000_000, start: 0).pacesPerRecord)
        #expect(!RateSchedule(recordsPerSecond: nil, start: 0).pacesPerRecord)
    }

    @Test func rateChangeStartsANewSegmentAndUnthrottledIsAlwaysDue() {
        var schedule = RateSchedule(recordsPerSecond: 10, start: 0)
        schedule.change(recordsPerSecond: 1000, fromRecord: 5, at: 2_000_000_000)
        #expect(schedule.intendedTime(ofRecord: 5) == 2_000_000_000)
        #expect(schedule.intendedTime(ofRecord: 6) == 2_001_000_000)
        schedule.change(recordsPerSecond: nil, fromRecord: 9, at: 3_000_000_000)
        #expect(schedule.intendedTime(ofRecord: 9) == nil)
        #expect(schedule.dueCount(from: 9, at: 0, limit: 64) == 64)
    }
}

@Suite struct RateSearchTests {
    /// A system that sustains `capacity` records/s: above it producers fall short, the backlog
    /// grows and latency climbs.
    func simulate(capacity: Double, settings: RateSearchSettings = RateSearchSettings()) -> (rate: Double, search: RateSearch) {
        var search = RateSearch(settings: settings)
        var backlog = 0.0
        for _ in 0..<1000 {
            let target = search.currentRate
            let achieved = min(target, capacity * 1.02)
            backlog = max(0, backlog + achieved - capacity)
            let p99 = target <= capacity ? 5.0 : 500.0
            switch search.observe(.init(targetRate: target, publishedRecords: achieved, backlogRecords: backlog, publishP99Milliseconds: p99)) {
            case .finished(let rate): return (rate, search)
            case .setRate, .hold: continue
            }
        }
        Issue.record("the search did not finish")
        return (0, search)
    }

    @Test func findsTheCapacityWithinItsPrecision() {
        for capacity in [37_000.0, 1_234_567, 2_500_000] {
            let (rate, search) = simulate(capacity: capacity)
            #expect(rate <= capacity)
            #expect(rate >= capacity / 1.06, "capacity \(capacity): chose \(rate)")
            #expect(search.decisions.contains { !$0.isSustainable })
            #expect(search.decisions.allSatisfy { !$0.reason.isEmpty })
        }
    }

    /// After an unsustainable step the system drains at half the best sustainable rate before
    /// the next rate is tried.
    @Test func recoversBeforeTheNextStep() {
        var search = RateSearch(settings: RateSearchSettings())
        #expect(search.observe(.init(targetRate: 10_000, publishedRecords: 10_000, backlogRecords: 0, publishP99Milliseconds: 1)) == .hold)
        #expect(search.observe(.init(targetRate: 10_000, publishedRecords: 10_000, backlogRecords: 0, publishP99Milliseconds: 1)) == .setRate(20_000))
        _ = search.observe(.init(targetRate: 20_000, publishedRecords: 12_000, backlogRecords: 50_000, publishP99Milliseconds: 900))
        #expect(search.observe(.init(targetRate: 20_000, publishedRecords: 12_000, backlogRecords: 90_000, publishP99Milliseconds: 900)) == .setRate(5000))
        #expect(search.isRecovering)
        _ = search.observe(.init(targetRate: 5000, publishedRecords: 5000, backlogRecords: 1000, publishP99Milliseconds: 50))
        #expect(search.observe(.init(targetRate: 5000, publishedRecords: 5000, backlogRecords: 0, publishP99Milliseconds: 5)) == .setRate(14_142))
        #expect(search.decisions.count == 2)
    }

    /// The verdict on one 3-s step at 100,000 records/s, given each second's published records
    /// and backlog (p99 5 ms throughout).
    func judgeStep(published: [Double] = [100_000, 100_000, 100_000], backlogs: [Double] = [0, 0, 0]) -> RateSearch.Decision? {
        var settings = RateSearchSettings()
        settings.stepSeconds = 3
        settings.initialRate = 100_000
        var search = RateSearch(settings: settings)
        for (records, backlog) in zip(published, backlogs) {
            _ = search.observe(.init(targetRate: 100_000, publishedRecords: records, backlogRecords: backlog, publishP99Milliseconds: 5))
        }
        return search.decisions.first
    }

    /// Producers 3% short of the rate fall further behind every second: not sustainable, even
    /// with latency and backlog still under their limits. The step's first second (the previous
    /// rate's acknowledgements) is not counted.
    @Test func producersAFewPercentShortAreNotSustainable() {
        let short = judgeStep(published: [100_000, 97_000, 97_000])
        #expect(short?.isSustainable == false)
        #expect(short?.reason.contains("< 98%") == true)
        #expect(judgeStep(published: [60_000, 99_500, 100_000])?.isSustainable == true)
    }

    /// Consumers a fifth short of the rate: the backlog stays under a second of the rate for a
    /// three-second step, but it grows every second, so the rate is not sustainable. A backlog
    /// that only wobbles (a fetch in flight) is.
    @Test func consumersFallingBehindAreNotSustainable() {
        let behind = judgeStep(backlogs: [20_000, 40_000, 60_000])
        #expect(behind?.isSustainable == false)
        #expect(behind?.reason.contains("consumers fell behind") == true)
        #expect(judgeStep(backlogs: [5000, 9000, 4000])?.isSustainable == true)
        #expect(judgeStep(backlogs: [0, 3000, 6000])?.isSustainable == true, "growing, but under a tenth of a second of the rate")
    }

    @Test func saysWhyARateWasNotSustainable() {
        let (_, search) = simulate(capacity: 50_000)
        let refused = search.decisions.first { !$0.isSustainable }
        #expect(refused?.reason.contains("p99 publish latency") == true)
        #expect(search.decisions.first?.reason.hasPrefix("sustainable") == true)
    }

    @Test func stopsAtTheMaximumRateOrAfterTheStepLimit() {
        var settings = RateSearchSettings()
        settings.maximumRate = 40_000
        #expect(simulate(capacity: 1e9, settings: settings).rate == 40_000)
        settings.maximumRate = 1e9
        settings.maximumSteps = 3
        let (rate, search) = simulate(capacity: 1e9, settings: settings)
        #expect(search.decisions.count == 3)
        #expect(rate == 40_000)
    }

    @Test func halvesWhenNothingIsSustainable() {
        var settings = RateSearchSettings()
        settings.initialRate = 1000
        let (rate, _) = simulate(capacity: 100, settings: settings)
        #expect(rate > 0 && rate <= 100)
    }
}

@Suite struct LatencySummaryTests {
    @Test func percentilesInMillisecondsFromMicroseconds() {
        var histogram = LatencyHistogram.latency()
        for value in 1...1000 { _ = histogram.record(UInt64(value) * 1000) }
        let summary = LatencySummary(microseconds: histogram)
        #expect(summary.count == 1000)
        #expect(abs(summary.p50 - 500) < 1)
        #expect(abs(summary.p99 - 990) < 1)
        #expect(abs(summary.max - 1000) < 1)
        #expect(abs(summary.mean - 500.5) < 1)
        #expect(LatencySummary(microseconds: .latency()) == .empty)
    }

    /// A ten-minute stall is recorded as ten minutes, not clamped (OMB caps at 60 s).
    @Test func noUpperBound() {
        var histogram = LatencyHistogram.latency()
        _ = histogram.record(100)
        let recorded = histogram.record(600_000_000)
        #expect(recorded)
        let summary = LatencySummary(microseconds: histogram)
        #expect(abs(summary.max - 600_000) / 600_000 < 0.001)
    }

    @Test func quantilesRunTo9999AndTheMaximum() {
        var histogram = LatencyHistogram.latency()
        for value in 1...100_000 { _ = histogram.record(UInt64(value)) }
        let quantiles = latencyQuantiles(histogram)
        #expect(quantiles.first?.percentile == 10)
        #expect(quantiles.contains { $0.percentile == 99.99 })
        #expect(quantiles.last?.percentile == 100)
        #expect(zip(quantiles, quantiles.dropFirst()).allSatisfy { $0.percentile < $1.percentile && $0.milliseconds <= $1.milliseconds })
    }

    /// The one-pass percentiles and mean agree with the library's `valueAtPercentile` and
    /// `mean` exactly, on shapes that put percentiles on bucket edges, on one value, on zero, and
    /// on a long tail that resizes the histogram.
    @Test func onePassAgreesWithTheLibrary() {
        var generator = SplitMix64(seed: 42)
        let shapes: [(String, [UInt64])] = [
            ("one value", [137]),
            ("zeros and a value", [0, 0, 0, 5]),
            ("uniform", (0..<10_000).map { _ in generator.next() % 5_000 }),
            ("long tail", (0..<20_000).map { _ in
                let draw = generator.next() % 1000
                return draw < 990 ? 200 + draw : 1_000_000 + generator.next() % 600_000_000
            }),
            ("two clusters", (0..<1000).map { index in index % 100 == 0 ? 90_000 : 350 }),
        ]
        let percentiles = [0.5, 10, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 99.999]
        for (name, samples) in shapes {
            var histogram = LatencyHistogram.latency()
            for sample in samples { _ = histogram.record(sample) }
            let (values, mean) = histogram.valuesAndMean(atAscendingPercentiles: percentiles)
            #expect(values == percentiles.map { histogram.valueAtPercentile($0) }, "\(name)")
            #expect(abs(mean - histogram.mean) <= 1e-9 * max(1, histogram.mean), "\(name)")
        }
    }

    @Test func reportContextKeepsIntendedTimeAndDelay() {
        let context = ReportContext.pack(intendedMicroseconds: 123_456_789, delayMicroseconds: 4321)
        #expect(ReportContext.unpack(context) == (123_456_789, 4321))
        #expect(ReportContext.unpack(ReportContext.pack(intendedMicroseconds: 5, delayMicroseconds: 1 << 40)).delayMicroseconds == ReportContext.maximumDelay)
    }
}
