import Foundation
import Testing

@testable import RillChecker

@Suite struct HistoryCheckerTests {
    @Test func anEmptyHistoryIsValid() throws {
        let result = try HistoryBuilder().check()
        #expect(result.isValid)
        #expect(result.anomalies.isEmpty)
        #expect(result.statistics.events == 0)
    }

    @Test func countsEveryAnomalyButListsABoundedNumberOfExamples() throws {
        var history = HistoryBuilder()
        let records = (0..<50).map { ("t-0", "v\($0)", Int64($0) as Int64?) }
        history.send(0, records)
        let result = try history.check(CheckerConfiguration(examplesPerAnomaly: 4))
        let unseen = try #require(result.anomalies[.unseen])
        #expect(unseen.count == 50)
        #expect(unseen.examples.map { $0["offset"] } == [.integer(0), .integer(1), .integer(2), .integer(3)])
    }

    @Test func examplesAreTheFirstByPartitionAndOffsetWhateverTheOrderFound() throws {
        var history = HistoryBuilder()
        // Sent in decreasing offset order by different producers.
        for offset in (0..<20).reversed() { history.send(Int64(offset), [("t-0", "v\(offset)", Int64(offset))]) }
        let result = try history.check(CheckerConfiguration(examplesPerAnomaly: 3))
        #expect(result.anomalies[.unseen]?.examples.map { $0["value"] } == [.string("v0"), .string("v1"), .string("v2")])
    }

    @Test func lostWriteUsesTheLowestOffsetOfADuplicatedValueAsTheFrontier() throws {
        // "c" was written at 1 and again at 3 and read only at 3; "b" at 2 lies below 3 but the
        // conservative frontier is c's lowest offset, 1: b is unseen, not lost.
        var history = HistoryBuilder()
        history.send(0, [("t-0", "a", 0), ("t-0", "c", 1), ("t-0", "b", 2)])
        history.assign(1, ["t-0"])
        history.poll(1, ["t-0": [(0, "a")]])
        history.assign(2, ["t-0"])
        history.poll(2, ["t-0": [(3, "c")]])
        let result = try history.check()
        #expect(result.anomalies[.lostWrite] == nil)
        #expect(result.anomalies[.unseen]?.count == 1)
        #expect(result.anomalies[.duplicate]?.count == 1)
        #expect(result.anomalies[.duplicate]?.examples.first?["offsets"] == .integers([1, 3]))
    }

    @Test func anInfoSendIsNeitherAcknowledgedNorFailed() throws {
        var history = HistoryBuilder()
        history.send(0, [("t-0", "a", nil)], outcome: .info)
        history.send(0, [("t-0", "b", 1)])
        history.assign(1, ["t-0"])
        history.poll(1, ["t-0": [(1, "b")]])
        // a may or may not have been written: not lost, not unseen, and b's poll does not skip it.
        let result = try history.check()
        #expect(result.isValid, "\(result.verdictJSON())")
        #expect(result.statistics.sendsUnknown == 1)
    }

    @Test func aSkipOverAnOffsetObservedOnlyLaterIsStillASkip() throws {
        var history = HistoryBuilder()
        history.assign(1, ["t-0"])
        history.poll(1, ["t-0": [(0, "a")]])
        history.poll(1, ["t-0": [(2, "c")]])
        // Only afterwards do we learn that offset 1 holds b.
        history.send(0, [("t-0", "a", 0), ("t-0", "b", 1), ("t-0", "c", 2)])
        history.assign(2, ["t-0"])
        history.poll(2, ["t-0": [(0, "a"), (1, "b"), (2, "c")]])
        let result = try history.check()
        #expect(result.anomalyNames == [.pollSkip])
        let example = try #require(result.anomalies[.pollSkip]?.examples.first)
        #expect(example["skipped-offsets"] == .integers([1]))
        #expect(example["skipped-values"] == .strings(["b"]))
        #expect(example["indexes"] == .integers([3, 5]))
    }

