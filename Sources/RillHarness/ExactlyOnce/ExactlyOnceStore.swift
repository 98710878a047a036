import CSQLite
import RillChecker
import Foundation

/// The exactly-once workload's external store: one SQLite database that holds the effects
/// (every record a consumer applied) and the next offset per partition, so that both change in
/// one transaction. Anyone can audit it with the sqlite3 CLI; the schema is fixed:
///
/// ```sql
/// CREATE TABLE applied(seq INTEGER PRIMARY KEY AUTOINCREMENT, partition TEXT, offset INTEGER, value TEXT);
/// CREATE TABLE offsets(partition TEXT PRIMARY KEY, next_offset INTEGER);
/// ```
///
/// `applied` has no uniqueness constraint on purpose: a record applied twice shows up as two
/// rows, which the audit reports as `duplicate-effect`. `seq` is the order of application.
///
/// Durability: write-ahead log with `synchronous=FULL`, so a SIGKILL (or power loss) leaves
/// either the whole transaction or none of it. Several processes may use one file; writers take
/// the write lock at `BEGIN IMMEDIATE` and wait for it up to `busyTimeoutMilliseconds`.
///
/// Zombie fencing: `apply(_:)` commits a batch only if, inside the transaction, the stored next
/// offset of each of its partitions still equals the batch's first offset. A consumer that lost
/// its partitions (paused, revoked, presumed dead) and wakes up with an old batch finds the
/// offset moved on and applies nothing.
///
/// `@unchecked Sendable`: the connection is used only under `lock`, one call at a time.
public final class ExactlyOnceStore: @unchecked Sendable {
    /// The next offset of a partition the store has never stored an offset for: the start of
    /// the log of a fresh topic.
    public static let initialOffset: Int64 = 0
    /// How long a writer waits for another process's transaction to finish (longer than the
    /// workload's pauses of a consumer that holds the write lock).
    public static let busyTimeoutMilliseconds: Int32 = 60_000
    /// The file name the workload keeps in its results directory.
    public static let fileName = "store.sqlite"

    public static let schema = """
        CREATE TABLE IF NOT EXISTS applied(seq INTEGER PRIMARY KEY AUTOINCREMENT, partition TEXT, offset INTEGER, value TEXT);
        CREATE TABLE IF NOT EXISTS offsets(partition TEXT PRIMARY KEY, next_offset INTEGER);
        """

    /// The records of one partition a consumer polled, in offset order.
    public struct PartitionBatch: Equatable, Sendable {
        public var partition: String
        public var records: [(offset: Int64, value: String)]
        public init(partition: String, records: [(offset: Int64, value: String)]) {
            self.partition = partition
            self.records = records
        }
        /// The offset the batch starts at: the stored next offset must equal it.
        public var firstOffset: Int64 { records.first?.offset ?? ExactlyOnceStore.initialOffset }
        /// The next offset to store: one past the last record.
        public var nextOffset: Int64 { (records.last?.offset ?? firstOffset - 1) + 1 }

        public static func == (lhs: PartitionBatch, rhs: PartitionBatch) -> Bool {
            lhs.partition == rhs.partition && lhs.records.map(\.offset) == rhs.records.map(\.offset) && lhs.records.map(\.value) == rhs.records.map(\.value)
        }
    }

    /// What `apply(_:)` did.
    public enum ApplyOutcome: Equatable, Sendable {
        /// Every record and every next offset was committed.
        case applied
        /// Nothing was committed: `partition`'s stored next offset is `stored`, not the batch's
        /// first offset `batchStart` (another consumer moved on, or this one is behind).
        case stale(partition: String, stored: Int64, batchStart: Int64)
    }

    public let path: String
    private let lock = NSLock()
    private var database: OpaquePointer?

