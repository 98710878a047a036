import NIOCore
import RillFormat

/// Walks a `.log` file batch by batch for tools (`rill dump-log`), reporting every batch with
/// its position and validity instead of stopping at the first problem where it can go on.
///
/// A batch whose structure is sound but whose CRC or records are wrong is reported invalid and
/// the walk continues after it; a structural fault (bad magic, impossible length, torn tail)
/// ends the walk, because nothing says where the next batch would start.
public struct SegmentFileReader {
    public enum Entry {
        /// A batch at `position`; `problem` is nil when it is valid.
        case batch(RecordBatchHeader, bytes: ByteBuffer, position: Int64, problem: FormatError?)
        /// Bytes at `position` that are not a batch; the walk stops here.
        case unreadable(position: Int64, remainingBytes: Int64, problem: FormatError)
    }

    public let path: String
    private let file: any StorageFile
    public let size: Int64
    private var position: Int64 = 0
    private var isFinished = false
    /// The base offset in the file's name, when it has one.
    private let segmentBase: Offset?
    /// No batch may start below this: the segment's base, then the offset after the last valid
    /// batch. Lower offsets mean the bytes are not this segment's (`SegmentFiles.outOfOrder`).
    private var nextOffset: Offset?

    public init(path: String, fileSystem: any FileSystem = POSIXFileSystem()) throws {
        self.path = path
        file = try fileSystem.openFile(at: path, create: false)
        size = try file.size()
        segmentBase = SegmentFiles.offset(fromName: String(path.split(separator: "/").last ?? ""), suffix: SegmentFiles.logSuffix)
        nextOffset = segmentBase
    }

    public mutating func next() throws -> Entry? {
        guard !isFinished, position < size else { return nil }
        let headerBytes = try file.readBatch(at: position, size: Int(min(Int64(RecordBatchHeader.size), size - position)))
        let headerResult = headerBytes.withUnsafeReadableBytes { raw in
            Result { () throws(FormatError) in try RecordBatch.validate(raw, verifyChecksum: false, position: position, headerOnly: true) }
        }
        let header: RecordBatchHeader
        switch headerResult {
        case .failure(let problem):
            isFinished = true
            return .unreadable(position: position, remainingBytes: size - position, problem: problem)
        case .success(let value):
            header = value
        }
        guard Int64(header.totalSize) <= size - position else {
            isFinished = true
            let problem = FormatError(.truncated, "batch of \(header.totalSize) bytes, only \(size - position) left in the file (a torn tail)", position: position)
            return .unreadable(position: position, remainingBytes: size - position, problem: problem)
        }
        if let nextOffset, header.baseOffset < nextOffset {
            isFinished = true
            let problem = SegmentFiles.outOfOrder(header, following: nextOffset, segmentBase: segmentBase, position: position)
            return .unreadable(position: position, remainingBytes: size - position, problem: problem)
        }
        let bytes = try file.readBatch(at: position, size: header.totalSize)
        var problem: FormatError?
        do {
            let batch = try RecordBatch(validating: bytes)
            _ = try batch.records()
        } catch {
            problem = FormatError(error.code, error.message, position: position)
        }
        if problem == nil { nextOffset = header.lastOffset + 1 }
        let entryPosition = position
        position += Int64(header.totalSize)
        return .batch(header, bytes: bytes, position: entryPosition, problem: problem)
    }
}