    @Test func assignAndSubscribeResetPositionsButAFailedOneDoesNot() throws {
        var history = HistoryBuilder()
        history.send(0, [("t-0", "a", 0), ("t-0", "b", 1)])
        history.assign(1, ["t-0"])
        history.poll(1, ["t-0": [(0, "a"), (1, "b")]])
        history.assign(1, ["t-0"])
        history.poll(1, ["t-0": [(0, "a")]])  // after a new assign: fine
        history.add(1, .invoke, .subscribe, .subscribe(topics: ["t"]))
        history.add(1, .fail, .subscribe, .subscribe(topics: ["t"]))
        history.poll(1, ["t-0": [(0, "a")]])  // the failed subscribe changed nothing: a rewind
        let result = try history.check()
        #expect(result.anomalyNames == [.nonmonotonicPoll])
        #expect(result.anomalies[.nonmonotonicPoll]?.count == 1)
    }

    @Test func aRebalanceOfAnotherPartitionExcusesNothing() throws {
        var history = HistoryBuilder()
        history.send(0, [("t-0", "a", 0), ("t-0", "b", 1)])
        history.add(1, .invoke, .subscribe, .subscribe(topics: ["t"]))
        history.add(1, .ok, .subscribe, .subscribe(topics: ["t"]))
        history.poll(1, ["t-0": [(0, "a"), (1, "b")]])
        history.poll(1, ["t-0": [(0, "a")]], rebalance: [RebalanceChange(kind: "assigned", partitions: ["t-1"])])
        let result = try history.check(CheckerConfiguration(consumerMode: .subscribe))
        #expect(result.anomalyNames == [.nonmonotonicPoll])
    }

    @Test func gapsHoldingNothingKnownAreNotSkips() throws {
        var history = HistoryBuilder()
        history.send(0, [("t-0", "a", 0), ("t-0", "b", 5)])
        history.assign(1, ["t-0"])
        history.poll(1, ["t-0": [(0, "a"), (5, "b")]])
        #expect(try history.check().isValid)
    }

    @Test func readsOfValuesNoOneSentAreNotedNotFlagged() throws {
        var history = HistoryBuilder()
        history.assign(1, ["t-0"])
        history.poll(1, ["t-0": [(0, "stale")]])
        let result = try history.check()
        #expect(result.isValid)
        #expect(result.statistics.unknownValuesRead == 1)
        #expect(result.notes.first?.contains("\"stale\"") == true)
    }

    @Test func allowedAnomaliesAreReportedButDoNotInvalidate() throws {
        var history = HistoryBuilder()
        history.send(0, [("t-0", "a", 0)])
        let strict = try history.check()
        #expect(!strict.isValid)
        #expect(strict.invalidatingAnomalies == [.unseen])
        let lenient = try history.check(CheckerConfiguration(allowedAnomalies: [.unseen]))
        #expect(lenient.isValid)
        #expect(lenient.allowedAnomaliesFound == [.unseen])
        #expect(lenient.anomalies[.unseen]?.count == 1)
    }

    @Test func idempotenceOffAllowsDuplicatesOnly() {
        let configuration = CheckerConfiguration(isIdempotenceEnabled: false)
        #expect(configuration.effectiveAllowedAnomalies == [.duplicate])
        #expect(AnomalyName(name: "G1a") == .abortedRead)
        #expect(AnomalyName(name: "lost") == nil)
    }

    @Test func aCrashEndsTheProcessAndItsSendBecomesUnknown() throws {
        var history = HistoryBuilder()
        history.add(0, .invoke, .send, .send([SentRecord(partition: "t-0", value: "a")]))
        history.crash(0)
        let result = try history.check()
        #expect(result.isValid)
        #expect(result.statistics.crashes == 1)
        #expect(result.statistics.sendsUnknown == 1)
        #expect(result.statistics.operations == 2)
        history.add(0, .invoke, .poll, .none)
        #expect(throws: HistoryError.self) { try history.check() }
    }

