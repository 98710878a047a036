import Foundation
@testable import RillHarness
import Testing

/// Short, bounded runs of real workloads (a few seconds each): the engine in-process, and the
/// embedded target (a `rill broker` child process on 127.0.0.1). They check what was produced,
/// never how fast: figures belong in docs/performance.md.
@Suite(.serialized) struct RunTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `rill` built with the tests (RillHarnessTests depends on it).
    static func rillExecutable() throws -> URL {
        var candidates: [URL] = []
        if let path = ProcessInfo.processInfo.environment["RILL_EXECUTABLE"] { candidates.append(URL(fileURLWithPath: path)) }
        if let executable = Bundle.main.executableURL { candidates.append(executable.deletingLastPathComponent().appendingPathComponent("rill")) }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("rill"))
        for bundle in Bundle.allBundles { candidates.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("rill")) }
        candidates.append(packageRoot.appendingPathComponent(".build/debug/rill"))
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw HarnessError("the rill executable was not found (looked at \(candidates.map(\.path))); run `swift build` first")
        }
        return found
    }

    static func runner(_ directory: URL) throws -> BenchmarkRunner {
        BenchmarkRunner(options: .init(outputDirectory: directory, resultsRoot: directory, rillExecutable: try Self.rillExecutable(), isTerminal: false, log: { _ in }))
    }

    static func cells(_ text: String) throws -> [WorkloadCell] {
        try WorkloadParser().parse(text, file: "test.yaml")
    }

    @Test(.timeLimit(.minutes(1))) func engineTargetAppendsAndReadsBack() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rill-run-engine-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (summary, _) = try await Self.runner(directory).run(try Self.cells("""
            name: engine-test
            target: engine
            partitionsPerTopic: 2
            messageSize: 200
            producerRate: 20000
            batchSize: 16384
            lingerMs: 2
            compression: lz4
            keyDistribution: {type: zipf, keys: 100, exponent: 1.0}
            warmupSeconds: 1
            durationSeconds: 2
            """), isMatrix: false)
        let run = try #require(summary.run)
        #expect(run.publish.records > 10_000)
        #expect(run.publish.errors == 0 && run.consume.errors == 0)
        #expect(run.consume.records > 10_000)
        #expect(run.publishLatencyMs.count == UInt64(run.publish.records))
        #expect(run.endToEndLatencyMs.count > 0)
        #expect(run.target == "engine")
    }

    /// The embedded target end to end: a broker child process, producers and a consumer group,
    /// every result file, and a report that a real browser renders.
    @Test(.timeLimit(.minutes(2))) func embeddedTargetRunsAndWritesResults() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rill-run-embedded-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (summary, written) = try await Self.runner(directory).run(try Self.cells("""
            name: embedded-test
            topics: 1
            partitionsPerTopic: 2
            messageSize: 128
            producersPerTopic: 2
            subscriptionsPerTopic: 2
            producerRate: 4000
            keyDistribution: {type: hot-set, keys: 100, trafficFraction: 0.9, keyFraction: 0.1}
            warmupSeconds: 1
            durationSeconds: 2
            """), isMatrix: false)
        let run = try #require(summary.run)
        #expect(run.publish.records > 2000)
        #expect(run.consume.records > 2 * 2000, "two subscriptions each read everything")
        #expect(run.publish.errors == 0 && run.consume.errors == 0)
        #expect(run.publishLatencyMs.count > 0 && run.endToEndLatencyMs.count > 0 && run.serviceTimeMs.count > 0)
        #expect(run.publishLatencyMs.p50 >= run.serviceTimeMs.p50 * 0.99, "publish latency counts from the intended time, so it is never below service time")
        for file in ["summary.json", "omb-result.json", "timeline.csv", "publish-latency.hgrm", "report.html", "report.md", "broker-0.log"] {
            #expect(FileManager.default.fileExists(atPath: written.appendingPathComponent(file).path), "\(file) missing")
        }
        let verdict = try await HeadlessBrowser.chartVerdict(of: written.appendingPathComponent("report.html"))
        #expect(verdict.total == 3 && verdict.rendered == verdict.total, "charts rendered: \(verdict)")
    }

    @Test(.timeLimit(.minutes(1))) func unreachableBootstrapFailsWithAClearError() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rill-run-bootstrap-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = try EmbeddedClusterTests.closedPort()
        var workload = try Self.cells("producerRate: 100\ndurationSeconds: 1\nwarmupSeconds: 0\ntarget: bootstrap:127.0.0.1:\(port)")[0]
        workload.workload.producerConfig = [:]
        await #expect(throws: (any Error).self) { try await Self.runner(directory).run([workload], isMatrix: false) }
    }
}

@Suite struct EmbeddedClusterTests {
    /// A port on 127.0.0.1 that nothing listens on (bound, then released).
    static func closedPort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @Test func findsTheExecutableFromTheEnvironmentOrSaysHow() throws {
        #expect(throws: HarnessError.self) { try EmbeddedCluster.rillExecutable(environment: ["RILL_EXECUTABLE": "/nonexistent/rill"]) }
        let rill = try RunTests.rillExecutable()
        #expect(try EmbeddedCluster.rillExecutable(environment: ["RILL_EXECUTABLE": rill.path]) == rill)
    }

    @Test func brokerSettingsAreTheWorkloadsOverTheHarnesssDefaults() {
        #expect(EmbeddedCluster.brokerSettings([:]) == ["group.initial.rebalance.delay.ms": "0"])
        let settings = EmbeddedCluster.brokerSettings(["num.partitions": "3", "group.initial.rebalance.delay.ms": "100"])
        #expect(settings == ["num.partitions": "3", "group.initial.rebalance.delay.ms": "100"])
    }

    @Test(.timeLimit(.minutes(1))) func aBrokerThatCannotStartIsReportedWithItsLog() async throws {
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("rill-embedded-test-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: logs) }
        do {
            _ = try await EmbeddedCluster.start(count: 1, executable: try RunTests.rillExecutable(), brokerConfig: ["num.partitions": "not-a-number"], logDirectory: logs)
            Issue.record("the broker started with a bad setting")
        } catch let error as HarnessError {
            #expect(error.description.contains("exited at start-up"))
            #expect(error.description.contains("num.partitions"))
        }
    }
}
