import NIOCore
import RillBroker
import RillFormat
import RillProtocol
import RillStorage

extension BrokerRuntime {
    /// One partition of a Fetch request.
    struct FetchItem: Sendable {
        var topicIndex: Int
        var partitionIndex: Int
        var topicPartition: TopicPartition
        var offset: Offset
        var maximumBytes: Int
        var currentLeaderEpoch: LeaderEpoch
    }

    /// Fetch with long polling (Kafka's DelayedFetch): answer at once when there are at least
    /// `minBytes`, an error, or no wait; otherwise park until data arrives on one of the
    /// partitions or `maxWait` passes. Sessions (KIP-227) are never created: the answer is always
    /// a full response with session id 0, which every client accepts.
    func fetch(_ request: FetchRequest, header: RequestHeader, eventLoop: any EventLoop) -> EventLoopFuture<ResponsePayload> {
        var response = FetchResponse(
            topics: request.topics.map { topic in
                FetchResponse.Topic(name: topic.name, partitions: topic.partitions.map {
                    FetchResponse.Partition(partition: $0.partition, errorCode: .none, highWatermark: .none, lastStableOffset: .none, logStartOffset: .none, records: nil)
                })
            })
        if request.sessionID != 0 {
            response.errorCode = .fetchSessionIDNotFound
            response.topics = []
            return eventLoop.makeSucceededFuture(respond(response, to: header))
        }
        guard header.apiVersion >= BrokerApiVersions.implementedMinimum(.fetch) else {
            for topicIndex in response.topics.indices {
                for partitionIndex in response.topics[topicIndex].partitions.indices {
                    response.topics[topicIndex].partitions[partitionIndex].errorCode = .unsupportedVersion
                }
            }
            return eventLoop.makeSucceededFuture(respond(response, to: header))
        }
        var items: [FetchItem] = []
        for (topicIndex, topic) in request.topics.enumerated() {
            for (partitionIndex, partition) in topic.partitions.enumerated() {
                items.append(FetchItem(
                    topicIndex: topicIndex, partitionIndex: partitionIndex, topicPartition: TopicPartition(topic.name, partition.partition),
                    offset: partition.fetchOffset, maximumBytes: Int(max(partition.partitionMaximumBytes, 0)), currentLeaderEpoch: partition.currentLeaderEpoch))
            }
        }
        let operation = DelayedFetch(
            runtime: self, header: header, template: response, items: items,
            minimumBytes: Int(request.minimumBytes), maximumBytes: header.apiVersion >= 3 ? Int(max(request.maximumBytes, 0)) : Int.max,
            maximumWaitMilliseconds: Int64(request.maximumWaitMilliseconds), eventLoop: eventLoop)
        operation.attempt()
        return operation.promise.futureResult
    }

    /// Reads every item on its shard; results come back in item order.
    func read(_ items: [FetchItem], version: Int16, eventLoop: any EventLoop) -> EventLoopFuture<[Partition.FetchResult]> {
        onPartitions(items.map { ($0.topicPartition, $0) }, eventLoop: eventLoop) { partition, item, _ in
            guard let partition else {
                return .failure(.unknownTopicOrPartition)
            }
            return partition.fetch(offset: item.offset, maximumBytes: item.maximumBytes, currentLeaderEpoch: item.currentLeaderEpoch,
                                   includeFirstBatchWhole: true, allowsZstd: version >= 10)
        }
    }
}

/// One parked Fetch. Confined to the connection's event loop.
final class DelayedFetch: @unchecked Sendable {
    // @unchecked: every mutable property is touched only on `eventLoop`.
    let runtime: BrokerRuntime
    let header: RequestHeader
    let template: FetchResponse
    let items: [BrokerRuntime.FetchItem]
    let minimumBytes: Int
    let maximumBytes: Int
    let deadline: NIODeadline
    let eventLoop: any EventLoop
    let promise: EventLoopPromise<ResponsePayload>
    private var waiter: FetchWaiter?
    private var timer: Scheduled<Void>?
    private var isComplete = false

    init(runtime: BrokerRuntime, header: RequestHeader, template: FetchResponse, items: [BrokerRuntime.FetchItem],
         minimumBytes: Int, maximumBytes: Int, maximumWaitMilliseconds: Int64, eventLoop: any EventLoop) {
        self.runtime = runtime
        self.header = header
        self.template = template
        self.items = items
        self.minimumBytes = minimumBytes
        self.maximumBytes = maximumBytes
        self.deadline = .now() + .milliseconds(max(0, maximumWaitMilliseconds))
        self.eventLoop = eventLoop
        self.promise = eventLoop.makePromise()
    }

    /// Reads everything; answers if the answer is ready, parks otherwise.
    func attempt() {
        runtime.read(items, version: header.apiVersion, eventLoop: eventLoop).whenComplete { result in
            switch result {
            case .failure(let error): self.finish(.close(reason: "fetch failed: \(error)"))
            case .success(let results): self.consider(results)
            }
        }
    }

