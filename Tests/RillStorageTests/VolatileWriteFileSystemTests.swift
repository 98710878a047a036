import Foundation
import RillFormat
import Testing
@testable import RillStorage

/// The power-loss file system: unsynced writes live in process memory, so forgetting the
/// wrapper (a killed process) loses exactly them; synced ones are on disk.
@Suite struct VolatileWriteFileSystemTests {
    let directory = TemporaryDirectory()
    var path: String { directory.path + "/file" }

    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    func records(_ count: Int, prefix: String) -> [TestRecord] {
        (0..<count).map { TestRecord("\(prefix)k\($0)", "\(prefix)v\($0)") }
    }

    func write(_ file: any StorageFile, _ text: String, at offset: Int64) throws {
        try bytes(text).withUnsafeBytes { try file.write($0, at: offset) }
    }

    func contents(_ file: any StorageFile) throws -> String {
        String(decoding: try file.readAll(), as: UTF8.self)
    }

    @Test func readersSeeUnsyncedWritesAndAKillLosesThem() throws {
        let fileSystem = VolatileWriteFileSystem(base: POSIXFileSystem())
        let file = try fileSystem.openFile(at: path, create: true)
        try write(file, "hello", at: 0)
        try file.sync()
        try write(file, " world", at: 5)
        #expect(try contents(file) == "hello world")
        #expect(try file.size() == 11)
        #expect(file.descriptor == nil, "no sendfile past the overlay")
        // Another handle of the same path sees the same pending writes.
        #expect(try contents(try fileSystem.openFile(at: path, create: false)) == "hello world")

        // The process dies: a new process opens the directory again.
        let afterKill = try VolatileWriteFileSystem(base: POSIXFileSystem()).openFile(at: path, create: false)
        #expect(try contents(afterKill) == "hello")
    }

    @Test func truncateAndOverwriteAreReplayedInOrder() throws {
        let fileSystem = VolatileWriteFileSystem(base: POSIXFileSystem())
        let file = try fileSystem.openFile(at: path, create: true)
        try write(file, "abcdefgh", at: 0)
        try file.sync()
        try file.truncate(to: 3)
        #expect(try contents(file) == "abc")
        try write(file, "XY", at: 5)
        #expect(try file.readAll() == bytes("abc") + [0, 0] + bytes("XY"))
        try write(file, "Z", at: 1)
        #expect(try file.readAll() == bytes("aZc") + [0, 0] + bytes("XY"))
        // Partial reads through the overlay.
        var window = [UInt8](repeating: 0xFF, count: 4)
        let got = try window.withUnsafeMutableBytes { try file.read(into: $0, at: 2) }
        #expect(got == 4)
        #expect(window == bytes("c") + [0, 0] + bytes("X"))
        try file.sync()
        let reopened = try VolatileWriteFileSystem(base: POSIXFileSystem()).openFile(at: path, create: false)
        #expect(try reopened.readAll() == bytes("aZc") + [0, 0] + bytes("XY"))
    }

    @Test func renamesCarryPendingWritesAndWriteBackBoundsMemory() throws {
        let fileSystem = VolatileWriteFileSystem(base: POSIXFileSystem(), writeBackBytes: 8)
        let file = try fileSystem.openFile(at: path, create: true)
        for index in 0..<8 { try write(file, "0123", at: Int64(index * 4)) }
        // Past 8 pending bytes the oldest writes went to the file (unsynced but kill-proof).
        let afterKill = try VolatileWriteFileSystem(base: POSIXFileSystem()).openFile(at: path, create: false)
        #expect(try afterKill.size() >= 16)
        #expect(try afterKill.size() < 32)

        let other = directory.path + "/renamed"
        let second = try fileSystem.openFile(at: directory.path + "/temp", create: true)
        try write(second, "pending", at: 0)
        try fileSystem.rename(from: directory.path + "/temp", to: other)
        #expect(try contents(try fileSystem.openFile(at: other, create: false)) == "pending")
    }

    /// A log on the power-loss file system, killed: what it synced survives, the rest is cut
    /// at recovery, and nothing half-written is served.
    @Test func aKilledLogKeepsItsSyncedPrefix() throws {
        let logDirectory = directory.path + "/orders-0"
        let settings = try configuration(["flush.messages": "1000000"])
        let log = try PartitionLog.open(directory: logDirectory, fileSystem: VolatileWriteFileSystem(base: POSIXFileSystem()), configuration: settings, now: t0)
        for round in 0..<5 { try log.append(records(10, prefix: "a\(round)")) }
        try log.sync()
        for round in 0..<5 { try log.append(records(10, prefix: "b\(round)")) }
        #expect(log.logEndOffset == Offset(100))
        #expect(try log.allRecords().count == 100, "readers see unsynced records before the kill")

        let recovered = try PartitionLog.open(directory: logDirectory, fileSystem: VolatileWriteFileSystem(base: POSIXFileSystem()), configuration: settings, now: t0)
        #expect(recovered.logEndOffset == Offset(50))
        #expect(try recovered.allRecords().map(\.record) == (0..<5).flatMap { records(10, prefix: "a\($0)") })
    }
}
