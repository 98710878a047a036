import Foundation
import NIOPosix
import RillChecker
import RillClient
import RillNemesis

extension BenchmarkRunner {
    /// A correctness run (`checks:`): the clients record history.jsonl while the nemesis applies
    /// the faults; once they have healed, every partition is read from the beginning; then the
    /// checker judges the history and verdict.json is written beside it.
    func runChecked(_ loop: MeasurementLoop, workload: Workload, bootstrap: String, cluster: EmbeddedCluster?, directory: URL) async throws -> ResultWriter.CellOutput {
        let checks = workload.checks ?? CorrectnessChecks()
        let events = workload.faults?.events(seconds: workload.measuredSeconds, seed: workload.seed, brokers: workload.replicationFactor,
                                             producers: workload.producerCount, consumers: workload.consumerCount) ?? []
        let historyPath = directory.appendingPathComponent("history.jsonl").path
        let recorder = try HistoryRecorder(path: historyPath)
        var proxyGroup: MultiThreadedEventLoopGroup?
        var proxies: [FaultProxy] = []
        var driver: CheckedClientDriver?
        do {
            if let cluster, events.contains(where: \.kind.isLinkFault) {
                let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
                proxyGroup = group
                proxies = try await Self.startProxies(for: cluster, group: group)
            }
            let clientBootstrap = proxies.isEmpty ? bootstrap : proxies.map { "127.0.0.1:\($0.port)" }.joined(separator: ",")
            let prepared = try await CheckedClientDriver.prepare(workload: workload, bootstrap: clientBootstrap,
                                                                 runID: String(UInt32.random(in: 0...UInt32.max), radix: 16), recorder: recorder)
            driver = prepared
            if !events.isEmpty {
                let slots = prepared.producerSlots + prepared.consumerSlots
                prepared.attach(Nemesis(events: events, cluster: cluster, proxies: proxies, recorder: recorder, seed: workload.seed,
                                        crashClient: { name in slots.first { $0.name == name }?.requestCrash() }, log: options.log))
                options.log("faults (seed \(workload.seed); rerun with --set seed=\(workload.seed)): "
                            + events.map { "\($0.kind.rawValue) \($0.target) at \(Report.number($0.at, 1)) s for \(Report.number($0.duration, 1)) s" }.joined(separator: ", ") + "\n")
            }
            var output = try await loop.run(prepared)
            options.log("final read: every partition from the beginning (at most \(Report.number(checks.finalReadSeconds, 0)) s)\n")
            let finalRead = await prepared.finalRead(seconds: checks.finalReadSeconds)
            output.result.notes.append("final read: \(finalRead.records) records; "
                                       + (finalRead.isComplete ? "every acknowledged offset was reached" : "not reached in \(finalRead.behind.joined(separator: ", "))"))
            output.result.finalRead = finalRead
            output.result.faults = prepared.activeNemesis?.records ?? []
            await prepared.close()
            await Self.stop(proxies, group: proxyGroup)
            try recorder.close()
            output.result.check = try Self.check(historyPath: historyPath, workload: workload, checks: checks, directory: directory)
            return output
        } catch {
            await driver?.close()
            await Self.stop(proxies, group: proxyGroup)
            try? recorder.close()
            throw error
        }
    }

    /// One fault proxy per broker; Metadata and FindCoordinator answers name the proxies, so
    /// every client connection goes through one.
    static func startProxies(for cluster: EmbeddedCluster, group: MultiThreadedEventLoopGroup) async throws -> [FaultProxy] {
        var proxies: [FaultProxy] = []
        // The cluster's bootstrap list names the brokers in node order.
        for (node, target) in try ClientConfiguration.parseServers(cluster.bootstrap).enumerated() {
            proxies.append(try await FaultProxy.start(target: target, nodeID: Int32(node), group: group))
        }
        let addresses = Dictionary(uniqueKeysWithValues: proxies.enumerated().map { (Int32($0.offset), (host: "127.0.0.1", port: Int32($0.element.port))) })
        for proxy in proxies { proxy.setAddresses(addresses) }
        return proxies
    }

    static func stop(_ proxies: [FaultProxy], group: MultiThreadedEventLoopGroup?) async {
        for proxy in proxies { await proxy.stop() }
        try? await group?.shutdownGracefully()
    }

    /// Checks the history with the workload's configuration and writes verdict.json.
    static func check(historyPath: String, workload: Workload, checks: CorrectnessChecks, directory: URL) throws -> CheckResult {
        let result: CheckResult
        do {
            result = try HistoryChecker.check(path: historyPath, configuration: checks.checkerConfiguration(isIdempotent: workload.idempotence))
        } catch {
            throw HarnessError("the recorded history \(historyPath) is malformed (a harness bug): \(error)")
        }
        try writeVerdict(result, in: directory)
        return result
    }

    /// Writes `result` as `verdict.json` in `directory` (correctness and exactly-once runs alike).
    static func writeVerdict(_ result: CheckResult, in directory: URL) throws {
        try Data(result.verdictJSON().utf8).write(to: directory.appendingPathComponent("verdict.json"))
    }
}
