import NIOCore
import RillBroker
import RillProtocol
import RillServer
import Testing

/// Version negotiation (kafka-protocol.md §1.6): every client's first request.
extension BrokerServerTests {
    /// librdkafka's ApiVersions v3 request, hand-assembled as in §1.6.1 (41 bytes).
    static let librdkafkaApiVersionsV3: [UInt8] = [
        0x00, 0x00, 0x00, 0x25,  // size 37
        0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,  // ApiVersions v3, correlation id 1
        0x00, 0x07, 0x72, 0x64, 0x6B, 0x61, 0x66, 0x6B, 0x61,  // client id "rdkafka"
        0x00,  // header tagged fields
        0x0B, 0x6C, 0x69, 0x62, 0x72, 0x64, 0x6B, 0x61, 0x66, 0x6B, 0x61,  // "librdkafka"
        0x07, 0x32, 0x2E, 0x31, 0x35, 0x2E, 0x30,  // "2.15.0"
        0x00,  // body tagged fields
    ]

    /// The v0-format UNSUPPORTED_VERSION body listing `entries` (header v0, no throttle time).
    static func unsupportedVersionReply(correlationID: Int32, entries: [ApiVersionsResponse.ApiVersion]) -> [UInt8] {
        var body: [UInt8] = []
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.bigEndian) { body.append(contentsOf: $0) } }
        append(correlationID)
        append(Int16(35))
        append(Int32(entries.count))
        for entry in entries {
            append(entry.apiKey.rawValue)
            append(entry.minimumVersion)
            append(entry.maximumVersion)
        }
        var frame: [UInt8] = []
        withUnsafeBytes(of: Int32(body.count).bigEndian) { frame.append(contentsOf: $0) }
        return frame + body
    }

    @Test func apiVersionsV3AsLibrdkafkaSendsItGetsTheV0UnsupportedVersionReply() throws {
        #expect(Self.librdkafkaApiVersionsV3.count == 41)
        let broker = try TestBroker()
        let connection = try broker.connect()
        try connection.send(Self.librdkafkaApiVersionsV3)
        let expected = Self.unsupportedVersionReply(correlationID: 1, entries: BrokerApiVersions.apiVersionsEntries)
        guard case .bytes(let reply) = try connection.receive(expected.count) else {
            Issue.record("the broker closed instead of answering ApiVersions v3")
            return
        }
        #expect(reply == expected)
        // The reply lists ApiVersions 0-2, so librdkafka retries on the same connection at v0.
        #expect(BrokerApiVersions.apiVersionsEntries.contains { $0.apiKey == .apiVersions && $0.maximumVersion == 2 })
        let retry = try connection.request(ApiVersionsRequest(), version: 0)
        #expect(retry.errorCode == .none)
        #expect(retry.apiKeys == BrokerApiVersions.apiVersionsEntries)
        try broker.stop()
    }

    @Test(arguments: [Int16(3), 4, 99])
    func apiVersionsAboveTheSupportedRangeIsAnsweredInV0Format(version: Int16) throws {
        let broker = try TestBroker()
        let connection = try broker.connect()
        let (frame, correlationID) = connection.frame(ApiVersionsRequest(), version: version)
        try connection.send(frame)
        let response = try connection.receive(ApiVersionsResponse.self, version: 0, correlationID: correlationID)
        #expect(response.errorCode == .unsupportedVersion)
        #expect(response.apiKeys == BrokerApiVersions.apiVersionsEntries)
        try broker.stop()
    }

    @Test(arguments: [Int16(0), 1, 2])
    func apiVersionsV0ToV2ListTheBrokersVersions(version: Int16) throws {
        let broker = try TestBroker()
        let response = try broker.connect().request(ApiVersionsRequest(), version: version)
        #expect(response.errorCode == .none)
        #expect(response.apiKeys == BrokerApiVersions.apiVersionsEntries)
        #expect(response.throttleTimeMilliseconds == 0)
        let keys = response.apiKeys.map(\.apiKey)
        for required in [ApiKey.produce, .fetch, .listOffsets, .metadata, .apiVersions, .createTopics] {
            #expect(keys.contains(required), "\(required)")
        }
        try broker.stop()
    }
}
