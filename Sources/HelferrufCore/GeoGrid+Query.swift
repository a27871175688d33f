import Foundation

/// Which slots a radius query keeps: those whose word has every `required` bit.
/// The words are indexed by slot (see ``SkillBits`` for their meaning in the matcher).
/// The index's tags must equal each word's low 8 bits (``GeoGrid/setTag(_:_:)``): those
/// bits are tested on the tag, in cell order; the words are read only for higher bits.
public struct SlotFilter: Sendable {
    public var words: [UInt64]
    public var required: UInt64

    public init(words: [UInt64], required: UInt64) {
        self.words = words
        self.required = required
    }
}

/// Decides on an arena entry: slot in the low 24 bits, tag in the high 8.
protocol SlotPredicate {
    func keeps(_ entry: UInt32) -> Bool
}

struct KeepAll: SlotPredicate {
    @inline(__always) func keeps(_ entry: UInt32) -> Bool { true }
}

struct KeepTagged: SlotPredicate {
    let tag: UInt32
    @inline(__always) func keeps(_ entry: UInt32) -> Bool { entry & tag == tag }
}

struct KeepWords: SlotPredicate {
    let words: UnsafeBufferPointer<UInt64>
    let tag: UInt32
    let required: UInt64
    @inline(__always) func keeps(_ entry: UInt32) -> Bool {
        guard entry & tag == tag else { return false }
        let s = Int(entry & GeoGrid.slotMask)
        return s < words.count && words[s] & required == required
    }
}

extension GeoGrid {
    /// Appends to `out` every slot within `radiusKm` of `center`, inclusive: exactly the
    /// slots whose `Geo.distanceKm(center, point) <= radiusKm`. With a `filter`, only slots
    /// whose filter word holds the required bits. `out` is not cleared, so a caller that
    /// reuses it queries without allocating.
    ///
    /// Only the rows and, per row, the columns that can meet the circle are visited.
    /// Cells wholly inside the circle are copied without a distance test; points in the
    /// other cells are settled by cheap bounds on the haversine term, the rest by a
    /// polynomial form of it (no libm call), and the exact haversine decides the few within
    /// 1e-7 (relative) of the radius. Near the
    /// poles, for radii over 500 km and under 10 m, and in a sparse index, every candidate
    /// takes the exact test.
    public func query(_ center: GeoPoint, radiusKm: Double, into out: SlotBuffer, filter: SlotFilter? = nil) {
        guard count > 0, radiusKm >= 0, center.isValid else { return }
        if let filter {
            let tag = UInt32(filter.required & 0xFF) << 24
            if filter.required >> 8 == 0 {
                collect(center, radiusKm, out, KeepTagged(tag: tag))
            } else {
                filter.words.withUnsafeBufferPointer { words in
                    collect(center, radiusKm, out, KeepWords(words: words, tag: tag, required: filter.required))
                }
            }
        } else {
            collect(center, radiusKm, out, KeepAll())
        }
    }

    /// Calls `body` with every slot within `radiusKm` of `center` and its exact distance.
    public func forEach(within radiusKm: Double, of center: GeoPoint, _ body: (UInt32, Double) -> Void) {
        let found = SlotBuffer()
        query(center, radiusKm: radiusKm, into: found)
        for slot in found.slots {
            let i = Int(positions[Int(slot)])
            body(slot, Geo.distanceKm(center, GeoPoint(lat: lats[i], lon: lons[i])))
        }
    }

    private func collect<P: SlotPredicate>(_ center: GeoPoint, _ radiusKm: Double, _ out: SlotBuffer, _ keep: P) {
        let box = Geo.boundingBox(center: center, radiusKm: radiusKm)
        let rowLo = row(box.latLo), rowHi = row(box.latHi)
        // A sparse index (far fewer cells than the circle covers) is cheaper to scan by its
        // list of cells than cell by cell.
        let boxCells = Double(rowHi - rowLo + 1) * min(Double(lonCells), 2 * (box.lonHalfWidth ?? 180) * inverseCell + 2)
        guard radiusKm >= 0.01, radiusKm <= 500, abs(center.lat) <= 80, let half = box.lonHalfWidth,
              center.lon - half > -180, center.lon + half < 180, boxCells <= 4 * Double(cells.count)
        else {
            exactScan(center, radiusKm, rowLo, rowHi, box.lonHalfWidth, out, keep)
            return
        }
        let ring = Ring(center: center, radiusKm: radiusKm)
        let margin = 1e-9
        lats.withUnsafeBufferPointer { lats in
            lons.withUnsafeBufferPointer { lons in
                slotsAt.withUnsafeBufferPointer { slots in
                    let arena = Arena(lats: lats, lons: lons, slots: slots)
                    for r in rowLo...rowHi {
                        // The row's band, widened for points that rounding put in this row.
                        let latA = Double(r) * cellDegrees - 90 - margin, latB = latA + cellDegrees + 2 * margin
                        guard let outer = ring.outerHalfWidth(latA, latB) else { continue }
                        let band = ring.band(latA, latB)
                        let reach = min(outer, half)
                        let lo = rawColumn(center.lon - reach), hi = rawColumn(center.lon + reach)
                        var inLo = 0, inHi = -1
                        if let inner = ring.innerHalfWidth(latA, latB) {
                            inLo = max(lo, Int(((center.lon - inner + 180 + margin) * inverseCell).rounded(.up)))
                            while Double(inLo) * cellDegrees - 180 - margin < center.lon - inner { inLo += 1 }
                            inHi = min(hi, Int(((center.lon + inner + 180 - margin) * inverseCell).rounded(.down)) - 1)
                            while Double(inHi + 1) * cellDegrees - 180 + margin > center.lon + inner { inHi -= 1 }
                        }
                        for c in lo...hi {
                            let id = cellIdIfPresent(r, c)
                            if id < 0 { continue }
                            let cell = cells[id]
                            if cell.count == 0 { continue }
                            if c >= inLo && c <= inHi {
                                arena.copy(cell, out, keep)
                            } else {
                                arena.test(cell, ring, band, center, radiusKm, out, keep)
                            }
                        }
                    }
                }
            }
        }
    }