    private func consider(_ results: [Partition.FetchResult]) {
        guard !isComplete else { return }
        let slices = limitedSlices(results)
        let byteCount = slices.reduce(0) { $0 + ($1?.length ?? 0) }
        let hasError = results.contains { $0.errorCode != .none }
        if byteCount >= minimumBytes || hasError || NIODeadline.now() >= deadline {
            finish(encode(results, slices: slices))
        } else {
            park(results)
        }
    }

    /// Applies the response-wide byte limit in request order: the first partition with data may
    /// exceed it by its first batch (KIP-74); later ones get what is left.
    private func limitedSlices(_ results: [Partition.FetchResult]) -> [FileSlice?] {
        var remaining = maximumBytes
        var sawData = false
        return results.map { result in
            guard let slice = result.records, slice.length > 0 else { return nil }
            defer { sawData = true }
            if !sawData {
                remaining -= slice.length
                return slice
            }
            guard remaining > 0 else { return nil }
            let length = min(slice.length, remaining)
            remaining -= length
            return FileSlice(file: slice.file, position: slice.position, length: length)
        }
    }

    private func park(_ results: [Partition.FetchResult]) {
        if timer == nil {
            timer = eventLoop.scheduleTask(deadline: deadline) { self.attemptAfterTimeout() }
        }
        let waiter = FetchWaiter(eventLoop: eventLoop) { [weak self] in self?.woken() }
        self.waiter = waiter
        for (item, result) in zip(items, results) {
            let shard = runtime.shard(for: item.topicPartition)
            let seen = result.highWatermark
            _ = shard.run { shard in shard.register(waiter, on: item.topicPartition, seenHighWatermark: seen) }
        }
    }

    private func woken() {
        guard !isComplete, waiter != nil else { return }
        deregister()
        attempt()
    }

    private func attemptAfterTimeout() {
        guard !isComplete else { return }
        deregister()
        attempt()
    }

    private func deregister() {
        guard let waiter else { return }
        self.waiter = nil
        for item in items {
            _ = runtime.shard(for: item.topicPartition).run { shard in shard.deregister(waiter, from: item.topicPartition) }
        }
    }

    private func finish(_ payload: ResponsePayload) {
        guard !isComplete else { return }
        isComplete = true
        timer?.cancel()
        deregister()
        promise.succeed(payload)
    }

    /// The response frame, with each partition's records as a file range (sent with sendfile).
    private func encode(_ results: [Partition.FetchResult], slices: [FileSlice?]) -> ResponsePayload {
        var response = template
        var sliceTable: [[FileSlice?]] = response.topics.map { [FileSlice?](repeating: nil, count: $0.partitions.count) }
        for ((item, result), slice) in zip(zip(items, results), slices) {
            response.topics[item.topicIndex].partitions[item.partitionIndex].errorCode = result.errorCode
            response.topics[item.topicIndex].partitions[item.partitionIndex].highWatermark = result.highWatermark
            response.topics[item.topicIndex].partitions[item.partitionIndex].lastStableOffset = result.lastStableOffset
            response.topics[item.topicIndex].partitions[item.partitionIndex].logStartOffset = result.logStartOffset
            sliceTable[item.topicIndex][item.partitionIndex] = slice
        }
        return FetchResponseEncoder.encode(response, slices: sliceTable, header: header)
    }
}

enum FetchResponseEncoder {
    /// Writes the response around the records, leaving a split point where each partition's
    /// bytes go, so they can be sent straight from the segment file.
    static func encode(_ response: FetchResponse, slices: [[FileSlice?]], header: RequestHeader) -> ResponsePayload {
        var buffer = ByteBufferAllocator().buffer(capacity: 256 + 64 * slices.count)
        let frame = buffer.startKafkaFrame()
        ResponseHeader.write(correlationID: header.correlationID, apiKey: .fetch, version: header.apiVersion, to: &buffer)
        var splits: [(index: Int, slice: FileSlice)] = []
        response.write(to: &buffer, version: header.apiVersion) { buffer, topicIndex, partitionIndex in
            // Never null records: librdkafka cannot parse a negative length (§2.3).
            guard let slice = slices[topicIndex][partitionIndex], slice.length > 0 else {
                buffer.writeInteger(Int32(0))
                return
            }
            buffer.writeInteger(Int32(slice.length))
            splits.append((buffer.writerIndex, slice))
        }
        let fileBytes = splits.reduce(0) { $0 + $1.slice.length }
        buffer.setInteger(Int32(buffer.writerIndex - frame - 4 + fileBytes), at: frame)
        guard !splits.isEmpty else { return .frame(buffer) }
        var parts: [ResponsePart] = []
        var start = buffer.readerIndex
        for (index, slice) in splits {
            parts.append(.bytes(buffer.getSlice(at: start, length: index - start)!))
            parts.append(.file(slice))
            start = index
        }
        parts.append(.bytes(buffer.getSlice(at: start, length: buffer.writerIndex - start)!))
        return .parts(parts)
    }
}
