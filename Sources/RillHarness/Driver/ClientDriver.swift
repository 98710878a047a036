import Foundation
import NIOCore
import NIOPosix
import RillClient
import RillFormat
import RillProtocol

/// Producers and consumers on Rill's client against one cluster, as concurrent tasks.
///
/// Each producer follows an open-loop `RateSchedule` and hands records to `KafkaProducer.offer`
/// (no suspension) in chunks; the clock is read once per chunk; the intended send time travels
/// in the delivery-report context, so acknowledgements are timed without per-record state.
/// Delivery reports arrive in batches and are recorded under one lock per batch. Consumers are
/// one group per subscription (OMB's layout) and read the intended send time from the value's
/// first bytes. Each task records into its own `TaskStatistics`; the controller merges them.
public final class ClientDriver: MeasuredDriver {
    /// Records handed to the producer per chunk, at most.
    static let chunkLimit = 512
    /// How long to wait for topics to get leaders and consumers to get their partitions.
    static let readinessTimeout: Duration = .seconds(60)

    public let workload: Workload
    public let topics: [String]
    let producers: [KafkaProducer]
    let consumers: [(consumer: KafkaConsumer, topicIndex: Int, subscription: Int)]
    public let producerStatistics: [TaskStatistics]
    public let consumerStatistics: [TaskStatistics]
    let pool: PayloadPool
    let keys: [ByteBuffer]
    let group: MultiThreadedEventLoopGroup
    let bootstrap: String
    let deletesTopics: Bool