    /// The general path: every cell of the bounding box's rows and columns (or every cell
    /// that exists, when that is fewer), each point with the exact haversine.
    private func exactScan<P: SlotPredicate>(_ center: GeoPoint, _ radiusKm: Double, _ rowLo: Int, _ rowHi: Int, _ half: Double?, _ out: SlotBuffer, _ keep: P) {
        let colLo = half.map { rawColumn(center.lon - $0) } ?? 0
        let span = half.map { min(lonCells, rawColumn(center.lon + $0) - colLo + 1) } ?? lonCells
        func visit(_ cell: Cell) {
            for k in Int(cell.start)..<Int(cell.start + cell.count)
            where Geo.distanceKm(center, GeoPoint(lat: lats[k], lon: lons[k])) <= radiusKm && keep.keeps(slotsAt[k]) {
                out.reserve(1).pointee = slotsAt[k] & GeoGrid.slotMask
                out.commit(1)
            }
        }
        if (rowHi - rowLo + 1) * span > cells.count {
            // A cell's row and column are those of any of its points.
            for cell in cells where cell.count > 0 {
                let r = row(lats[Int(cell.start)])
                if r >= rowLo && r <= rowHi && wrap(column(lons[Int(cell.start)]) - colLo) < span { visit(cell) }
            }
            return
        }
        for r in rowLo...rowHi {
            for k in 0..<span {
                let id = cellIdIfPresent(r, wrap(colLo + k))
                if id >= 0 { visit(cells[id]) }
            }
        }
    }
}

/// The index's arrays during one query, without bounds checks or retains per access.
///
/// Safe because the buffers come from `withUnsafeBufferPointer` on the index's own arrays
/// and never leave that closure (``GeoGrid/query(_:radiusKm:into:filter:)``), and every
/// index is a cell's `start ..< start + count`, which the index keeps inside its arrays
/// (debug builds check each access; `GeoGridPropertyTests` compares thousands of random
/// moves and queries against a brute-force scan).
struct Arena {
    let lats: UnsafeBufferPointer<Double>
    let lons: UnsafeBufferPointer<Double>
    let slots: UnsafeBufferPointer<UInt32>

    /// Appends the cell's slots that `keep` accepts (the whole cell is inside the circle).
    @inline(__always)
    func copy<P: SlotPredicate>(_ cell: GeoGrid.Cell, _ out: SlotBuffer, _ keep: P) {
        let from = Int(cell.start), n = Int(cell.count)
        if P.self == KeepAll.self {
            let buf = out.reserve(n)
            for k in 0..<n { buf[k] = slots[from + k] & GeoGrid.slotMask }
            out.commit(n)
            return
        }
        appendBranchFree(from, n, out) { k in keep.keeps(slots[k]) }
    }

    /// Appends the cell's slots within the radius that `keep` accepts: the series form of
    /// the haversine decides, the exact one only within 1e-7 of the radius.
    @inline(__always)
    func test<P: SlotPredicate>(_ cell: GeoGrid.Cell, _ ring: Ring, _ band: Ring.Band, _ center: GeoPoint, _ radiusKm: Double, _ out: SlotBuffer, _ keep: P) {
        appendBranchFree(Int(cell.start), Int(cell.count), out) { k in
            // Bounds on h from x²/4 ≥ sin²(x/2) ≥ x²/4 · (1 − x²/12) and the row's range of
            // cos φ settle all but the points within about 2e-4 of the radius.
            let dPhi = lats[k] * Ring.toRadians - ring.phi, dLambda = (lons[k] - ring.lon) * Ring.toRadians
            let a = dPhi * dPhi, b = dLambda * dLambda
            var inside = 0.25 * (a + band.cosMax * b) <= ring.inner
            if !inside && 0.25 * (a * (1 - a * (1.0 / 12)) + band.cosMin * b * (1 - b * (1.0 / 12))) <= ring.outer {
                let h = ring.haversineTerm(lats[k], lons[k])
                inside = h <= ring.inner
                    || (h <= ring.outer && Geo.distanceKm(center, GeoPoint(lat: lats[k], lon: lons[k])) <= radiusKm)
            }
            return inside && keep.keeps(slots[k])
        }
    }

