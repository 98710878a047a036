import Foundation
@testable import RillHarness
import Testing

/// Jepsen-style runs on the embedded target (a `rill broker` child process): the history, the
/// faults, the final read and the checker's verdict, end to end. Short (seconds each) and
/// bounded; they assert what the checker concludes, never how fast anything was.
@Suite(.serialized) struct CorrectnessRunTests {
    func run(_ text: String) async throws -> (CellSummary, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rill-jepsen-test-\(UUID().uuidString)")
        let (summary, written) = try await RunTests.runner(directory).run(try RunTests.cells(text), isMatrix: false)
        return (try #require(summary.run), written)
    }

    static let base = """
        partitionsPerTopic: 4
        messageSize: 64
        producersPerTopic: 2
        consumerPerSubscription: 2
        producerRate: 400
        warmupSeconds: 0
        """

    /// A kill -9 and restart, a network partition, a pause and a client crash: nothing
    /// acknowledged may be lost, so the verdict must be valid — and the history must show the
    /// faults happened.
    @Test(.timeLimit(.minutes(2))) func aRunWithAKillAPartitionAPauseAndAClientCrashIsValid() async throws {
        let (cell, directory) = try await run(Self.base + """

            name: jepsen-short
            durationSeconds: 16
            checks: {consumers: assign, finalReadSeconds: 15}
            faults:
              schedule:
                - {at: 3, fault: kill, duration: 2}
                - {at: 7, fault: partition, duration: 2}
                - {at: 10, fault: pause, duration: 2}
                - {at: 13, fault: crash-client, target: producer-1}
            """)
        defer { try? FileManager.default.removeItem(at: directory) }
        let verdict = try #require(cell.verdict)
        #expect(verdict.valid, "anomalies: \(verdict.anomalies)")
        #expect(verdict.passed && verdict.finalReadComplete)
        let history = try String(contentsOf: directory.appendingPathComponent("history.jsonl"), encoding: .utf8)
        let nemesis = history.split(separator: "\n").filter { $0.contains("\"f\": \"nemesis\"") }
        #expect(nemesis.count == 8, "four faults, each applied (invoke) and healed (info)")
        #expect(history.contains("\"f\": \"crash\""), "the crashed client's crash event")
        #expect(cell.faults?.map(\.kind) == ["kill", "partition", "pause", "crash-client"])
        #expect(try Self.sendsAcknowledgedDuringFaults(history) == 0, "while the broker is down, stopped or cut off, no send can be acknowledged")
        // The checker's statistics, as the run wrote them into verdict.json.
        let verdictJSON = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("verdict.json"))) as? [String: Any]
        let statistics = try #require(verdictJSON?["stats"] as? [String: Int])
        #expect(statistics["records-acknowledged", default: 0] > 1000, "the run acknowledged records: \(statistics)")
        #expect(statistics["crashes"] == 1)
        #expect(cell.notes.contains { $0.contains("every acknowledged offset was reached") }, "notes: \(cell.notes)")
        let report = try String(contentsOf: directory.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(report.contains("class=\"band fault\""), "faults are shaded on the time charts")
        #expect(report.contains("Correctness"))
        let charts = try await HeadlessBrowser.chartVerdict(of: directory.appendingPathComponent("report.html"))
        #expect(charts.total == 3 && charts.rendered == charts.total, "a real browser draws the charts with the checker's section on the page: \(charts)")
    }

    /// Built to fail: in power-loss mode with a large flush.messages, a kill -9 loses records the
    /// broker acknowledged but never synced, and the checker must say so. The same run with
    /// flush.messages=1 syncs before acknowledging and must be valid. No consumer reads while
    /// the producers run (subscriptionsPerTopic: 0), so the final read is the only reader: a lost
    /// record is one it never finds (`unseen`, `lost-write`). With live consumers the same loss
    /// shows as `inconsistent-offsets` instead (they read the records before the kill, and the
    /// restarted broker later wrote other records at those offsets).
    @Test(.timeLimit(.minutes(2))) func aKillInPowerLossModeLosesUnsyncedAcknowledgedWritesOnlyWithoutFlushing() async throws {
        func workload(flushMessages: Int) -> String {
            Self.base + """

                name: power-loss-\(flushMessages)
                subscriptionsPerTopic: 0
                durationSeconds: 6
                topicConfig: {flush.messages: \(flushMessages)}
                checks: {finalReadSeconds: 8}
                faults:
                  powerLoss: true
                  schedule:
                    - {at: 3, fault: kill, duration: 1}
                """
        }
        // Through the real executable, so that the exit status CI gates on is tested too.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rill-jepsen-power-loss-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("power-loss.yaml")
        try Data(workload(flushMessages: 1_000_000).utf8).write(to: file)
        let finished = try await TestProcess.rill(["run", file.path, "--out", directory.appendingPathComponent("out").path])
        let (status, output) = (finished.status, finished.output)
        #expect(status == 1, "an invalid verdict exits 1; output:\n\(output)")
        #expect(output.contains("verdict (power-loss-1000000): INVALID"))
        let unsynced = try #require(try ResultWriter.readSummary(in: directory.appendingPathComponent("out")).run?.verdict)
        #expect(!unsynced.valid)
        #expect(unsynced.invalidating.contains("lost-write") || unsynced.invalidating.contains("unseen"), "anomalies: \(unsynced.anomalies)")

        let (cell, written) = try await run(workload(flushMessages: 1))
        defer { try? FileManager.default.removeItem(at: written) }
        let synced = try #require(cell.verdict)
        #expect(synced.valid && synced.passed, "anomalies: \(synced.anomalies)")
    }

    /// Sends invoked and acknowledged while a kill, pause or partition was in force (invoked 0.2 s
    /// or more after the fault was applied, acknowledged 0.1 s or more before its scheduled end):
    /// zero when the faults really cut the clients off. The invocation, not the acknowledgement,
    /// must fall inside: a response that arrived just before the fault may be recorded late on a
    /// loaded machine, but a request sent during the fault cannot be answered until it heals.
    static func sendsAcknowledgedDuringFaults(_ history: String) throws -> Int {
        let events = try history.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:] }
        let durations = ["kill": 2.0, "partition": 2.0, "pause": 2.0]
        var windows: [ClosedRange<Int64>] = []
        for event in events where event["f"] as? String == "nemesis" && event["type"] as? String == "invoke" {
            guard let fault = (event["value"] as? [String: Any])?["fault"] as? String, let duration = durations[fault], let time = event["time"] as? Int64 else { continue }
            windows.append((time + 200_000_000)...(time + Int64((duration - 0.1) * 1e9)))
        }
        #expect(windows.count == 3)
        var invokedAt: [Int: Int64] = [:]
        var count = 0
        for event in events where event["f"] as? String == "send" {
            guard let process = event["process"] as? Int, let time = event["time"] as? Int64 else { continue }
            switch event["type"] as? String {
            case "invoke": invokedAt[process] = time
            case "ok":
                if let invoked = invokedAt[process], windows.contains(where: { $0.contains(invoked) && $0.contains(time) }) { count += 1 }
            default: break
            }
        }
        return count
    }
}
