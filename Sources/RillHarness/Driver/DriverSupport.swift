import Foundation
import NIOConcurrencyHelpers
import NIOCore
import RillFormat
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The run's one clock: CLOCK_MONOTONIC nanoseconds. Producers stamp intended send times with it
/// and consumers read it on receipt, in the same process, so end-to-end latency needs no clock
/// synchronisation.
public enum MonotonicClock {
    @inline(__always)
    public static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    /// Milliseconds since the epoch (record timestamps).
    public static func wallMilliseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }
}

/// What the driver's tasks measured since the last sample.
public struct IntervalData: Sendable {
    public var publishedRecords: Int64 = 0
    public var publishedBytes: Int64 = 0
    public var publishErrors: Int64 = 0
    public var consumedRecords: Int64 = 0
    public var consumedBytes: Int64 = 0
    public var consumeErrors: Int64 = 0
    public var histograms = LatencyHistograms()
    /// The first error message seen (for the notes).
    public var firstError: String?

    public init() {}

    public mutating func add(_ other: IntervalData) {
        publishedRecords += other.publishedRecords
        publishedBytes += other.publishedBytes
        publishErrors += other.publishErrors
        consumedRecords += other.consumedRecords
        consumedBytes += other.consumedBytes
        consumeErrors += other.consumeErrors
        histograms.add(other.histograms)
        if firstError == nil { firstError = other.firstError }
    }
}

/// One task's measurements, taken by the sampler once a second. The task holds the lock once per
/// chunk of records (a poll's records, a batch of delivery reports), never per record.
///
/// `@unchecked Sendable`: `data` is only touched under `lock`.
public final class TaskStatistics: @unchecked Sendable {
    private let lock = NIOLock()
    private var data = IntervalData()

    public init() {}

    @inline(__always)
    public func update<Result>(_ body: (inout IntervalData) throws -> Result) rethrows -> Result {
        try lock.withLock { try body(&data) }
    }

    /// Everything since the last call; starts afresh.
    public func take() -> IntervalData {
        lock.withLock {
            let taken = data
            data = IntervalData()
            return taken
        }
    }
}

/// What the run's controller tells the driver's tasks: the rate, whether consumers are held
/// back, whether to stop. Read once per chunk of records.
public final class DriverControl: Sendable {
    /// Bound on each shutdown step (flushing producers, stopping tasks, closing clients).
    public static let shutdownTimeout: Duration = .seconds(30)

    private let rateBits = Atomic<UInt64>(0)
    private let generationCounter = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let producersStopping = Atomic<Bool>(false)
    private let paused = Atomic<Bool>(false)
    private let producing = Atomic<Bool>(false)
    /// The driver's epoch on `MonotonicClock`: intended times are offsets from it.
    public let start: UInt64

    public init(start: UInt64, rate: Double?) {
        self.start = start
        setRate(rate)
    }

    /// Records per second of all producers together; nil: unthrottled.
    public var rate: Double? {
        let value = Double(bitPattern: rateBits.load(ordering: .acquiring))
        return value.isFinite && value > 0 ? value : nil
    }

    /// Bumped by every rate change, so a producer knows to restart its schedule.
    public var rateGeneration: Int { generationCounter.load(ordering: .acquiring) }

    public func setRate(_ rate: Double?) {
        rateBits.store((rate ?? .infinity).bitPattern, ordering: .releasing)
        generationCounter.add(1, ordering: .releasing)
    }

    /// Everything stops (consumers too).
    public var isStopping: Bool { stopping.load(ordering: .acquiring) }
    public func stop() {
        producersStopping.store(true, ordering: .releasing)
        stopping.store(true, ordering: .releasing)
    }

    /// Producers stop (consumers go on reading what is left).
    public var areProducersStopping: Bool { producersStopping.load(ordering: .acquiring) }
    public func stopProducers() { producersStopping.store(true, ordering: .releasing) }

    /// Producers wait for this (consumers must have their partitions first).
    public var isProducing: Bool { producing.load(ordering: .acquiring) }
    public func startProducing() { producing.store(true, ordering: .releasing) }

    /// Waits (polling every millisecond) until producers may start or everything stops.
    public func waitUntilProducing() async {
        while !isProducing && !isStopping { try? await Task.sleep(for: .milliseconds(1)) }
    }

    public var areConsumersPaused: Bool { paused.load(ordering: .acquiring) }
    public func setConsumersPaused(_ value: Bool) { paused.store(value, ordering: .releasing) }
}

