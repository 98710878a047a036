import NIOCore
import RillFormat
import Testing
@testable import RillProtocol

/// Every API at every codec version: a sample with non-default values in every field the
/// version has survives encode → decode unchanged, decodes through `KafkaRequest.decode`, and
/// re-encodes to the same bytes.
@Suite struct RoundTripTests {

    @Test(arguments: versions(of: .produce))
    func produceRequestRoundTrips(version: Int16) throws {
        try expectRequestRoundTrip(Samples.produceRequest(version: version), version: version)
    }

    @Test(arguments: versions(of: .produce))
    func produceResponseRoundTrips(version: Int16) throws {
        try expectResponseRoundTrip(Samples.produceResponse(version: version), version: version)
    }

    @Test(arguments: versions(of: .fetch))
    func fetchRequestRoundTrips(version: Int16) throws {
        try expectRequestRoundTrip(Samples.fetchRequest(version: version), version: version)
    }

    @Test(arguments: versions(of: .fetch))
    func fetchResponseRoundTrips(version: Int16) throws {
        try expectResponseRoundTrip(Samples.fetchResponse(version: version), version: version)
    }

    @Test(arguments: versions(of: .listOffsets))
    func listOffsetsRequestRoundTrips(version: Int16) throws {
        try expectRequestRoundTrip(Samples.listOffsetsRequest(version: version), version: version)
    }

    @Test(arguments: versions(of: .listOffsets))
    func listOffsetsResponseRoundTrips(version: Int16) throws {
        try expectResponseRoundTrip(Samples.listOffsetsResponse(version: version), version: version)
    }

    @Test(arguments: versions(of: .metadata))
    func metadataRequestRoundTrips(version: Int16) throws {
        try expectRequestRoundTrip(Samples.metadataRequest(version: version), version: version)
    }

    @Test(arguments: versions(of: .metadata))
    func metadataResponseRoundTrips(version: Int16) throws {
        try expectResponseRoundTrip(Samples.metadataResponse(version: version), version: version)
    }

    @Test(arguments: versions(of: .offsetCommit))
    func offsetCommitRequestRoundTrips(version: Int16) throws {
        try expectRequestRoundTrip(Samples.offsetCommitRequest(version: version), version: version)
    }

    @Test(arguments: versions(of: .offsetCommit))
    func offsetCommitResponseRoundTrips(version: Int16) throws {
        try expectResponseRoundTrip(Samples.offsetCommitResponse(version: version), version: version)
    }

    @Test(arguments: versions(of: .offsetFetch))
    func offsetFetchRequestRoundTrips(version: Int16) throws {
        try expectRequestRoundTrip(Samples.offsetFetchRequest(version: version), version: version)
    }

    @Test(arguments: versions(of: .offsetFetch))
    func offsetFetchResponseRoundTrips(version: Int16) throws {
        try expectResponseRoundTrip(Samples.offsetFetchResponse(version: version), version: version)
    }

    @Test(arguments: versions(of: .findCoordinator))
    func findCoordinatorRequestRoundTrips(version: Int16) throws {
        try expectRequestRoundTrip(Samples.findCoordinatorRequest(version: version), version: version)
    }

    @Test(arguments: versions(of: .findCoordinator))
    func findCoordinatorResponseRoundTrips(version: Int16) throws {
        try expectResponseRoundTrip(Samples.findCoordinatorResponse(version: version), version: version)
    }

    @Test(arguments: versions(of: .joinGroup))
    func joinGroupRequestRoundTrips(version: Int16) throws {
        try expectRequestRoundTrip(Samples.joinGroupRequest(version: version), version: version)
    }

    @Test(arguments: versions(of: .joinGroup))
    func joinGroupResponseRoundTrips(version: Int16) throws {
        try expectResponseRoundTrip(Samples.joinGroupResponse(version: version), version: version)
    }

    @Test(arguments: versions(of: .heartbeat))
    func heartbeatRequestRoundTrips(version: Int16) throws {
        try expectRequestRoundTrip(Samples.heartbeatRequest(version: version), version: version)
    }

    @Test(arguments: versions(of: .heartbeat))
    func heartbeatResponseRoundTrips(version: Int16) throws {
        try expectResponseRoundTrip(Samples.heartbeatResponse(version: version), version: version)
    }

    @Test(arguments: versions(of: .leaveGroup))
    func leaveGroupRequestRoundTrips(version: Int16) throws {
        try expectRequestRoundTrip(Samples.leaveGroupRequest(version: version), version: version)
    }

    @Test(arguments: versions(of: .leaveGroup))
    func leaveGroupResponseRoundTrips(version: Int16) throws {
        try expectResponseRoundTrip(Samples.leaveGroupResponse(version: version), version: version)
    }

    @Test(arguments: versions(of: .syncGroup))
    func syncGroupRequestRoundTrips(version: Int16) throws {
        try expectRequestRoundTrip(Samples.syncGroupRequest(version: version), version: version)
    }

    @Test(arguments: versions(of: .syncGroup))
    func syncGroupResponseRoundTrips(version: Int16) throws {
        try expectResponseRoundTrip(Samples.syncGroupResponse(version: version), version: version)
    }

    @Test(arguments: versions(of: .describeGroups))
    func describeGroupsRequestRoundTrips(version: Int16) throws {
        try expectRequestRoundTrip(Samples.describeGroupsRequest(version: version), version: version)
    }

    @Test(arguments: versions(of: .describeGroups))
    func describeGroupsResponseRoundTrips(version: Int16) throws {
        try expectResponseRoundTrip(Samples.describeGroupsResponse(version: version), version: version)
    }

