import Foundation
import Testing

/// A record as the driver scripts report it: bytes in lowercase hex, `nil` for null.
struct InteropRecord: Codable, Hashable, CustomStringConvertible {
    var partition: Int32
    var offset: Int64
    var key: String?
    var value: String?
    /// `[name, hex value or nil]` pairs, in order.
    var headers: [[String?]]
    var timestamp: Int64

    var position: Position { Position(partition: partition, offset: offset) }

    struct Position: Hashable, Comparable, CustomStringConvertible {
        var partition: Int32
        var offset: Int64
        static func < (left: Position, right: Position) -> Bool { (left.partition, left.offset) < (right.partition, right.offset) }
        var description: String { "\(partition)@\(offset)" }
    }

    var description: String {
        func short(_ hex: String?) -> String {
            guard let hex else { return "null" }
            return hex.count > 24 ? "\(hex.prefix(24))…(\(hex.count / 2) bytes)" : hex
        }
        return "\(position) key=\(short(key)) value=\(short(value)) headers=\(headers.map { "\($0.first.flatMap { $0 } ?? "?")=\(short($0.last.flatMap { $0 }))" }) ts=\(timestamp)"
    }
}

extension Data {
    var hex: String { map { String(format: "%02x", $0) }.joined() }

    init?(hex: String) {
        guard hex.count.isMultiple(of: 2) else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes)
    }

    /// The bytes of a hex string, as UTF-8 text (for records whose bytes are text).
    static func text(fromHex hex: String?) -> String {
        String(decoding: hex.flatMap { Data(hex: $0) } ?? Data(), as: UTF8.self)
    }
}

extension String {
    var utf8Hex: String { Data(utf8).hex }
}

/// Checks that `consumed` holds exactly the records of `sent`, byte for byte (key, value, headers,
/// timestamp) at the same partition and offset, and that each partition's offsets were assigned
/// in increasing order of acknowledgement.
func expectSameRecords(sent: [InteropRecord], consumed: [InteropRecord], sourceLocation: SourceLocation = #_sourceLocation) {
    var lastOffsetByPartition: [Int32: Int64] = [:]
    for record in sent {
        if let last = lastOffsetByPartition[record.partition], record.offset <= last {
            Issue.record("offsets not increasing in acknowledgement order on partition \(record.partition): \(last) then \(record.offset)", sourceLocation: sourceLocation)
            break
        }
        lastOffsetByPartition[record.partition] = record.offset
    }
    let sentByPosition = Dictionary(sent.map { ($0.position, $0) }, uniquingKeysWith: { first, _ in first })
    let consumedByPosition = Dictionary(consumed.map { ($0.position, $0) }, uniquingKeysWith: { first, _ in first })
    #expect(sentByPosition.count == sent.count, "two acknowledgements for one offset", sourceLocation: sourceLocation)
    #expect(consumedByPosition.count == consumed.count, "one offset consumed twice", sourceLocation: sourceLocation)
    let missing = sentByPosition.keys.filter { consumedByPosition[$0] == nil }.sorted()
    let unexpected = consumedByPosition.keys.filter { sentByPosition[$0] == nil }.sorted()
    #expect(missing.isEmpty, "\(missing.count) acknowledged record(s) not consumed, first: \(missing.prefix(5))", sourceLocation: sourceLocation)
    #expect(unexpected.isEmpty, "\(unexpected.count) consumed record(s) never acknowledged, first: \(unexpected.prefix(5))", sourceLocation: sourceLocation)
    let different = sentByPosition.keys.sorted().compactMap { position -> (InteropRecord, InteropRecord)? in
        guard let consumed = consumedByPosition[position], consumed != sentByPosition[position] else { return nil }
        return (sentByPosition[position]!, consumed)
    }
    #expect(different.isEmpty, "\(different.count) record(s) differ, first: \(different.prefix(3).map { "sent \($0.0) but consumed \($0.1)" })", sourceLocation: sourceLocation)
}
