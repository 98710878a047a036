/// One partition's log as the history observed it: offset → the id of the first value seen
/// there (from acknowledged sends and from reads).
///
/// Kafka's offsets are dense, so the table is an array cut into pages of `pageSize` slots,
/// allocated where offsets were observed: memory is proportional to the offsets seen (plus at
/// most one page per isolated offset), never to the largest offset. Pages are found through a
/// direct array of page numbers from the first page seen (up to `maximumDirectPages` of them),
/// and through a dictionary beyond that, so that sequential reads cost an array index. After
/// `seal()`, counting the observed offsets in a range costs O(log pages + pageSize).
struct OffsetTable {
    static let pageShift = 9
    static let pageSize = 1 << pageShift
    static let empty: Int32 = -1
    /// Direct page lookups cover this many pages (256 M offsets) from the first page seen.
    static let maximumDirectPages = 1 << 19

    /// The page number `directPages[0]` stands for (the first page seen).
    private var basePage: Int64 = -1
    /// Page number - basePage → index of the page's first slot in `slots`, or -1.
    private var directPages: [Int] = []
    /// Pages outside the direct range: page number → index of its first slot.
    private var farPages: [Int64: Int] = [:]
    private var slots: [Int32] = []
    /// Occupied slots per page, in order of allocation.
    private var occupancy: [Int32] = []
    /// Filled by `seal()`: page numbers in ascending order, their slot starts, and the number
    /// of occupied slots before each page.
    private var sortedPages: [Int64] = []
    private var sortedStarts: [Int] = []
    private var occupiedBefore: [Int] = []
    private(set) var occupiedCount = 0

    /// The index of the first slot of `page`, or nil when the page holds nothing.
    private func start(ofPage page: Int64) -> Int? {
        let direct = page - basePage
        if basePage >= 0, direct >= 0, direct < Int64(directPages.count) {
            let start = directPages[Int(direct)]
            return start >= 0 ? start : nil
        }
        return farPages[page]
    }

    /// The value id first observed at `offset`, or nil.
    func value(at offset: Int64) -> Int32? {
        guard offset >= 0, let start = start(ofPage: offset >> Self.pageShift) else { return nil }
        let id = slots[start + Int(offset & Int64(Self.pageSize - 1))]
        return id == Self.empty ? nil : id
    }

    /// Records `id` at `offset` unless a value is there already; returns the value that was
    /// there (which may differ from `id`: an inconsistent offset).
    mutating func record(_ id: Int32, at offset: Int64) -> Int32? {
        precondition(offset >= 0 && sortedPages.isEmpty, "offsets are non-negative and the table is not sealed")
        let page = offset >> Self.pageShift
        let start = start(ofPage: page) ?? allocate(page)
        let slot = start + Int(offset & Int64(Self.pageSize - 1))
        let existing = slots[slot]
        if existing != Self.empty { return existing }
        slots[slot] = id
        occupancy[start >> Self.pageShift] += 1
        occupiedCount += 1
        return nil
    }

    private mutating func allocate(_ page: Int64) -> Int {
        let start = slots.count
        slots.append(contentsOf: repeatElement(Self.empty, count: Self.pageSize))
        occupancy.append(0)
        if basePage < 0 { basePage = page }
        let direct = page - basePage
        if direct >= 0, direct < Int64(Self.maximumDirectPages) {
            if direct >= Int64(directPages.count) {
                directPages.append(contentsOf: repeatElement(-1, count: Int(direct) + 1 - directPages.count))
            }
            directPages[Int(direct)] = start
        } else {
            farPages[page] = start
        }
        return start
    }

    /// Sorts the pages for range queries. No `record` afterwards.
    mutating func seal() {
        guard sortedPages.isEmpty, !slots.isEmpty else { return }
        var pages: [(page: Int64, start: Int)] = farPages.map { ($0.key, $0.value) }
        for (direct, start) in directPages.enumerated() where start >= 0 { pages.append((basePage + Int64(direct), start)) }
        pages.sort { $0.page < $1.page }
        sortedPages = pages.map(\.page)
        sortedStarts = pages.map(\.start)
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