    @Test func aCompletionMustMatchItsInvocation() {
        var history = HistoryBuilder()
        history.add(1, .invoke, .poll, .none)
        history.add(1, .ok, .send, .send([]))
        #expect { try history.check() } throws: { error in
            (error as? HistoryError)?.message.contains("in flight is poll") == true
        }
    }

    /// Offsets beyond any real log are refused rather than risking overflow in offset arithmetic,
    /// whether they come from a file or from events built in memory.
    @Test func anAbsurdOffsetIsRefused() throws {
        var history = HistoryBuilder()
        history.assign(1, ["t-0"])
        history.poll(1, ["t-0": [(Int64.max, "a")]])
        #expect { try history.check() } throws: { error in
            (error as? HistoryError)?.code == .invalidField && (error as? HistoryError)?.line == 4
        }
        var reader = HistoryReader(text: history.jsonLines)
        var checker = HistoryChecker()
        #expect(throws: HistoryError.self) {
            while let event = try reader.next() { try checker.receive(event) }
        }
    }

    @Test func verdictIsDeterministicAndParsesAsTheFormatShows() throws {
        var history = HistoryBuilder()
        history.send(3, [("t-0", "a", 0), ("t-0", "b", 1), ("t-1", "c", 0)])
        history.assign(1, ["t-0", "t-1"])
        history.poll(1, ["t-0": [(1, "b")], "t-1": [(0, "c")]])
        let first = try history.check().verdictJSON()
        let second = try history.check().verdictJSON()
        #expect(first == second)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])
        #expect(object["valid"] as? Bool == false)
        let anomalies = try #require(object["anomalies"] as? [String: [[String: Any]]])
        #expect(anomalies.keys.sorted() == ["lost-write"])
        let lost = try #require(anomalies["lost-write"]?.first)
        #expect(lost["partition"] as? String == "t-0")
        #expect(lost["value"] as? String == "a")
        #expect(lost["offset"] as? Int == 0)
        #expect(lost["sent-by"] as? Int == 3)
        #expect((object["anomaly-counts"] as? [String: Int]) == ["lost-write": 1])
        let stats = try #require(object["stats"] as? [String: Int])
        #expect(stats["operations"] == 3)
        #expect(stats["sends-ok"] == 1)
        #expect(stats["polls-ok"] == 1)
        #expect(stats["partitions"] == 2)
    }

    @Test func theStoredOffsetMustFollowTheLastAppliedInput() throws {
        var history = HistoryBuilder()
        history.send(0, [("t-0", "a", 0), ("t-0", "b", 1)])
        history.process(5, ["t-0": [(0, "a")]], offsets: [:])
        let result = try history.check()
        // Applied a without storing offset 1: a restart would apply a again.
        #expect(result.anomalies[.duplicateEffect]?.examples.first?["stored-offset"] == .null)
        #expect(result.anomalies[.duplicateEffect]?.examples.first?["last-applied-offset"] == .integer(0))
    }

    @Test func aProcessWithAnUnknownOutcomeMayHaveApplied() throws {
        var history = HistoryBuilder()
        history.send(0, [("t-0", "a", 0), ("t-0", "b", 1)])
        history.assign(9, ["t-0"])
        history.poll(9, ["t-0": [(0, "a"), (1, "b")]])
        history.process(5, ["t-0": [(0, "a")]], offsets: ["t-0": 1], outcome: .info)
        history.crash(5)
        history.process(6, ["t-0": [(1, "b")]], offsets: ["t-0": 2])
        let result = try history.check()
        #expect(result.isValid, "\(result.verdictJSON())")
    }

    /// Only ok operations say what a consumer returned (Jepsen's lost-write uses ok reads too):
    /// records of a process with an unknown outcome do not make a value seen.
    @Test func recordsOfAnUnknownProcessAreNotReads() throws {
        var history = HistoryBuilder()
        history.send(0, [("t-0", "a", 0), ("t-0", "b", 1)])
        history.process(5, ["t-0": [(0, "a")]], offsets: ["t-0": 1], outcome: .info)
        history.crash(5)
        history.process(6, ["t-0": [(1, "b")]], offsets: ["t-0": 2])
        let result = try history.check()
        #expect(result.anomalyNames == [.lostWrite])
    }
}
