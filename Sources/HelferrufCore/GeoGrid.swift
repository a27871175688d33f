/// A spatial index of points keyed by small integer slots, on a grid of equal-angle cells,
/// built for a million volunteers.
///
/// Storage: every cell owns a run of an arena held as three parallel arrays (latitude,
/// longitude, slot), so a cell's points lie together in memory, with a little spare
/// capacity for points that move in. `positions[slot]` is the slot's arena index. A cell
/// that fills up moves its run to the end of the arena, into headroom of 1/16 of the
/// arena; when that is used up, a compaction rewrites the arena (O(n), after at least
/// n/32 relocations), so updates are O(1) amortised.
/// Each arena entry's slot word carries an 8-bit tag in its top bits (slots stay below
/// 2²⁴): a copy of the matcher's most selective filter bits, so that filtered queries read
/// memory in cell order instead of looking up every candidate by slot (``setTag(_:_:)``).
/// Cells are found through a directory of 64 × 64-cell tiles, so no hashing and no
/// per-cell allocation; only tiles that hold points are allocated.
///
/// Cost: 20 bytes per arena entry (two `Double`s and a `UInt32`, exact coordinates so
/// that results equal the haversine on the volunteer's real position) plus 4 bytes per
/// slot, spare capacity and the cell tables: 31.4 bytes per volunteer for a million
/// population-weighted NRW volunteers.
///
/// Cell size: 0.01° by default (about 1.1 km × 0.7 km in North Rhine-Westphalia), chosen by
/// measurement (`scripts/bench-matching --cell-sweep`, `docs/BENCHMARKS.md`): on a million
/// NRW volunteers the median 5 km query over the population-weighted mix of centres took
/// 29.8 µs with 0.005°, 29.2 µs with 0.01°, 42.7 µs with 0.02° and 77.7 µs with 0.05°.
/// 0.005° is faster only for small circles at dense centres (1 km queries, Cologne) and
/// needs 40 bytes per volunteer (more, mostly empty, cells); coarser cells put more points
/// in the boundary ring of cells, whose points each need a distance test.
public struct GeoGrid: Sendable {
    /// Cell edge in degrees; divides 180.
    public let cellDegrees: Double
    let inverseCell: Double
    let rowCount: Int
    let lonCells: Int
    let tileColumns: Int

    /// Per tile (64 × 64 cells): index of its block in `tileCells`, or -1.
    var tileDirectory: [Int32]
    /// Per allocated tile, 4096 cell ids (-1: no cell yet).
    var tileCells: [Int32] = []
    var cells: [Cell] = []

    var lats: [Double] = []
    var lons: [Double] = []
    /// Slot in the low 24 bits, tag in the high 8.
    var slotsAt: [UInt32] = []
    /// Arena index per slot, or `absent`.
    var positions: [UInt32] = []
    public private(set) var count = 0

    static let absent = UInt32.max
    static let slotMask: UInt32 = 0xFF_FFFF
    /// Largest slot the index holds.
    public static let maxSlot = slotMask
    static let tileShift = 6
    static let tileMask = 63

    struct Cell: Sendable {
        var start: UInt32
        var count: UInt32
        var capacity: UInt32
        var row: Int32
        var column: Int32
    }

    public init(cellDegrees: Double = 0.01) {
        let perHalfTurn = 180 / cellDegrees
        precondition(cellDegrees >= 0.001 && cellDegrees <= 10 && abs(perHalfTurn - perHalfTurn.rounded()) < 1e-6,
                     "cellDegrees must divide 180")
        self.cellDegrees = cellDegrees
        self.inverseCell = 1 / cellDegrees
        self.rowCount = Int(perHalfTurn.rounded())
        self.lonCells = 2 * rowCount
        self.tileColumns = (lonCells + Self.tileMask) >> Self.tileShift
        let tileRows = (rowCount + Self.tileMask) >> Self.tileShift
        self.tileDirectory = Array(repeating: -1, count: tileRows * tileColumns)
    }

