import NIOCore
import RillFormat
import RillProtocol

/// A record as the consumer hands it out.
public struct ConsumerRecord: Sendable {
    public var topicPartition: TopicPartition
    public var offset: Offset
    public var timestamp: Timestamp
    public var timestampType: TimestampType
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [RecordHeader]
    /// The leader epoch the record was written in (from its batch).
    public var leaderEpoch: LeaderEpoch

    var approximateSize: Int { (key?.readableBytes ?? 0) + (value?.readableBytes ?? 0) + 64 }
}

/// Turns the records field of a fetch response into consumer records: whole batches only (a
/// cut trailing batch is left for the next fetch), CRC-checked if asked, control batches
/// skipped, records below `position` dropped.
enum FetchedRecordsDecoder {
    struct Decoded {
        var records: [ConsumerRecord] = []
        /// Approximate bytes of `records` (see `ConsumerRecord.approximateSize`).
        var byteCount = 0
        /// Where the next fetch for this partition starts.
        var nextOffset: Offset
        var error: KafkaClientError?
    }

    static func decode(_ bytes: ByteBuffer, topicPartition: TopicPartition, position: Offset, verifyChecksums: Bool) -> Decoded {
        var remaining = bytes
        var decoded = Decoded(nextOffset: position)
        while remaining.readableBytes >= RecordBatchHeader.size {
            let batch: RecordBatch
            do {
                batch = try RecordBatch(validating: remaining, verifyChecksum: verifyChecksums)
            } catch {
                // A cut-off batch at the end is normal; anything else is an error to report.
                if error.code != .truncated {
                    decoded.error = KafkaClientError(.protocolViolation, "invalid batch from \(topicPartition) at offset \(decoded.nextOffset): \(error)")
                }
                break
            }
            remaining.moveReaderIndex(forwardBy: batch.header.totalSize)
            guard batch.header.lastOffset >= decoded.nextOffset else { continue }
            if !batch.header.attributes.isControl {
                do {
                    let epoch = batch.header.partitionLeaderEpoch
                    let timestampType = batch.header.attributes.timestampType
                    let position = decoded.nextOffset
                    // Grown geometrically, but at once for the whole batch rather than per record.
                    let needed = decoded.records.count + Int(batch.header.recordCount)
                    if needed > decoded.records.capacity { decoded.records.reserveCapacity(max(needed, 2 * decoded.records.capacity)) }
                    try batch.forEachRecord { record in
                        let offset = batch.offset(of: record)
                        guard offset >= position else { return }
                        let consumed = ConsumerRecord(
                            topicPartition: topicPartition, offset: offset, timestamp: batch.timestamp(of: record),
                            timestampType: timestampType, key: record.key, value: record.value,
                            headers: record.headers, leaderEpoch: epoch)
                        decoded.byteCount += consumed.approximateSize
                        decoded.records.append(consumed)
                    }
                } catch {
                    decoded.error = KafkaClientError(.protocolViolation, "cannot decode records of \(topicPartition) at offset \(batch.header.baseOffset): \(error)")
                    break
                }
            }
            decoded.nextOffset = batch.header.nextOffset
        }
        return decoded
    }
}
