import NIOCore
import RillBroker
import RillFormat
import RillProtocol
import RillStorage

extension BrokerRuntime {
    // MARK: The offsets topic and the coordinators

    /// `__consumer_offsets` ready and loaded, created on first use as Kafka does (compacted,
    /// `offsets.topic.num.partitions` partitions). Concurrent callers share one creation; a
    /// failed one is retried by the next caller. The value is the topic's partition count.
    func groupsReady(eventLoop: any EventLoop) -> EventLoopFuture<Int32> {
        let (existing, promise) = offsetsTopicReady.withLockedValue { ready -> (EventLoopFuture<Int32>?, EventLoopPromise<Int32>?) in
            if let ready { return (ready, nil) }
            let promise = eventLoop.makePromise(of: Int32.self)
            ready = promise.futureResult
            return (nil, promise)
        }
        guard let promise else { return existing!.hop(to: eventLoop) }
        createTopic(
            name: OffsetsTopic.name, partitionCount: configuration.groups.offsetsTopicPartitionCount, replicationFactor: 1,
            overrides: OffsetsTopic.topicConfigs(broker: configuration), validateOnly: false, eventLoop: eventLoop
        ).flatMap { error -> EventLoopFuture<Int32> in
            if let error, error.errorCode != .topicAlreadyExists {
                return eventLoop.makeFailedFuture(error)
            }
            return self.loadGroups(eventLoop: eventLoop)
        }.whenComplete { result in
            if case .failure(let error) = result {
                self.log("cannot prepare \(OffsetsTopic.name): \(error)")
                self.offsetsTopicReady.withLockedValue { $0 = nil }
            }
            promise.completeWith(result)
        }
        return promise.futureResult
    }

    /// Gives every shard its coordinator and loads the groups of the `__consumer_offsets`
    /// partitions it owns. Run at start-up when the topic exists, and after creating it.
    func loadGroups(eventLoop: any EventLoop) -> EventLoopFuture<Int32> {
        guard let topic = controlPlane.image.topics[OffsetsTopic.name] else {
            return eventLoop.makeFailedFuture(TopicCreationError(.coordinatorNotAvailable, "\(OffsetsTopic.name) does not exist"))
        }
        let partitionCount = topic.partitionCount
        let groupConfiguration = {
            var groups = configuration.groups
            groups.offsetsTopicPartitionCount = partitionCount
            return groups
        }()
        var generator = SystemRandomNumberGenerator()
        let loads = shards.map { shard in
            let seed = generator.next()
            return shard.run { shard -> [String] in
                let coordinator = shard.makeGroupCoordinator(configuration: groupConfiguration, seed: seed)
                let now = Self.now()
                for index in 0..<partitionCount {
                    guard let partition = shard.partition(TopicPartition(OffsetsTopic.name, index)) else { continue }
                    coordinator.load(partition: index, keysAndValues: try OffsetsTopic.keysAndValues(of: partition.log), now: now)
                }
                return coordinator.takeDiagnostics()
            }
        }
        return EventLoopFuture.whenAllSucceed(loads, on: eventLoop).map { diagnostics in
            for line in diagnostics.joined() { self.log(line) }
            return partitionCount
        }
    }

    /// Runs `body` on the shard of `groupID`'s coordinator, once the offsets topic is ready.
    /// Fails when the topic cannot be made ready; callers answer COORDINATOR_NOT_AVAILABLE.
    func onCoordinator<Result: Sendable>(
        of groupID: String, eventLoop: any EventLoop, _ body: @escaping @Sendable (GroupCoordinator, PartitionShard) -> Result
    ) -> EventLoopFuture<Result> {
        groupsReady(eventLoop: eventLoop).flatMap { partitionCount in
            let partition = GroupPlacement.partition(of: groupID, partitionCount: partitionCount)
            return self.shard(for: TopicPartition(OffsetsTopic.name, partition)).run { shard in
                guard let coordinator = shard.groupCoordinator else { throw TopicCreationError(.coordinatorNotAvailable, "no coordinator on shard \(shard.index)") }
                return body(coordinator, shard)
            }
        }
    }

