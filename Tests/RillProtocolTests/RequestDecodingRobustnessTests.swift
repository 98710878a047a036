import NIOCore
import RillFormat
import Testing
@testable import RillProtocol

/// `KafkaRequest.decode` on hostile input: it rejects unknown keys, unsupported versions,
/// truncated and over-long bodies with `ProtocolError`, and never traps on any bytes.
@Suite struct RequestDecodingRobustnessTests {
    static func header(_ apiKey: ApiKey, _ version: Int16) -> RequestHeader {
        RequestHeader(apiKey: apiKey, apiVersion: version, correlationID: 1, clientID: "tests")
    }

    /// Decodes `bytes` as the body of (`apiKey`, `version`), turning any error other than
    /// `ProtocolError` into a test failure.
    static func decode(_ bytes: ByteBuffer, _ apiKey: ApiKey, _ version: Int16) -> Result<KafkaRequest, ProtocolError> {
        var body = KafkaReader(bytes)
        do {
            return .success(try KafkaRequest.decode(header: header(apiKey, version), body: &body))
        } catch let error as ProtocolError {
            return .failure(error)
        } catch {
            Issue.record("\(apiKey) v\(version): unexpected error type \(error)")
            return .failure(ProtocolError(.invalidValue, "unexpected"))
        }
    }

    static let goldenRequests: [(name: String, apiKey: ApiKey, version: Int16, body: ByteBuffer)] = [
        ("Produce v3", .produce, 3, Golden.produceRequestV3),
        ("Produce v8", .produce, 8, Golden.produceRequestV8),
        ("Fetch v11", .fetch, 11, Golden.fetchRequestV11),
        ("Metadata v1", .metadata, 1, Golden.metadataRequestV1),
        ("ListOffsets v1", .listOffsets, 1, Golden.listOffsetsRequestV1),
        ("CreateTopics v4", .createTopics, 4, Golden.createTopicsRequestV4),
        ("InitProducerId v0", .initProducerId, 0, Golden.initProducerIdRequestV0),
        ("OffsetForLeaderEpoch v2", .offsetForLeaderEpoch, 2, Golden.offsetForLeaderEpochRequestV2),
        ("JoinGroup v5", .joinGroup, 5, Golden.joinGroupRequestV5),
        ("OffsetCommit v7", .offsetCommit, 7, Golden.offsetCommitRequestV7),
    ]

    @Test func everyProperPrefixOfEverySampleRequestThrows() {
        var checked = 0
        for (apiKey, version) in Samples.allRequestVersions {
            let body = Samples.encodedBody(Samples.request(apiKey, version: version), version: version)
            checked += Self.expectEveryProperPrefixThrows(body, apiKey, version)
        }
        #expect(checked > 5_000, "the sample bodies must be long enough to mean something")
    }

    @Test func everyProperPrefixOfEveryGoldenRequestThrows() {
        for golden in Self.goldenRequests {
            #expect(Self.expectEveryProperPrefixThrows(golden.body, golden.apiKey, golden.version) == golden.body.readableBytes, "\(golden.name)")
        }
    }

    /// Returns how many prefixes were checked.
    static func expectEveryProperPrefixThrows(_ body: ByteBuffer, _ apiKey: ApiKey, _ version: Int16) -> Int {
        for length in 0..<body.readableBytes {
            let prefix = body.getSlice(at: body.readerIndex, length: length) ?? ByteBuffer()
            if case .success = decode(prefix, apiKey, version) {
                Issue.record("\(apiKey) v\(version): a \(length)-byte prefix of \(body.readableBytes) bytes decoded")
            }
        }
        return body.readableBytes
    }

    @Test func trailingBytesAfterAnyRequestAreMalformed() {
        for (apiKey, version) in Samples.allRequestVersions {
            var body = Samples.encodedBody(Samples.request(apiKey, version: version), version: version)
            body.writeInteger(UInt8(0))
            guard case .failure(let error) = Self.decode(body, apiKey, version) else {
                Issue.record("\(apiKey) v\(version) accepted a trailing byte")
                continue
            }
            #expect(error.code == .invalidValue)
        }
    }

    @Test func randomBodiesThrowOrDecodeButNeverTrap() {
        var generator = SplitMix64(seed: 0x5EED)
        let pairs = Samples.allRequestVersions
        var decodedCount = 0
        for _ in 0..<4_000 {
            let (apiKey, version) = pairs[Int.random(in: 0..<pairs.count, using: &generator)]
            let length = Int.random(in: 0...96, using: &generator)
            let bytes = (0..<length).map { _ in Self.biasedByte(using: &generator) }
            if case .success = Self.decode(ByteBuffer(bytes: bytes), apiKey, version) { decodedCount += 1 }
        }
        #expect(decodedCount > 0, "some random bodies should happen to be valid (ListGroups, ApiVersions at least)")
    }

