import RillFormat
import Testing

@testable import RillChecker

@Suite struct HistoryReaderTests {
    static let sendLine = #"{"index": 0, "time": 10, "process": 3, "type": "invoke", "f": "send", "value": [["send", "t-0", "v1"], ["send", "t-1", 7]]}"#
    static let pollLine = #"{"index": 1, "time": 20, "process": 4, "type": "ok", "f": "poll", "value": [["poll", {"t-0": [[0, "v1"]], "t-1": []}]], "rebalance": [["assigned", ["t-0", "t-1"]]], "extra": {"ignored": [1]}}"#

    static func readAll(_ text: String, chunkBytes: Int? = nil) throws(HistoryError) -> [HistoryEvent] {
        let bytes = Array(text.utf8)
        var reader = chunkBytes.map { HistoryReader(bytes: bytes, chunkBytes: $0) } ?? HistoryReader(bytes: bytes)
        var events: [HistoryEvent] = []
        while let event = try reader.next() { events.append(event) }
        return events
    }

    @Test func decodesEveryField() throws {
        let events = try Self.readAll(Self.sendLine + "\n" + Self.pollLine + "\n")
        #expect(events.count == 2)
        #expect(events[0] == HistoryEvent(
            index: 0, time: 10, process: ProcessID(3), type: .invoke, function: .send,
            value: .send([SentRecord(partition: "t-0", value: "v1"), SentRecord(partition: "t-1", value: "7")]), line: 1
        ))
        #expect(events[1].value == .poll([
            PartitionRecords(partition: "t-0", records: [ReadRecord(offset: Offset(0), value: "v1")]),
            PartitionRecords(partition: "t-1", records: []),
        ]))
        #expect(events[1].rebalance == [RebalanceChange(kind: "assigned", partitions: ["t-0", "t-1"])])
        #expect(events[1].line == 2)
    }

    @Test func skipsBlankLinesAndAcceptsCRLFAndNoFinalNewline() throws {
        let text = "\n" + Self.sendLine + "\r\n  \r\n\n" + Self.pollLine
        let events = try Self.readAll(text)
        #expect(events.map(\.line) == [2, 5])
    }

    @Test(arguments: [1, 2, 7, 64, 1000])
    func linesStraddlingChunksReadTheSame(_ chunkBytes: Int) throws {
        let long = #"{"index": 2, "time": 30, "process": 5, "type": "ok", "f": "poll", "value": [["poll", {"t-0": ["#
            + (0..<300).map { "[\($0), \"value-\($0)\"]" }.joined(separator: ", ") + "]}]]}"
        let text = [Self.sendLine, "", Self.pollLine, long].joined(separator: "\n") + "\n"
        #expect(try Self.readAll(text, chunkBytes: chunkBytes) == Self.readAll(text))
        #expect(try Self.readAll(text, chunkBytes: chunkBytes).count == 3)
    }

    @Test func reportsTheLineOfAnError() {
        let text = Self.sendLine + "\n\n" + #"{"index": 1, "time": 2, "process": 1, "type": "ok", "f": "poll", "value": [["poll", {"t-0": [[1, "x"]}]]}"# + "\n"
        #expect { try Self.readAll(text, chunkBytes: 5) } throws: { error in
            guard let error = error as? HistoryError else { return false }
            return error.line == 3 && error.code == .invalidJSON && error.message.contains("column")
        }
    }

    @Test(arguments: [
        (#"{"index": 0, "time": 0, "process": 1, "type": "done", "f": "poll", "value": null}"#, "\"type\""),
        (#"{"index": 0, "time": 0, "process": 1, "type": "ok", "f": "send"}"#, "missing \"value\""),
        (#"{"index": 0, "time": 0, "process": 1, "type": "ok", "f": "send", "value": [["send", "t-0"]]}"#, "micro-operation"),
        (#"{"index": 0, "time": 0, "process": 1, "type": "ok", "f": "send", "value": [["send", "t-0", [1]]]}"#, "[offset, value]"),
        (#"{"index": 0, "time": 0, "process": 1, "type": "ok", "f": "send", "value": [["send", "", "v"]]}"#, "partition"),
        (#"{"index": 0, "time": 0, "process": 1, "type": "ok", "f": "send", "value": [["send", "t-0", 1.5]]}"#, "record value"),
        (#"{"index": 0, "time": 0, "process": 1, "type": "ok", "f": "poll", "value": [["pull", {}]]}"#, "poll micro-operation"),
        (#"{"index": 0, "time": 0, "process": 1, "type": "ok", "f": "assign", "value": [["t-0"], "middle"]}"#, "seek"),
        (#"{"index": 0, "time": 0, "process": 1, "type": "ok", "f": "commit", "value": {"t-0": "5"}}"#, "offset of t-0"),
        (#"{"index": 0, "time": 0, "process": 1, "type": "ok", "f": "process", "value": []}"#, "process value"),
        (#"{"index": 0, "time": 0, "process": 1, "type": "ok", "f": "poll", "value": [["poll", {}]], "rebalance": [["assigned"]]}"#, "rebalance"),
        (#"{"index": -1, "time": 0, "process": 1, "type": "ok", "f": "poll", "value": null}"#, "negative"),
        (#"{"index": 0, "time": 0, "process": 1.0, "type": "ok", "f": "poll", "value": null}"#, "\"process\" must be an integer"),
    ] as [(String, String)])
    func rejectsIllTypedFieldsWithAClearMessage(_ line: String, _ fragment: String) {
        #expect { try Self.readAll(line) } throws: { error in
            guard let error = error as? HistoryError else { return false }
            return error.line == 1 && error.description.contains(fragment)
        }
    }

    @Test func acceptsTheFormsOtherHarnessesWrite() throws {
        let lines = [
            #"{"index": 0, "time": 0, "process": 1, "type": "invoke", "f": "assign", "value": ["t-0", "t-1"]}"#,
            #"{"index": 1, "time": 0, "process": 1, "type": "ok", "f": "assign", "value": [["t-0"], null]}"#,
            #"{"index": 2, "time": 0, "process": 1, "type": "invoke", "f": "commit", "value": null}"#,
            #"{"index": 3, "time": 0, "process": 1, "type": "info", "f": "send", "value": [["send", "t-0", [null, 5]]], "error": "timeout"}"#,
            #"{"index": 4, "time": 0, "process": 1, "type": "ok", "f": "commit", "value": {"t-0": 4}, "store": "external"}"#,
            #"{"index": 5, "time": 0, "process": 1, "type": "info", "f": "crash"}"#,
        ]
        let events = try Self.readAll(lines.joined(separator: "\n"))
        #expect(events[0].value == .assign(partitions: ["t-0", "t-1"], seek: nil))
        #expect(events[1].value == .assign(partitions: ["t-0"], seek: nil))
        #expect(events[2].value == OperationValue.none)
        #expect(events[3].value == .send([SentRecord(partition: "t-0", value: "5")]))
        #expect(events[3].error == "timeout")
        #expect(events[4].isExternalStore)
        #expect(events[5].function == .crash)
    }

    @Test func generatedEventsRoundTripThroughTheirJSONLines() throws {
        var configuration = HistoryGeneratorConfiguration(operations: 400, seed: 9)
        configuration.processors = 1
        configuration.consumerMode = .subscribe
        let events = Array(HistoryGenerator(configuration: configuration))
        let text = events.map { $0.jsonLine() }.joined(separator: "\n")
        let read = try Self.readAll(text, chunkBytes: 333)
        #expect(read.count == events.count)
        for (original, decoded) in zip(events, read) {
            var withLine = original
            withLine.line = decoded.line
            #expect(withLine == decoded)
        }
    }

    @Test func aMissingFileIsUnreadable() {
        #expect { _ = try HistoryReader(path: "/nonexistent/history.jsonl") } throws: { error in
            (error as? HistoryError)?.code == .unreadable
        }
    }
}

@Suite struct RecordDecodingTests {
    /// The fast path for `[offset, "value"]` and the general path agree on every shape.
    @Test(arguments: [
        (#"[0, "a"]"#, 0, "a"), (#"[42,"v17"]"#, 42, "v17"), (#"[ 7 , "x y" ]"#, 7, "x y"),
        (#"[123456789012345678, "v"]"#, 123_456_789_012_345_678, "v"), (#"[9223372036854775807, "max"]"#, .max, "max"),
        (#"[5, "caf\u00e9"]"#, 5, "café"), (#"[5, "tab\there"]"#, 5, "tab\there"), (#"[5, "é"]"#, 5, "é"), (#"[5, 12]"#, 5, "12"),
        ("[\n5,\t\"v\"\r]", 5, "v"),
    ] as [(String, Int64, String)])
    func aReadRecordDecodesAlike(_ record: String, _ offset: Int64, _ value: String) throws {
        let line = #"{"index": 0, "time": 0, "process": 1, "type": "ok", "f": "poll", "value": [["poll", {"t-0": ["# + record + ", " + record + "]}]]}"
        let event = try HistoryEvent(jsonLine: line)
        #expect(event.value == .poll([PartitionRecords(partition: "t-0", records: Array(repeating: ReadRecord(offset: Offset(offset), value: value), count: 2))]))
    }

    @Test(arguments: [#"[01, "a"]"#, #"[-1, "a"]"#, #"[1, "a"#, #"[1 "a"]"#, #"[1, "a" "b"]"#, #"[1, "a",]"#, #"[1.5, "a"]"#, #"[1, "a\"]"#])
    func aMalformedReadRecordIsRejected(_ record: String) {
        let line = #"{"index": 0, "time": 0, "process": 1, "type": "ok", "f": "poll", "value": [["poll", {"t-0": ["# + record + "]}]]}"
        #expect(throws: HistoryError.self) { try HistoryEvent(jsonLine: line) }
    }
}
