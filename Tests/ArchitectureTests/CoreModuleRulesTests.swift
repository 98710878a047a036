import Foundation
import Testing

/// DESIGN.md: the core modules are deterministic — no sockets, threads, wall clock or unseeded
/// randomness — so the simulator and the tests can drive them. This test reads their sources.
@Suite struct CoreModuleRulesTests {
    static let coreModules = ["RillFormat", "RillStorage", "RillProtocol", "RillBroker", "RillRaft", "RillChecker"]
    static let forbidden: [(pattern: String, reason: String)] = [
        (#"^\s*(@preconcurrency\s+)?import\s+NIOPosix"#, "NIOPosix does I/O"),
        (#"Date\(\)"#, "Date() reads the wall clock"),
        (#"Task\.sleep"#, "Task.sleep waits on real time"),
        (#"DispatchQueue"#, "DispatchQueue starts threads"),
        (#"SystemRandomNumberGenerator"#, "SystemRandomNumberGenerator is unseeded"),
        (#"ProcessInfo"#, "ProcessInfo reads the environment"),
    ]

    static var sourcesDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources")
    }

    @Test func coreModulesDoNoIOAndReadNoClock() throws {
        var checked = 0
        for module in Self.coreModules {
            let directory = Self.sourcesDirectory.appendingPathComponent(module)
            guard let files = FileManager.default.enumerator(atPath: directory.path) else { continue }
            for case let file as String in files where file.hasSuffix(".swift") {
                let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
                for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    let code = line.split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
                    for rule in Self.forbidden where code.range(of: rule.pattern, options: .regularExpression) != nil {
                        Issue.record("\(module)/\(file):\(number + 1): \(rule.reason): \(line)")
                    }
                }
                checked += 1
            }
        }
        #expect(checked > 10, "the rule must have found the core sources to check")
    }
}
