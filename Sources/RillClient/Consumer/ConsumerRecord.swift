import DequeModule
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

}

/// Turns the records field of a fetch response into consumer records, in two steps. When the
/// fetch arrives, `wholeBatches` checks the batch headers only and keeps the whole batches (a
/// cut trailing batch is left for the next fetch). When `poll` gets to them, `decodeBatch`
/// checks a batch's CRC (if asked) and decodes its records: the bytes a poll returns were just
/// read, not evicted from the cache since the fetch (Kafka's consumer decodes at poll time too),
/// and prefetched data is held as the bytes that came, not as decoded records.
enum FetchedRecordsDecoder {
    struct Fetched {
        /// The whole batches, from the first that holds `position` or a later offset.
        var batches: ByteBuffer
        /// Where the next fetch for this partition starts.
        var nextOffset: Offset
        var error: KafkaClientError?
    }

    static func wholeBatches(_ bytes: ByteBuffer, topicPartition: TopicPartition, position: Offset) -> Fetched {
        var remaining = bytes
        var fetched = Fetched(batches: bytes, nextOffset: position)
        // The kept batches are bytes[start..<end]: from the first at or past the position to
        // the last whole one.
        var start = remaining.readerIndex
        var end = start
        while remaining.readableBytes >= RecordBatchHeader.size {
            let header: RecordBatchHeader
            do {
                header = try remaining.withUnsafeReadableBytes { bytes throws(FormatError) in
                    try RecordBatch.validate(bytes, verifyChecksum: false, headerOnly: true)
                }
            } catch {
                fetched.error = KafkaClientError(.protocolViolation, "invalid batch from \(topicPartition) at offset \(fetched.nextOffset): \(error)")
                break
            }
            guard header.totalSize <= remaining.readableBytes else { break }  // cut off: fetched again next time
            remaining.moveReaderIndex(forwardBy: header.totalSize)
            guard header.lastOffset >= fetched.nextOffset else {
                if end == start { (start, end) = (remaining.readerIndex, remaining.readerIndex) }  // all before the position
                continue
            }
            fetched.nextOffset = header.nextOffset
            end = remaining.readerIndex
        }
        fetched.batches = bytes.getSlice(at: start, length: end - start)!
        return fetched
    }

    /// Decodes the batch at the front of `batches` (which `wholeBatches` kept), appends its
    /// records from `position` on to `records` (none from a control batch), and moves `batches`
    /// past it. A batch that fails its CRC or whose records do not decode throws, with the
    /// records before the bad one appended.
    static func decodeBatch(from batches: inout ByteBuffer, topicPartition: TopicPartition, position: Offset, verifyChecksums: Bool,
                            into records: inout Deque<ConsumerRecord>) throws(KafkaClientError) {
        let batch: RecordBatch
        do {
            batch = try RecordBatch(validating: batches, verifyChecksum: verifyChecksums)
        } catch {
            throw KafkaClientError(.protocolViolation, "invalid batch from \(topicPartition) at offset \(position): \(error)")
        }
        batches.moveReaderIndex(forwardBy: batch.header.totalSize)
        guard !batch.header.attributes.isControl, batch.header.lastOffset >= position else { return }
        let epoch = batch.header.partitionLeaderEpoch
        let timestampType = batch.header.attributes.timestampType
        do {
            try batch.forEachRecord { record in
                let offset = batch.offset(of: record)
                guard offset >= position else { return }
                records.append(ConsumerRecord(
                    topicPartition: topicPartition, offset: offset, timestamp: batch.timestamp(of: record),
                    timestampType: timestampType, key: record.key, value: record.value,
                    headers: record.headers, leaderEpoch: epoch))
            }
        } catch {
            throw KafkaClientError(.protocolViolation, "cannot decode records of \(topicPartition) at offset \(batch.header.baseOffset): \(error)")
        }
    }
}
