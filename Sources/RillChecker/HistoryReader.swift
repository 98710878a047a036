#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a history.jsonl one event at a time, in constant memory: it holds one chunk of the file
/// (`CheckerLimits.readChunkBytes`) and the line being parsed. Blank lines are skipped; every
/// other line must be one JSON event. A problem is a `HistoryError` with the 1-based line.
///
/// Not thread-safe; one reader belongs to one caller. The only I/O is reading (DESIGN.md: the
/// checker is a core module).
public struct HistoryReader: ~Copyable {
    private enum Source {
        case file(descriptor: Int32)
        case memory([UInt8])
    }

    private var source: Source
    private var buffer: [UInt8]
    /// Bytes of `buffer` not yet consumed: `start..<end`.
    private var start = 0
    private var end = 0
    private var isAtEndOfInput = false
    private var memoryPosition = 0
    /// The line number of the last line returned (1-based).
    public private(set) var lineNumber = 0
    private let path: String

    /// Opens `path` for reading.
    public init(path: String) throws(HistoryError) {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw HistoryError(.unreadable, line: 0, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        self.path = path
        source = .file(descriptor: descriptor)
        buffer = [UInt8](repeating: 0, count: CheckerLimits.readChunkBytes)
    }

    /// Reads a history held in memory (tests, histories built by the harness).
    public init(bytes: [UInt8]) {
        self.init(bytes: bytes, chunkBytes: min(CheckerLimits.readChunkBytes, max(bytes.count, 64)))
    }

    /// Reads `bytes` `chunkBytes` at a time (tests of lines that straddle chunks).
    init(bytes: [UInt8], chunkBytes: Int) {
        path = "<memory>"
        source = .memory(bytes)
        buffer = [UInt8](repeating: 0, count: max(1, chunkBytes))
    }

    public init(text: String) { self.init(bytes: Array(text.utf8)) }

    deinit {
        if case .file(let descriptor) = source { close(descriptor) }
    }

    /// The next event, or nil at the end of the history.
    public mutating func next() throws(HistoryError) -> HistoryEvent? {
        while true {
            guard let (lineStart, lineEnd) = try nextLine() else { return nil }
            let line = lineNumber
            var event: HistoryEvent?
            var failure: HistoryError?
            buffer.withUnsafeBufferPointer { all in
                let bytes = UnsafeBufferPointer(rebasing: all[lineStart..<lineEnd])
                if Self.isBlank(bytes) { return }
                do throws(HistoryError) {
                    event = try HistoryLineDecoder.decode(bytes, line: line)
                } catch {
                    failure = error
                }
            }
            if let failure { throw failure }
            if let event { return event }
        }
    }

    private static func isBlank(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        for byte in line where byte != 0x20 && byte != 0x09 && byte != 0x0D { return false }
        return true
    }

    /// The bounds in `buffer` of the next line, without its newline; nil at the end of input.
    private mutating func nextLine() throws(HistoryError) -> (Int, Int)? {
        // Bytes after `start` already searched for a newline; refill keeps them, moved to the front.
        var searched = 0
        while true {
            if let newline = findNewline(from: start + searched) {
                lineNumber += 1
                let line = (start, newline)
                start = newline + 1
                return line
            }
            searched = end - start
            if isAtEndOfInput {
                guard start < end else { return nil }
                lineNumber += 1
                let line = (start, end)
                start = end
                return line
            }
            try refill()
        }
    }

    private func findNewline(from position: Int) -> Int? {
        guard position < end else { return nil }
        return buffer.withUnsafeBufferPointer { all -> Int? in
            guard let base = all.baseAddress,
                let found = memchr(base + position, 0x0A, end - position)
            else { return nil }
            return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// Moves the unconsumed bytes to the front of the buffer (growing it when one line fills it)
    /// and reads more input behind them.
    private mutating func refill() throws(HistoryError) {
        let pending = end - start
        if start > 0 {
            buffer.withUnsafeMutableBufferPointer { all in
                guard let base = all.baseAddress else { return }
                memmove(base, base + start, pending)
            }
            start = 0
            end = pending
        }
        if end == buffer.count {
            guard buffer.count < CheckerLimits.maximumLineBytes else {
                throw HistoryError(.invalidJSON, line: lineNumber + 1, "line longer than \(CheckerLimits.maximumLineBytes) bytes")
            }
            buffer.append(contentsOf: repeatElement(0, count: min(buffer.count, CheckerLimits.maximumLineBytes - buffer.count)))
        }
        let count = try readInput(into: end)
        if count == 0 { isAtEndOfInput = true }
        end += count
    }

    private mutating func readInput(into offset: Int) throws(HistoryError) -> Int {
        switch source {
        case .memory(let bytes):
            let count = min(bytes.count - memoryPosition, buffer.count - offset)
            buffer.withUnsafeMutableBufferPointer { all in
                bytes.withUnsafeBufferPointer { input in
                    guard count > 0, let target = all.baseAddress, let origin = input.baseAddress else { return }
                    memcpy(target + offset, origin + memoryPosition, count)
                }
            }
            memoryPosition += count
            return count
        case .file(let descriptor):
            while true {
                let count = buffer.withUnsafeMutableBufferPointer { all -> Int in
                    guard let base = all.baseAddress else { return 0 }
                    return read(descriptor, base + offset, all.count - offset)
                }
                if count >= 0 { return count }
                if errno == EINTR { continue }
                throw HistoryError(.unreadable, line: lineNumber + 1, "cannot read \(path): \(String(cString: strerror(errno)))")
            }
        }
    }
}
