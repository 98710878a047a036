import Foundation
import Testing

@testable import RillChecker

/// The golden histories in Fixtures/: one per anomaly that must show exactly that anomaly,
/// valid histories (some tricky) that must pass, and malformed files that must be rejected
/// with the right line. `manifest.json` says what each file must give; every .jsonl file in the
/// directory must be listed there, so no fixture is silently skipped.
@Suite struct FixtureTests {
    struct Expectation {
        var file: String
        var expect: String
        var configuration: CheckerConfiguration
        var line: Int?
        var code: String?
        var found: [String]
        var excused: Int?
        var notes: Int?
    }

    static let directory: URL = {
        guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            fatalError("the test bundle has no Fixtures directory")
        }
        return url
    }()

    static func expectations() throws -> [Expectation] {
        let data = try Data(contentsOf: directory.appendingPathComponent("manifest.json"))
        let manifest = try #require(try JSONSerialization.jsonObject(with: data) as? [String: [String: Any]])
        return manifest.keys.sorted().compactMap { file in
            guard let entry = manifest[file], let expect = entry["expect"] as? String else { return nil }
            let allowed = (entry["allow"] as? [String] ?? []).compactMap { AnomalyName(name: $0) }
            let configuration = CheckerConfiguration(
                consumerMode: entry["subscribe"] as? Bool == true ? .subscribe : .assign,
                isIdempotenceEnabled: entry["idempotence"] as? Bool ?? true, allowedAnomalies: Set(allowed)
            )
            return Expectation(
                file: file, expect: expect, configuration: configuration, line: entry["line"] as? Int, code: entry["code"] as? String,
                found: entry["found"] as? [String] ?? [], excused: entry["excused"] as? Int, notes: entry["notes"] as? Int
            )
        }
    }

    @Test func everyFixtureIsListedInTheManifest() throws {
        let listed = Set(try Self.expectations().map(\.file))
        var present: [String] = []
        for folder in ["anomalies", "valid", "malformed"] {
            let files = try FileManager.default.contentsOfDirectory(atPath: Self.directory.appendingPathComponent(folder).path)
            present += files.filter { $0.hasSuffix(".jsonl") }.map { "\(folder)/\($0)" }
        }
        #expect(Set(present) == listed)
        #expect(present.count >= 40)
    }

    @Test func everyAnomalyHasAFixture() throws {
        let covered = Set(try Self.expectations().filter { $0.file.hasPrefix("anomalies/") }.map(\.expect))
        #expect(covered == Set(AnomalyName.allCases.map(\.rawValue)))
    }

    @Test(arguments: try FixtureTests.expectations().filter { $0.file.hasPrefix("anomalies/") })
    func anomalyFixtureShowsExactlyItsAnomaly(_ expectation: Expectation) throws {
        let result = try HistoryChecker.check(path: Self.directory.appendingPathComponent(expectation.file).path, configuration: expectation.configuration)
        #expect(result.anomalyNames.map(\.rawValue) == [expectation.expect], "\(expectation.file): \(result.verdictJSON())")
        #expect(!result.isValid)
        let report = try #require(result.anomalies.values.first)
        #expect(report.count >= 1 && !report.examples.isEmpty)
        #expect(report.examples.allSatisfy { !$0.summary.isEmpty && $0["partition"] != nil })
    }

    @Test(arguments: try FixtureTests.expectations().filter { $0.file.hasPrefix("valid/") })
    func validFixturePasses(_ expectation: Expectation) throws {
        let result = try HistoryChecker.check(path: Self.directory.appendingPathComponent(expectation.file).path, configuration: expectation.configuration)
        #expect(result.isValid, "\(expectation.file): \(result.verdictJSON())")
        #expect(result.anomalyNames.map(\.rawValue) == expectation.found.sorted(), "\(expectation.file)")
        if let excused = expectation.excused {
            #expect(result.statistics.excusedByRebalance == excused)
        }
        #expect(result.notes.count == expectation.notes ?? 0, "\(expectation.file): \(result.notes)")
    }

    @Test(arguments: try FixtureTests.expectations().filter { $0.file.hasPrefix("malformed/") })
    func malformedFixtureIsRejectedWithItsLine(_ expectation: Expectation) throws {
        let path = Self.directory.appendingPathComponent(expectation.file).path
        do {
            let result = try HistoryChecker.check(path: path, configuration: expectation.configuration)
            Issue.record("\(expectation.file) was accepted: \(result.verdictJSON())")
        } catch {
            #expect(error.line == expectation.line, "\(expectation.file): \(error)")
            if let code = expectation.code { #expect(error.code.name == code, "\(expectation.file): \(error)") }
            #expect(error.description.hasPrefix("line \(expectation.line ?? -1): "))
        }
    }

    /// The subscribe fixture's rewinds and jumps are real faults when the test promised assign.
    @Test func rebalanceExcusesOnlyInSubscribeMode() throws {
        let path = Self.directory.appendingPathComponent("valid/subscribe-rebalance.jsonl").path
        let result = try HistoryChecker.check(path: path, configuration: CheckerConfiguration(consumerMode: .assign))
        #expect(!result.isValid)
        #expect(result.anomalies[.nonmonotonicPoll]?.count == 2)
        #expect(result.anomalies[.internalNonmonotonicPoll] == nil)
        #expect(result.anomalies[.pollSkip]?.count == 1)
        #expect(result.statistics.excusedByRebalance == 0)
        #expect(result.notes.contains { $0.contains("--subscribe") })
    }
}

extension FixtureTests.Expectation: CustomTestStringConvertible {
    var testDescription: String { file }
}
