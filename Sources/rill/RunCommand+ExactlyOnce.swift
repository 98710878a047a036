import ArgumentParser
import Foundation
import RillChecker
import RillHarness

extension RunCommand {
    /// `rill run` of a workload with an `exactlyOnce:` section: the exactly-once workload
    /// (docs/workloads.md). Prints the verdict; exits 1 when it is invalid.
    func runExactlyOnce(_ cell: WorkloadCell) async throws {
        let directory = out.map { URL(fileURLWithPath: $0) }
            ?? ResultWriter.defaultDirectory(root: URL(fileURLWithPath: resultsRoot), workload: cell.workload.name, startedAt: Date())
        let options = ExactlyOnceRunner.Options(outputDirectory: directory, rillExecutable: try EmbeddedCluster.rillExecutable(),
                                                log: { FileHandle.standardError.write(Data($0.utf8)) })
        let runner = try ExactlyOnceRunner(workload: cell.workload, options: options)
        let outcome = try await Self.untilDoneOrInterrupted { try await runner.run() }
        print(outcome.result.verdictJSON(), terminator: "")
        print("sends: \(outcome.sends.ok) ok, \(outcome.sends.failed) failed, \(outcome.sends.unknown) unknown; kills: \(outcome.kills); pauses: \(outcome.pauses); store rows: \(outcome.storeRows)")
        for note in outcome.notes { print("note: \(note)") }
        print("verdict: \(outcome.result.isValid ? "valid" : "INVALID"); results: \(directory.path)/ (verdict.json, report.md, history.jsonl, store.sqlite)")
        if !outcome.result.isValid { throw ExitCode(1) }
    }
}
