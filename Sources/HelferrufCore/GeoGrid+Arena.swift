/// The arena as a circular log of runs, so that no update has to rewrite it whole.
///
/// A cell that fills up copies its run to the log's tail with room to grow and abandons
/// the old one, which stays in the log as garbage. A cleaner pays for that garbage a little
/// per update: it passes the oldest run of the log, drops it when abandoned, and otherwise
/// copies it to the tail with fresh spare room (`spare`), so the arena keeps its size and
/// every live cell its room. Each relocation of `n` entries owes the cleaner
/// `cleanRatio · n` entries, paid in steps of at most `cleanQuantum` (plus one run) per
/// update; the ratio keeps the garbage below the room live runs leave (see `cleanRatio`),
/// so allocation finds room at the tail without cleaning on demand.
///
/// Runs carry no headers: the cleaner tells a live run from an abandoned one by its first
/// entry (a live run is never empty, and its first slot's position points back at it), and
/// an abandoned run keeps its length in its first entry's latitude (`markAbandoned`).
/// Only when the points, with their spare room, no longer fit in the arena is it laid out
/// anew, twice the size: O(n), amortised over the insertions that filled it. Moves alone
/// trigger that only when one cell's run outgrows the arena's slack (at a million NRW
/// volunteers: some 60,000 in one 0.01° cell), and then once.
extension GeoGrid {
    /// Spare room a run gets when it is laid out or cleaned: moves into a cell rarely
    /// relocate it, at 1/8 more memory.
    static func spare(_ count: Int) -> Int { count / 8 + 1 }

    /// The run a cell of `count` points gets when laid out or cleaned (none when empty).
    @inline(__always)
    static func runLength(_ count: Int) -> Int { count == 0 ? 0 : count + spare(count) }

    /// Most log entries the cleaner passes per update (plus one run).
    static let cleanQuantum = 64

    /// Log entries cleaned per entry relocated: half the arena's size over the room that
    /// live runs leave, so the cleaner speeds up as live runs fill the arena. Measured at a
    /// million NRW volunteers over 5 million moves (five laps of the log): garbage settles
    /// at 51,000–63,000 entries and the free room never fell below 27,000, while the
    /// cleaner passes about one entry per move. Twice the ratio kept twice the free room
    /// but cost 10% more per move on average and doubled the 99th percentile.
    var cleanRatio: Int { arenaSize / max(1, arenaSize - live) / 2 + 1 }

    var arenaSize: Int { lats.count }

    /// Appends an arena entry (slot and tag) to cell `c`.
    mutating func append(_ entry: UInt32, _ point: GeoPoint, to c: Int) {
        let n = Int(cells[c].count)
        if n == cells[c].capacity { relocate(c) }
        let i = Int(cells[c].start) + n
        cells[c].count += 1
        need += Self.runLength(n + 1) - Self.runLength(n)  // after `relocate`, which may reset it
        lats[i] = point.lat
        lons[i] = point.lon
        slotsAt[i] = entry
        positions[Int(entry & Self.slotMask)] = UInt32(i)
    }

    /// Swap-removes arena entry `i` from cell `c`; an emptied cell gives up its run.
    mutating func detach(at i: Int, from c: Int) {
        let n = Int(cells[c].count), last = Int(cells[c].start) + n - 1
        need -= Self.runLength(n) - Self.runLength(n - 1)
        if i != last {
            lats[i] = lats[last]
            lons[i] = lons[last]
            slotsAt[i] = slotsAt[last]
            positions[Int(slotsAt[i] & Self.slotMask)] = UInt32(i)
        }
        cells[c].count -= 1
        if cells[c].count == 0 {
            markAbandoned(Int(cells[c].start), Int(cells[c].capacity))
            live -= Int(cells[c].capacity)
            cells[c].capacity = 0
        }
    }

    /// Gives full cell `c` a run with room for a quarter more at the tail of the log.
    private mutating func relocate(_ c: Int) {
        let n = Int(cells[c].count), length = n + n / 4 + 2
        while true {
            // Grow only when the points themselves, with spare room, no longer fit; stale
            // spare in runs the cleaner has not reached yet is no reason.
            let needed = need + length
            if needed > arenaSize - arenaSize / 32 {
                layOut(size: 2 * needed + 64)
                if cells[c].count < cells[c].capacity { return }
                continue
            }
            if let to = claim(length) {
                let from = Int(cells[c].start), old = Int(cells[c].capacity)
                copyRun(c, to: to, capacity: length)
                if old > 0 { markAbandoned(from, old) }
                live += length - old
                debt += cleanRatio * length
                return
            }
            // Rare: the proactive cleaning fell behind. Clean until the tail has room
            // (the cleaner may itself move this cell and give it room).
            cleanOldest()
            if cells[c].count < cells[c].capacity { return }
        }
    }

    /// Pays the cleaner's debt, at most `cleanQuantum` entries (and one run) at a time.
    mutating func clean() {
        var passed = 0
        while debt > 0 && passed < Self.cleanQuantum {
            if used == live {  // no garbage left to reclaim
                debt = 0
                return
            }
            let n = cleanOldest()
            passed += n
            debt -= n
        }
    }