    /// Writes every candidate slot and advances only past accepted ones, so the outcome of
    /// each test is data, not a branch the CPU must guess.
    @inline(__always)
    private func appendBranchFree(_ from: Int, _ n: Int, _ out: SlotBuffer, _ accept: (Int) -> Bool) {
        let buf = out.reserve(n)
        var w = 0
        for k in from..<from + n {
            buf[w] = slots[k] & GeoGrid.slotMask
            w &+= accept(k) ? 1 : 0
        }
        out.commit(w)
    }
}

/// The circle of a query in haversine terms: a point at distance d has
/// h = sin²(Δφ/2) + cos φ₁ cos φ₂ sin²(Δλ/2) = sin²(d / 2R), which grows with d, so
/// comparing h with that of the radius decides membership without asin or sqrt.
struct Ring {
    let phi: Double
    let lon: Double
    let cosPhi: Double
    let sinPhi: Double
    /// h of the radius, shrunk / grown by 1e-7: below `inner` is surely inside, above
    /// `outer` surely outside; in between the exact haversine decides.
    let inner: Double
    let outer: Double

    static let toRadians = Double.pi / 180

    init(center: GeoPoint, radiusKm: Double) {
        phi = center.lat * Self.toRadians
        lon = center.lon
        cosPhi = cos(phi)
        sinPhi = sin(phi)
        let s = sin(radiusKm / (2 * Geo.earthRadiusKm))
        inner = s * s * (1 - 1e-7)
        outer = s * s * (1 + 1e-7)
    }

    /// h of a point by short series instead of libm's sin and cos. Valid (relative error
    /// far below 1e-7) for |Δφ| ≤ 0.2 rad and |Δλ| ≤ 1.2 rad, which holds for every point
    /// the fast path visits: centre within 80° of the equator, radius ≤ 500 km, no wrap at
    /// ±180°.
    @inline(__always)
    func haversineTerm(_ lat: Double, _ lon: Double) -> Double {
        let d = lat * Self.toRadians - phi
        let a = 0.5 * d, a2 = a * a
        let sinA = a * (1 - a2 * (1.0 / 6) * (1 - a2 * (1.0 / 20)))
        let d2 = d * d
        let cosD = 1 - d2 * 0.5 * (1 - d2 * (1.0 / 12) * (1 - d2 * (1.0 / 30)))
        let sinD = d * (1 - d2 * (1.0 / 6) * (1 - d2 * (1.0 / 20) * (1 - d2 * (1.0 / 42))))
        let cosLat = cosPhi * cosD - sinPhi * sinD
        let b = 0.5 * (lon - self.lon) * Self.toRadians, b2 = b * b
        let sinB = b * (1 - b2 * (1.0 / 6) * (1 - b2 * (1.0 / 20) * (1 - b2 * (1.0 / 42) * (1 - b2 * (1.0 / 72)))))
        return sinA * sinA + cosPhi * cosLat * (sinB * sinB)
    }

    /// cos φ₁ · cos φ over a band of latitude, at least and at most.
    struct Band {
        var cosMin: Double
        var cosMax: Double
    }

    func band(_ latA: Double, _ latB: Double) -> Band {
        let a = cos(latA * Self.toRadians), b = cos(latB * Self.toRadians)
        let top = latA <= 0 && latB >= 0 ? 1 : max(a, b)
        return Band(cosMin: cosPhi * min(a, b), cosMax: cosPhi * top)
    }

    /// Largest |Δλ| in degrees that a point of the band [latA, latB] can have and still be
    /// within the outer circle; nil when no point of the band can be.
    func outerHalfWidth(_ latA: Double, _ latB: Double) -> Double? {
        let a = latA * Self.toRadians, b = latB * Self.toRadians
        let nearest = (a...b).contains(phi) ? 0 : min(abs(a - phi), abs(b - phi))
        let hav = sin(nearest / 2) * sin(nearest / 2)
        let s = (outer - hav) / (cosPhi * min(cos(a), cos(b)))
        if s < 0 { return nil }
        return 2 * asin(min(1, s.squareRoot())) / Self.toRadians + 1e-9
    }

    /// Largest |Δλ| in degrees such that all four corners of a cell spanning the band
    /// [latA, latB] are within the inner circle; a latitude-longitude cell's farthest point
    /// from the centre is one of its corners. Nil when no cell of the band is inside.
    func innerHalfWidth(_ latA: Double, _ latB: Double) -> Double? {
        func width(_ lat: Double) -> Double {
            let p = lat * Self.toRadians
            let hav = sin((p - phi) / 2) * sin((p - phi) / 2)
            return (inner - hav) / (cosPhi * cos(p))
        }
        let s = min(width(latA), width(latB))
        if s <= 0 || s >= 1 { return nil }
        return 2 * asin(s.squareRoot()) / Self.toRadians - 1e-9
    }
}