    /// Creates the topics, starts the producers and consumers and waits until every
    /// subscription has all its partitions assigned.
    public static func prepare(workload: Workload, bootstrap: String, runID: String, deletesTopics: Bool, pool: PayloadPool) async throws -> ClientDriver {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: workload.effectiveClientThreads(cores: System.coreCount))
        do {
            let topics = (0..<workload.topics).map { "rill-bench-\(runID)-\($0)" }
            try await createTopics(topics, workload: workload, bootstrap: bootstrap, group: group)
            var producers: [KafkaProducer] = []
            let producerConfiguration = try ClientSettings.producer(workload, bootstrap: bootstrap)
            for _ in 0..<workload.producerCount {
                let cluster = KafkaCluster(configuration: producerConfiguration.client, group: group)
                producers.append(try await KafkaProducer.start(configuration: producerConfiguration, cluster: cluster))
            }
            var consumers: [(KafkaConsumer, Int, Int)] = []
            for topicIndex in 0..<workload.topics {
                for subscription in 0..<workload.subscriptionsPerTopic {
                    let configuration = try ClientSettings.consumer(workload, bootstrap: bootstrap, group: "rill-bench-\(runID)-\(topicIndex)-sub-\(subscription)")
                    for _ in 0..<workload.consumerPerSubscription {
                        let consumer = KafkaConsumer(configuration: configuration, cluster: KafkaCluster(configuration: configuration.client, group: group))
                        try consumer.subscribe(topics: [topics[topicIndex]])
                        consumers.append((consumer, topicIndex, subscription))
                    }
                }
            }
            return ClientDriver(workload: workload, topics: topics, producers: producers, consumers: consumers, pool: pool, group: group,
                                bootstrap: bootstrap, deletesTopics: deletesTopics)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private init(workload: Workload, topics: [String], producers: [KafkaProducer], consumers: [(KafkaConsumer, Int, Int)], pool: PayloadPool,
                 group: MultiThreadedEventLoopGroup, bootstrap: String, deletesTopics: Bool) {
        self.workload = workload
        self.topics = topics
        self.producers = producers
        self.consumers = consumers.map { (consumer: $0.0, topicIndex: $0.1, subscription: $0.2) }
        producerStatistics = producers.map { _ in TaskStatistics() }
        consumerStatistics = consumers.map { _ in TaskStatistics() }
        self.pool = pool
        keys = PayloadPool.keys(count: workload.effectiveKeyDistribution.keyCount)
        self.group = group
        self.bootstrap = bootstrap
        self.deletesTopics = deletesTopics
    }

    static func createTopics(_ topics: [String], workload: Workload, bootstrap: String, group: any EventLoopGroup) async throws {
        let configuration = ClientConfiguration(bootstrapServers: try ClientConfiguration.parseServers(bootstrap))
        let admin = KafkaAdmin(cluster: KafkaCluster(configuration: configuration, group: group))
        defer { Task { await admin.cluster.close() } }
        try await createTopics(topics, workload: workload, admin: admin)
    }

    /// Creates `topics` with the workload's partitions, replication factor and `topicConfig`
    /// through `admin`, and waits (at most `readinessTimeout`) until every partition has a leader.
    static func createTopics(_ topics: [String], workload: Workload, admin: KafkaAdmin) async throws {
        let results = try await admin.createTopics(topics.map {
            KafkaAdmin.NewTopic(name: $0, partitionCount: Int32(workload.partitionsPerTopic), replicationFactor: Int16(workload.replicationFactor), configs: workload.topicConfig)
        })
        for topic in topics {
            if let error = results[topic] ?? nil { throw HarnessError("cannot create topic \(topic): \(error)") }
        }
        let deadline = ContinuousClock.now + readinessTimeout
        while true {
            let metadata = try await admin.cluster.refreshMetadata(topics: topics)
            let ready = topics.allSatisfy { name in
                guard let topic = metadata.topics[name], topic.errorCode == .none, topic.partitionCount == workload.partitionsPerTopic else { return false }
                return topic.partitions.allSatisfy { $0.leader >= 0 }
            }
            if ready { return }
            guard ContinuousClock.now < deadline else { throw HarnessError("the topics had no leaders within \(readinessTimeout)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    public var allStatistics: [TaskStatistics] { producerStatistics + consumerStatistics }

    /// True once every subscription's consumers together hold all of its topic's partitions.
    public var isReady: Bool {
        var assigned: [String: Set<TopicPartition>] = [:]
        for entry in consumers {
            assigned["\(entry.topicIndex)/\(entry.subscription)", default: []].formUnion(entry.consumer.assignment)
        }
        return assigned.values.allSatisfy { $0.count == workload.partitionsPerTopic }
    }

    /// Every producer, delivery-report and consumer task, until `control.stop()`.
    public func run(control: DriverControl) async {
        await withTaskGroup(of: Void.self) { group in
            for index in consumers.indices { group.addTask(executorPreference: consumers[index].consumer.cluster.executor) { await self.runConsumer(index, control: control) } }
            for index in producers.indices {
                let executor = producers[index].cluster.executor
                group.addTask(executorPreference: executor) { await self.runDeliveryReports(index, control: control) }
                group.addTask(executorPreference: executor) {
                    await control.waitUntilProducing()
                    await self.runProducer(index, control: control)
                }
            }
        }
    }

    // MARK: Producers

    /// Sends records on the schedule until `control` says stop, then closes the producer (which
    /// flushes, and ends its delivery reports).
    ///
    /// The pacing runs on the client's event loop while it paces each record and on the shared
    /// pool at higher rates (`RateSchedule.pacesPerRecord`); `pace` returns to move it when a
    /// rate change crosses that line.
    public func runProducer(_ index: Int, control: DriverControl) async {
        let producer = producers[index]
        var progress = ProducerProgress(
            index: index, schedule: RateSchedule(recordsPerSecond: control.rate.map { $0 / Double(producers.count) }, start: MonotonicClock.now()),
            generation: control.rateGeneration, chooser: KeyChooser(workload.effectiveKeyDistribution, seed: workload.seed &+ UInt64(index) &* 0x9E37_79B9),
            stampedWriter: workload.isStamped ? StampedValueWriter(pool: pool, producerIndex: index) : nil)
        while true {
            let onClientLoop = progress.schedule.pacesPerRecord
            let outcome = await withTaskExecutorPreference(onClientLoop ? producer.cluster.executor : globalConcurrentExecutor) {
                await pace(&progress, onClientLoop: onClientLoop, control: control)
            }
            if outcome != .moved { break }
        }
        if !(await finishes(within: DriverControl.shutdownTimeout, { await producer.close() })) {
            producerStatistics[index].update { data in
                data.publishErrors += 1
                if data.firstError == nil { data.firstError = "producer \(index) did not finish flushing within \(DriverControl.shutdownTimeout) of the end; its unacknowledged records are not counted" }
            }
        }
    }

    /// Where one producer is in its schedule, kept across moves between threads.
    struct ProducerProgress {
        let index: Int
        var schedule: RateSchedule
        var generation: Int
        var sequence = 0
        var chooser: KeyChooser
        let stampedWriter: StampedValueWriter?
        var intended = [UInt64](repeating: 0, count: ClientDriver.chunkLimit)
        var values: [ByteBuffer] = []
    }

    enum PaceOutcome { case stopped, closed, moved }

    /// Sends due records and sleeps between them until told to stop, the producer is closed,
    /// or a rate change means the pacing belongs on the other side of `pacesPerRecord`.
    private func pace(_ progress: inout ProducerProgress, onClientLoop: Bool, control: DriverControl) async -> PaceOutcome {
        let producer = producers[progress.index]
        let statistics = producerStatistics[progress.index]
        let topic = topics[progress.index % topics.count]
        while !control.areProducersStopping {
            if control.rateGeneration != progress.generation {
                progress.generation = control.rateGeneration
                progress.schedule.change(recordsPerSecond: control.rate.map { $0 / Double(producers.count) }, fromRecord: progress.sequence, at: MonotonicClock.now())
                if progress.schedule.pacesPerRecord != onClientLoop { return .moved }
            }
            let now = MonotonicClock.now()
            let sequence = progress.sequence
            let due = progress.schedule.dueCount(from: sequence, at: now, limit: Self.chunkLimit)
            if due == 0 {
                let sleep = progress.schedule.sleepNanoseconds(beforeRecord: sequence, at: now, limit: Self.chunkLimit)
                if onClientLoop {
                    await producer.cluster.executor.sleep(until: .now() + .nanoseconds(sleep))
                } else {
                    try? await Task.sleep(for: .nanoseconds(sleep))
                }
                continue
            }
            for offset in 0..<due { progress.intended[offset] = progress.schedule.intendedTime(ofRecord: sequence + offset) ?? now }
            if let stampedWriter = progress.stampedWriter {
                progress.intended.withUnsafeBufferPointer {
                    stampedWriter.values(firstSequence: sequence, intendedTimes: UnsafeBufferPointer(rebasing: $0[0..<due]), into: &progress.values)
                }
            }
            let intended = progress.intended[0..<due]
            statistics.update { data in
                for time in intended { _ = data.histograms.delay.record((now &- min(now, time)) / 1000) }
            }
            let chunk = Chunk(first: sequence, intended: intended, values: progress.stampedWriter != nil ? progress.values[0..<due] : nil, now: now)
            guard await send(chunk, producer: producer, topic: topic, chooser: &progress.chooser, statistics: statistics, control: control) else { return .closed }
            progress.sequence += due
            // Behind schedule: let the other tasks run before the next chunk. On schedule, the
            // next pass sleeps anyway.
            if progress.schedule.dueCount(from: progress.sequence, at: MonotonicClock.now(), limit: 1) > 0 { await Task.yield() }
        }
        return .stopped
    }

    /// Records due together: their intended times and, for stamped values, the values.
    struct Chunk {
        var first: Int
        var intended: ArraySlice<UInt64>
        var values: ArraySlice<ByteBuffer>?
        var now: UInt64
    }

    /// Hands a chunk's records to the producer; false once the producer is closed.
    private func send(_ chunk: Chunk, producer: KafkaProducer, topic: String, chooser: inout KeyChooser, statistics: TaskStatistics, control: DriverControl) async -> Bool {
        let timestamp = Timestamp(milliseconds: MonotonicClock.wallMilliseconds())
        let now = chunk.now
        for (offset, intended) in zip(chunk.intended.indices, chunk.intended) {
            let sequence = chunk.first + offset
            let value = chunk.values?[offset] ?? pool.payloads[sequence % pool.payloads.count]
            let key = chooser.nextKey().map { keys[$0] }
            let record = ProducerRecord(topic: topic, key: key, value: value, timestamp: timestamp)
            let context = ReportContext.pack(intendedMicroseconds: (intended &- control.start) / 1000, delayMicroseconds: (now &- min(now, intended)) / 1000)
            do {
                if try !producer.offer(record, context: context) {
                    // The first record learns the topic's partitions (enqueue's slow path);
                    // after that a refused offer is back-pressure: the driver falls behind its
                    // schedule (publish delay) and retries, until told to stop.
                    if sequence == 0 {
                        try await producer.enqueue(record, context: context)
                    } else {
                        while try !producer.offer(record, context: context) {
                            if control.areProducersStopping { break }
                            try? await Task.sleep(for: .microseconds(200))
                        }
                    }
                }
            } catch {
                statistics.update { data in
                    data.publishErrors += 1
                    if data.firstError == nil { data.firstError = "publish: \(error)" }
                }
                if (error as? KafkaClientError)?.code == .closed { return false }
            }
        }
        return true
    }

    /// Records acknowledgements until the producer is closed.
    public func runDeliveryReports(_ index: Int, control: DriverControl) async {
        let statistics = producerStatistics[index]
        let bytesPerRecord = Int64(workload.messageSize)
        for await batch in producers[index].deliveryReports.batches {
            let nowMicroseconds = (MonotonicClock.now() &- control.start) / 1000
            statistics.update { data in
                for report in batch {
                    if let error = report.error {
                        data.publishErrors += 1
                        if data.firstError == nil { data.firstError = "publish: \(error)" }
                        continue
                    }
                    let (intended, delay) = ReportContext.unpack(report.context)
                    let latency = nowMicroseconds &- min(nowMicroseconds, intended)
                    _ = data.histograms.publish.record(latency)
                    _ = data.histograms.service.record(latency &- min(latency, delay))
                    data.publishedRecords += 1
                    data.publishedBytes += bytesPerRecord
                }
            }
        }
    }

    // MARK: Consumers

    /// Polls until `control` says stop; holds back (pauses its partitions) while asked to.
    public func runConsumer(_ index: Int, control: DriverControl) async {
        let consumer = consumers[index].consumer
        let statistics = consumerStatistics[index]
        let isStamped = workload.isStamped
        var isPaused = false
        while !control.isStopping {
            if control.areConsumersPaused != isPaused {
                isPaused.toggle()
                if isPaused { consumer.pause(consumer.assignment) } else { consumer.resume(consumer.assignment) }
            } else if isPaused {
                consumer.pause(consumer.assignment)  // partitions assigned since
            }
            let records: [ConsumerRecord]
            do {
                records = try await consumer.poll(timeout: .milliseconds(100))
            } catch {
                statistics.update { data in
                    data.consumeErrors += 1
                    if data.firstError == nil { data.firstError = "consume: \(error)" }
                }
                try? await Task.sleep(for: .milliseconds(100))
                continue
            }
            guard !records.isEmpty else { continue }
            let now = MonotonicClock.now()
            let nowWall = MonotonicClock.wallMilliseconds()
            statistics.update { data in
                for record in records {
                    let value = record.value
                    data.consumedBytes += Int64(value?.readableBytes ?? 0)
                    if isStamped, let value, value.readableBytes >= PayloadStamp.size, let sent = value.getInteger(at: value.readerIndex, as: UInt64.self) {
                        _ = data.histograms.endToEnd.record((now &- min(now, sent)) / 1000)
                    } else {
                        _ = data.histograms.endToEnd.record(UInt64(max(0, nowWall - record.timestamp.milliseconds)) * 1000)
                    }
                }
                data.consumedRecords += Int64(records.count)
            }
        }
    }

    // MARK: Shutdown

    /// Closes the producers (if `runProducer` has not), the consumers and, if asked, deletes
    /// the topics.
    public func close() async {
        for producer in producers {
            _ = await finishes(within: DriverControl.shutdownTimeout) { await producer.close() }
            await producer.cluster.close()
        }
        for entry in consumers {
            _ = await finishes(within: DriverControl.shutdownTimeout) { await entry.consumer.close() }
            await entry.consumer.cluster.close()
        }
        if deletesTopics, let configuration = try? ClientConfiguration(bootstrapServers: ClientConfiguration.parseServers(bootstrap)) {
            let admin = KafkaAdmin(cluster: KafkaCluster(configuration: configuration, group: group))
            _ = try? await admin.deleteTopics(topics)
            await admin.cluster.close()
        }
        try? await group.shutdownGracefully()
    }
}

/// An operating error of the harness (a cluster that does not answer, a broker that will not
/// start), said in one sentence.
public struct HarnessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
