/// One partition's log as the history observed it: offset → the id of the first value seen
/// there (from acknowledged sends and from reads).
///
/// Kafka's offsets are dense, so the table is an array cut into pages of `pageSize` slots,
/// allocated where offsets were observed: memory is proportional to the offsets seen (plus at
/// most one page per isolated offset), never to the largest offset. After `seal()`, counting
/// the observed offsets in a range costs O(log pages + pageSize).
struct OffsetTable {
    static let pageShift = 9
    static let pageSize = 1 << pageShift
    static let empty: Int32 = -1

    /// Page number → index of its first slot in `slots`.
    private var pageStarts: [Int64: Int] = [:]
    private var slots: [Int32] = []
    /// Occupied slots per page, in `pageStarts` order of allocation.
    private var occupancy: [Int32] = []
    private var cachedPage: Int64 = -1
    private var cachedStart = 0
    /// Filled by `seal()`: page numbers in ascending order, their slot starts, and the number
    /// of occupied slots before each page.
    private var sortedPages: [Int64] = []
    private var sortedStarts: [Int] = []
    private var occupiedBefore: [Int] = []
    private(set) var occupiedCount = 0
    private(set) var highestOffset: Int64 = -1

    /// The value id first observed at `offset`, or nil.
    func value(at offset: Int64) -> Int32? {
        let page = offset >> Self.pageShift
        let start: Int
        if page == cachedPage {
            start = cachedStart
        } else {
            guard let found = pageStarts[page] else { return nil }
            start = found
        }
        let id = slots[start + Int(offset & Int64(Self.pageSize - 1))]
        return id == Self.empty ? nil : id
    }

    /// Records `id` at `offset` unless a value is there already; returns the value that was
    /// there (which may differ from `id`: an inconsistent offset).
    mutating func record(_ id: Int32, at offset: Int64) -> Int32? {
        precondition(offset >= 0 && sortedPages.isEmpty, "offsets are non-negative and the table is not sealed")
        let page = offset >> Self.pageShift
        let start: Int
        if page == cachedPage {
            start = cachedStart
        } else if let found = pageStarts[page] {
            start = found
        } else {
            start = slots.count
            pageStarts[page] = start
            slots.append(contentsOf: repeatElement(Self.empty, count: Self.pageSize))
            occupancy.append(0)
        }
        cachedPage = page
        cachedStart = start
        let slot = start + Int(offset & Int64(Self.pageSize - 1))
        let existing = slots[slot]
        if existing != Self.empty { return existing }
        slots[slot] = id
        occupancy[start >> Self.pageShift] += 1
        occupiedCount += 1
        highestOffset = max(highestOffset, offset)
        return nil
    }

    /// Sorts the pages for range queries. No `record` afterwards.
    mutating func seal() {
        guard sortedPages.isEmpty, !pageStarts.isEmpty else { return }
        sortedPages = pageStarts.keys.sorted()
        sortedStarts = sortedPages.map { pageStarts[$0] ?? 0 }
        occupiedBefore.reserveCapacity(sortedPages.count)
        var total = 0
        for start in sortedStarts {
            occupiedBefore.append(total)
            total += Int(occupancy[start >> Self.pageShift])
        }
    }

    /// The number of observed offsets below `offset`. Requires `seal()`. O(log pages + pageSize).
    func rank(of offset: Int64) -> Int {
        guard offset > 0, !sortedPages.isEmpty else { return 0 }
        let page = offset >> Self.pageShift
        // The first sorted page >= page.
        var low = 0
        var high = sortedPages.count
        while low < high {
            let middle = (low + high) / 2
            if sortedPages[middle] < page { low = middle + 1 } else { high = middle }
        }
        guard low < sortedPages.count else { return occupiedCount }
        var count = occupiedBefore[low]
        if sortedPages[low] == page {
            let start = sortedStarts[low]
            let within = Int(offset & Int64(Self.pageSize - 1))
            for slot in start..<(start + within) where slots[slot] != Self.empty { count += 1 }
        }
        return count
    }

    /// The number of observed offsets in `lower..<upper`. Requires `seal()`.
    func count(in range: Range<Int64>) -> Int {
        range.isEmpty ? 0 : rank(of: range.upperBound) - rank(of: range.lowerBound)
    }

    /// Up to `limit` observed (offset, value id) pairs in `range`, ascending. Requires `seal()`.
    /// Visits only pages that exist, so a huge sparse range costs O(pages), not O(offsets).
    func entries(in range: Range<Int64>, limit: Int) -> [(offset: Int64, id: Int32)] {
        var result: [(offset: Int64, id: Int32)] = []
        guard !range.isEmpty, limit > 0 else { return result }
        forEachEntry(in: range) { offset, id in
            result.append((offset, id))
            return result.count < limit
        }
        return result
    }

    /// Calls `body` for every observed offset in `range`, ascending, until it returns false.
    /// Requires `seal()`.
    func forEachEntry(in range: Range<Int64>, _ body: (Int64, Int32) -> Bool) {
        guard !range.isEmpty, !sortedPages.isEmpty else { return }
        let firstPage = range.lowerBound >> Self.pageShift
        var low = 0
        var high = sortedPages.count
        while low < high {
            let middle = (low + high) / 2
            if sortedPages[middle] < firstPage { low = middle + 1 } else { high = middle }
        }
        for index in low..<sortedPages.count {
            let pageBase = sortedPages[index] << Self.pageShift
            guard pageBase < range.upperBound else { return }
            let start = sortedStarts[index]
            let from = max(range.lowerBound, pageBase)
            let to = min(range.upperBound, pageBase + Int64(Self.pageSize))
            var offset = from
            while offset < to {
                let id = slots[start + Int(offset - pageBase)]
                if id != Self.empty, !body(offset, id) { return }
                offset += 1
            }
        }
    }
}