    /// Passes the oldest run of the log: drops it when abandoned, else copies it to the
    /// tail with `spare` room. Returns its length.
    @discardableResult
    private mutating func cleanOldest() -> Int {
        let head = (tail - used + arenaSize) % arenaSize
        let s = Int(slotsAt[head] & Self.slotMask)
        guard s < positions.count, positions[s] == UInt32(head) else {
            let length = Int(lats[head].bitPattern)
            used -= length
            return length
        }
        let c = existingCell(row(lats[head]), column(lons[head]))
        precondition(Int(cells[c].start) == head, "index corrupt")
        let length = Int(cells[c].capacity), n = Int(cells[c].count)
        used -= length
        // The run's own entries are free now, so the smaller claim always succeeds; the
        // copy never moves an entry forward over one not yet copied (see `copyRun`).
        let wanted = n + Self.spare(n)
        let to: Int, capacity: Int
        if let t = claim(wanted) {
            (to, capacity) = (t, wanted)
        } else {
            (to, capacity) = (claim(n)!, n)
        }
        copyRun(c, to: to, capacity: capacity)
        live += capacity - length
        return length
    }

    /// Takes `length` contiguous free entries at the tail of the log, or returns nil
    /// (and changes nothing). When the free room wraps past the arena's end and only its
    /// part at the start is long enough, the part before the end is abandoned.
    private mutating func claim(_ length: Int) -> Int? {
        if used == 0 { tail = 0 }
        let free = arenaSize - used, toEnd = arenaSize - tail
        if length <= min(free, toEnd) {
            let start = tail
            tail = (tail + length) % arenaSize
            used += length
            return start
        }
        guard free > toEnd && length <= free - toEnd else { return nil }
        markAbandoned(tail, toEnd)
        used += toEnd + length
        tail = length % arenaSize
        return 0
    }

    /// Marks `length` entries from `start` as one abandoned run for the cleaner.
    private mutating func markAbandoned(_ start: Int, _ length: Int) {
        lats[start] = Double(bitPattern: UInt64(length))
        slotsAt[start] = Self.absent
    }

    /// Copies cell `c`'s entries to `to` and gives it a run of `capacity` there. Entries
    /// are copied in ascending order, so the runs may overlap when `to` is not after the
    /// old start (the cleaner's case).
    private mutating func copyRun(_ c: Int, to: Int, capacity: Int) {
        let from = Int(cells[c].start), n = Int(cells[c].count)
        withArena { lats, lons, slots, positions in
            for k in 0..<n {
                lats[to + k] = lats[from + k]
                lons[to + k] = lons[from + k]
                slots[to + k] = slots[from + k]
                positions[Int(slots[to + k] & Self.slotMask)] = UInt32(to + k)
            }
        }
        cells[c].start = UInt32(to)
        cells[c].capacity = UInt32(capacity)
    }

    /// The arena's arrays as buffers: one uniqueness check per copy, not one per entry.
    /// The buffers are valid only inside `body` (they must not escape it); callers index
    /// them with cell runs, which stay inside the arrays (see ``Arena``).
    mutating func withArena(_ body: (UnsafeMutableBufferPointer<Double>, UnsafeMutableBufferPointer<Double>,
                                     UnsafeMutableBufferPointer<UInt32>, UnsafeMutableBufferPointer<UInt32>) -> Void) {
        lats.withUnsafeMutableBufferPointer { lats in
            lons.withUnsafeMutableBufferPointer { lons in
                slotsAt.withUnsafeMutableBufferPointer { slots in
                    positions.withUnsafeMutableBufferPointer { positions in body(lats, lons, slots, positions) }
                }
            }
        }
    }

    /// Lays the arena out anew in cell order, `size` entries, every cell with `spare`
    /// room (an emptied cell with none). O(n): only when the population has outgrown the
    /// arena.
    mutating func layOut(size: Int) {
        let (oldLats, oldLons, oldSlots, oldCells) = (lats, lons, slotsAt, cells)
        assignRuns(minimumSize: size)
        let newCells = cells
        withArena { lats, lons, slots, positions in
            for c in oldCells.indices where oldCells[c].count > 0 {
                let from = Int(oldCells[c].start), to = Int(newCells[c].start)
                for k in 0..<Int(oldCells[c].count) {
                    lats[to + k] = oldLats[from + k]
                    lons[to + k] = oldLons[from + k]
                    slots[to + k] = oldSlots[from + k]
                    positions[Int(slots[to + k] & Self.slotMask)] = UInt32(to + k)
                }
            }
        }
    }

    /// Gives every cell a run of `count + spare` in cell order (none when empty), and a
    /// fresh zeroed arena of at least `minimumSize` entries and 1/10 more than the runs, for
    /// relocations. The caller fills the runs. Returns the entries in runs.
    @discardableResult
    mutating func assignRuns(minimumSize: Int) -> Int {
        var total = 0
        for c in cells.indices {
            let n = Int(cells[c].count)
            cells[c].start = UInt32(total)
            cells[c].capacity = UInt32(Self.runLength(n))
            total += Int(cells[c].capacity)
        }
        let size = max(minimumSize, total + total / 10 + 64)
        precondition(size < Int(Self.absent), "index too large")
        lats = Array(repeating: 0, count: size)
        lons = Array(repeating: 0, count: size)
        slotsAt = Array(repeating: 0, count: size)
        tail = total % size
        used = total
        live = total
        need = total
        debt = 0
        return total
    }
}
