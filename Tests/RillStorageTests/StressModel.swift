import Foundation
import Testing
import RillFormat
@testable import RillStorage

/// The model test at depth: `RILL_STRESS_SEEDS=N` runs N seeds of 1,500 operations each
/// (`make stress`; about 0.4 s a seed). Skipped in the normal test run, which covers 60 random
/// and 4 fixed sequences; `RILL_STRESS_FIRST` picks the first seed to replay a failure.
@Test(.enabled(if: ProcessInfo.processInfo.environment["RILL_STRESS_SEEDS"] != nil))
func storageModelStress() throws {
    let environment = ProcessInfo.processInfo.environment
    let count = UInt64(environment["RILL_STRESS_SEEDS"] ?? "") ?? 0
    let first = UInt64(environment["RILL_STRESS_FIRST"] ?? "") ?? 100
    for seed in first..<(first + count) {
        var generator = SplitMix64(seed: seed)
        let operations = (0..<1500).map { _ in UInt32.random(in: 0...UInt32.max, using: &generator) }
        do {
            try PartitionLogModelTests.run(operations, label: "seed\(seed)")
        } catch {
            Issue.record("seed \(seed): \(error)")
            return
        }
    }
}