/// Delivery-report context: the intended send time (µs since the driver's start, 38 bits:
/// 76 hours) and the send delay (µs, 26 bits: saturates at 67 s, where service time stops
/// being exact; publish latency, counted from the intended time, is always exact).
enum ReportContext {
    static let delayBits: UInt64 = 26
    static let maximumDelay: UInt64 = (1 << delayBits) - 1

    @inline(__always)
    static func pack(intendedMicroseconds: UInt64, delayMicroseconds: UInt64) -> UInt64 {
        (intendedMicroseconds << delayBits) | min(delayMicroseconds, maximumDelay)
    }

    @inline(__always)
    static func unpack(_ context: UInt64) -> (intendedMicroseconds: UInt64, delayMicroseconds: UInt64) {
        (context >> delayBits, context & maximumDelay)
    }
}

/// The values records carry: `payloadFile`'s bytes, or randomized payloads (`randomBytesRatio`
/// random, the rest zeros), seeded; plus the key bytes of the key distribution.
public struct PayloadPool: Sendable {
    /// Total bytes of randomized payloads kept in memory.
    public static let maximumPoolBytes = 64 << 20

    public let payloads: [ByteBuffer]
    public let messageSize: Int

    public init(workload: Workload, readFile: (String) throws -> [UInt8]) throws {
        messageSize = workload.messageSize
        if let path = workload.payloadFile {
            payloads = [ByteBuffer(bytes: try readFile(path))]
            return
        }
        var generator = SplitMix64(seed: workload.seed ^ 0x5041_594C_4F41_4453)
        let count = max(1, min(workload.randomizedPayloadPoolSize, Self.maximumPoolBytes / max(1, workload.messageSize)))
        let randomCount = Int((Double(workload.messageSize) * workload.randomBytesRatio).rounded())
        payloads = (0..<count).map { _ in
            var bytes = [UInt8](repeating: 0, count: workload.messageSize)
            for index in 0..<randomCount { bytes[index] = UInt8(truncatingIfNeeded: generator.next()) }
            return ByteBuffer(bytes: bytes)
        }
    }

    /// `k0` … `kN−1`, the key of each key index.
    public static func keys(count: Int) -> [ByteBuffer] {
        (0..<count).map { ByteBuffer(string: "k\($0)") }
    }
}

/// Fills chunks of stamped values: one allocation per chunk, each value a slice of it with the
/// intended send time and the producer's sequence in its first 16 bytes.
struct StampedValueWriter {
    let pool: PayloadPool
    let producerIndex: UInt64
    private let allocator = ByteBufferAllocator()

    init(pool: PayloadPool, producerIndex: Int) {
        self.pool = pool
        self.producerIndex = UInt64(producerIndex)
    }

    /// Values for records `firstSequence…` with the given intended times (monotonic ns).
    func values(firstSequence: Int, intendedTimes: UnsafeBufferPointer<UInt64>, into values: inout [ByteBuffer]) {
        let size = pool.messageSize
        var slab = allocator.buffer(capacity: size * intendedTimes.count)
        for (offset, intended) in intendedTimes.enumerated() {
            let sequence = firstSequence + offset
            var template = pool.payloads[sequence % pool.payloads.count]
            template.moveReaderIndex(forwardBy: PayloadStamp.size)
            slab.writeWithUnsafeMutableBytes(minimumWritableBytes: PayloadStamp.size) { raw in
                PayloadStamp.write(intended: intended, producerIndex: producerIndex, sequence: sequence, to: raw)
                return PayloadStamp.size
            }
            slab.writeBuffer(&template)
        }
        values.removeAll(keepingCapacity: true)
        for offset in 0..<intendedTimes.count {
            values.append(slab.getSlice(at: offset * size, length: size)!)
        }
    }
}

/// Runs `operation` and waits for it at most `timeout`; true if it finished. On timeout the
/// operation goes on in its (unstructured) task, which the caller gives up on: used only for
/// shutdown steps (a producer's final flush, closing clients) that must not hang a run.
func finishes(within timeout: Duration, _ operation: @escaping @Sendable () async -> Void) async -> Bool {
    // Not cancelled on timeout: the task is owned by nobody then, and ends with the process at the latest.
    if case .finished = await bounded(timeout, slot: nil, cancelsOnTimeout: false, checkingEvery: .milliseconds(5), operation) { return true }
    return false
}
