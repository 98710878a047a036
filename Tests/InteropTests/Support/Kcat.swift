import Foundation

/// kcat as a producer and consumer of text records (its line-based input cannot carry newlines,
/// and the consume format below uses tabs and commas as separators, so test data has none).
enum Kcat {
    /// One record per line: partition, offset, timestamp, key length (-1: null), key, value
    /// length, value, headers (`name=value,…`, `NULL` for a null value).
    static let consumeFormat = "REC\\t%p\\t%o\\t%T\\t%K\\t%k\\t%S\\t%s\\t%h\\n"

    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    /// `kcat -P`: sends `key:value` lines (every record gets `headers`) and returns once kcat has
    /// flushed them and exited 0.
    static func produce(bootstrap: String, topic: String, partition: Int?, lines: [String], headers: [(String, String?)] = [],
                        codec: String? = nil, extraProperties: [String] = []) async throws {
        var arguments = ["-P", "-b", bootstrap, "-t", topic, "-K", ":"]
        if let partition { arguments += ["-p", String(partition)] }
        if let codec { arguments += ["-z", codec] }
        for (name, value) in headers { arguments += ["-H", value.map { "\(name)=\($0)" } ?? name] }
        for property in extraProperties { arguments += ["-X", property] }
        try await Tools.runKcat(arguments, input: Data(lines.map { $0 + "\n" }.joined().utf8))
    }

    /// `kcat -C` from the beginning to the end of one partition (or all, with nil), at most
    /// `count` records; kcat exits at the end of the partitions (`-e`).
    static func consume(bootstrap: String, topic: String, partition: Int?, count: Int) async throws -> [InteropRecord] {
        var arguments = ["-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-c", String(count), "-f", consumeFormat]
        if let partition { arguments += ["-p", String(partition)] }
        let finished = try await Tools.runKcat(arguments)
        return try parse(finished.outputText)
    }

    static func parse(_ output: String) throws -> [InteropRecord] {
        try output.split(separator: "\n").map { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 9, fields[0] == "REC", let partition = Int32(fields[1]), let offset = Int64(fields[2]),
                  let timestamp = Int64(fields[3]), let keyLength = Int(fields[4]), let valueLength = Int(fields[6]) else {
                throw ParseError(description: "unexpected kcat line: \(line.prefix(300))")
            }
            guard keyLength == (keyLength < 0 ? -1 : fields[5].utf8.count), valueLength == (valueLength < 0 ? -1 : fields[7].utf8.count) else {
                throw ParseError(description: "kcat's lengths disagree with the printed key/value: \(line.prefix(300))")
            }
            let headers: [[String?]] = fields[8].isEmpty ? [] : fields[8].split(separator: ",").map { pair in
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                let value = parts.count == 2 ? parts[1] : ""
                return [parts[0], value == "NULL" ? nil : value.utf8Hex]
            }
            return InteropRecord(partition: partition, offset: offset, key: keyLength < 0 ? nil : fields[5].utf8Hex,
                                 value: valueLength < 0 ? nil : fields[7].utf8Hex, headers: headers, timestamp: timestamp)
        }
    }
}

/// `rill dump-log --json` of a segment file: how the batches are stored on disk.
struct DumpedSegment: Decodable {
    var batches: [Batch]
    var invalidBatches: Int
    var sizeBytes: Int64
    var valid: Bool

    struct Batch: Decodable {
        var baseOffset: Int64?
        var lastOffset: Int64?
        var count: Int?
        var position: Int64
        var size: Int64?
        var compression: String?
        var producerId: Int64?
        var baseSequence: Int32?
        var valid: Bool
        var error: String?
        var records: [Record]?
    }

    struct Record: Decodable {
        var offset: Int64
        var timestamp: Int64
        var key: String?
        var value: String?
    }

    /// Runs `rill dump-log --json [--print-data]`; exit status 1 (invalid batches) is a result,
    /// not an error.
    static func read(_ file: URL, printData: Bool = false) async throws -> DumpedSegment {
        var arguments = ["dump-log", file.path, "--json"]
        if printData { arguments.append("--print-data") }
        let process = try ChildProcess(executable: try Tools.rill(), arguments: arguments)
        let finished = try await process.run(timeout: .seconds(30))
        guard let termination = finished.termination, !termination.wasSignalled, termination.status <= 1 else {
            throw ChildProcessError(description: "rill dump-log ended with \(finished.termination.map(\.description) ?? "?"): \(finished.errorText)")
        }
        do {
            return try JSONDecoder().decode(DumpedSegment.self, from: finished.standardOutput)
        } catch {
            throw ChildProcessError(description: "rill dump-log printed no JSON (\(error)): \(finished.outputText.prefix(500)) \(finished.errorText)")
        }
    }
}
