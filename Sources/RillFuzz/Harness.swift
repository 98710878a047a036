import NIOCore
import NIOEmbedded
import RillBroker
import RillFormat
import RillProtocol
import RillStorage

/// What one fuzz input does. The first byte (the selector) picks a mode and its options:
///
///     bits 0-1  mode: 0 a request stream, 1 one request frame, 2 one partition's records,
///               3 one compression codec
///     bit 2     recompute the CRC-32C of every record batch before it is validated, so that
///               mutations get past the checksum
///     bit 3     stream mode: a small frame limit from the next byte (16-byte steps) instead of
///               the broker's default socket.request.max.bytes
///     bit 4     produce checks: a topic with max.message.bytes 128 as well
///
/// - Stream: `[selector] [n = byte & 15] [n chunk sizes, byte + 1 each] [stream]`. The stream is
///   fed in chunks of those sizes (cycled; n = 0 feeds it whole), as TCP reads deliver it, to
///   `KafkaFrameHandler` as the broker's pipeline has it, and whole to a `FrameDecoder`; both
///   must split it alike, and every frame takes the request path.
/// - Frame: `[selector] [frame without its size prefix]` — the request path alone.
/// - Records: `[selector] [Produce version byte] [records]` — one partition of a Produce request.
/// - Codec: `[selector] [codec byte] [limit byte] [payload]` — decompress with a limit of
///   2^(8 + limit % 13) bytes, and compress/decompress round-trip.
///
/// The request path is the broker's (`BrokerRuntime.handle(frame:)`): the header, the ApiVersions
/// answer (KIP-511), `KafkaRequest.decode`, and for Produce every partition's records through
/// `ProduceValidation.validate` and record decoding. Besides "never trap, never hang, never
/// allocate out of proportion", the harness checks what the decoders promise: errors are
/// `ProtocolError`s, what decodes re-encodes to the same message (the broker echoes names back),
/// and the record readers agree with each other.
enum Harness {
    /// The decompression limit for fuzz inputs (the production default is 256 MiB).
    static let maximumDecompressedBytes = 1 << 20
    static let brokerDefaults = BrokerConfiguration()

    static func run(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        let selector = input.byte()
        let options = Options(selector: selector)
        switch selector & 0x03 {
        case 0: checkStream(&input, options: options)
        case 1: checkRequestFrame(ByteBuffer(bytes: input.rest()), options: options)
        case 2:
            let version = Int16(input.byte() % 10)
            checkPartitionRecords(ByteBuffer(bytes: input.rest()), produceVersion: version, options: options)
        default: checkCodec(&input)
        }
    }

    struct Options {
        var repairChecksums: Bool
        var smallFrameLimit: Bool
        var smallMessageLimit: Bool

        init(selector: UInt8) {
            repairChecksums = selector & 0x04 != 0
            smallFrameLimit = selector & 0x08 != 0
            smallMessageLimit = selector & 0x10 != 0
        }
    }

    // MARK: Framing

