/// A spatial index of points keyed by small integer slots, on a grid of equal-angle cells,
/// built for a million volunteers.
///
/// Storage: every cell owns a run of an arena held as three parallel arrays (latitude,
/// longitude, slot), so a cell's points lie together in memory, with a little spare
/// capacity for points that move in. `positions[slot]` is the slot's arena index. The
/// arena is a circular log (`GeoGrid+Arena.swift`): a cell that fills up moves its run to
/// the log's tail, and a cleaner that passes a bounded number of entries per update frees
/// abandoned runs at the head and moves live ones along, so no update ever rewrites the
/// whole arena (only growth of the population beyond the arena's size does).
/// Each arena entry's slot word carries an 8-bit tag in its top bits (slots stay below
/// 2²⁴): a copy of the matcher's most selective filter bits, so that filtered queries read
/// memory in cell order instead of looking up every candidate by slot (``setTag(_:_:)``).
/// Cells are found through a directory of 64 × 64-cell tiles, so no hashing and no
/// per-cell allocation; only tiles that hold points are allocated.
///
/// Cost: 20 bytes per arena entry (two `Double`s and a `UInt32`, exact coordinates so
/// that results equal the haversine on the volunteer's real position) plus 4 bytes per
/// slot, spare capacity, the log's free room and the cell tables: see `docs/BENCHMARKS.md`
/// for the figure on a million population-weighted NRW volunteers.
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

    /// The arena, all of it allocated (`lats.count` entries, the log's size).
    var lats: [Double] = []
    var lons: [Double] = []
    /// Slot in the low 24 bits, tag in the high 8.
    var slotsAt: [UInt32] = []
    /// Arena index per slot, or `absent`.
    var positions: [UInt32] = []
    /// Where the log's next run goes; its runs, live and abandoned, fill the `used`
    /// entries before it (circularly), the rest is free.
    var tail = 0
    var used = 0
    /// Entries in live runs (the sum of the cells' capacities).
    var live = 0
    /// What live runs would hold with `spare` room each (`runLength`): the arena grows only
    /// when this no longer fits.
    var need = 0
    /// Log entries the cleaner still owes for past relocations.
    var debt = 0
    public internal(set) var count = 0

    static let absent = UInt32.max
    static let slotMask: UInt32 = 0xFF_FFFF
    /// Largest slot the index holds.
    public static let maxSlot = slotMask
    static let tileShift = 6
    static let tileMask = 63

    /// A cell's run: `count` points from `start`, room for `capacity` (0: no run). Its row
    /// and column are not stored (12 bytes per cell): those of any of its points.
    struct Cell: Sendable {
        var start: UInt32
        var count: UInt32
        var capacity: UInt32
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

    /// Inserts `slot` at `point`, or moves it there. O(1); a move into a full cell copies
    /// that cell's run, and the cleaner passes at most ``cleanQuantum`` entries more.
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
        if debt > 0 { clean() }
    }

    /// Removes `slot`; does nothing when it is not in the index. O(1), like a move.
    public mutating func remove(_ slot: UInt32) {
        let s = Int(slot)
        guard s < positions.count, positions[s] != Self.absent else { return }
        let i = Int(positions[s])
        detach(at: i, from: existingCell(row(lats[i]), column(lons[i])))
        positions[s] = Self.absent
        count -= 1
        if debt > 0 { clean() }
    }

    /// Sets the tag that filtered queries test (``SlotFilter``); does nothing when `slot`
    /// is not in the index. A moved slot keeps its tag; a new one starts with 0.
    public mutating func setTag(_ slot: UInt32, _ tag: UInt8) {
        guard Int(slot) < positions.count, positions[Int(slot)] != Self.absent else { return }
        let i = Int(positions[Int(slot)])
        slotsAt[i] = slotsAt[i] & Self.slotMask | UInt32(tag) << 24
    }

    /// Bytes held by the index's own arrays (capacity, not just what is in use).
    public var memoryBytes: Int {
        lats.capacity * 8 + lons.capacity * 8 + slotsAt.capacity * 4 + positions.capacity * 4
            + cells.capacity * MemoryLayout<Cell>.stride + tileCells.capacity * 4 + tileDirectory.capacity * 4
    }

    // MARK: Cells

    /// The id of cell (`row`, `column`), creating it (and its tile) when missing.
    mutating func cellId(_ row: Int, _ column: Int) -> Int {
        let k = tileEntry(row, column)
        if tileCells[k] < 0 {
            tileCells[k] = Int32(cells.count)
            cells.append(Cell(start: 0, count: 0, capacity: 0))
        }
        return Int(tileCells[k])
    }

    /// Where cell (`row`, `column`) keeps its id in `tileCells`, allocating its tile.
    mutating func tileEntry(_ row: Int, _ column: Int) -> Int {
        let tile = (row >> Self.tileShift) * tileColumns + (column >> Self.tileShift)
        if tileDirectory[tile] < 0 {
            tileDirectory[tile] = Int32(tileCells.count >> (2 * Self.tileShift))
            tileCells.append(contentsOf: repeatElement(-1, count: 1 << (2 * Self.tileShift)))
        }
        return Int(tileDirectory[tile]) << (2 * Self.tileShift) | (row & Self.tileMask) << Self.tileShift | (column & Self.tileMask)
    }

    func existingCell(_ row: Int, _ column: Int) -> Int {
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
        if column >= 0 && column < lonCells { return column }  // no division in the common case
        var c = column % lonCells
        if c < 0 { c += lonCells }
        return c
    }

    @inline(__always)
    func column(_ lon: Double) -> Int { wrap(rawColumn(lon)) }
}
