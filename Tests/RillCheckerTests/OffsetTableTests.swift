import Testing

@testable import RillChecker

@Suite struct OffsetTableTests {
    /// Offsets near the first one seen, far above it, and below it (the direct pages, the far
    /// pages both ways) answer lookups and range counts like a plain dictionary would.
    @Test func agreesWithAPlainDictionary() {
        var table = OffsetTable()
        var model: [Int64: Int32] = [:]
        let base: Int64 = 5_000_000
        let offsets: [Int64] =
            Array(base..<(base + 2_000)) + [0, 1, 511, 512, 513, base - 1, base + 700_000_000, 9_000_000_000_000, 9_000_000_000_001]
            + stride(from: base + 10_000, to: base + 20_000, by: 7).map { $0 }
        for (number, offset) in offsets.enumerated() {
            let id = Int32(number)
            #expect(table.record(id, at: offset) == model[offset])
            if model[offset] == nil { model[offset] = id }
        }
        #expect(table.record(99, at: base) == model[base])
        for offset in offsets + [2, base + 2_000, base + 10_001, 9_000_000_000_002] {
            #expect(table.value(at: offset) == model[offset])
        }
        table.seal()
        let sorted = model.keys.sorted()
        let ranges: [Range<Int64>] = [
            0..<1, 0..<600, 1..<base, (base - 1)..<(base + 1), base..<(base + 2_000), (base + 500)..<(base + 15_000),
            0..<Int64.max, (base + 2_000)..<(base + 10_000), 9_000_000_000_000..<9_000_000_000_002, 7..<7,
        ]
        for range in ranges {
            let expected = sorted.filter { range.contains($0) }
            #expect(table.count(in: range) == expected.count, "\(range)")
            #expect(table.entries(in: range, limit: 5).map(\.offset) == Array(expected.prefix(5)), "\(range)")
        }
        #expect(table.occupiedCount == model.count)
        #expect(table.entries(in: 0..<Int64.max, limit: model.count).last?.offset == 9_000_000_000_001)
    }
}