    /// Where `slot` is, if it is in the index.
    public func position(of slot: UInt32) -> GeoPoint? {
        guard Int(slot) < positions.count, positions[Int(slot)] != Self.absent else { return nil }
        let i = Int(positions[Int(slot)])
        return GeoPoint(lat: lats[i], lon: lons[i])
    }

    /// Inserts `slot` at `point`, or moves it there. O(1) amortised.
    public mutating func update(_ slot: UInt32, to point: GeoPoint) {
        precondition(point.isValid, "invalid point")
        precondition(slot <= Self.maxSlot, "slot too large")
        let s = Int(slot)
        if s >= positions.count {
            positions.append(contentsOf: repeatElement(Self.absent, count: s - positions.count + 1))
        }
        let target = row(point.lat), targetColumn = column(point.lon)
        let old = positions[s]
        var entry = slot
        if old != Self.absent {
            let i = Int(old)
            if row(lats[i]) == target && column(lons[i]) == targetColumn {
                lats[i] = point.lat
                lons[i] = point.lon
                return
            }
            entry = slotsAt[i]
            detach(at: i, from: existingCell(row(lats[i]), column(lons[i])))
        } else {
            count += 1
        }
        append(entry, point, to: cellId(target, targetColumn))
    }

    /// Removes `slot`; does nothing when it is not in the index. O(1).
    public mutating func remove(_ slot: UInt32) {
        let s = Int(slot)
        guard s < positions.count, positions[s] != Self.absent else { return }
        let i = Int(positions[s])
        detach(at: i, from: existingCell(row(lats[i]), column(lons[i])))
        positions[s] = Self.absent
        count -= 1
    }

    /// Sets the tag that filtered queries test (``SlotFilter``); does nothing when `slot`
    /// is not in the index. A moved slot keeps its tag; a new one starts with 0.
    public mutating func setTag(_ slot: UInt32, _ tag: UInt8) {
        guard Int(slot) < positions.count, positions[Int(slot)] != Self.absent else { return }
        let i = Int(positions[Int(slot)])
        slotsAt[i] = slotsAt[i] & Self.slotMask | UInt32(tag) << 24
    }

    /// Replaces the contents with `points[k]` at slot `slots[k]` (tag `tags[k]`) in one pass (a counting
    /// sort by cell), much faster than a million single updates. Slots must be distinct.
    /// Cells are numbered tile by tile, row by row, so that neighbouring cells, and their
    /// runs in the arena, lie next to each other in memory.
    public mutating func load(slots: [UInt32], points: [GeoPoint], tags: [UInt8]? = nil) {
        precondition(slots.count == points.count && (tags?.count ?? points.count) == points.count)
        self = GeoGrid(cellDegrees: cellDegrees)
        let unnumbered: Int32 = -2
        var entryOf = [Int32](repeating: 0, count: points.count)
        for k in points.indices {
            precondition(points[k].isValid, "invalid point")
            let e = tileEntry(row(points[k].lat), column(points[k].lon))
            entryOf[k] = Int32(e)
            if tileCells[e] == -1 { tileCells[e] = unnumbered }
        }
        let tileRows = tileDirectory.count / tileColumns
        for tr in 0..<tileRows {
            for tc in 0..<tileColumns where tileDirectory[tr * tileColumns + tc] >= 0 {
                let block = Int(tileDirectory[tr * tileColumns + tc]) << (2 * Self.tileShift)
                for local in 0..<(1 << (2 * Self.tileShift)) where tileCells[block + local] == unnumbered {
                    tileCells[block + local] = Int32(cells.count)
                    let r = tr << Self.tileShift + local >> Self.tileShift, c = tc << Self.tileShift + local & Self.tileMask
                    cells.append(Cell(start: 0, count: 0, capacity: 0, row: Int32(r), column: Int32(c)))
                }
            }
        }
        var maxSlot = -1
        for k in points.indices {
            cells[Int(tileCells[Int(entryOf[k])])].count += 1
            precondition(slots[k] <= Self.maxSlot, "slot too large")
            maxSlot = max(maxSlot, Int(slots[k]))
        }
        layOut()
        positions = Array(repeating: Self.absent, count: maxSlot + 1)
        for k in points.indices {
            let c = Int(tileCells[Int(entryOf[k])])
            let i = Int(cells[c].start + cells[c].count)
            cells[c].count += 1
            lats[i] = points[k].lat
            lons[i] = points[k].lon
            slotsAt[i] = slots[k] | UInt32(tags?[k] ?? 0) << 24
            precondition(positions[Int(slots[k])] == Self.absent, "duplicate slot")
            positions[Int(slots[k])] = UInt32(i)
        }
        count = points.count
    }