    @Test(arguments: versions(of: .listGroups))
    func listGroupsRequestRoundTrips(version: Int16) throws {
        try expectRequestRoundTrip(Samples.listGroupsRequest(version: version), version: version)
    }

    @Test(arguments: versions(of: .listGroups))
    func listGroupsResponseRoundTrips(version: Int16) throws {
        try expectResponseRoundTrip(Samples.listGroupsResponse(version: version), version: version)
    }

    @Test(arguments: versions(of: .createTopics))
    func createTopicsRequestRoundTrips(version: Int16) throws {
        try expectRequestRoundTrip(Samples.createTopicsRequest(version: version), version: version)
    }

    @Test(arguments: versions(of: .createTopics))
    func createTopicsResponseRoundTrips(version: Int16) throws {
        try expectResponseRoundTrip(Samples.createTopicsResponse(version: version), version: version)
    }

    @Test(arguments: versions(of: .deleteTopics))
    func deleteTopicsRequestRoundTrips(version: Int16) throws {
        try expectRequestRoundTrip(Samples.deleteTopicsRequest(version: version), version: version)
    }

    @Test(arguments: versions(of: .deleteTopics))
    func deleteTopicsResponseRoundTrips(version: Int16) throws {
        try expectResponseRoundTrip(Samples.deleteTopicsResponse(version: version), version: version)
    }

    @Test(arguments: versions(of: .deleteRecords))
    func deleteRecordsRequestRoundTrips(version: Int16) throws {
        try expectRequestRoundTrip(Samples.deleteRecordsRequest(version: version), version: version)
    }

    @Test(arguments: versions(of: .deleteRecords))
    func deleteRecordsResponseRoundTrips(version: Int16) throws {
        try expectResponseRoundTrip(Samples.deleteRecordsResponse(version: version), version: version)
    }

    @Test(arguments: versions(of: .initProducerId))
    func initProducerIdRequestRoundTrips(version: Int16) throws {
        try expectRequestRoundTrip(Samples.initProducerIdRequest(version: version), version: version)
    }

    @Test(arguments: versions(of: .initProducerId))
    func initProducerIdResponseRoundTrips(version: Int16) throws {
        try expectResponseRoundTrip(Samples.initProducerIdResponse(version: version), version: version)
    }

    @Test(arguments: versions(of: .offsetForLeaderEpoch))
    func offsetForLeaderEpochRequestRoundTrips(version: Int16) throws {
        try expectRequestRoundTrip(Samples.offsetForLeaderEpochRequest(version: version), version: version)
    }

    @Test(arguments: versions(of: .offsetForLeaderEpoch))
    func offsetForLeaderEpochResponseRoundTrips(version: Int16) throws {
        try expectResponseRoundTrip(Samples.offsetForLeaderEpochResponse(version: version), version: version)
    }

    @Test(arguments: versions(of: .describeConfigs))
    func describeConfigsRequestRoundTrips(version: Int16) throws {
        try expectRequestRoundTrip(Samples.describeConfigsRequest(version: version), version: version)
    }

    @Test(arguments: versions(of: .describeConfigs))
    func describeConfigsResponseRoundTrips(version: Int16) throws {
        try expectResponseRoundTrip(Samples.describeConfigsResponse(version: version), version: version)
    }

    @Test(arguments: versions(of: .apiVersions))
    func apiVersionsRoundTrips(version: Int16) throws {
        try expectRequestRoundTrip(ApiVersionsRequest(), version: version)
        let response = ApiVersionsResponse(
            errorCode: .none, apiKeys: [.init(apiKey: .produce, minimumVersion: 0, maximumVersion: 8)],
            throttleTimeMilliseconds: version >= 1 ? 3 : 0
        )
        try expectResponseRoundTrip(response, version: version)
    }
}

func expectRequestRoundTrip<Message: KafkaRequestMessage & Hashable>(
    _ message: Message, version: Int16, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    var encoded = ByteBuffer()
    message.write(to: &encoded, version: version)
    var reader = KafkaReader(encoded)
    let decoded = try Message(from: &reader, version: version)
    #expect(reader.remaining == 0, "v\(version) left bytes unread", sourceLocation: sourceLocation)
    #expect(decoded == message, "v\(version)", sourceLocation: sourceLocation)

    var reencoded = ByteBuffer()
    decoded.write(to: &reencoded, version: version)
    #expect(reencoded == encoded, "v\(version) re-encoding differs", sourceLocation: sourceLocation)

    let header = RequestHeader(apiKey: Message.apiKey, apiVersion: version, correlationID: 7, clientID: "tests")
    var body = KafkaReader(encoded)
    let request = try KafkaRequest.decode(header: header, body: &body)
    #expect(request.apiKey == Message.apiKey, sourceLocation: sourceLocation)
    #expect(request.message as? Message == message, "v\(version) through KafkaRequest.decode", sourceLocation: sourceLocation)
}

func expectResponseRoundTrip<Message: KafkaResponseMessage & Hashable>(
    _ message: Message, version: Int16, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    var encoded = ByteBuffer()
    message.write(to: &encoded, version: version)
    var reader = KafkaReader(encoded)
    let decoded = try Message(from: &reader, version: version)
    #expect(reader.remaining == 0, "v\(version) left bytes unread", sourceLocation: sourceLocation)
    #expect(decoded == message, "v\(version)", sourceLocation: sourceLocation)

    var reencoded = ByteBuffer()
    decoded.write(to: &reencoded, version: version)
    #expect(reencoded == encoded, "v\(version) re-encoding differs", sourceLocation: sourceLocation)
}