    /// Opens (creating when absent) the store at `path`, sets WAL and `synchronous=FULL` and
    /// creates the tables. `isReadOnly` opens an existing store for an audit: nothing is changed
    /// (the write methods then throw).
    public init(path: String, isReadOnly: Bool = false) throws(ExactlyOnceStoreError) {
        self.path = path
        var handle: OpaquePointer?
        let flags = isReadOnly ? SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX
        let status = sqlite3_open_v2(path, &handle, flags, nil)
        guard status == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(handle)
            throw ExactlyOnceStoreError("cannot open \(path): \(message)")
        }
        database = handle
        sqlite3_busy_timeout(handle, Self.busyTimeoutMilliseconds)
        if isReadOnly { return }
        do throws(ExactlyOnceStoreError) {
            try execute("PRAGMA journal_mode=WAL")
            try execute("PRAGMA synchronous=FULL")
            try execute(Self.schema)
        } catch {
            sqlite3_close(handle)
            database = nil
            throw error
        }
    }

    deinit { sqlite3_close(database) }

    /// Closes the connection; later calls throw.
    public func close() {
        lock.withLock {
            sqlite3_close(database)
            database = nil
        }
    }

    // MARK: Reading

    /// Every stored next offset, by partition name.
    public func storedOffsets() throws(ExactlyOnceStoreError) -> [String: Int64] {
        try locked { () throws(ExactlyOnceStoreError) in
            var result: [String: Int64] = [:]
            let statement = try prepare("SELECT partition, next_offset FROM offsets")
            defer { sqlite3_finalize(statement) }
            while try step(statement) {
                result[Self.text(statement, 0)] = sqlite3_column_int64(statement, 1)
            }
            return result
        }
    }

    /// Every applied record, in application order (`seq`, the row's `sequence`).
    public func appliedRows() throws(ExactlyOnceStoreError) -> [ExternalStoreAudit.Row] {
        try locked { () throws(ExactlyOnceStoreError) in
            var rows: [ExternalStoreAudit.Row] = []
            let statement = try prepare("SELECT seq, partition, offset, value FROM applied ORDER BY seq")
            defer { sqlite3_finalize(statement) }
            while try step(statement) {
                rows.append(ExternalStoreAudit.Row(sequence: sqlite3_column_int64(statement, 0), partition: Self.text(statement, 1),
                                                   offset: sqlite3_column_int64(statement, 2), value: Self.text(statement, 3)))
            }
            return rows
        }
    }

    // MARK: Writing

    /// Applies `batches` in ONE transaction: checks each partition's stored next offset equals
    /// the batch's first offset (zombie fencing), inserts every record into `applied` and stores
    /// each partition's next offset. Either all of it commits or nothing does.
    public func apply(_ batches: [PartitionBatch]) throws(ExactlyOnceStoreError) -> ApplyOutcome {
        try transaction { () throws(ExactlyOnceStoreError) -> ApplyOutcome in
            for batch in batches {
                let stored = try storedOffset(batch.partition)
                if stored != batch.firstOffset {
                    return .stale(partition: batch.partition, stored: stored, batchStart: batch.firstOffset)
                }
            }
            for batch in batches {
                try insertRecords(batch)
                try upsertOffset(batch.partition, batch.nextOffset)
            }
            return .applied
        }
    }

    /// The broken variant's first transaction: the records only, no fencing and no offsets.
    /// Used by `ExactlyOnceConsumer.Mode.splitTransactions`, the mode built to fail.
    public func applyRecordsOnly(_ batches: [PartitionBatch]) throws(ExactlyOnceStoreError) {
        _ = try transaction { () throws(ExactlyOnceStoreError) -> ApplyOutcome in
            for batch in batches { try insertRecords(batch) }
            return .applied
        }
    }

    /// The broken variant's second transaction: next offsets only.
    public func storeOffsets(_ offsets: [String: Int64]) throws(ExactlyOnceStoreError) {
        _ = try transaction { () throws(ExactlyOnceStoreError) -> ApplyOutcome in
            for (partition, offset) in offsets.sorted(by: { $0.key < $1.key }) { try upsertOffset(partition, offset) }
            return .applied
        }
    }

    // MARK: SQLite plumbing (callers hold `lock` where noted)

    private func locked<Result>(_ body: () throws(ExactlyOnceStoreError) -> Result) throws(ExactlyOnceStoreError) -> Result {
        lock.lock()
        defer { lock.unlock() }
        guard database != nil else { throw ExactlyOnceStoreError("the store \(path) is closed") }
        return try body()
    }

    /// `BEGIN IMMEDIATE` (the write lock now, so the fencing read and the writes see one state),
    /// `body`, then COMMIT when it returns `.applied`, ROLLBACK otherwise or when it throws.
    private func transaction(_ body: () throws(ExactlyOnceStoreError) -> ApplyOutcome) throws(ExactlyOnceStoreError) -> ApplyOutcome {
        try locked { () throws(ExactlyOnceStoreError) -> ApplyOutcome in
            try execute("BEGIN IMMEDIATE")
            let outcome: ApplyOutcome
            do throws(ExactlyOnceStoreError) {
                outcome = try body()
            } catch {
                try? execute("ROLLBACK")
                throw error
            }
            if outcome == .applied {
                do throws(ExactlyOnceStoreError) { try execute("COMMIT") } catch {
                    try? execute("ROLLBACK")
                    throw error
                }
            } else {
                try execute("ROLLBACK")
            }
            return outcome
        }
    }

    private func storedOffset(_ partition: String) throws(ExactlyOnceStoreError) -> Int64 {
        let statement = try prepare("SELECT next_offset FROM offsets WHERE partition = ?1")
        defer { sqlite3_finalize(statement) }
        try bind(statement, 1, partition)
        return try step(statement) ? sqlite3_column_int64(statement, 0) : Self.initialOffset
    }

    private func insertRecords(_ batch: PartitionBatch) throws(ExactlyOnceStoreError) {
        let statement = try prepare("INSERT INTO applied(partition, offset, value) VALUES (?1, ?2, ?3)")
        defer { sqlite3_finalize(statement) }
        for record in batch.records {
            sqlite3_reset(statement)
            try bind(statement, 1, batch.partition)
            sqlite3_bind_int64(statement, 2, record.offset)
            try bind(statement, 3, record.value)
            _ = try step(statement)
        }
    }

    private func upsertOffset(_ partition: String, _ offset: Int64) throws(ExactlyOnceStoreError) {
        let statement = try prepare("INSERT INTO offsets(partition, next_offset) VALUES (?1, ?2) ON CONFLICT(partition) DO UPDATE SET next_offset = excluded.next_offset")
        defer { sqlite3_finalize(statement) }
        try bind(statement, 1, partition)
        sqlite3_bind_int64(statement, 2, offset)
        _ = try step(statement)
    }

    private func execute(_ sql: String) throws(ExactlyOnceStoreError) {
        var message: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(database, sql, nil, nil, &message)
        guard status == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? "status \(status)"
            sqlite3_free(message)
            throw ExactlyOnceStoreError("\(sql.prefix(40)): \(text)")
        }
    }

    private func prepare(_ sql: String) throws(ExactlyOnceStoreError) -> OpaquePointer {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(database, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw ExactlyOnceStoreError("preparing \(sql.prefix(40)): \(lastError)")
        }
        return statement
    }

    /// True while a row is available; false when done.
    private func step(_ statement: OpaquePointer) throws(ExactlyOnceStoreError) -> Bool {
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw ExactlyOnceStoreError(lastError)
        }
    }

    private func bind(_ statement: OpaquePointer, _ index: Int32, _ text: String) throws(ExactlyOnceStoreError) {
        // SQLITE_TRANSIENT: SQLite copies the bytes before the call returns.
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        guard sqlite3_bind_text(statement, index, text, -1, transient) == SQLITE_OK else { throw ExactlyOnceStoreError(lastError) }
    }

    private var lastError: String { database.map { String(cString: sqlite3_errmsg($0)) } ?? "closed" }

    private static func text(_ statement: OpaquePointer, _ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(statement, column) else { return "" }
        return String(cString: pointer)
    }
}

/// A failure of the SQLite store: opening, a statement, a transaction.
public struct ExactlyOnceStoreError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension ExactlyOnceStore {
    /// The store's whole contents as the checker's audit input (`HistoryChecker.receive(_:)`).
    public func audit() throws(ExactlyOnceStoreError) -> ExternalStoreAudit {
        ExternalStoreAudit(rows: try appliedRows(), storedOffsets: try storedOffsets(), initialOffset: Self.initialOffset)
    }
}
