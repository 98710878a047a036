/// One producer's open-loop schedule: the intended send time of each record, fixed in advance
/// by the rate and never pushed back by a slow send (that is what keeps coordinated omission
/// out: a stall makes later records late, and their latency counts from when they were due).
///
/// Times are nanoseconds on the run's monotonic clock. A rate change starts a new segment at
/// the time of the change; records of the old segment that were still due are not forgiven.
public struct RateSchedule: Sendable, Equatable {
    /// Records per second of this producer; nil: unthrottled (a record is due when it is sent).
    public private(set) var recordsPerSecond: Double?
    /// When the current segment starts, and the index of its first record.
    private var segmentStart: UInt64
    private var segmentFirstIndex: Int
    private var nanosecondsPerRecord: Double

    public init(recordsPerSecond: Double?, start: UInt64) {
        self.recordsPerSecond = recordsPerSecond.flatMap { $0 > 0 ? $0 : nil }
        segmentStart = start
        segmentFirstIndex = 0
        nanosecondsPerRecord = self.recordsPerSecond.map { 1e9 / $0 } ?? 0
    }

    /// When record `index` is due (nil when unthrottled).
    public func intendedTime(ofRecord index: Int) -> UInt64? {
        guard recordsPerSecond != nil else { return nil }
        return segmentStart &+ UInt64((Double(index - segmentFirstIndex) * nanosecondsPerRecord).rounded(.down))
    }

    /// How many records from `index` on are due at `now`, at most `limit`.
    public func dueCount(from index: Int, at now: UInt64, limit: Int) -> Int {
        guard recordsPerSecond != nil else { return limit }
        guard now >= segmentStart else { return 0 }
        let dueThrough = segmentFirstIndex + Int((Double(now - segmentStart) / nanosecondsPerRecord).rounded(.down))
        return max(0, min(limit, dueThrough - index + 1))
    }

    /// When a sender that has sent records before `index` should wake next. At low rates:
    /// when record `index` is due. When at least `minimumChunk` records fall within `slack` of
    /// it: when the last of them (at most `limit`) is due, so one wake-up sends them together
    /// and none of them waits more than `slack` past its intended time. A wake-up costs the
    /// sender microseconds of CPU (a timer, a thread switch); waking per record at a million
    /// records a second spends a core on waking. The wait counts as publish delay: latency is
    /// still measured from each record's intended time. Nil when unthrottled.
    public func wakeTime(forRecord index: Int, slack: UInt64, minimumChunk: Int, limit: Int) -> UInt64? {
        guard let first = intendedTime(ofRecord: index) else { return nil }
        let chunk = dueCount(from: index, at: first &+ slack, limit: limit)
        return chunk >= minimumChunk ? intendedTime(ofRecord: index + chunk - 1) : first
    }

    /// At high rates a sender wakes once for the records due within this long, rather than per
    /// record; below `pacingMinimumChunk` records per slack — about 80,000 records/s — it wakes
    /// per record, as OMB's rate limiter does.
    static let pacingSlackNanoseconds: UInt64 = 100_000
    static let pacingMinimumChunk = 8
    /// Above that rate, where the sender runs on the shared pool and wakes per chunk anyway, it
    /// wakes at most every 500 µs: with 100 µs a sender woke 10,000 times a second at any rate
    /// over 80,000 records/s, and the wake-ups (a timer, a thread switch, a hand-off to the
    /// client's loop) cost the harness 0.12 of a core at 600,000 records/s of 1 KiB
    /// (docs/performance.md, ninth session). A record waits at most 500 µs past its intended
    /// time for it, counted as publish delay.
    static let chunkedPacingSlackNanoseconds: UInt64 = 500_000

    /// True when throttled below `pacingMinimumChunk` records per slack (80,000 records/s): the
    /// sender wakes for each record, and those wake-ups are most of a record's latency. The
    /// driver then runs the sender on the client's event loop, where the timer, the send and the
    /// acknowledgement are one thread's work and no other thread is woken on the way. Above it
    /// (and unthrottled) one thread cannot do all of a producer's work — 100-byte records top
    /// out near 1.4 M/s there against 2.4 M/s with the sender on the shared pool beside the
    /// client's loop — so it runs on the pool.
    public var pacesPerRecord: Bool {
        guard let recordsPerSecond else { return false }
        return recordsPerSecond * Double(Self.pacingSlackNanoseconds) / 1e9 < Double(Self.pacingMinimumChunk)
    }

    /// How long a sender that has sent the records before `index` and found none due at `now`
    /// sleeps: until `wakeTime` with the pacing slack (the chunked slack above
    /// `pacesPerRecord`'s rate), at most 10 ms (so rate changes and stop requests are seen); 0
    /// when unthrottled (records are always due then).
    public func sleepNanoseconds(beforeRecord index: Int, at now: UInt64, limit: Int) -> Int64 {
        let slack = pacesPerRecord ? Self.pacingSlackNanoseconds : Self.chunkedPacingSlackNanoseconds
        let wake = wakeTime(forRecord: index, slack: slack, minimumChunk: Self.pacingMinimumChunk, limit: limit) ?? now
        return Int64(min(wake &- min(wake, now), 10_000_000))
    }

    /// Continues at `recordsPerSecond` from record `index`, due from `now` on. Records before
    /// `index` that were due stay late (they are sent with their old intended times).
    public mutating func change(recordsPerSecond newRate: Double?, fromRecord index: Int, at now: UInt64) {
        recordsPerSecond = newRate.flatMap { $0 > 0 ? $0 : nil }
        nanosecondsPerRecord = recordsPerSecond.map { 1e9 / $0 } ?? 0
        segmentStart = now
        segmentFirstIndex = index
    }
}
