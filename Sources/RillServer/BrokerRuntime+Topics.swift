import NIOCore
import RillBroker
import RillFormat
import RillProtocol
import RillStorage

extension BrokerRuntime {
    // MARK: Metadata

    /// Metadata: this broker leads every partition (one replica, in sync). Unknown topics are
    /// created when the broker and (v4+) the request allow it; they come back ready, not with
    /// LEADER_NOT_AVAILABLE, because creation here is synchronous.
    func metadata(_ request: MetadataRequest, header: RequestHeader, eventLoop: any EventLoop) -> EventLoopFuture<ResponsePayload> {
        // v0: an empty list means all topics; v1+: null means all, empty means none.
        let requested: [String]? = header.apiVersion == 0 && request.topics?.isEmpty == true ? nil : request.topics
        let mayCreate = configuration.isAutoTopicCreationEnabled && (header.apiVersion < 4 || request.allowAutoTopicCreation)
        let image = controlPlane.image
        let missing = (requested ?? []).filter { image.topics[$0] == nil && TopicName.problem(with: $0) == nil }
        let created: EventLoopFuture<Void>
        if mayCreate && !missing.isEmpty {
            let creations = Set(missing).sorted().map { name in
                // The internal topic is created with its own settings, as on first group use.
                name == OffsetsTopic.name ? groupsReady(eventLoop: eventLoop).map { _ in () }.recover { _ in () } : createTopic(name: name, partitionCount: configuration.defaultPartitionCount, replicationFactor: configuration.defaultReplicationFactor,
                            overrides: [:], validateOnly: false, eventLoop: eventLoop).map { _ in () }
            }
            created = EventLoopFuture.andAllComplete(creations, on: eventLoop)
        } else {
            created = eventLoop.makeSucceededVoidFuture()
        }
        return created.map {
            self.respond(self.metadataResponse(requested: requested, includeAuthorizedOperations: request.includeTopicAuthorizedOperations), to: header)
        }
    }

    func metadataResponse(requested: [String]?, includeAuthorizedOperations: Bool) -> MetadataResponse {
        let image = controlPlane.image
        let names = requested ?? image.topics.keys.sorted()
        let nodeID = configuration.nodeID
        let (host, port) = advertisedAddress
        let topics = names.map { name -> MetadataResponse.Topic in
            if TopicName.problem(with: name) != nil {
                return MetadataResponse.Topic(errorCode: .invalidTopicException, name: name, isInternal: false, partitions: [])
            }
            guard let topic = image.topics[name] else {
                return MetadataResponse.Topic(errorCode: .unknownTopicOrPartition, name: name, isInternal: false, partitions: [])
            }
            let partitions = (0..<topic.partitionCount).map { index in
                MetadataResponse.Partition(
                    errorCode: .none, partition: index, leaderID: nodeID, leaderEpoch: topic.leaderEpoch(index),
                    replicaNodes: [nodeID], inSyncReplicaNodes: [nodeID], offlineReplicas: [])
            }
            return MetadataResponse.Topic(
                errorCode: .none, name: name, isInternal: name == OffsetsTopic.name, partitions: partitions,
                topicAuthorizedOperations: includeAuthorizedOperations ? Self.allTopicOperations : MetadataResponse.authorizedOperationsNotRequested)
        }
        return MetadataResponse(
            brokers: [MetadataResponse.Broker(nodeID: nodeID, host: host, port: Int32(port))],
            clusterID: controlPlane.clusterID, controllerID: nodeID, topics: topics)
    }

    /// No ACLs: every topic operation is allowed (Kafka's AclOperation codes READ 3 … ALTER_CONFIGS 11).
    static let allTopicOperations: Int32 = [3, 4, 5, 6, 7, 8, 10, 11].reduce(0) { $0 | (1 << $1) }

    // MARK: CreateTopics / DeleteTopics

    func createTopics(_ request: CreateTopicsRequest, header: RequestHeader, eventLoop: any EventLoop) -> EventLoopFuture<ResponsePayload> {
        var seen: [String: Int] = [:]
        for topic in request.topics { seen[topic.name, default: 0] += 1 }
        let outcomes = request.topics.map { topic -> EventLoopFuture<CreateTopicsResponse.Topic> in
            if seen[topic.name, default: 0] > 1 {
                return eventLoop.makeSucceededFuture(.init(name: topic.name, errorCode: .invalidRequest, errorMessage: "topic '\(topic.name)' appears more than once in the request"))
            }
            let shape: (partitions: Int32, replication: Int16)
            do {
                shape = try topicShape(topic)
            } catch let error as TopicCreationError {
                return eventLoop.makeSucceededFuture(.init(name: topic.name, errorCode: error.errorCode, errorMessage: error.message))
            } catch {
                return eventLoop.makeSucceededFuture(.init(name: topic.name, errorCode: .unknownServerError, errorMessage: "\(error)"))
            }
            if topic.name == OffsetsTopic.name {
                return eventLoop.makeSucceededFuture(.init(name: topic.name, errorCode: .invalidRequest, errorMessage: "\(topic.name) is internal: the broker creates it on first group use"))
            }
            var overrides: [String: String] = [:]
            for config in topic.configs { if let value = config.value { overrides[config.name] = value } }
            return createTopic(name: topic.name, partitionCount: shape.partitions, replicationFactor: shape.replication, overrides: overrides,
                               validateOnly: request.validateOnly, eventLoop: eventLoop).map { error in
                .init(name: topic.name, errorCode: error?.errorCode ?? .none, errorMessage: error?.message)
            }
        }
        return EventLoopFuture.whenAllSucceed(outcomes, on: eventLoop).map { topics in
            self.respond(CreateTopicsResponse(topics: topics), to: header)
        }
    }