    /// Bytes held by the index's own arrays (capacity, not just what is in use).
    public var memoryBytes: Int {
        lats.capacity * 8 + lons.capacity * 8 + slotsAt.capacity * 4 + positions.capacity * 4
            + cells.capacity * MemoryLayout<Cell>.stride + tileCells.capacity * 4 + tileDirectory.capacity * 4
    }

    // MARK: Cells and arena

    /// Spare room a cell gets when it is laid out: moves into a cell rarely relocate it.
    static func spare(_ count: UInt32) -> UInt32 { count / 8 + 1 }

    /// Gives every cell a fresh run of `count + spare` in cell order (counts are taken as
    /// the sizes wanted; they are reset to zero, the caller fills the runs).
    private mutating func layOut() {
        var total = 0
        for c in cells.indices {
            cells[c].start = UInt32(total)
            cells[c].capacity = cells[c].count + Self.spare(cells[c].count)
            cells[c].count = 0
            total += Int(cells[c].capacity)
        }
        // Headroom for runs that cells move out to; used up, it triggers a compaction.
        let capacity = total + total / 16 + 64
        precondition(capacity < Int(Self.absent), "index too large")
        lats = []
        lons = []
        slotsAt = []
        lats.reserveCapacity(capacity)
        lons.reserveCapacity(capacity)
        slotsAt.reserveCapacity(capacity)
        lats.append(contentsOf: repeatElement(0, count: total))
        lons.append(contentsOf: repeatElement(0, count: total))
        slotsAt.append(contentsOf: repeatElement(0, count: total))
    }

    /// Appends an arena entry (slot and tag) to cell `c`.
    private mutating func append(_ entry: UInt32, _ point: GeoPoint, to c: Int) {
        if cells[c].count == cells[c].capacity { relocate(c) }
        let i = Int(cells[c].start + cells[c].count)
        cells[c].count += 1
        lats[i] = point.lat
        lons[i] = point.lon
        slotsAt[i] = entry
        positions[Int(entry & Self.slotMask)] = UInt32(i)
    }

    /// Swap-removes arena entry `i` from cell `c`.
    private mutating func detach(at i: Int, from c: Int) {
        let last = Int(cells[c].start + cells[c].count - 1)
        if i != last {
            lats[i] = lats[last]
            lons[i] = lons[last]
            slotsAt[i] = slotsAt[last]
            positions[Int(slotsAt[i] & Self.slotMask)] = UInt32(i)
        }
        cells[c].count -= 1
    }

