import NIOCore
import RillBroker
import RillFormat
import RillProtocol

extension BrokerRuntime {
    /// One partition of a Produce request, with where its answer goes.
    struct ProduceItem: Sendable {
        var topicIndex: Int
        var partitionIndex: Int
        var topicPartition: TopicPartition
        var records: ByteBuffer?
    }

    /// Produce: each shard appends its partitions in one task; the answers are put back in
    /// request order. acks=0 sends nothing back, and closes the connection on any failure so
    /// the client refreshes its metadata (Kafka's behaviour).
    func produce(_ request: ProduceRequest, header: RequestHeader, eventLoop: any EventLoop) -> EventLoopFuture<ResponsePayload> {
        var response = ProduceResponse(
            topics: request.topics.map { topic in
                ProduceResponse.Topic(name: topic.name, partitions: topic.partitions.map { ProduceResponse.Partition(partition: $0.partition, errorCode: .none, baseOffset: .none) })
            })
        guard [-1, 0, 1].contains(request.acks) else {
            fill(&response, with: .invalidRequiredAcks)
            return eventLoop.makeSucceededFuture(respond(response, to: header))
        }
        guard header.apiVersion >= BrokerApiVersions.implementedMinimum(.produce) else {
            fill(&response, with: .unsupportedVersion)
            // acks=0 is never answered: a failure closes the connection instead.
            return eventLoop.makeSucceededFuture(request.acks == 0 ? .close(reason: "Produce v\(header.apiVersion) with acks=0 is not supported") : respond(response, to: header))
        }
        let now = Self.now()
        var items: [(topicPartition: TopicPartition, item: ProduceItem)] = []
        for (topicIndex, topic) in request.topics.enumerated() {
            for (partitionIndex, partition) in topic.partitions.enumerated() {
                let topicPartition = TopicPartition(topic.name, partition.partition)
                items.append((topicPartition, ProduceItem(topicIndex: topicIndex, partitionIndex: partitionIndex, topicPartition: topicPartition, records: partition.records)))
            }
        }
        let version = header.apiVersion
        let acks = request.acks
        let appended = onPartitions(items, eventLoop: eventLoop) { partition, item, shard in
            (item, Self.produce(item, partition: partition, shard: shard, version: version, acks: acks, now: now))
        }
        let template = response
        return appended.map { results in
            var response = template
            var failed = false
            for (item, result) in results {
                response.topics[item.topicIndex].partitions[item.partitionIndex].apply(result)
                failed = failed || result.errorCode != .none
            }
            if acks == 0 { return failed ? .close(reason: "a produce with acks=0 failed") : .none }
            return self.respond(response, to: header)
        }
    }

    /// Appends one partition's records on its shard and wakes fetches waiting on it.
    static func produce(_ item: ProduceItem, partition: Partition?, shard: PartitionShard, version: Int16, acks: Int16, now: Timestamp) -> Partition.ProduceResult {
        guard let partition else {
            return .failure(.unknownTopicOrPartition, "\(item.topicPartition) does not exist", logStartOffset: .none)
        }
        guard item.topicPartition.topic != OffsetsTopic.name else {
            // Only the group coordinator writes there (Kafka: "Cannot append to internal topic").
            return .failure(.invalidTopicException, "cannot append to internal topic \(OffsetsTopic.name)", logStartOffset: partition.log.logStartOffset)
        }
        let result = partition.produce(item.records, produceVersion: version, acks: acks, now: now)
        if result.appendedRecords > 0 { shard.wakeWaiters(on: item.topicPartition) }
        return result
    }

    private func fill(_ response: inout ProduceResponse, with errorCode: ErrorCode) {
        for topicIndex in response.topics.indices {
            for partitionIndex in response.topics[topicIndex].partitions.indices {
                response.topics[topicIndex].partitions[partitionIndex].errorCode = errorCode
            }
        }
    }
}

extension ProduceResponse.Partition {
    mutating func apply(_ result: Partition.ProduceResult) {
        errorCode = result.errorCode
        baseOffset = result.baseOffset
        logAppendTime = result.logAppendTime
        logStartOffset = result.logStartOffset
        errorMessage = result.errorMessage
    }
}