    /// Partition count and replication factor, from the request or (-1) the broker defaults,
    /// or from manual assignments, which must all name this broker.
    private func topicShape(_ topic: CreateTopicsRequest.Topic) throws(TopicCreationError) -> (partitions: Int32, replication: Int16) {
        guard topic.assignments.isEmpty else {
            guard topic.partitionCount == -1, topic.replicationFactor == -1 else {
                throw TopicCreationError(.invalidRequest, "with replica assignments, partition count and replication factor must be -1")
            }
            let indexes = topic.assignments.map(\.partition).sorted()
            guard indexes == Array(0..<Int32(indexes.count)) else {
                throw TopicCreationError(.invalidReplicaAssignment, "assignments must cover partitions 0..<\(indexes.count) once each")
            }
            guard topic.assignments.allSatisfy({ $0.brokerIDs == [configuration.nodeID] }) else {
                throw TopicCreationError(.invalidReplicaAssignment, "this single broker (node \(configuration.nodeID)) can only host one replica of each partition")
            }
            return (Int32(indexes.count), 1)
        }
        let partitions = topic.partitionCount == -1 ? configuration.defaultPartitionCount : topic.partitionCount
        let replication = topic.replicationFactor == -1 ? configuration.defaultReplicationFactor : topic.replicationFactor
        guard partitions > 0 else { throw TopicCreationError(.invalidPartitions, "partition count must be positive, not \(partitions)") }
        guard replication == 1 else {
            throw TopicCreationError(.invalidReplicationFactor, "replication factor \(replication) is impossible with 1 broker")
        }
        return (partitions, replication)
    }

    /// Creates a topic: validates, reserves the name, opens every partition on its shard, then
    /// persists the topic. Returns nil on success, else the error to report.
    func createTopic(name: String, partitionCount: Int32, replicationFactor: Int16, overrides: [String: String],
                     validateOnly: Bool, eventLoop: any EventLoop) -> EventLoopFuture<TopicCreationError?> {
        if let problem = TopicName.problem(with: name) {
            return eventLoop.makeSucceededFuture(TopicCreationError(.invalidTopicException, problem))
        }
        let topicConfiguration: TopicConfiguration
        do {
            topicConfiguration = try TopicConfiguration.make(defaults: configuration, overrides: overrides)
            try controlPlane.reserve(name, partitionCount: partitionCount)
        } catch let error as TopicCreationError {
            return eventLoop.makeSucceededFuture(error)
        } catch {
            return eventLoop.makeSucceededFuture(TopicCreationError(.invalidConfig, "\(error)"))
        }
        if validateOnly {
            controlPlane.releaseReservation(name)
            return eventLoop.makeSucceededFuture(nil)
        }
        var generator = SystemRandomNumberGenerator()
        let record = TopicRecord(name: name, topicID: TopicRegistry.makeTopicID(using: &generator), partitionCount: partitionCount,
                                 overrides: overrides, leaderEpochs: Array(repeating: 0, count: Int(partitionCount)))
        let opened = (0..<partitionCount).map { index in
            openPartition(TopicPartition(name, index), configuration: topicConfiguration, leaderEpoch: LeaderEpoch(0))
        }
        return EventLoopFuture.whenAllComplete(opened, on: eventLoop).flatMap { results in
            do {
                for result in results { try result.get() }
                try self.controlPlane.commit(record, configuration: topicConfiguration)
                self.log("created topic \(name) with \(partitionCount) partition(s)\(overrides.isEmpty ? "" : " and configs \(overrides)")")
                return eventLoop.makeSucceededFuture(nil)
            } catch {
                self.controlPlane.releaseReservation(name)
                let cleanup = (0..<partitionCount).map { self.deletePartition(TopicPartition(name, $0)) }
                return EventLoopFuture.andAllComplete(cleanup, on: eventLoop).map {
                    TopicCreationError(.unknownServerError, "cannot create \(name): \(error)")
                }
            }
        }
    }

    func deleteTopics(_ request: DeleteTopicsRequest, header: RequestHeader, eventLoop: any EventLoop) -> EventLoopFuture<ResponsePayload> {
        let outcomes = request.topicNames.map { name -> EventLoopFuture<DeleteTopicsResponse.Result> in
            guard configuration.isTopicDeletionEnabled else {
                return eventLoop.makeSucceededFuture(.init(name: name, errorCode: .topicDeletionDisabled))
            }
            guard name != OffsetsTopic.name else {
                // Deleting it would lose every group's committed offsets.
                return eventLoop.makeSucceededFuture(.init(name: name, errorCode: .invalidRequest))
            }
            let image: TopicImage?
            do { image = try controlPlane.remove(name) } catch {
                return eventLoop.makeSucceededFuture(.init(name: name, errorCode: .kafkaStorageError))
            }
            guard let image else { return eventLoop.makeSucceededFuture(.init(name: name, errorCode: .unknownTopicOrPartition)) }
            let deletions = (0..<image.partitionCount).map { deletePartition(TopicPartition(name, $0)) }
            return EventLoopFuture.whenAllComplete(deletions, on: eventLoop).flatMap { results in
                let failed = results.contains { if case .failure = $0 { true } else { false } }
                self.log("deleted topic \(name)\(failed ? " (some partition directories could not be removed)" : "")")
                // Answered once the groups' offsets of the topic are gone too.
                return self.forgetOffsets(ofDeletedTopic: name, eventLoop: eventLoop).map { .init(name: name, errorCode: .none) }
            }
        }
        return EventLoopFuture.whenAllSucceed(outcomes, on: eventLoop).map { results in
            self.respond(DeleteTopicsResponse(results: results), to: header)
        }
    }
}