    static func checkStream(_ input: inout FuzzInput, options: Options) {
        let maximumFrameBytes = options.smallFrameLimit ? Int(input.byte()) * 16 : brokerDefaults.maximumRequestBytes
        let chunkSizes = (0..<Int(input.byte() & 0x0F)).map { _ in Int(input.byte()) + 1 }
        let stream = input.rest()

        var decoder = FrameDecoder(maximumFrameBytes: maximumFrameBytes)
        var frames: [ByteBuffer] = []
        var decoderFailed = false
        var whole = ByteBuffer(bytes: stream)
        do {
            while let frame = try decoder.next(from: &whole) { frames.append(frame) }
        } catch {
            expectProtocolError(error, "FrameDecoder")
            decoderFailed = true
        }
        if !decoderFailed {
            let framed = frames.reduce(0) { $0 + 4 + $1.readableBytes }
            require(framed + decoder.bufferedBytes == stream.count, "FrameDecoder lost or invented bytes")
        }

        let channel = EmbeddedChannel(handler: KafkaFrameHandler(maximumFrameBytes: maximumFrameBytes))
        var channelFrames: [ByteBuffer] = []
        var channelFailed = false
        var position = 0
        var chunkIndex = 0
        while position < stream.count, !channelFailed {
            let size = chunkSizes.isEmpty ? stream.count : Swift.min(chunkSizes[chunkIndex % chunkSizes.count], stream.count - position)
            chunkIndex += 1
            let chunk = ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: stream[position..<(position + size)]))
            position += size
            do { _ = try channel.writeInbound(chunk) } catch { channelFailed = true }
            while let frame = try? channel.readInbound(as: ByteBuffer.self) { channelFrames.append(frame) }
        }
        _ = try? channel.finish()
        require(decoderFailed == channelFailed, "FrameDecoder failed: \(decoderFailed), KafkaFrameHandler failed: \(channelFailed)")
        require(frames == channelFrames, "FrameDecoder on the whole stream and KafkaFrameHandler on its chunks split it differently")
        for frame in frames { checkRequestFrame(frame, options: options) }
    }

    // MARK: Requests

    /// The broker's path for one request frame (BrokerRuntime.handle(frame:)).
    static func checkRequestFrame(_ frame: ByteBuffer, options: Options) {
        var reader = KafkaReader(frame)
        let header: RequestHeader
        do {
            header = try RequestHeader(from: &reader)
        } catch {
            expectProtocolError(error, "RequestHeader")
            return
        }
        checkHeaderRoundTrip(header)
        if header.apiKey == .apiVersions { checkApiVersionsAnswer(to: header) }
        // The broker decodes only what it advertises; the decoder must cope with every version
        // it has a codec for, so take them all.
        let request: KafkaRequest
        do {
            request = try KafkaRequest.decode(header: header, body: &reader)
        } catch {
            expectProtocolError(error, "KafkaRequest.decode")
            return
        }
        require(request.apiKey == header.apiKey, "decoded \(request.apiKey) for \(header.apiKey)")
        checkBodyRoundTrip(request, header: header)
        if case .produce(let produce) = request {
            for topic in produce.topics {
                for partition in topic.partitions {
                    checkPartitionRecords(partition.records, produceVersion: header.apiVersion, options: options)
                }
            }
        }
    }

    static func checkHeaderRoundTrip(_ header: RequestHeader) {
        var encoded = ByteBuffer()
        header.write(to: &encoded)
        var reader = KafkaReader(encoded)
        let again = try? RequestHeader(from: &reader)
        require(again == header && reader.remaining == 0, "request header \(header) does not round-trip")
    }

    /// Encodes what was decoded and decodes it again: the broker writes request strings back
    /// into responses (topic names, group and member ids), so a decoded message must encode.
    static func checkBodyRoundTrip(_ request: KafkaRequest, header: RequestHeader) {
        var encoded = ByteBuffer()
        request.message.write(to: &encoded, version: header.apiVersion)
        var reader = KafkaReader(encoded)
        do {
            let again = try KafkaRequest.decode(header: header, body: &reader)
            require(again == request, "\(header.apiKey) v\(header.apiVersion) decodes to something else after encoding")
            var reencoded = ByteBuffer()
            again.message.write(to: &reencoded, version: header.apiVersion)
            require(reencoded == encoded, "\(header.apiKey) v\(header.apiVersion) encodes two ways")
        } catch {
            fail("\(header.apiKey) v\(header.apiVersion) does not decode after encoding: \(error)")
        }
    }

    /// The broker's answer to ApiVersions (BrokerRuntime.apiVersions): the list at a supported
    /// version, else the v0-format UNSUPPORTED_VERSION reply (KIP-511). Either way the client must
    /// be able to read it at the version it is written in, under the right correlation id.
    static func checkApiVersionsAnswer(to header: RequestHeader) {
        let entries = BrokerApiVersions.apiVersionsEntries
        let response: ApiVersionsResponse
        let version: Int16
        if let range = BrokerApiVersions.range(.apiVersions), range.contains(header.apiVersion) {
            (response, version) = (ApiVersionsResponse(apiKeys: entries), header.apiVersion)
        } else {
            (response, version) = ApiVersionsResponse.unsupportedVersionReply(advertising: entries)
            require(response.errorCode == .unsupportedVersion && version == 0, "ApiVersions v\(header.apiVersion) answered wrongly")
        }
        var frame = response.encodedFrame(version: version, correlationID: header.correlationID)
        do {
            guard let body = try FrameDecoder.decodeFrame(from: &frame, maximumFrameBytes: .max), frame.readableBytes == 0 else {
                fail("the ApiVersions answer is not one whole frame")
            }
            var reader = KafkaReader(body)
            let correlationID = try ResponseHeader.read(from: &reader, apiKey: .apiVersions, version: version)
            let decoded = try ApiVersionsResponse(from: &reader, version: version)
            try reader.expectEnd("ApiVersions response")
            require(correlationID == header.correlationID, "the ApiVersions answer carries the wrong correlation id")
            require(decoded == response, "the ApiVersions v\(version) answer reads back differently")
        } catch {
            fail("the ApiVersions v\(version) answer does not read back: \(error)")
        }
    }

    // MARK: Records

    static let deleteTopic = TopicConfiguration(log: LogConfiguration(), minimumInSyncReplicas: 1)
    static let compactedTopic: TopicConfiguration = {
        var log = LogConfiguration()
        log.cleanupPolicy = [.compact]
        return TopicConfiguration(log: log, minimumInSyncReplicas: 1)
    }()
    static let smallMessageTopic: TopicConfiguration = {
        var log = LogConfiguration()
        log.maximumMessageBytes = 128
        log.cleanupPolicy = [.compact, .delete]
        return TopicConfiguration(log: log, minimumInSyncReplicas: 1)
    }()

    /// One partition of a Produce request: the broker's validation on a plain and a compacted
    /// topic, and the record batch readers on whatever batches the bytes hold.
    static func checkPartitionRecords(_ records: ByteBuffer?, produceVersion: Int16, options: Options) {
        let records = options.repairChecksums ? records.map(repairingChecksums) : records
        var configurations = [deleteTopic, compactedTopic]
        if options.smallMessageLimit { configurations.append(smallMessageTopic) }
        for configuration in configurations {
            checkProduceValidation(records, produceVersion: produceVersion, configuration: configuration)
        }
        if let records { checkBatches(records) }
    }

    static func checkProduceValidation(_ records: ByteBuffer?, produceVersion: Int16, configuration: TopicConfiguration) {
        let header: RecordBatchHeader
        do {
            header = try ProduceValidation.validate(
                records, produceVersion: produceVersion, configuration: configuration,
                maximumDecompressedBytes: maximumDecompressedBytes)
        } catch {
            return
        }
        // Accepted: exactly one whole batch, which every reader must take as the validator did.
        guard let records else { fail("ProduceValidation accepted null records") }
        require(header.totalSize == records.readableBytes, "ProduceValidation accepted bytes beyond the batch")
        require(header.recordCount > 0 && header.lastOffsetDelta == header.recordCount - 1, "ProduceValidation accepted inconsistent counts")
        require(Int64(header.totalSize) <= configuration.log.maximumMessageBytes, "ProduceValidation accepted a batch above max.message.bytes")
        let compacted = configuration.log.cleanupPolicy.contains(.compact)
        do {
            let batch = try RecordBatch(validating: records)
            require(batch.header == header, "RecordBatch reads another header than ProduceValidation")
            guard header.attributes.compression == CompressionType.none || compacted else { return }
            let decoded = try batch.records(maximumDecompressedBytes: maximumDecompressedBytes)
            require(decoded.count == Int(header.recordCount), "ProduceValidation accepted \(header.recordCount) records, records() finds \(decoded.count)")
            for (index, record) in decoded.enumerated() {
                require(record.offsetDelta == Int32(index), "ProduceValidation accepted offset delta \(record.offsetDelta) at \(index)")
                require(!compacted || record.key != nil, "ProduceValidation accepted a record without a key on a compacted topic")
            }
        } catch {
            fail("ProduceValidation accepted a batch the record readers refuse: \(error)")
        }
    }

    /// Walks the batches in `records` as a fetch or log read would, decoding every record.
    static func checkBatches(_ records: ByteBuffer) {
        var rest = records
        for _ in 0..<64 where rest.readableBytes > 0 {
            let batch: RecordBatch
            do {
                batch = try RecordBatch(validating: rest)
            } catch {
                expectFormatError(error)
                return
            }
            let headerOnly = try? rest.withUnsafeReadableBytes { bytes throws(FormatError) in
                try RecordBatch.validate(bytes, verifyChecksum: false, headerOnly: true)
            }
            require(headerOnly == batch.header, "validating the header only reads another header")
            let decoded = Result { () throws(FormatError) in try batch.records(maximumDecompressedBytes: maximumDecompressedBytes) }
            if case .success(let list) = decoded {
                require(list.count == Int(batch.header.recordCount), "records() returned \(list.count) of \(batch.header.recordCount) records")
            }
            if batch.header.attributes.compression == CompressionType.none {
                for requireKeys in [false, true] {
                    guard (try? batch.validateRecordStructure(requireKeys: requireKeys)) != nil else { continue }
                    // The structural walk is the cheap form of records() for producer batches
                    // (offset deltas 0, 1, 2…): whatever it accepts, records() must decode so.
                    guard case .success(let list) = decoded else { fail("validateRecordStructure accepts what records() refuses: \(decoded)") }
                    for (index, record) in list.enumerated() {
                        require(record.offsetDelta == Int32(index), "validateRecordStructure accepted offset delta \(record.offsetDelta) at \(index)")
                        require(!requireKeys || record.key != nil, "validateRecordStructure accepted a null key")
                    }
                }
            }
            rest.moveReaderIndex(forwardBy: batch.header.totalSize)
        }
    }

    /// A copy of `records` with the CRC-32C of each whole magic-2 batch recomputed.
    static func repairingChecksums(_ records: ByteBuffer) -> ByteBuffer {
        var copy = ByteBuffer(bytes: records.readableBytesView)
        copy.withUnsafeMutableReadableBytes { bytes in
            var position = 0
            while bytes.count - position >= RecordBatchHeader.size {
                let batch = UnsafeMutableRawBufferPointer(rebasing: bytes[position...])
                guard batch[RecordBatchHeader.FieldOffset.magic] == UInt8(RecordBatchHeader.currentMagic) else { return }
                let totalSize = Int(batch.loadBigEndian(at: RecordBatchHeader.FieldOffset.batchLength, as: Int32.self)) + RecordBatchHeader.logOverhead
                guard totalSize >= RecordBatchHeader.size, totalSize <= batch.count else { return }
                RecordBatch.updateChecksum(batch)
                position += totalSize
            }
        }
        return copy
    }

    // MARK: Codecs

    static let codecs: [CompressionType] = [.gzip, .snappy, .lz4, .zstd]

    static func checkCodec(_ input: inout FuzzInput) {
        let type = codecs[Int(input.byte()) % codecs.count]
        let limit = 1 << (8 + Int(input.byte()) % 13)
        let payload = input.rest()
        guard let codec = type.codec else { fail("\(type) has no codec") }

        var output = ByteBuffer()
        if (try? codec.decompress(payload, into: &output, maximumBytes: limit)) != nil {
            require(output.readableBytes <= limit, "\(type) decompressed \(output.readableBytes) bytes with a limit of \(limit)")
        }

        var compressed = ByteBuffer()
        do {
            try codec.compress(payload, into: &compressed)
            var restored = ByteBuffer()
            try compressed.withUnsafeReadableBytes { try codec.decompress($0, into: &restored, maximumBytes: payload.count) }
            require(restored.readableBytesView.elementsEqual(payload), "\(type) does not round-trip \(payload.count) bytes")
        } catch {
            fail("\(type) cannot round-trip \(payload.count) bytes: \(error)")
        }
    }

    // MARK: Findings

    static func expectProtocolError(_ error: any Error, _ what: @autoclosure () -> String) {
        if !(error is ProtocolError) { fail("\(what()) threw \(type(of: error)), not ProtocolError: \(error)") }
    }

    static func expectFormatError(_ error: any Error) {
        if !(error is FormatError) { fail("RecordBatch threw \(type(of: error)), not FormatError: \(error)") }
    }
}

/// A finding: the message goes to standard error, and the trap makes libFuzzer save the input.
func fail(_ message: @autoclosure () -> String) -> Never {
    fatalError("RillFuzz finding: \(message())")
}

@inline(__always)
func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fail(message()) }
}

/// Reads the fuzz input front to back; past the end every byte reads as 0.
struct FuzzInput {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    /// Everything not read yet.
    mutating func rest() -> UnsafeRawBufferPointer {
        defer { position = bytes.count }
        return UnsafeRawBufferPointer(rebasing: bytes[Swift.min(position, bytes.count)...])
    }
}
