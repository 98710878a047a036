import Foundation
import RillChecker
@testable import RillHarness
import Testing

/// The exactly-once workload end to end on the embedded target: a broker and consumer
/// processes (`rill exactly-once-consumer`) started by the harness, consumers SIGKILLed and
/// restarted, history and store.sqlite checked together. Short runs (about ten seconds each).
@Suite(.serialized) struct ExactlyOnceTests {
    static func workload(mode: String, kills: Int, pauses: Int = 0, seconds: Int) -> String {
        """
        name: eos-test
        partitionsPerTopic: 4
        producersPerTopic: 2
        producerRate: 200
        durationSeconds: \(seconds)
        seed: 11
        exactlyOnce:
          consumers: 2
          mode: \(mode)
          kills: \(kills)
          pauses: \(pauses)
          killIntervalMs: 1000
          maxPollRecords: 20
          sessionTimeoutMs: 1500
          catchUpTimeoutSeconds: 30
        """
    }

    static func temporaryDirectory(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("rill-\(name)-\(UUID().uuidString.prefix(8))")
    }

    /// Consumers killed mid-run (before, during or after their SQLite transactions) or paused
    /// until the group gives their partitions away (zombies, fenced by the store) lose and
    /// duplicate nothing: every acknowledged send is in the store exactly once, in order.
    @Test(.timeLimit(.minutes(2))) func transactionalConsumersSurviveKills() async throws {
        let directory = Self.temporaryDirectory("eos-valid")
        defer { try? FileManager.default.removeItem(at: directory) }
        let cell = try #require(try WorkloadParser().parse(Self.workload(mode: "transactional", kills: 2, pauses: 1, seconds: 12), file: "test.yaml").first)
        let runner = try ExactlyOnceRunner(workload: cell.workload, options: .init(outputDirectory: directory, rillExecutable: try RunTests.rillExecutable(), log: { _ in }))
        let outcome = try await runner.run()
        #expect(outcome.result.isValid, "\(outcome.result.verdictJSON())")
        #expect(outcome.kills >= 1)
        #expect(outcome.pauses == 1, "the pause (a zombie for the store to fence) happened")
        #expect(outcome.result.statistics.crashes == outcome.kills)
        #expect(outcome.sends.ok > 100)
        #expect(outcome.storeRows >= outcome.sends.ok && outcome.storeRows <= outcome.sends.ok + outcome.sends.unknown)
        let store = try ExactlyOnceStore(path: directory.appendingPathComponent(ExactlyOnceStore.fileName).path)
        let rows = try store.appliedRows()
        #expect(Set(rows.map(\.value)).count == rows.count)
        for file in ["history.jsonl", "verdict.json", "report.md"] {
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent(file).path), "\(file)")
        }
        let history = directory.appendingPathComponent("history.jsonl").path
        #expect(try await TestProcess.rill(["check", history, "--subscribe", "--store", store.path], timeout: .seconds(60)).status == 0)
    }

    /// BUILT TO FAIL: records and offsets in two transactions, killed between them. The
    /// restarted consumer resumes from the stale stored offset and applies records again; the
    /// store's audit shows the same value in two rows and `rill run` exits 1.
    @Test(.timeLimit(.minutes(2))) func splitTransactionsAreCaughtApplyingTwice() async throws {
        let directory = Self.temporaryDirectory("eos-split")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let workloadFile = directory.appendingPathComponent("split.yaml")
        try Self.workload(mode: "split-transactions", kills: 2, seconds: 6).write(to: workloadFile, atomically: true, encoding: .utf8)
        let results = directory.appendingPathComponent("results")
        let run = try await TestProcess.rill(["run", workloadFile.path, "--out", results.path], timeout: .seconds(100))
        #expect(run.status == 1)
        let verdict = try String(contentsOf: results.appendingPathComponent("verdict.json"), encoding: .utf8)
        #expect(verdict.contains("\"valid\": false"))
        #expect(verdict.contains("\"duplicate-effect\""))
        // The double application is in the store itself, not only in the history.
        let storePath = results.appendingPathComponent(ExactlyOnceStore.fileName).path
        let rows = try ExactlyOnceStore(path: storePath, isReadOnly: true).appliedRows()
        #expect(Set(rows.map(\.value)).count < rows.count)
        // `rill check` reproduces the verdict from the results directory.
        let history = results.appendingPathComponent("history.jsonl").path
        #expect(try await TestProcess.rill(["check", history, "--subscribe", "--store", storePath], timeout: .seconds(60)).status == 1)
    }

    /// The shipped workload parses into the exactly-once settings it documents.
    @Test func shippedWorkloadParses() throws {
        let path = RunTests.packageRoot.appendingPathComponent("workloads/exactly-once.yaml").path
        let cells = try WorkloadParser().parse(try String(contentsOfFile: path, encoding: .utf8), file: path)
        let settings = try #require(cells.first?.workload.exactlyOnce)
        #expect(settings.mode == .transactional)
        #expect(settings.kills > 0 && settings.consumers > 1)
        #expect(throws: WorkloadError.self) { try WorkloadParser().parse("name: x\nexactlyOnce:\n  kils: 3\n", file: "bad.yaml") }
    }
}
