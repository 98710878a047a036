import Foundation
import RillFormat

/// Disk faults on a stopped broker's data directory.
public enum DiskFaults {
    /// Where a corruption was made.
    public struct Corruption: Hashable, Sendable, CustomStringConvertible {
        public var path: String
        /// The file position of the byte that was flipped.
        public var position: Int64
        /// The batch it lies in.
        public var batchBaseOffset: Int64
        public var batchRecordCount: Int32

        public var description: String {
            "flipped the byte at \(path):\(position), inside the batch at offset \(batchBaseOffset) (\(batchRecordCount) records)"
        }
    }

    public struct NoClosedSegment: Error, CustomStringConvertible {
        public var directory: String
        public var description: String { "\(directory) has no closed segment with a whole batch to corrupt" }
    }

    /// Flips one byte in the records of a random batch of a random closed (not active) segment
    /// of `partitionDirectory`, so its CRC no longer matches — bit rot the broker must detect
    /// and never serve. The broker must not be running. `generator` makes the choice
    /// reproducible from a seed.
    public static func corruptClosedSegment<Generator: RandomNumberGenerator>(
        partitionDirectory: String, using generator: inout Generator
    ) throws -> Corruption {
        let names = try FileManager.default.contentsOfDirectory(atPath: partitionDirectory).filter { $0.hasSuffix(".log") }.sorted()
        // Segment names are 20-digit base offsets, so the last in order is the active one.
        let closed = names.dropLast()
        var candidates: [(path: String, batches: [(position: Int64, size: Int, baseOffset: Int64, count: Int32)])] = []
        for name in closed {
            let path = partitionDirectory + "/" + name
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            var batches: [(position: Int64, size: Int, baseOffset: Int64, count: Int32)] = []
            var position = 0
            while position + RecordBatchHeader.size <= data.count {
                let header = data.withUnsafeBytes { RecordBatchHeader(unvalidated: UnsafeRawBufferPointer(rebasing: $0[position...])) }
                let size = header.totalSize
                guard header.batchLength > 0, position + size <= data.count else { break }
                if size > RecordBatchHeader.size {
                    batches.append((Int64(position), size, header.baseOffset.rawValue, header.recordCount))
                }
                position += size
            }
            if !batches.isEmpty { candidates.append((path, batches)) }
        }
        guard let segment = candidates.randomElement(using: &generator), let batch = segment.batches.randomElement(using: &generator) else {
            throw NoClosedSegment(directory: partitionDirectory)
        }
        // A byte after the 61-byte header: the records the CRC covers.
        let position = batch.position + Int64(Int.random(in: RecordBatchHeader.size..<batch.size, using: &generator))
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: segment.path))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(position))
        let original = try handle.read(upToCount: 1) ?? Data([0])
        try handle.seek(toOffset: UInt64(position))
        try handle.write(contentsOf: Data([original[original.startIndex] ^ 0xFF]))
        try handle.synchronize()
        return Corruption(path: segment.path, position: position, batchBaseOffset: batch.baseOffset, batchRecordCount: batch.count)
    }
}
