import CSQLite
import Foundation
import RillChecker
import RillHarness
import Testing

/// The exactly-once workload's SQLite store on a real file: the audited schema, one-transaction
/// application, and the zombie fence (a stale batch changes nothing).
@Suite struct ExactlyOnceStoreTests {
    func temporaryStore() throws -> (ExactlyOnceStore, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rill-eos-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return (try ExactlyOnceStore(path: directory.appendingPathComponent(ExactlyOnceStore.fileName).path), directory)
    }

    /// The tables are exactly the documented ones, read back from sqlite_master through a second
    /// connection, and the journal is the write-ahead log.
    @Test func schemaIsTheDocumentedOne() throws {
        let (store, directory) = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: directory) }
        var handle: OpaquePointer?
        #expect(sqlite3_open_v2(store.path, &handle, SQLITE_OPEN_READONLY, nil) == SQLITE_OK)
        defer { sqlite3_close(handle) }
        var statement: OpaquePointer?
        #expect(sqlite3_prepare_v2(handle, "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name", -1, &statement, nil) == SQLITE_OK)
        var tables: [String: String] = [:]
        while sqlite3_step(statement) == SQLITE_ROW {
            tables[String(cString: sqlite3_column_text(statement, 0))] = String(cString: sqlite3_column_text(statement, 1))
        }
        sqlite3_finalize(statement)
        #expect(tables["applied"] == "CREATE TABLE applied(seq INTEGER PRIMARY KEY AUTOINCREMENT, partition TEXT, offset INTEGER, value TEXT)")
        #expect(tables["offsets"] == "CREATE TABLE offsets(partition TEXT PRIMARY KEY, next_offset INTEGER)")
        #expect(tables.count == 2)
        #expect(FileManager.default.fileExists(atPath: store.path + "-wal"))
    }

    /// A batch commits its records and next offset together; the next batch must start there.
    @Test func appliesBatchesInOneTransactionAndAdvancesTheOffset() throws {
        let (store, directory) = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = ExactlyOnceStore.PartitionBatch(partition: "t-0", records: [(0, "v0"), (1, "v1")])
        let other = ExactlyOnceStore.PartitionBatch(partition: "t-1", records: [(0, "w0")])
        #expect(try store.apply([first, other]) == .applied)
        #expect(try store.storedOffsets() == ["t-0": 2, "t-1": 1])
        let second = ExactlyOnceStore.PartitionBatch(partition: "t-0", records: [(2, "v2")])
        #expect(try store.apply([second]) == .applied)
        let rows = try store.appliedRows()
        #expect(rows.map(\.value) == ["v0", "v1", "w0", "v2"])
        #expect(rows.map(\.sequence) == [1, 2, 3, 4])
        #expect(try store.storedOffsets()["t-0"] == 3)
    }

    /// A zombie's batch (starting below or above the stored next offset) is refused whole: no
    /// record of it, nor of the other partitions in the same call, is written.
    @Test func conditionalUpdateRejectsAStaleBatch() throws {
        let (store, directory) = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try store.apply([.init(partition: "t-0", records: [(0, "v0"), (1, "v1"), (2, "v2")])]) == .applied)
        let fresh = ExactlyOnceStore.PartitionBatch(partition: "t-1", records: [(0, "w0")])
        let replay = ExactlyOnceStore.PartitionBatch(partition: "t-0", records: [(1, "v1"), (2, "v2")])
        #expect(try store.apply([fresh, replay]) == .stale(partition: "t-0", stored: 3, batchStart: 1))
        let gap = ExactlyOnceStore.PartitionBatch(partition: "t-0", records: [(5, "v5")])
        #expect(try store.apply([gap]) == .stale(partition: "t-0", stored: 3, batchStart: 5))
        #expect(try store.appliedRows().map(\.value) == ["v0", "v1", "v2"])
        #expect(try store.storedOffsets() == ["t-0": 3])
    }

    /// Two connections (as two consumer processes have) see each other's commits, and the
    /// fence holds across them: the slower one's batch for the same offsets is refused.
    @Test func fenceHoldsAcrossConnections() throws {
        let (store, directory) = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: directory) }
        let zombie = try ExactlyOnceStore(path: store.path)
        let batch = ExactlyOnceStore.PartitionBatch(partition: "t-0", records: [(0, "v0")])
        #expect(try store.apply([batch]) == .applied)
        #expect(try zombie.apply([batch]) == .stale(partition: "t-0", stored: 1, batchStart: 0))
        #expect(try zombie.appliedRows().count == 1)
    }

    /// The broken two-transaction path really is two transactions: records without offsets.
    @Test func splitTransactionsLeaveRecordsWithoutOffsets() throws {
        let (store, directory) = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: directory) }
        try store.applyRecordsOnly([.init(partition: "t-0", records: [(0, "v0")])])
        #expect(try store.storedOffsets().isEmpty)
        #expect(try store.appliedRows().count == 1)
        try store.storeOffsets(["t-0": 1])
        #expect(try store.storedOffsets() == ["t-0": 1])
    }

    /// An audit opens the store read-only: it reads everything and can change nothing.
    @Test func readOnlyStoreReadsButRefusesWrites() throws {
        let (store, directory) = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try store.apply([.init(partition: "t-0", records: [(0, "v0")])]) == .applied)
        let audit = try ExactlyOnceStore(path: store.path, isReadOnly: true)
        #expect(try audit.audit().rows.map(\.value) == ["v0"])
        #expect(try audit.audit().storedOffsets == ["t-0": 1])
        #expect(throws: ExactlyOnceStoreError.self) { try audit.apply([.init(partition: "t-0", records: [(1, "v1")])]) }
        #expect(throws: ExactlyOnceStoreError.self) { try ExactlyOnceStore(path: directory.appendingPathComponent("absent.sqlite").path, isReadOnly: true) }
    }
}
