import NIOCore
import RillFormat
import Testing
@testable import RillProtocol

/// The fields that exist only in some versions, placed where Kafka's schemas put them
/// (bodies hand-assembled from the schemas).
@Suite struct VersionLayoutTests {
    @Test func listOffsetsV0AsksForSeveralOffsetsAndGetsOldStyleOffsets() throws {
        let request = Golden.hex([
            "ffffffff", // ReplicaId: -1
            "00000001", "0001", "74", // Topics: [ Name "t"
            "00000001", "00000000", // Partitions: [ PartitionIndex 0
            "ffffffffffffffff", // Timestamp: -1 (LATEST)
            "00000003", // MaxNumOffsets: 3 (v0 only)
        ])
        try expectGoldenRequest(request, is: ListOffsetsRequest(topics: [.init(name: "t", partitions: [
            .init(partition: 0, timestamp: ListOffsetsRequest.latestTimestamp, maximumOffsetCount: 3),
        ])]), version: 0)
        let response = Golden.hex([
            "00000001", "0001", "74", // Topics: [ Name "t"
            "00000001", "00000000", "0000", // Partitions: [ PartitionIndex 0, ErrorCode 0
            "00000002", "0000000000000005", "0000000000000000", // OldStyleOffsets: [5, 0] (v0 only)
        ])
        try expectGoldenResponse(response, is: ListOffsetsResponse(topics: [.init(name: "t", partitions: [
            .init(partition: 0, oldStyleOffsets: [Offset(5), Offset(0)]),
        ])]), version: 0)
    }

    @Test func offsetCommitV1CarriesAPerPartitionCommitTimestamp() throws {
        let body = Golden.hex([
            "0002", "6731", // GroupId: "g1"
            "00000003", // GenerationId: 3 (v1+)
            "0002", "6d31", // MemberId: "m1" (v1+)
            "00000001", "0001", "74", // Topics: [ Name "t"
            "00000001", "00000000", // Partitions: [ PartitionIndex 0
            "000000000000000a", // CommittedOffset: 10
            "00000174876e8000", // CommitTimestamp: 1600000000000 (v1 only)
            "ffff", // CommittedMetadata: null
        ])
        try expectGoldenRequest(body, is: OffsetCommitRequest(groupID: "g1", generationID: 3, memberID: "m1", topics: [.init(name: "t", partitions: [
            .init(partition: 0, committedOffset: Offset(10), commitTimestamp: Timestamp(milliseconds: 1_600_000_000_000), committedMetadata: nil),
        ])]), version: 1)
    }

    @Test func offsetCommitV2CarriesATopLevelRetentionTime() throws {
        let body = Golden.hex([
            "0002", "6731", // GroupId: "g1"
            "00000003", // GenerationId: 3
            "0002", "6d31", // MemberId: "m1"
            "0000000005265c00", // RetentionTimeMs: 86400000 (v2–v4)
            "00000001", "0001", "74", // Topics: [ Name "t"
            "00000001", "00000000", // Partitions: [ PartitionIndex 0
            "000000000000000a", // CommittedOffset: 10
            "0000", // CommittedMetadata: ""
        ])
        try expectGoldenRequest(body, is: OffsetCommitRequest(groupID: "g1", generationID: 3, memberID: "m1", retentionTimeMilliseconds: 86_400_000, topics: [
            .init(name: "t", partitions: [.init(partition: 0, committedOffset: Offset(10), committedMetadata: "")]),
        ]), version: 2)
    }

    @Test func leaveGroupCarriesOneMemberIdBeforeV3AndAMemberListFromV3() throws {
        let v0 = Golden.hex(["0002", "6731", "0002", "6d31"]) // GroupId "g1", MemberId "m1"
        try expectGoldenRequest(v0, is: LeaveGroupRequest(groupID: "g1", memberID: "m1"), version: 0)
        let v3 = Golden.hex([
            "0002", "6731", // GroupId: "g1"
            "00000001", // Members: 1 element (v3+)
            "0002", "6d31", // MemberId: "m1"
            "ffff", // GroupInstanceId: null
        ])
        try expectGoldenRequest(v3, is: LeaveGroupRequest(groupID: "g1", members: [.init(memberID: "m1")]), version: 3)
    }

    @Test func fetchV0HasOnlyTheOriginalFields() throws {
        let body = Golden.hex([
            "ffffffff", // ReplicaId: -1
            "000001f4", // MaxWaitMs: 500
            "00000001", // MinBytes: 1
            "00000001", "0001", "74", // Topics: [ Topic "t"
            "00000001", "00000000", // Partitions: [ Partition 0
            "000000000000000a", // FetchOffset: 10
            "00100000", // PartitionMaxBytes: 1048576
        ])
        try expectGoldenRequest(body, is: FetchRequest(maximumWaitMilliseconds: 500, minimumBytes: 1, topics: [
            .init(name: "t", partitions: [.init(partition: 0, fetchOffset: Offset(10), partitionMaximumBytes: 1_048_576)]),
        ]), version: 0)
    }

    @Test func offsetFetchTopicsMayBeNullOnlyFromV2() throws {
        let allTopics = Golden.hex(["0002", "6731", "ffffffff"]) // GroupId "g1", Topics: null
        try expectGoldenRequest(allTopics, is: OffsetFetchRequest(groupID: "g1", topics: nil), version: 2)
        var reader = KafkaReader(allTopics)
        #expect(throws: ProtocolError.self) { try OffsetFetchRequest(from: &reader, version: 1) }
    }

    @Test func fetchResponseAsksForEachPartitionsRecordsOnceInOrder() throws {
        let response = FetchResponse(topics: [
            .init(name: "a", partitions: [.init(partition: 0, highWatermark: Offset(1), records: nil), .init(partition: 1, highWatermark: Offset(2), records: nil)]),
            .init(name: "b", partitions: [.init(partition: 5, highWatermark: Offset(3), records: nil)]),
        ])
        var calls: [String] = []
        var encoded = ByteBuffer()
        response.write(to: &encoded, version: 11) { buffer, topicIndex, partitionIndex in
            calls.append("\(topicIndex)/\(partitionIndex)")
            buffer.writeKafkaBytes(ByteBuffer(string: "records of \(topicIndex)/\(partitionIndex)"))
        }
        #expect(calls == ["0/0", "0/1", "1/0"])
        var reader = KafkaReader(encoded)
        let decoded = try FetchResponse(from: &reader, version: 11)
        #expect(decoded.topics.flatMap(\.partitions).map(\.records) == calls.map { ByteBuffer(string: "records of \($0)") })
    }
}
