import RillProtocol
import NIOCore
import RillBroker
import RillFormat
import RillStorage

/// The partitions one event loop owns (DESIGN.md: thread per core). Every partition's state is
/// touched only on its shard's loop, so the produce and fetch paths take no locks: a request
/// hops to the owning loop once per shard, not per record.
///
/// `@unchecked Sendable`: all mutable state is confined to `eventLoop` (checked by
/// `preconditionInEventLoop` in every entry point); the reference itself crosses threads only to
/// submit work to that loop.
final class PartitionShard: @unchecked Sendable {
    let eventLoop: any EventLoop
    let index: Int
    private var partitions: [TopicPartition: Partition] = [:]
    /// Long-polling fetches waiting for data on a partition.
    private var waiters: [TopicPartition: [FetchWaiter]] = [:]
    /// A compaction pass is running on the thread pool (at most one per shard).
    var isCleaning = false
    /// The coordinator of the groups whose `__consumer_offsets` partitions live here; created
    /// when the offsets topic is loaded or created.
    private(set) var groupCoordinator: GroupCoordinator?
    /// JoinGroup and SyncGroup requests the coordinator holds back, by token.
    private var parkedGroupRequests: [RequestToken: (promise: EventLoopPromise<ResponsePayload>, header: RequestHeader)] = [:]
    private var nextGroupToken: UInt64 = 0

    init(eventLoop: any EventLoop, index: Int) {
        self.eventLoop = eventLoop
        self.index = index
    }

    /// Runs `body` on the shard's loop: inline when already there, else submitted in order.
    func run<Result: Sendable>(_ body: @escaping @Sendable (PartitionShard) throws -> Result) -> EventLoopFuture<Result> {
        if eventLoop.inEventLoop {
            return eventLoop.makeCompletedFuture { try body(self) }
        }
        return eventLoop.submit { try body(self) }
    }

    func partition(_ topicPartition: TopicPartition) -> Partition? {
        eventLoop.preconditionInEventLoop()
        return partitions[topicPartition]
    }

    var allPartitions: [Partition] {
        eventLoop.preconditionInEventLoop()
        return Array(partitions.values)
    }

    func add(_ partition: Partition) {
        eventLoop.preconditionInEventLoop()
        partitions[partition.topicPartition] = partition
    }

    /// Removes the partition (its log stays open until the caller closes or deletes it) and
    /// wakes fetches waiting on it, which will now see it gone.
    @discardableResult
    func remove(_ topicPartition: TopicPartition) -> Partition? {
        eventLoop.preconditionInEventLoop()
        wakeWaiters(on: topicPartition)
        return partitions.removeValue(forKey: topicPartition)
    }

    // MARK: Group coordination

    /// The shard's coordinator, created on first use over the `__consumer_offsets` partitions
    /// it owns (a store that appends to them and wakes their readers).
    func makeGroupCoordinator(configuration: GroupCoordinatorConfiguration, seed: UInt64) -> GroupCoordinator {
        eventLoop.preconditionInEventLoop()
        if let groupCoordinator { return groupCoordinator }
        let store = PartitionGroupStore(
            partition: { [unowned self] index in self.partition(TopicPartition(OffsetsTopic.name, index)) },
            appended: { [unowned self] partition in self.wakeWaiters(on: partition.topicPartition) })
        let coordinator = GroupCoordinator(configuration: configuration, store: store, seed: seed)
        groupCoordinator = coordinator
        return coordinator
    }

    /// Parks a JoinGroup or SyncGroup until the coordinator answers its token.
    func park(_ header: RequestHeader) -> (RequestToken, EventLoopFuture<ResponsePayload>) {
        eventLoop.preconditionInEventLoop()
        nextGroupToken += 1
        let token = RequestToken(nextGroupToken)
        let promise = eventLoop.makePromise(of: ResponsePayload.self)
        parkedGroupRequests[token] = (promise, header)
        return (token, promise.futureResult)
    }

    /// Sends the coordinator's answers to the requests that wait for them.
    func deliver(_ replies: [ParkedReply]) {
        eventLoop.preconditionInEventLoop()
        for reply in replies {
            guard let parked = parkedGroupRequests.removeValue(forKey: reply.token) else { continue }
            let frame = switch reply.reply {
            case .join(let response): response.encodedFrame(version: parked.header.apiVersion, correlationID: parked.header.correlationID)
            case .sync(let response): response.encodedFrame(version: parked.header.apiVersion, correlationID: parked.header.correlationID)
            }
            parked.promise.succeed(.frame(frame))
        }
    }

    /// At shutdown: every held request is answered so no connection waits on it.
    func releaseParkedGroupRequests() {
        eventLoop.preconditionInEventLoop()
        let parked = parkedGroupRequests
        parkedGroupRequests.removeAll()
        for (_, request) in parked { request.promise.succeed(.close(reason: "the broker is shutting down")) }
    }

    // MARK: Fetch waiters

    /// Registers `waiter` for new data on `topicPartition`; wakes it at once if the high
    /// watermark already moved past what the waiter saw.
    func register(_ waiter: FetchWaiter, on topicPartition: TopicPartition, seenHighWatermark: Offset) {
        eventLoop.preconditionInEventLoop()
        guard let partition = partitions[topicPartition], partition.highWatermark == seenHighWatermark else {
            waiter.wake()
            return
        }
        waiters[topicPartition, default: []].append(waiter)
    }

    func deregister(_ waiter: FetchWaiter, from topicPartition: TopicPartition) {
        eventLoop.preconditionInEventLoop()
        waiters[topicPartition]?.removeAll { $0 === waiter }
        if waiters[topicPartition]?.isEmpty == true { waiters[topicPartition] = nil }
    }

    /// Called after an append moved the high watermark.
    func wakeWaiters(on topicPartition: TopicPartition) {
        eventLoop.preconditionInEventLoop()
        guard let woken = waiters.removeValue(forKey: topicPartition) else { return }
        for waiter in woken { waiter.wake() }
    }
}

/// Stable partition → shard placement (FNV-1a over the topic name and partition index), so a
/// partition lands on the same loop for the life of the process.
enum ShardPlacement {
    static func index(of topicPartition: TopicPartition, shardCount: Int) -> Int {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in topicPartition.topic.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        hash = (hash ^ UInt64(UInt32(bitPattern: topicPartition.partition))) &* 0x0000_0100_0000_01B3
        return Int(hash % UInt64(shardCount))
    }
}

/// A long-polling fetch parked until data arrives on one of its partitions or it times out.
/// Lives on the connection's loop; shards call `wake()` from theirs.
final class FetchWaiter: @unchecked Sendable {
    // @unchecked: `onWake` is set once before the waiter is shared and only run on `eventLoop`.
    let eventLoop: any EventLoop
    private let onWake: @Sendable () -> Void

    init(eventLoop: any EventLoop, onWake: @escaping @Sendable () -> Void) {
        self.eventLoop = eventLoop
        self.onWake = onWake
    }

    func wake() {
        eventLoop.execute(onWake)
    }
}
