import RillFormat

extension HistoryEvent {
    /// Decodes one history line (HISTORY-FORMAT.md). Unknown fields are ignored; a missing or
    /// ill-typed field throws a `HistoryError` naming the field and the line.
    ///
    /// Leniencies, so that histories from other harnesses check too: a value may be a string or
    /// an integer (read as its decimal text); a send record may carry `[offset, value]` on any
    /// completion; an invocation other than `send` may have a null value; records on a `fail` or
    /// `info` poll are ignored (only an `ok` poll says what a consumer received).
    public init(json: JSONValue, line: Int) throws(HistoryError) {
        guard case .object(let object) = json else {
            throw HistoryError(.invalidField, line: line, "an event must be a JSON object, found \(json.kindName)")
        }
        var decoder = FieldDecoder(line: line)
        let index = try decoder.integer(object, "index")
        let time = try decoder.integer(object, "time")
        let process = try decoder.integer(object, "process")
        let typeName = try decoder.string(object, "type")
        guard let type = EventType(rawValue: typeName) else {
            throw HistoryError(.invalidField, line: line, "\"type\" must be invoke, ok, fail or info, found \"\(typeName)\"")
        }
        let function = OperationFunction(name: try decoder.string(object, "f"))
        guard index >= 0 else { throw HistoryError(.invalidField, line: line, "\"index\" must not be negative, found \(index)") }
        guard time >= 0 else { throw HistoryError(.invalidField, line: line, "\"time\" must not be negative, found \(time)") }
        decoder.context = "\(function) \(type)"
        let value = try decoder.operationValue(object["value"], function: function, type: type)
        self.init(
            index: index, time: time, process: ProcessID(process), type: type, function: function, value: value,
            error: try decoder.optionalText(object, "error"),
            rebalance: try decoder.rebalance(object["rebalance"]),
            isExternalStore: try decoder.optionalText(object, "store") == "external",
            line: line
        )
    }
}

/// Field-by-field decoding with error messages that say where the problem is.
private struct FieldDecoder {
    let line: Int
    /// "send ok", to prefix messages about a value.
    var context = ""

    func error(_ message: String) -> HistoryError { HistoryError(.invalidField, line: line, message) }

    func integer(_ object: JSONObject, _ key: String) throws(HistoryError) -> Int64 {
        guard let value = object[key] else { throw HistoryError(.missingField, line: line, "missing \"\(key)\"") }
        guard case .integer(let integer) = value else { throw error("\"\(key)\" must be an integer, found \(value.kindName)") }
        return integer
    }

    func string(_ object: JSONObject, _ key: String) throws(HistoryError) -> String {
        guard let value = object[key] else { throw HistoryError(.missingField, line: line, "missing \"\(key)\"") }
        guard case .string(let string) = value else { throw error("\"\(key)\" must be a string, found \(value.kindName)") }
        return string
    }

    /// An optional string field; null counts as absent.
    func optionalText(_ object: JSONObject, _ key: String) throws(HistoryError) -> String? {
        switch object[key] {
        case nil, .null?: return nil
        case .string(let string)?: return string
        case let other?: throw error("\"\(key)\" must be a string, found \(other.kindName)")
        }
    }

    func operationValue(_ value: JSONValue?, function: OperationFunction, type: EventType) throws(HistoryError) -> OperationValue {
        switch function {
        case .crash, .other: return .none
        case .poll:
            // Only an ok poll says what was received; an invocation is [["poll"]].
            guard type == .ok else { return .none }
            return .poll(try pollRecords(required(value)))
        case .send:
            return .send(try sentRecords(required(value), type: type))
        case .assign, .subscribe, .commit, .process:
            guard let value, value != .null else {
                if type == .ok { throw HistoryError(.missingField, line: line, "\(context): missing \"value\"") }
                return .none
            }
            return try otherValue(value, function: function)
        }
    }

    func required(_ value: JSONValue?) throws(HistoryError) -> JSONValue {
        guard let value else { throw HistoryError(.missingField, line: line, "\(context): missing \"value\"") }
        return value
    }

    func otherValue(_ value: JSONValue, function: OperationFunction) throws(HistoryError) -> OperationValue {
        switch function {
        case .assign: return try assignment(value)
        case .subscribe: return .subscribe(topics: try names(value, what: "subscribe value (topics)"))
        case .commit: return .commit(try offsets(value, what: "commit value"))
        case .process: return try processValue(value)
        default: return .none
        }
    }

    func array(_ value: JSONValue, what: String) throws(HistoryError) -> [JSONValue] {
        guard case .array(let elements) = value else { throw error("\(context): \(what) must be an array, found \(value.kindName)") }
        return elements
    }

    func object(_ value: JSONValue, what: String) throws(HistoryError) -> JSONObject {
        guard case .object(let object) = value else { throw error("\(context): \(what) must be an object, found \(value.kindName)") }
        return object
    }

    func name(_ value: JSONValue, what: String) throws(HistoryError) -> String {
        guard case .string(let string) = value, !string.isEmpty else {
            throw error("\(context): \(what) must be a non-empty string, found \(value.kindName)")
        }
        return string
    }

    func names(_ value: JSONValue, what: String) throws(HistoryError) -> [String] {
        var result: [String] = []
        for element in try array(value, what: what) { result.append(try name(element, what: "each name in the \(what)")) }
        return result
    }

    /// A record value: a string, or an integer read as its decimal text.
    func recordValue(_ value: JSONValue) throws(HistoryError) -> String {
        switch value {
        case .string(let string): return string
        case .integer(let integer): return String(integer)
        default: throw error("\(context): a record value must be a string or an integer, found \(value.kindName)")
        }
    }

