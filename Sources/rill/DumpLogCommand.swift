import ArgumentParser
import Foundation
import NIOCore
import RillFormat
import RillStorage

/// `rill dump-log`: prints the batches (and with --print-data the records) of a segment file,
/// like Kafka's kafka-dump-log. Exits 1 when any batch is invalid.
struct DumpLogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump-log",
        abstract: "Print the record batches of a .log segment file and check them.",
        discussion: "Every batch is checked (magic, lengths, CRC-32C, records). A corrupt or torn batch is reported with its byte position; the exit status is 1 when any batch is invalid."
    )

    @Argument(help: "The segment file (NNNNNNNNNNNNNNNNNNNN.log).")
    var file: String

    @Flag(name: .customLong("print-data"), help: "Print every record: offset, timestamp, key, value, headers.")
    var printData = false

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        var reader: SegmentFileReader
        do {
            reader = try SegmentFileReader(path: file)
        } catch let error as StorageError {
            throw ValidationError("cannot open \(file): \(error.message)")
        }
        var batches: [[String: Any]] = []
        var invalidCount = 0
        if !json { print("Dumping \(file)") }
        while let entry = try reader.next() {
            switch entry {
            case .batch(let header, let bytes, let position, let problem):
                if problem != nil { invalidCount += 1 }
                var object = describe(header, position: position, problem: problem)
                if printData, problem == nil, let batch = try? RecordBatch(validating: bytes) {
                    object["records"] = try batch.records().map { describe($0, in: batch) }
                }
                if json { batches.append(object) } else { printText(object) }
            case .unreadable(let position, let remaining, let problem):
                invalidCount += 1
                let object: [String: Any] = ["position": position, "valid": false, "error": problem.description, "unreadableBytes": remaining]
                if json { batches.append(object) } else {
                    print("position: \(position) isvalid: false error: \(problem.code): \(problem.message) (\(remaining) bytes to the end of the file cannot be read)")
                }
            }
        }
        if json {
            let document: [String: Any] = ["file": file, "sizeBytes": reader.size, "batches": batches, "invalidBatches": invalidCount, "valid": invalidCount == 0]
            let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(invalidCount == 0 ? "All batches valid." : "\(invalidCount) invalid batch(es).")
        }
        if invalidCount > 0 { throw ExitCode(1) }
    }

    func describe(_ header: RecordBatchHeader, position: Int64, problem: FormatError?) -> [String: Any] {
        var object: [String: Any] = [
            "baseOffset": header.baseOffset.rawValue, "lastOffset": header.lastOffset.rawValue, "count": header.recordCount,
            "position": position, "size": header.totalSize, "magic": Int(header.magic),
            "compression": header.attributes.compression?.name ?? "unknown(\(header.attributes.compressionID))",
            "timestampType": header.attributes.timestampType.description, "baseTimestamp": header.baseTimestamp.milliseconds,
            "maxTimestamp": header.maxTimestamp.milliseconds, "crc": header.crc, "partitionLeaderEpoch": header.partitionLeaderEpoch.rawValue,
            "producerId": header.producerID.rawValue, "producerEpoch": Int(header.producerEpoch.rawValue),
            "baseSequence": header.baseSequence.rawValue, "isTransactional": header.attributes.isTransactional,
            "isControl": header.attributes.isControl, "valid": problem == nil,
        ]
        if let deleteHorizon = header.deleteHorizon { object["deleteHorizonMs"] = deleteHorizon.milliseconds }
        if let problem { object["error"] = "\(problem.code): \(problem.message)" }
        return object
    }

    func describe(_ record: Record, in batch: RecordBatch) -> [String: Any] {
        [
            "offset": batch.offset(of: record).rawValue,
            "timestamp": batch.timestamp(of: record).milliseconds,
            "key": record.key.map { printable($0) } ?? NSNull(),
            "value": record.value.map { printable($0) } ?? NSNull(),
            "headers": record.headers.map { ["key": $0.key, "value": $0.value.map { printable($0) } ?? NSNull()] as [String: Any] },
        ]
    }

    /// UTF-8 text as is; other bytes as hex with a `0x` prefix.
    func printable(_ buffer: ByteBuffer) -> String {
        let bytes = Array(buffer.readableBytesView)
        if let text = String(validating: bytes, as: UTF8.self), !text.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\t" }) {
            return text
        }
        return "0x" + bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }

    func printText(_ object: [String: Any]) {
        let valid = object["valid"] as? Bool ?? false
        var line = "baseOffset: \(object["baseOffset"]!) lastOffset: \(object["lastOffset"]!) count: \(object["count"]!)"
        line += " position: \(object["position"]!) size: \(object["size"]!) \(object["timestampType"]!): \(object["maxTimestamp"]!)"
        line += " compresscodec: \(object["compression"]!) crc: \(object["crc"]!) producerId: \(object["producerId"]!)"
        line += " baseSequence: \(object["baseSequence"]!) partitionLeaderEpoch: \(object["partitionLeaderEpoch"]!) isvalid: \(valid)"
        if let error = object["error"] { line += " error: \(error)" }
        print(line)
        for record in object["records"] as? [[String: Any]] ?? [] {
            let headers = (record["headers"] as? [[String: Any]] ?? []).map { "\($0["key"]!)=\($0["value"] is NSNull ? "null" : "\($0["value"]!)")" }
            print("| offset: \(record["offset"]!) timestamp: \(record["timestamp"]!) key: \(record["key"] is NSNull ? "null" : "\(record["key"]!)") value: \(record["value"] is NSNull ? "null" : "\(record["value"]!)") headers: [\(headers.joined(separator: ", "))]")
        }
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
