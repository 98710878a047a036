// RillFuzz: the libFuzzer target for the request decoder (`make fuzz`, `make fuzz-smoke`).
//
// One module, two builds:
//
// - Fuzzing (`make fuzz-build`): `swift build --scratch-path .build-fuzz -c release --product
//   RillFuzz --sanitize fuzzer --sanitize address -Xswiftc -DRILL_LIBFUZZER`. `-sanitize=fuzzer`
//   links libFuzzer, whose own `main` runs `LLVMFuzzerTestOneInput` (it is linked whole, so the
//   module must not define a `main`: with RILL_LIBFUZZER set there is no `@main` type, and
//   SwiftPM compiles a target without main.swift as a library, with no top-level code).
// - A normal `swift build`: the `@main` type below makes a plain executable that replays inputs
//   without sanitizers (`RillFuzz crash-…` to reproduce under the debugger) and writes the seeds.
//   Building it here keeps the harness compiling with the rest of the package.
//
// Both builds answer `RillFuzz --write-seeds DIR` (the fuzzing build through
// `LLVMFuzzerInitialize`, which libFuzzer calls before it reads its own flags).

#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// libFuzzer's entry point: one input, any bytes. Any trap is a finding; the return value must be 0.
@_cdecl("LLVMFuzzerTestOneInput")
public func rillFuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Harness.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// Called by libFuzzer once, before it parses its flags: handles our own commands.
@_cdecl("LLVMFuzzerInitialize")
public func rillFuzzInitialize(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    guard let arguments = argv.pointee else { return 0 }
    let strings = (0..<Int(argc.pointee)).compactMap { arguments[$0].map { String(cString: $0) } }
    if let status = Commands.run(strings) { exit(status) }
    return 0
}

enum Commands {
    /// Runs `--write-seeds DIR`; nil when the arguments ask for something else.
    static func run(_ arguments: [String]) -> Int32? {
        guard arguments.count >= 2, arguments[1] == "--write-seeds" else { return nil }
        guard arguments.count == 3 else {
            FileHandle.standardError.write(Data("usage: RillFuzz --write-seeds DIRECTORY\n".utf8))
            return 2
        }
        do {
            let count = try Seeds.write(to: URL(fileURLWithPath: arguments[2]))
            print("RillFuzz: wrote \(count) seed inputs to \(arguments[2])")
            return 0
        } catch {
            FileHandle.standardError.write(Data("RillFuzz: cannot write seeds: \(error)\n".utf8))
            return 1
        }
    }
}

#if !RILL_LIBFUZZER
/// The plain build: replays the inputs in the files and directories given, without sanitizers.
@main
struct RillFuzzReplay {
    static func main() {
        let arguments = CommandLine.arguments
        if let status = Commands.run(arguments) { exit(status) }
        guard arguments.count >= 2, !arguments[1].hasPrefix("-") else {
            print("""
                usage: RillFuzz INPUT...               replay fuzz inputs (files or directories)
                       RillFuzz --write-seeds DIR      write the seed corpus
                Fuzzing needs the libFuzzer build: make fuzz-smoke, make fuzz.
                """)
            exit(arguments.count >= 2 && arguments[1] == "--help" ? 0 : 2)
        }
        var replayed = 0
        for path in arguments.dropFirst() {
            for file in files(at: path) {
                guard let data = FileManager.default.contents(atPath: file) else {
                    FileHandle.standardError.write(Data("RillFuzz: cannot read \(file)\n".utf8))
                    exit(1)
                }
                data.withUnsafeBytes { Harness.run($0) }
                replayed += 1
            }
        }
        print("RillFuzz: \(replayed) inputs replayed, no findings")
    }

    static func files(at path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return [path] }
        let names = (FileManager.default.enumerator(atPath: path)?.allObjects as? [String]) ?? []
        return names.sorted().map { path + "/" + $0 }.filter { file in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
    }
}
#endif