    func offset(_ value: JSONValue, what: String) throws(HistoryError) -> Offset {
        guard case .integer(let integer) = value else { throw error("\(context): \(what) must be an integer, found \(value.kindName)") }
        guard integer >= 0 else { throw error("\(context): \(what) must not be negative, found \(integer)") }
        return Offset(integer)
    }

    /// `[["send", "t-0", "v17"], …]`, or with `[offset, "v17"]` in place of the value.
    func sentRecords(_ value: JSONValue, type: EventType) throws(HistoryError) -> [SentRecord] {
        var records: [SentRecord] = []
        for microOperation in try array(value, what: "a send value") {
            let parts = try array(microOperation, what: "each send micro-operation")
            guard parts.count == 3, parts[0] == .string("send") else {
                throw error("\(context): each send micro-operation must be [\"send\", partition, value]")
            }
            let partition = try name(parts[1], what: "a send's partition")
            switch parts[2] {
            case .array(let pair):
                guard pair.count == 2 else { throw error("\(context): a sent record must be [offset, value]") }
                let offset: Offset? = pair[0] == .null ? nil : try self.offset(pair[0], what: "a sent record's offset")
                records.append(SentRecord(partition: partition, value: try recordValue(pair[1]), offset: offset))
            default:
                records.append(SentRecord(partition: partition, value: try recordValue(parts[2])))
            }
        }
        return records
    }

    /// `[["poll", {"t-0": [[42, "v17"], …], …}]]`; several poll micro-operations are joined.
    func pollRecords(_ value: JSONValue) throws(HistoryError) -> [PartitionRecords] {
        var result: [PartitionRecords] = []
        for microOperation in try array(value, what: "a poll value") {
            let parts = try array(microOperation, what: "each poll micro-operation")
            guard parts.first == .string("poll"), parts.count <= 2 else {
                throw error("\(context): each poll micro-operation must be [\"poll\", {partition: records}]")
            }
            guard parts.count == 2, parts[1] != .null else { continue }
            result.append(contentsOf: try recordsByPartition(parts[1], what: "a poll's records"))
        }
        return result
    }

    /// `{"t-0": [[42, "v17"], …], …}`.
    func recordsByPartition(_ value: JSONValue, what: String) throws(HistoryError) -> [PartitionRecords] {
        var result: [PartitionRecords] = []
        for member in try object(value, what: what).members {
            var records: [ReadRecord] = []
            for pair in try array(member.value, what: "the records of \(member.key)") {
                let elements = try array(pair, what: "each record of \(member.key)")
                guard elements.count == 2 else { throw error("\(context): each record of \(member.key) must be [offset, value]") }
                records.append(ReadRecord(offset: try offset(elements[0], what: "a record's offset"), value: try recordValue(elements[1])))
            }
            guard !member.key.isEmpty else { throw error("\(context): a partition name must not be empty") }
            result.append(PartitionRecords(partition: member.key, records: records))
        }
        return result
    }

    /// `{"t-0": 44, …}`.
    func offsets(_ value: JSONValue, what: String) throws(HistoryError) -> [PartitionOffset] {
        var result: [PartitionOffset] = []
        for member in try object(value, what: what).members {
            guard !member.key.isEmpty else { throw error("\(context): a partition name must not be empty") }
            result.append(PartitionOffset(partition: member.key, offset: try offset(member.value, what: "the offset of \(member.key)")))
        }
        return result
    }

    /// `["t-0", "t-1"]` or `[["t-0", "t-1"], "committed"]`.
    func assignment(_ value: JSONValue) throws(HistoryError) -> OperationValue {
        let elements = try array(value, what: "an assign value")
        guard case .array = elements.first else { return .assign(partitions: try names(value, what: "assign value (partitions)"), seek: nil) }
        guard elements.count <= 2 else { throw error("\(context): an assign value must be [partitions] or [[partitions], seek]") }
        let partitions = try names(elements[0], what: "assign value (partitions)")
        guard elements.count == 2, elements[1] != .null else { return .assign(partitions: partitions, seek: nil) }
        guard case .string(let seekName) = elements[1], let seek = SeekPosition(rawValue: seekName) else {
            throw error("\(context): an assign's seek must be \"beginning\", \"committed\" or \"end\"")
        }
        return .assign(partitions: partitions, seek: seek)
    }

    /// `{"records": {"t-0": [[42, "v17"]]}, "offsets": {"t-0": 43}}`.
    func processValue(_ value: JSONValue) throws(HistoryError) -> OperationValue {
        let object = try object(value, what: "a process value")
        var records: [PartitionRecords] = []
        var offsets: [PartitionOffset] = []
        if let recordsValue = object["records"], recordsValue != .null {
            records = try recordsByPartition(recordsValue, what: "a process value's records")
        }
        if let offsetsValue = object["offsets"], offsetsValue != .null {
            offsets = try self.offsets(offsetsValue, what: "a process value's offsets")
        }
        return .process(records: records, offsets: offsets)
    }

    /// `[["revoked", ["t-0"]], ["assigned", ["t-1"]]]`; null or absent means none.
    func rebalance(_ value: JSONValue?) throws(HistoryError) -> [RebalanceChange] {
        guard let value, value != .null else { return [] }
        guard case .array(let elements) = value else { throw error("\"rebalance\" must be an array, found \(value.kindName)") }
        var changes: [RebalanceChange] = []
        for element in elements {
            guard case .array(let parts) = element, parts.count == 2, case .string(let kind) = parts[0] else {
                throw error("each \"rebalance\" entry must be [kind, [partitions]]")
            }
            changes.append(RebalanceChange(kind: kind, partitions: try names(parts[1], what: "rebalance partitions")))
        }
        return changes
    }
}