    /// After a topic is deleted: every coordinator forgets the groups' offsets of it (Kafka's
    /// `onPartitionsDeleted`). Shards without a coordinator (no group used yet) have none.
    func forgetOffsets(ofDeletedTopic topic: String, eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let cleanups = shards.map { shard in
            shard.run { shard -> [String] in
                guard let coordinator = shard.groupCoordinator else { return [] }
                coordinator.removeOffsets(ofDeletedTopic: topic, now: Self.now())
                return coordinator.takeDiagnostics()
            }
        }
        return EventLoopFuture.whenAllComplete(cleanups, on: eventLoop).map { results in
            for case .success(let lines) in results {
                for line in lines { self.log(line) }
            }
        }
    }

    // MARK: FindCoordinator

    /// This broker coordinates every group (creating `__consumer_offsets` on first use);
    /// transactions have no coordinator here.
    func findCoordinator(_ request: FindCoordinatorRequest, header: RequestHeader, eventLoop: any EventLoop) -> EventLoopFuture<ResponsePayload> {
        let (host, port) = advertisedAddress
        guard request.keyType == .group else {
            return eventLoop.makeSucceededFuture(respond(
                FindCoordinatorResponse(errorCode: .coordinatorNotAvailable, errorMessage: "transactions are not supported", nodeID: -1, host: "", port: -1), to: header))
        }
        let nodeID = configuration.nodeID
        return groupsReady(eventLoop: eventLoop).map { _ in
            self.respond(FindCoordinatorResponse(errorCode: .none, nodeID: nodeID, host: host, port: Int32(port)), to: header)
        }.recover { error in
            self.respond(FindCoordinatorResponse(errorCode: .coordinatorNotAvailable, errorMessage: "\(error)", nodeID: -1, host: "", port: -1), to: header)
        }
    }

    // MARK: Membership

    func joinGroup(_ request: JoinGroupRequest, header: RequestHeader, client: GroupClient, eventLoop: any EventLoop) -> EventLoopFuture<ResponsePayload> {
        let version = header.apiVersion
        return onCoordinator(of: request.groupID, eventLoop: eventLoop) { coordinator, shard in
            let (token, answer) = shard.park(header)
            shard.deliver(coordinator.join(request, version: version, client: client, token: token, now: Self.now()))
            return answer
        }.flatMap { $0 }.recover { _ in
            self.respond(JoinGroupResponse(errorCode: .coordinatorNotAvailable, generationID: -1, protocolName: "", leaderMemberID: "", memberID: request.memberID), to: header)
        }
    }

    func syncGroup(_ request: SyncGroupRequest, header: RequestHeader, eventLoop: any EventLoop) -> EventLoopFuture<ResponsePayload> {
        onCoordinator(of: request.groupID, eventLoop: eventLoop) { coordinator, shard in
            let (token, answer) = shard.park(header)
            shard.deliver(coordinator.sync(request, token: token, now: Self.now()))
            return answer
        }.flatMap { $0 }.recover { _ in
            self.respond(SyncGroupResponse(errorCode: .coordinatorNotAvailable, assignment: ByteBuffer()), to: header)
        }
    }

    func heartbeat(_ request: HeartbeatRequest, header: RequestHeader, eventLoop: any EventLoop) -> EventLoopFuture<ResponsePayload> {
        onCoordinator(of: request.groupID, eventLoop: eventLoop) { coordinator, _ in
            coordinator.heartbeat(request, now: Self.now())
        }.recover { _ in HeartbeatResponse(errorCode: .coordinatorNotAvailable) }.map { self.respond($0, to: header) }
    }

