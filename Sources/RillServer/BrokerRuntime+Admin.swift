import NIOCore
import RillBroker
import RillFormat
import RillProtocol
import RillStorage

extension BrokerRuntime {
    func dispatch(_ request: KafkaRequest, header: RequestHeader, eventLoop: any EventLoop, clientHost: String = "") -> EventLoopFuture<ResponsePayload> {
        switch request {
        case .produce(let request): produce(request, header: header, eventLoop: eventLoop)
        case .fetch(let request): fetch(request, header: header, eventLoop: eventLoop)
        case .listOffsets(let request): listOffsets(request, header: header, eventLoop: eventLoop)
        case .metadata(let request): metadata(request, header: header, eventLoop: eventLoop)
        case .createTopics(let request): createTopics(request, header: header, eventLoop: eventLoop)
        case .deleteTopics(let request): deleteTopics(request, header: header, eventLoop: eventLoop)
        case .deleteRecords(let request): deleteRecords(request, header: header, eventLoop: eventLoop)
        case .offsetForLeaderEpoch(let request): offsetForLeaderEpoch(request, header: header, eventLoop: eventLoop)
        case .initProducerId(let request): eventLoop.makeSucceededFuture(initProducerID(request, header: header))
        case .findCoordinator(let request): findCoordinator(request, header: header, eventLoop: eventLoop)
        case .joinGroup(let request): joinGroup(request, header: header, client: GroupClient(clientID: header.clientID ?? "", clientHost: clientHost), eventLoop: eventLoop)
        case .syncGroup(let request): syncGroup(request, header: header, eventLoop: eventLoop)
        case .heartbeat(let request): heartbeat(request, header: header, eventLoop: eventLoop)
        case .leaveGroup(let request): leaveGroup(request, header: header, eventLoop: eventLoop)
        case .offsetCommit(let request): offsetCommit(request, header: header, eventLoop: eventLoop)
        case .offsetFetch(let request): offsetFetch(request, header: header, eventLoop: eventLoop)
        case .describeGroups(let request): describeGroups(request, header: header, eventLoop: eventLoop)
        case .listGroups: listGroups(header: header, eventLoop: eventLoop)
        case .describeConfigs(let request): eventLoop.makeSucceededFuture(describeConfigs(request, header: header))
        case .apiVersions: eventLoop.makeSucceededFuture(apiVersions(header))
        }
    }

    // MARK: ListOffsets

    func listOffsets(_ request: ListOffsetsRequest, header: RequestHeader, eventLoop: any EventLoop) -> EventLoopFuture<ResponsePayload> {
        var items: [(topicPartition: TopicPartition, item: ListOffsetsRequest.Partition)] = []
        for topic in request.topics {
            for partition in topic.partitions { items.append((TopicPartition(topic.name, partition.partition), partition)) }
        }
        let version = header.apiVersion
        return onPartitions(items, eventLoop: eventLoop) { partition, item, _ -> ListOffsetsResponse.Partition in
            guard let partition else {
                return ListOffsetsResponse.Partition(partition: item.partition, errorCode: .unknownTopicOrPartition, timestamp: .none, offset: .none)
            }
            let result = partition.listOffset(timestamp: item.timestamp, currentLeaderEpoch: item.currentLeaderEpoch)
            var answer = ListOffsetsResponse.Partition(partition: item.partition, errorCode: result.errorCode, timestamp: result.timestamp, offset: result.offset, leaderEpoch: result.leaderEpoch)
            // v0 answers with a list of offsets (at most MaxNumOffsets; the log has one to give).
            if version == 0 { answer.oldStyleOffsets = result.offset == .none || item.maximumOffsetCount < 1 ? [] : [result.offset] }
            return answer
        }.map { partitions in
            var remaining = partitions[...]
            let topics = request.topics.map { topic in
                let answers = Array(remaining.prefix(topic.partitions.count))
                remaining = remaining.dropFirst(topic.partitions.count)
                return ListOffsetsResponse.Topic(name: topic.name, partitions: answers)
            }
            return self.respond(ListOffsetsResponse(topics: topics), to: header)
        }
    }

    // MARK: OffsetForLeaderEpoch

    func offsetForLeaderEpoch(_ request: OffsetForLeaderEpochRequest, header: RequestHeader, eventLoop: any EventLoop) -> EventLoopFuture<ResponsePayload> {
        var items: [(topicPartition: TopicPartition, item: OffsetForLeaderEpochRequest.Partition)] = []
        for topic in request.topics {
            for partition in topic.partitions { items.append((TopicPartition(topic.name, partition.partition), partition)) }
        }
        return onPartitions(items, eventLoop: eventLoop) { partition, item, _ -> OffsetForLeaderEpochResponse.Partition in
            guard let partition else {
                return .init(errorCode: .unknownTopicOrPartition, partition: item.partition, endOffset: .none)
            }
            let answer = partition.endOffset(forLeaderEpoch: item.leaderEpoch, currentLeaderEpoch: item.currentLeaderEpoch)
            return .init(errorCode: answer.errorCode, partition: item.partition, leaderEpoch: answer.leaderEpoch, endOffset: answer.endOffset)
        }.map { partitions in
            var remaining = partitions[...]
            let topics = request.topics.map { topic in
                let answers = Array(remaining.prefix(topic.partitions.count))
                remaining = remaining.dropFirst(topic.partitions.count)
                return OffsetForLeaderEpochResponse.Topic(name: topic.name, partitions: answers)
            }
            return self.respond(OffsetForLeaderEpochResponse(topics: topics), to: header)
        }
    }

    // MARK: DeleteRecords

    func deleteRecords(_ request: DeleteRecordsRequest, header: RequestHeader, eventLoop: any EventLoop) -> EventLoopFuture<ResponsePayload> {
        var items: [(topicPartition: TopicPartition, item: DeleteRecordsRequest.Partition)] = []
        for topic in request.topics {
            for partition in topic.partitions { items.append((TopicPartition(topic.name, partition.partition), partition)) }
        }
        return onPartitions(items, eventLoop: eventLoop) { partition, item, _ -> DeleteRecordsResponse.Partition in
            guard let partition else { return .init(partition: item.partition, lowWatermark: .none, errorCode: .unknownTopicOrPartition) }
            let answer = partition.deleteRecords(before: item.offset)
            return .init(partition: item.partition, lowWatermark: answer.lowWatermark, errorCode: answer.errorCode)
        }.map { partitions in
            var remaining = partitions[...]
            let topics = request.topics.map { topic in
                let answers = Array(remaining.prefix(topic.partitions.count))
                remaining = remaining.dropFirst(topic.partitions.count)
                return DeleteRecordsResponse.Topic(name: topic.name, partitions: answers)
            }
            return self.respond(DeleteRecordsResponse(topics: topics), to: header)
        }
    }

    // MARK: InitProducerId

    /// A fresh producer id with epoch 0 for an idempotent producer. Transactions are not
    /// supported: a transactional id is refused.
    func initProducerID(_ request: InitProducerIdRequest, header: RequestHeader) -> ResponsePayload {
        guard request.transactionalID == nil else {
            return respond(InitProducerIdResponse(errorCode: .invalidRequest, producerID: .none, producerEpoch: .none), to: header)
        }
        do {
            let producerID = try controlPlane.allocateProducerID()
            return respond(InitProducerIdResponse(producerID: producerID, producerEpoch: ProducerEpoch(0)), to: header)
        } catch {
            log("cannot allocate a producer id: \(error)")
            return respond(InitProducerIdResponse(errorCode: .kafkaStorageError, producerID: .none, producerEpoch: .none), to: header)
        }
    }
}
