import NIOCore
import Testing
@testable import RillProtocol

/// The consumer protocol blobs inside JoinGroup metadata and SyncGroup assignments
/// (kafka-protocol.md §8.4).
@Suite struct ConsumerProtocolTests {
    static func subscription(version: Int16) -> ConsumerProtocolSubscription {
        ConsumerProtocolSubscription(
            topics: ["orders", "payments"], userData: ByteBuffer(string: "sticky-state"),
            ownedPartitions: version >= 1 ? [.init(topic: "orders", partitions: [0, 2])] : [],
            generationID: version >= 2 ? 7 : -1, rackID: version >= 3 ? "rack-a" : nil
        )
    }

    static let assignment = ConsumerProtocolAssignment(
        assignedPartitions: [.init(topic: "orders", partitions: [0, 1]), .init(topic: "payments", partitions: [])],
        userData: ByteBuffer(string: "user")
    )

    @Test(arguments: [Int16(0), 1, 2, 3])
    func subscriptionRoundTrips(version: Int16) throws {
        let encoded = Self.subscription(version: version).encoded(version: version)
        #expect(encoded.getInteger(at: encoded.readerIndex, as: Int16.self) == version)
        #expect(try ConsumerProtocolSubscription(decoding: encoded) == Self.subscription(version: version))
    }

    @Test(arguments: [Int16(0), 1, 2, 3])
    func assignmentRoundTrips(version: Int16) throws {
        let encoded = Self.assignment.encoded(version: version)
        #expect(encoded.getInteger(at: encoded.readerIndex, as: Int16.self) == version)
        #expect(try ConsumerProtocolAssignment(decoding: encoded) == Self.assignment)
        #expect(try ConsumerProtocolAssignment(decoding: ConsumerProtocolAssignment(assignedPartitions: []).encoded(version: version)).assignedPartitions == [])
    }

    @Test func nullUserDataRoundTrips() throws {
        let subscription = ConsumerProtocolSubscription(topics: ["t"], userData: nil)
        #expect(try ConsumerProtocolSubscription(decoding: subscription.encoded(version: 0)).userData == nil)
        let assignment = ConsumerProtocolAssignment(assignedPartitions: [], userData: nil)
        #expect(try ConsumerProtocolAssignment(decoding: assignment.encoded()).userData == nil)
    }

    @Test func aVersion4SubscriptionWithExtraFieldsDecodesByItsKnownPrefix() throws {
        var blob = Self.subscription(version: 3).encoded(version: 3)
        blob.setInteger(Int16(4), at: blob.readerIndex)
        blob.writeInteger(Int64(123_456)) // a field added in a future version
        blob.writeKafkaString("future")
        #expect(try ConsumerProtocolSubscription(decoding: blob) == Self.subscription(version: 3))
    }

    @Test func aVersion4AssignmentWithExtraFieldsDecodesByItsKnownPrefix() throws {
        var blob = Self.assignment.encoded(version: 3)
        blob.setInteger(Int16(4), at: blob.readerIndex)
        blob.writeInteger(Int32(99))
        #expect(try ConsumerProtocolAssignment(decoding: blob) == Self.assignment)
    }

    @Test func anEmptyAssignmentMeansNoPartitions() throws {
        let decoded = try ConsumerProtocolAssignment(decoding: ByteBuffer())
        #expect(decoded.assignedPartitions.isEmpty)
        #expect(decoded.userData == nil)
    }

    @Test func kafkaPythonV0SubscriptionGoldenBytes() throws {
        let golden = Golden.hex([Golden.kafkaPythonSubscriptionV0Hex])
        let expected = ConsumerProtocolSubscription(topics: ["t"], userData: ByteBuffer())
        #expect(try ConsumerProtocolSubscription(decoding: golden) == expected)
        #expect(expected.encoded(version: 0) == golden)
    }

    @Test func librdkafkaV3SubscriptionGoldenBytes() throws {
        let golden = Golden.hex([Golden.librdkafkaSubscriptionV3Hex])
        let expected = ConsumerProtocolSubscription(topics: ["t"], userData: ByteBuffer(), ownedPartitions: [], generationID: -1, rackID: nil)
        #expect(try ConsumerProtocolSubscription(decoding: golden) == expected)
        #expect(expected.encoded(version: 3) == golden)
    }

    @Test func truncatedOrNegativeVersionBlobsThrow() {
        let blob = Array(Self.subscription(version: 3).encoded(version: 3).readableBytesView)
        for length in 0..<blob.count {
            #expect(throws: ProtocolError.self) { try ConsumerProtocolSubscription(decoding: ByteBuffer(bytes: blob[0..<length])) }
        }
        let assignment = Array(Self.assignment.encoded().readableBytesView)
        for length in 1..<assignment.count {
            #expect(throws: ProtocolError.self) { try ConsumerProtocolAssignment(decoding: ByteBuffer(bytes: assignment[0..<length])) }
        }
        #expect(throws: ProtocolError.self) { try ConsumerProtocolSubscription(decoding: ByteBuffer(bytes: [0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0])) }
    }
}