    func leaveGroup(_ request: LeaveGroupRequest, header: RequestHeader, eventLoop: any EventLoop) -> EventLoopFuture<ResponsePayload> {
        let version = header.apiVersion
        return onCoordinator(of: request.groupID, eventLoop: eventLoop) { coordinator, shard in
            let (response, replies) = coordinator.leave(request, version: version, now: Self.now())
            shard.deliver(replies)
            return response
        }.recover { _ in LeaveGroupResponse(errorCode: .coordinatorNotAvailable) }.map { self.respond($0, to: header) }
    }

    // MARK: Offsets

    /// OffsetCommit: partitions of topics the broker does not have are refused per partition.
    func offsetCommit(_ request: OffsetCommitRequest, header: RequestHeader, eventLoop: any EventLoop) -> EventLoopFuture<ResponsePayload> {
        let image = controlPlane.image
        var unknown: Set<TopicPartition> = []
        for topic in request.topics {
            for partition in topic.partitions {
                if let known = image.topics[topic.name], (0..<known.partitionCount).contains(partition.partition) { continue }
                unknown.insert(TopicPartition(topic.name, partition.partition))
            }
        }
        let frozen = unknown
        return onCoordinator(of: request.groupID, eventLoop: eventLoop) { coordinator, _ in
            coordinator.commitOffsets(request, unknownPartitions: frozen, now: Self.now())
        }.recover { _ in
            OffsetCommitResponse(topics: request.topics.map { topic in
                .init(name: topic.name, partitions: topic.partitions.map { .init(partition: $0.partition, errorCode: .coordinatorNotAvailable) })
            })
        }.map { self.respond($0, to: header) }
    }

    func offsetFetch(_ request: OffsetFetchRequest, header: RequestHeader, eventLoop: any EventLoop) -> EventLoopFuture<ResponsePayload> {
        onCoordinator(of: request.groupID, eventLoop: eventLoop) { coordinator, _ in
            coordinator.fetchOffsets(request)
        }.recover { _ in
            OffsetFetchResponse(topics: (request.topics ?? []).map { topic in
                .init(name: topic.name, partitions: topic.partitions.map { .init(partition: $0, committedOffset: .none, metadata: "", errorCode: .coordinatorNotAvailable) })
            }, errorCode: .coordinatorNotAvailable)
        }.map { self.respond($0, to: header) }
    }

    // MARK: DescribeGroups, ListGroups

    func describeGroups(_ request: DescribeGroupsRequest, header: RequestHeader, eventLoop: any EventLoop) -> EventLoopFuture<ResponsePayload> {
        let operations = request.includeAuthorizedOperations ? Self.allGroupOperations : Int32.min
        let described = request.groups.map { groupID in
            onCoordinator(of: groupID, eventLoop: eventLoop) { coordinator, _ in
                var group = coordinator.describe(groupID)
                group.authorizedOperations = operations
                return group
            }.recover { _ in
                DescribeGroupsResponse.Group(errorCode: .coordinatorNotAvailable, groupID: groupID, groupState: "", protocolType: "", protocolData: "", members: [])
            }
        }
        return EventLoopFuture.whenAllSucceed(described, on: eventLoop).map { groups in
            self.respond(DescribeGroupsResponse(groups: groups), to: header)
        }
    }

    func listGroups(header: RequestHeader, eventLoop: any EventLoop) -> EventLoopFuture<ResponsePayload> {
        groupsReady(eventLoop: eventLoop).flatMap { _ in
            let lists = self.shards.map { shard in shard.run { shard in shard.groupCoordinator?.listGroups() ?? [] } }
            return EventLoopFuture.whenAllSucceed(lists, on: eventLoop).map { lists in
                self.respond(ListGroupsResponse(groups: lists.joined().sorted { $0.groupID < $1.groupID }), to: header)
            }
        }.recover { _ in
            self.respond(ListGroupsResponse(errorCode: .coordinatorNotAvailable, groups: []), to: header)
        }
    }

    /// No ACLs: every group operation is allowed (READ 3, DELETE 6, DESCRIBE 8).
    static let allGroupOperations: Int32 = [3, 6, 8].reduce(0) { $0 | (1 << $1) }
}