    @Test func mutatedSampleRequestsThrowOrDecodeButNeverTrap() {
        var generator = SplitMix64(seed: 42)
        for (apiKey, version) in Samples.allRequestVersions {
            let original = Array(Samples.encodedBody(Samples.request(apiKey, version: version), version: version).readableBytesView)
            guard !original.isEmpty else { continue }
            for _ in 0..<40 {
                var mutated = original
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    mutated[Int.random(in: 0..<mutated.count, using: &generator)] = Self.biasedByte(using: &generator)
                }
                _ = Self.decode(ByteBuffer(bytes: mutated), apiKey, version)
            }
        }
    }

    /// Found by the fuzz target's re-encoding check (Fuzz/Seeds/crash-topic-name-utf8-repair):
    /// invalid UTF-8 is repaired with U+FFFD, three bytes for each bad byte, so an 11,000-byte
    /// topic name decoded to 33,000 bytes, and writing it back — the broker echoes topic names
    /// in its Produce response — failed `writeKafkaString`'s precondition and stopped the broker.
    @Test func aStringThatGrowsPast32767BytesWhenRepairedIsRefused() throws {
        func produceBody(topicName: [UInt8]) -> ByteBuffer {
            var body = ByteBuffer()
            body.writeInteger(Int16(-1))  // transactional id
            body.writeInteger(Int16(1))  // acks
            body.writeInteger(Int32(1_000))  // timeout
            body.writeInteger(Int32(1))  // one topic
            body.writeInteger(Int16(topicName.count))
            body.writeBytes(topicName)
            body.writeInteger(Int32(0))  // no partitions
            return body
        }
        guard case .failure(let error) = Self.decode(produceBody(topicName: Array(repeating: 0xFF, count: 11_000)), .produce, 3) else {
            Issue.record("a name that repairs to 33,000 bytes decoded")
            return
        }
        #expect(error.code == .invalidValue)

        // Repair itself stays (Java's decoder does the same): up to 32,767 bytes as repaired.
        let decoded = try #require(try? Self.decode(produceBody(topicName: Array(repeating: 0xFF, count: 10_922)), .produce, 3).get())
        guard case .produce(let request) = decoded else { Issue.record("not a Produce request"); return }
        #expect(request.topics[0].name.utf8.count == 32_766)
        var encoded = ByteBuffer()
        request.write(to: &encoded, version: 3)
        #expect(encoded.readableBytes > 32_766)
    }

    /// Random bytes leaning towards the values that make lengths and counts interesting
    /// (0x00 and 0xFF, which form 0, -1 and huge sizes).
    static func biasedByte(using generator: inout SplitMix64) -> UInt8 {
        switch Int.random(in: 0..<4, using: &generator) {
        case 0: 0x00
        case 1: 0xFF
        default: UInt8.random(in: 0...255, using: &generator)
        }
    }

    // MARK: Key and version checks

    @Test(arguments: [Int16(-1), 4, 5, 6, 7, 17, 24, 60, 99, Int16.max])
    func unknownApiKeysAreRejected(rawKey: Int16) {
        guard case .failure(let error) = Self.decode(ByteBuffer(), ApiKey(rawValue: rawKey), 0) else {
            Issue.record("key \(rawKey) decoded")
            return
        }
        #expect(error.code == .unknownApiKey)
    }

    @Test func versionsOutsideTheCodecRangeAreRejected() {
        for apiKey in Samples.requestApiKeys {
            let range = ApiVersionTable.codecVersions(apiKey) ?? 0...0
            for version in [range.upperBound + 1, Int16(-1), Int16.max] {
                let body = Samples.encodedBody(Samples.request(apiKey, version: range.upperBound), version: range.upperBound)
                guard case .failure(let error) = Self.decode(body, apiKey, version) else {
                    Issue.record("\(apiKey) v\(version) decoded")
                    continue
                }
                #expect(error.code == .unsupportedVersion, "\(apiKey) v\(version)")
            }
        }
    }

    @Test func everyCodecKeyHasASampleAndEverySampleKeyHasACodec() {
        let keysWithCodecs = (Int16(0)...100).map { ApiKey(rawValue: $0) }.filter { ApiVersionTable.codecVersions($0) != nil }
        #expect(keysWithCodecs == Samples.requestApiKeys)
    }
}
