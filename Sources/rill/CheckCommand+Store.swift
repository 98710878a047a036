import ArgumentParser
import Foundation
import RillChecker
import RillHarness

extension CheckCommand {
    /// `--store`: the exactly-once workload's SQLite store, read for the audit. A store that
    /// cannot be read is exit status 2, like a history that cannot be read.
    static func audit(_ path: String) throws -> ExternalStoreAudit {
        guard FileManager.default.fileExists(atPath: path) else {
            FileHandle.standardError.write(Data("rill check: \(path): no such store\n".utf8))
            throw ExitCode(2)
        }
        do {
            let store = try ExactlyOnceStore(path: path, isReadOnly: true)
            defer { store.close() }
            return try store.audit()
        } catch {
            FileHandle.standardError.write(Data("rill check: \(path): \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}
