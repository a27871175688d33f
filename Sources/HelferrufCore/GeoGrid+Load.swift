extension GeoGrid {
    /// Replaces the contents with `points[k]` at slot `slots[k]` (tag `tags[k]`) in one pass (a counting
    /// sort by cell), much faster than a million single updates. Slots must be distinct.
    /// Cells are numbered tile by tile, row by row, so that neighbouring cells, and their
    /// runs in the arena, lie next to each other in memory.
    ///
    /// Points are counted per place in the tile directory (a 16 KB block per tile, so the
    /// counters of a state stay in cache), not per cell: the cell ids exist only after the
    /// count. The scatter then writes each point once through a cursor per place. Its
    /// writes land in random runs of the arena, which makes it the dearest pass (cache
    /// misses, see `docs/BENCHMARKS.md`).
    public mutating func load(slots: [UInt32], points: [GeoPoint], tags: [UInt8]? = nil) {
        precondition(slots.count == points.count && (tags?.count ?? points.count) == points.count)
        self = GeoGrid(cellDegrees: cellDegrees)
        let n = points.count
        var placeOf = [Int32](repeating: 0, count: n)
        var counts: [Int32] = []
        var maxSlot = -1
        for k in 0..<n {
            let p = points[k]
            precondition(p.isValid, "invalid point")
            let e = tileEntry(row(p.lat), column(p.lon))
            if counts.count < tileCells.count {
                counts.append(contentsOf: repeatElement(0, count: tileCells.count - counts.count))
            }
            placeOf[k] = Int32(e)
            counts[e] += 1
            maxSlot = max(maxSlot, Int(slots[k]))
        }
        precondition(maxSlot <= Int(Self.maxSlot), "slot too large")
        // Cells in tile order; `counts` then holds each place's next arena index.
        var places: [Int] = []
        for tile in tileDirectory where tile >= 0 {
            let block = Int(tile) << (2 * Self.tileShift)
            for place in block..<block + (1 << (2 * Self.tileShift)) where counts[place] > 0 {
                tileCells[place] = Int32(cells.count)
                cells.append(Cell(start: 0, count: UInt32(counts[place]), capacity: 0))
                places.append(place)
            }
        }
        // Room for the cells and tiles that later moves create.
        cells.reserveCapacity(cells.count + cells.count / 8)
        tileCells.reserveCapacity(tileCells.count + 4 << (2 * Self.tileShift))
        assignRuns(minimumSize: 0)
        for (c, place) in places.enumerated() { counts[place] = Int32(cells[c].start) }
        positions = Array(repeating: Self.absent, count: maxSlot + 1)
        let tags = tags ?? []
        withArena { lats, lons, entries, positions in
            counts.withUnsafeMutableBufferPointer { next in
                for k in 0..<n {
                    let e = Int(placeOf[k]), i = Int(next[e])
                    next[e] += 1
                    lats[i] = points[k].lat
                    lons[i] = points[k].lon
                    let slot = slots[k]
                    entries[i] = slot | UInt32(tags.isEmpty ? 0 : tags[k]) << 24
                    precondition(positions[Int(slot)] == Self.absent, "duplicate slot")
                    positions[Int(slot)] = UInt32(i)
                }
            }
        }
        count = n
    }
}