    /// Moves a full cell's run to the end of the arena with room to grow, or, when the
    /// arena's headroom is used up, compacts it (which gives every cell spare room again).
    private mutating func relocate(_ c: Int) {
        let from = Int(cells[c].start), n = Int(cells[c].count)
        let newCapacity = n + n / 4 + 2
        let start = lats.count
        if start + newCapacity > lats.capacity {
            compact()
            return
        }
        // Element by element: appending a slice of the array itself would copy it whole.
        for k in from..<from + n {
            lats.append(lats[k])
            lons.append(lons[k])
            slotsAt.append(slotsAt[k])
            positions[Int(slotsAt[k] & Self.slotMask)] = UInt32(start + k - from)
        }
        let extra = newCapacity - n
        lats.append(contentsOf: repeatElement(0, count: extra))
        lons.append(contentsOf: repeatElement(0, count: extra))
        slotsAt.append(contentsOf: repeatElement(0, count: extra))
        cells[c].start = UInt32(start)
        cells[c].capacity = UInt32(newCapacity)
    }

    /// Rewrites the arena in cell order, dropping abandoned runs. O(n).
    private mutating func compact() {
        let (oldLats, oldLons, oldSlots, oldCells) = (lats, lons, slotsAt, cells)
        layOut()
        for c in cells.indices {
            let from = Int(oldCells[c].start), n = Int(oldCells[c].count), to = Int(cells[c].start)
            for k in 0..<n {
                lats[to + k] = oldLats[from + k]
                lons[to + k] = oldLons[from + k]
                slotsAt[to + k] = oldSlots[from + k]
                positions[Int(oldSlots[from + k] & Self.slotMask)] = UInt32(to + k)
            }
            cells[c].count = UInt32(n)
        }
    }

    /// The id of cell (`row`, `column`), creating it (and its tile) when missing.
    private mutating func cellId(_ row: Int, _ column: Int) -> Int {
        let k = tileEntry(row, column)
        if tileCells[k] < 0 {
            tileCells[k] = Int32(cells.count)
            cells.append(Cell(start: UInt32(lats.count), count: 0, capacity: 0, row: Int32(row), column: Int32(column)))
        }
        return Int(tileCells[k])
    }

    /// Where cell (`row`, `column`) keeps its id in `tileCells`, allocating its tile.
    private mutating func tileEntry(_ row: Int, _ column: Int) -> Int {
        let tile = (row >> Self.tileShift) * tileColumns + (column >> Self.tileShift)
        if tileDirectory[tile] < 0 {
            tileDirectory[tile] = Int32(tileCells.count >> (2 * Self.tileShift))
            tileCells.append(contentsOf: repeatElement(-1, count: 1 << (2 * Self.tileShift)))
        }
        return Int(tileDirectory[tile]) << (2 * Self.tileShift) | (row & Self.tileMask) << Self.tileShift | (column & Self.tileMask)
    }

    private func existingCell(_ row: Int, _ column: Int) -> Int {
        let id = cellIdIfPresent(row, column)
        precondition(id >= 0, "index corrupt")
        return id
    }

    /// The id of cell (`row`, `column`), or -1.
    @inline(__always)
    func cellIdIfPresent(_ row: Int, _ column: Int) -> Int {
        let t = Int(tileDirectory[(row >> Self.tileShift) * tileColumns + (column >> Self.tileShift)])
        if t < 0 { return -1 }
        return Int(tileCells[t << (2 * Self.tileShift) | (row & Self.tileMask) << Self.tileShift | (column & Self.tileMask)])
    }

    // MARK: Coordinates

    /// Row of a latitude; ±90° fall into the edge rows. Monotone in `lat`.
    @inline(__always)
    func row(_ lat: Double) -> Int {
        min(rowCount - 1, max(0, Int(((lat + 90) * inverseCell).rounded(.down))))
    }

    /// Column of a longitude before wrapping; monotone in `lon`, may leave 0..<lonCells.
    @inline(__always)
    func rawColumn(_ lon: Double) -> Int {
        Int(((lon + 180) * inverseCell).rounded(.down))
    }

    @inline(__always)
    func wrap(_ column: Int) -> Int {
        var c = column % lonCells
        if c < 0 { c += lonCells }
        return c
    }

    @inline(__always)
    func column(_ lon: Double) -> Int { wrap(rawColumn(lon)) }
}
