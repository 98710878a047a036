import RillFormat

extension HistoryEvent {
    /// Decodes one history line (HISTORY-FORMAT.md) held in a `String`. Unknown fields are
    /// ignored; a missing or ill-typed field, or text that is not JSON, throws a `HistoryError`
    /// naming the line and the column.
    ///
    /// Leniencies, so that histories from other harnesses check too: fields in any order; a
    /// value may be a string or an integer (read as its decimal text); a send record may carry
    /// `[offset, value]` on any completion; an invocation other than `send` may have a null
    /// value; records on a `fail` or `info` poll are ignored (only an `ok` poll says what a
    /// consumer received).
    public init(jsonLine: String, line: Int = 0) throws(HistoryError) {
        var copy = jsonLine
        let result: Result<HistoryEvent, HistoryError> = copy.withUTF8 { bytes in
            do throws(HistoryError) { return .success(try HistoryLineDecoder.decode(bytes, line: line)) } catch { return .failure(error) }
        }
        self = try result.get()
    }
}

/// Decodes a line straight from its bytes, with no intermediate JSON tree: the decoder knows the
/// shape each operation's value must have and reads it with `JSONScanner`'s primitives.
///
/// When the shape is wrong, the whole line is parsed as generic JSON to tell a line that is not
/// JSON (`invalidJSON`, with the parser's column) from JSON of the wrong shape (`invalidField`).
struct HistoryLineDecoder {
    typealias Failure = JSONParser.Failure

    var scanner: JSONScanner
    let line: Int
    var function = OperationFunction.other("")
    var type = EventType.invoke

