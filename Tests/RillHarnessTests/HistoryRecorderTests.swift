import Foundation
import RillChecker
import RillFormat
import RillHarness
import Testing

@Suite struct HistoryRecorderTests {
    /// What the recorder writes is a history the checker reads back: indexes in file order,
    /// times that never go backwards, nemesis events of process -1 that the checker counts and
    /// otherwise ignores, and a verdict on the operations.
    @Test func recordedHistoryReadsBackAndChecks() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("recorder-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recorder = try HistoryRecorder(path: path)
        let producer = recorder.newProcess(), consumer = recorder.newProcess()
        #expect(producer != consumer)
        recorder.record(producer, .invoke, .send, .send([SentRecord(partition: "t-0", value: "v0")]))
        recorder.recordNemesis(.invoke, fault: "kill", target: "broker-0")
        recorder.record(producer, .ok, .send, .send([SentRecord(partition: "t-0", value: "v0", offset: Offset(0))]))
        recorder.recordNemesis(.info, fault: "kill", target: "broker-0", detail: "restarted")
        recorder.record(consumer, .invoke, .assign, .assign(partitions: ["t-0"], seek: .beginning))
        recorder.record(consumer, .ok, .assign, .assign(partitions: ["t-0"], seek: .beginning))
        recorder.record(consumer, .invoke, .poll, .none)
        recorder.record(consumer, .ok, .poll, .poll([PartitionRecords(partition: "t-0", records: [ReadRecord(offset: Offset(0), value: "v0")])]))
        try recorder.close()

        var reader = try HistoryReader(path: path)
        var events: [HistoryEvent] = []
        while let event = try reader.next() { events.append(event) }
        #expect(events.map(\.index) == Array(0..<8))
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.time <= $1.time })
        #expect(events[1].process == HistoryRecorder.nemesisProcess && events[1].function == .other("nemesis"))
        let result = try HistoryChecker.check(path: path, configuration: CheckerConfiguration())
        #expect(result.isValid)
    }

    /// A lost acknowledged write recorded through the recorder is found: the recorder is not a
    /// pass-through that the checker cannot fault.
    @Test func recordedLossIsFound() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("recorder-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recorder = try HistoryRecorder(path: path)
        let producer = recorder.newProcess(), consumer = recorder.newProcess()
        for (offset, value) in ["v0", "v1"].enumerated() {
            recorder.record(producer, .invoke, .send, .send([SentRecord(partition: "t-0", value: value)]))
            recorder.record(producer, .ok, .send, .send([SentRecord(partition: "t-0", value: value, offset: Offset(Int64(offset)))]))
        }
        recorder.record(consumer, .invoke, .assign, .assign(partitions: ["t-0"], seek: .beginning))
        recorder.record(consumer, .ok, .assign, .assign(partitions: ["t-0"], seek: .beginning))
        recorder.record(consumer, .invoke, .poll, .none)
        recorder.record(consumer, .ok, .poll, .poll([PartitionRecords(partition: "t-0", records: [ReadRecord(offset: Offset(1), value: "v1")])]))
        try recorder.close()
        let result = try HistoryChecker.check(path: path, configuration: CheckerConfiguration())
        #expect(!result.isValid)
    }
}