    /// The top-level fields, and where the value was when it came before `f` and `type`.
    struct Fields {
        var index: Int64?
        var time: Int64?
        var process: Int64?
        var type: EventType?
        var function: OperationFunction?
        var error: String?
        var store: String?
        var value: OperationValue?
        var valuePosition: Int?
        var rebalance: [RebalanceChange] = []
    }

    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, line: Int) throws(HistoryError) -> HistoryEvent {
        var decoder = HistoryLineDecoder(scanner: JSONScanner(bytes), line: line)
        var fields: Fields
        do {
            fields = try decoder.topLevel()
        } catch {
            throw decoder.classify(error)
        }
        guard let index = fields.index else { throw decoder.missing("\"index\"") }
        guard let time = fields.time else { throw decoder.missing("\"time\"") }
        guard let process = fields.process else { throw decoder.missing("\"process\"") }
        guard let type = fields.type else { throw decoder.missing("\"type\"") }
        guard let function = fields.function else { throw decoder.missing("\"f\"") }
        decoder.type = type
        decoder.function = function
        if fields.value == nil {
            if let position = fields.valuePosition {
                decoder.scanner.position = position
                do {
                    fields.value = try decoder.operationValue()
                } catch {
                    throw decoder.classify(error)
                }
            } else if decoder.requiresValue {
                throw decoder.missing("\"value\"", context: "\(function) \(type): ")
            }
        }
        return HistoryEvent(
            index: index, time: time, process: ProcessID(process), type: type, function: function, value: fields.value ?? .none,
            error: fields.error, rebalance: fields.rebalance, isExternalStore: fields.store == "external", line: line
        )
    }

    func missing(_ field: String, context: String = "") -> HistoryError {
        HistoryError(.missingField, line: line, "\(context)missing \(field)")
    }

    /// A problem found while decoding: the line is not JSON, or it is JSON of the wrong shape.
    func classify(_ failure: Failure) -> HistoryError {
        do {
            _ = try JSONParser.parse(scanner.bytes)
        } catch {
            return HistoryError(.invalidJSON, line: line, error.description)
        }
        return HistoryError(.invalidField, line: line, failure.description)
    }

    /// Operations whose completion must carry a value.
    var requiresValue: Bool {
        switch function {
        case .send: true
        case .poll, .assign, .subscribe, .commit, .process: type == .ok
        case .crash, .other: false
        }
    }

    private mutating func topLevel() throws(Failure) -> Fields {
        var fields = Fields()
        guard scanner.peek() == UInt8(ascii: "{") else {
            // Not an object: say so if it is JSON at all (classify reports the JSON error if not).
            throw scanner.failure("an event must be a JSON object\(scanner.foundDescription())")
        }
        // The known keys seen, one bit each, to reject a repeated one without a set per line.
        var seen: UInt16 = 0
        if try scanner.beginObject("an event object") {
            try scanner.expectEnd()
            return fields
        }
        repeat {
            scanner.skipWhitespace()
            let keyPosition = scanner.position
            var known = scanner.match(Self.knownKeyBytes)
            if known == nil {
                guard scanner.peek() == UInt8(ascii: "\"") else { throw scanner.failure("expected a string key in an object\(scanner.foundDescription())") }
                known = Self.knownKeys.firstIndex(of: try scanner.string())
            }
            try scanner.expect(UInt8(ascii: ":"), "':' after an object key")
            guard let key = known else {
                try scanner.skipValue(depth: 1)
                continue
            }
            guard seen & (1 << key) == 0 else { throw scanner.failure("duplicate key \"\(Self.knownKeys[key])\" in an object", at: keyPosition) }
            seen |= 1 << key
            try member(Self.keys[key], into: &fields)
        } while try scanner.nextMember()
        try scanner.expectEnd()
        return fields
    }

    /// The top-level members the decoder reads, in `knownKeys` order (a key's index is its bit
    /// in `topLevel`'s set of keys seen).
    enum Key: CaseIterable {
        case index, time, process, type, function, value, error, rebalance, store

        var name: String { self == .function ? "f" : "\(self)" }
    }

    /// `Key.allCases` once (the synthesized property builds a new array on every call).
    static let keys = Key.allCases
    static let knownKeys = keys.map(\.name)
    static let knownKeyBytes = knownKeys.map { Array($0.utf8) }
    static let typeNames = EventType.allCases.map { Array($0.rawValue.utf8) }
    static let functionNames: [(bytes: [UInt8], function: OperationFunction)] = [
        OperationFunction.send, .poll, .assign, .subscribe, .crash, .commit, .process,
    ].map { (Array($0.description.utf8), $0) }
    static let functionNameBytes = functionNames.map(\.bytes)

    /// Decodes the member `key`.
    private mutating func member(_ key: Key, into fields: inout Fields) throws(Failure) {
        switch key {
        case .index: fields.index = try scanner.offset("\"index\"")
        case .time: fields.time = try scanner.offset("\"time\"")
        case .process: fields.process = try scanner.integer("\"process\"")
        case .type:
            if let known = scanner.match(Self.typeNames) {
                fields.type = EventType.allCases[known]
            } else {
                let start = scanner.position
                let name = try text("\"type\"")
                guard let type = EventType(rawValue: name) else {
                    throw scanner.failure("\"type\" must be invoke, ok, fail or info, found \"\(name)\"", at: start)
                }
                fields.type = type
            }
        case .function:
            if let known = scanner.match(Self.functionNameBytes) {
                fields.function = Self.functionNames[known].function
            } else {
                fields.function = OperationFunction(name: try text("\"f\""))
            }
        case .error: fields.error = try optionalText("\"error\"")
        case .store: fields.store = try optionalText("\"store\"")
        case .value:
            if let type = fields.type, let function = fields.function {
                self.type = type
                self.function = function
                fields.value = try operationValue()
            } else {
                fields.valuePosition = scanner.position
                try scanner.skipValue(depth: 1)
            }
        case .rebalance: fields.rebalance = try rebalance()
        }
    }

    private mutating func text(_ what: String) throws(Failure) -> String {
        guard scanner.peek() == UInt8(ascii: "\"") else { throw scanner.failure("\(what) must be a string\(scanner.foundDescription())") }
        return try scanner.string()
    }

    private mutating func optionalText(_ what: String) throws(Failure) -> String? {
        scanner.skipNull() ? nil : try text(what)
    }

    /// A failure about the operation's value, prefixed with the operation ("send ok: …").
    func problem(_ message: String) -> Failure {
        scanner.failure("\(function) \(type): \(message)")
    }

    // MARK: Values by operation

    mutating func operationValue() throws(Failure) -> OperationValue {
        switch function {
        case .crash, .other:
            try scanner.skipValue(depth: 1)
            return .none
        case .poll:
            guard type == .ok else {
                try scanner.skipValue(depth: 1)
                return .none
            }
            if scanner.skipNull() { throw problem("a poll value must be an array, found null") }
            return .poll(try pollRecords())
        case .send:
            return .send(try sentRecords())
        case .assign, .subscribe, .commit, .process:
            if scanner.skipNull() {
                if type == .ok { throw problem("the value must not be null") }
                return .none
            }
            switch function {
            case .assign: return try assignment()
            case .subscribe: return .subscribe(topics: try names("a subscribe value (topics)"))
            case .commit: return .commit(try offsets("a commit value"))
            default: return try processValue()
            }
        }
    }

    mutating func array(_ what: @autoclosure () -> String) throws(Failure) -> Bool {
        guard scanner.peek() == UInt8(ascii: "[") else { throw problem("\(what()) must be an array\(scanner.foundDescription())") }
        return try scanner.beginArray(what())
    }

    mutating func object(_ what: @autoclosure () -> String) throws(Failure) -> Bool {
        guard scanner.peek() == UInt8(ascii: "{") else { throw problem("\(what()) must be an object\(scanner.foundDescription())") }
        return try scanner.beginObject(what())
    }

    mutating func name(_ what: @autoclosure () -> String) throws(Failure) -> String {
        guard scanner.peek() == UInt8(ascii: "\"") else { throw problem("\(what()) must be a non-empty string\(scanner.foundDescription())") }
        let start = scanner.position
        let name = try scanner.string()
        guard !name.isEmpty else { throw scanner.failure("\(function) \(type): \(what()) must be a non-empty string", at: start) }
        return name
    }

    mutating func names(_ what: String) throws(Failure) -> [String] {
        var result: [String] = []
        if try array(what) { return result }
        repeat { result.append(try name("each name in \(what)")) } while try scanner.nextElement()
        return result
    }

    /// A record value: a string, or an integer read as its decimal text.
    mutating func recordValue() throws(Failure) -> String {
        switch scanner.peek() {
        case UInt8(ascii: "\"")?: return try scanner.string()
        case let byte? where byte == UInt8(ascii: "-") || JSONScanner.isDigit(byte):
            return String(try scanner.integer("\(function) \(type): a record value"))
        default: throw problem("a record value must be a string or an integer\(scanner.foundDescription())")
        }
    }

    /// `[["send", "t-0", "v17"], …]`, or with `[offset, "v17"]` in place of the value.
    mutating func sentRecords() throws(Failure) -> [SentRecord] {
        var records: [SentRecord] = []
        if try array("a send value") { return records }
        let shape = "each send micro-operation must be [\"send\", partition, value]"
        repeat {
            guard try !array("each send micro-operation"), scanner.peek() == UInt8(ascii: "\""), try scanner.string() == "send",
                try scanner.nextElement()
            else { throw problem(shape) }
            let partition = try name("a send's partition")
            guard try scanner.nextElement() else { throw problem(shape) }
            if scanner.peek() == UInt8(ascii: "[") {
                _ = try scanner.beginArray("a sent record")
                let offset: Int64? = scanner.skipNull() ? nil : try scanner.offset("\(function) \(type): a sent record's offset")
                guard try scanner.nextElement() else { throw problem("a sent record must be [offset, value]") }
                let value = try recordValue()
                guard try !scanner.nextElement() else { throw problem("a sent record must be [offset, value]") }
                records.append(SentRecord(partition: partition, value: value, offset: offset.map { Offset($0) }))
            } else {
                records.append(SentRecord(partition: partition, value: try recordValue()))
            }
            guard try !scanner.nextElement() else { throw problem(shape) }
        } while try scanner.nextElement()
        return records
    }

    /// `[["poll", {"t-0": [[42, "v17"], …], …}]]`; several poll micro-operations are joined.
    mutating func pollRecords() throws(Failure) -> [PartitionRecords] {
        var result: [PartitionRecords] = []
        if try array("a poll value") { return result }
        let shape = "each poll micro-operation must be [\"poll\", {partition: records}]"
        repeat {
            guard try !array("each poll micro-operation"), scanner.peek() == UInt8(ascii: "\""), try scanner.string() == "poll" else {
                throw problem(shape)
            }
            if try scanner.nextElement() {
                if !scanner.skipNull() { try recordsByPartition("a poll's records", into: &result) }
                guard try !scanner.nextElement() else { throw problem(shape) }
            }
        } while try scanner.nextElement()
        return result
    }

    /// `{"t-0": [[42, "v17"], …], …}`.
    mutating func recordsByPartition(_ what: String, into result: inout [PartitionRecords]) throws(Failure) {
        if try object(what) { return }
        repeat {
            scanner.skipWhitespace()
            let keyPosition = scanner.position
            let partition = try scanner.key()
            guard !partition.isEmpty else { throw scanner.failure("\(function) \(type): a partition name must not be empty", at: keyPosition) }
            var records: [ReadRecord] = []
            if try !array("the records of \(partition)") {
                repeat {
                    if let (offset, value) = scanner.simpleRecord() {
                        records.append(ReadRecord(offset: Offset(offset), value: value))
                        continue
                    }
                    guard try !array("each record of \(partition)") else { throw problem("each record of \(partition) must be [offset, value]") }
                    let offset = try scanner.offset("\(function) \(type): a record's offset")
                    guard try scanner.nextElement() else { throw problem("each record of \(partition) must be [offset, value]") }
                    let value = try recordValue()
                    guard try !scanner.nextElement() else { throw problem("each record of \(partition) must be [offset, value]") }
                    records.append(ReadRecord(offset: Offset(offset), value: value))
                } while try scanner.nextElement()
            }
            result.append(PartitionRecords(partition: partition, records: records))
        } while try scanner.nextMember()
    }

    /// `{"t-0": 44, …}`.
    mutating func offsets(_ what: String) throws(Failure) -> [PartitionOffset] {
        var result: [PartitionOffset] = []
        if try object(what) { return result }
        repeat {
            scanner.skipWhitespace()
            let keyPosition = scanner.position
            let partition = try scanner.key()
            guard !partition.isEmpty else { throw scanner.failure("\(function) \(type): a partition name must not be empty", at: keyPosition) }
            let offset = try scanner.offset("\(function) \(type): the offset of \(partition)")
            result.append(PartitionOffset(partition: partition, offset: Offset(offset)))
        } while try scanner.nextMember()
        return result
    }

    /// `["t-0", "t-1"]` or `[["t-0", "t-1"], "committed"]`.
    mutating func assignment() throws(Failure) -> OperationValue {
        guard scanner.peek() == UInt8(ascii: "[") else { throw problem("an assign value must be an array\(scanner.foundDescription())") }
        let start = scanner.position
        _ = try scanner.beginArray("an assign value")
        guard scanner.peek() == UInt8(ascii: "[") else {
            scanner.position = start
            return .assign(partitions: try names("an assign value (partitions)"), seek: nil)
        }
        let partitions = try names("an assign value (partitions)")
        guard try scanner.nextElement() else { return .assign(partitions: partitions, seek: nil) }
        var seek: SeekPosition?
        if !scanner.skipNull() {
            let seekPosition = scanner.position
            guard scanner.peek() == UInt8(ascii: "\""), let parsed = SeekPosition(rawValue: try scanner.string()) else {
                throw scanner.failure("\(function) \(type): an assign's seek must be \"beginning\", \"committed\" or \"end\"", at: seekPosition)
            }
            seek = parsed
        }
        guard try !scanner.nextElement() else { throw problem("an assign value must be [partitions] or [[partitions], seek]") }
        return .assign(partitions: partitions, seek: seek)
    }

    /// `{"records": {"t-0": [[42, "v17"]]}, "offsets": {"t-0": 43}}`; other keys are ignored.
    mutating func processValue() throws(Failure) -> OperationValue {
        var records: [PartitionRecords] = []
        var offsets: [PartitionOffset] = []
        if try object("a process value") { return .process(records: records, offsets: offsets) }
        repeat {
            switch try scanner.key() {
            case "records": if !scanner.skipNull() { try recordsByPartition("a process value's records", into: &records) }
            case "offsets": if !scanner.skipNull() { offsets = try self.offsets("a process value's offsets") }
            default: try scanner.skipValue(depth: 2)
            }
        } while try scanner.nextMember()
        return .process(records: records, offsets: offsets)
    }

    /// `[["revoked", ["t-0"]], ["assigned", ["t-1"]]]`; null means none.
    mutating func rebalance() throws(Failure) -> [RebalanceChange] {
        if scanner.skipNull() { return [] }
        guard scanner.peek() == UInt8(ascii: "[") else { throw scanner.failure("\"rebalance\" must be an array\(scanner.foundDescription())") }
        var changes: [RebalanceChange] = []
        if try scanner.beginArray("\"rebalance\"") { return changes }
        let shape = "each \"rebalance\" entry must be [kind, [partitions]]"
        repeat {
            guard scanner.peek() == UInt8(ascii: "["), try !scanner.beginArray("a rebalance entry"), scanner.peek() == UInt8(ascii: "\"") else {
                throw scanner.failure(shape)
            }
            let kind = try scanner.string()
            guard try scanner.nextElement(), scanner.peek() == UInt8(ascii: "[") else { throw scanner.failure(shape) }
            var partitions: [String] = []
            if try !scanner.beginArray("rebalance partitions") {
                repeat {
                    guard scanner.peek() == UInt8(ascii: "\"") else { throw scanner.failure("rebalance partitions must be strings\(scanner.foundDescription())") }
                    partitions.append(try scanner.string())
                } while try scanner.nextElement()
            }
            guard try !scanner.nextElement() else { throw scanner.failure(shape) }
            changes.append(RebalanceChange(kind: kind, partitions: partitions))
        } while try scanner.nextElement()
        return changes
    }
}
