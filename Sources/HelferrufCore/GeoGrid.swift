/// A spatial index of points, keyed by small integer slots, on a grid of equal-angle cells.
///
/// Updates and removals are O(1): each slot remembers its cell and its position in that
/// cell's array (swap-remove). A radius query visits only the cells that overlap the
/// circle's bounding box, or every non-empty cell when that is fewer, and checks each
/// candidate with the exact haversine.
///
/// Cell size: 0.01° (about 1.1 km × 0.7 km in North Rhine-Westphalia). A prototype on a
/// population-weighted million points measured 0.01° as the best size for a mix of 1–25 km
/// queries (`../shared/STACK-NOTES.md`); smaller cells only help the densest city centres.
public struct GeoGrid: Sendable {
    /// Cell edge in degrees.
    public let cellDegrees: Double
    private let lonCells: Int
    private var cells: [Int: [Entry]] = [:]
    private var places: [Place?] = []
    public private(set) var count = 0

    private struct Entry: Sendable {
        var slot: UInt32
        var point: GeoPoint
    }

    private struct Place: Sendable {
        var cell: Int
        var index: Int
    }

    public init(cellDegrees: Double = 0.01) {
        precondition(cellDegrees > 0 && cellDegrees <= 10)
        self.cellDegrees = cellDegrees
        self.lonCells = Int((360 / cellDegrees).rounded(.up))
    }

    /// Where `slot` is, if it is in the index.
    public func position(of slot: UInt32) -> GeoPoint? {
        guard Int(slot) < places.count, let place = places[Int(slot)] else { return nil }
        return cells[place.cell]![place.index].point
    }

    /// Inserts `slot` at `point`, or moves it there.
    public mutating func update(_ slot: UInt32, to point: GeoPoint) {
        let key = cellKey(point)
        let s = Int(slot)
        if s >= places.count {
            places.append(contentsOf: repeatElement(nil, count: s - places.count + 1))
        }
        if let place = places[s] {
            if place.cell == key {
                cells[key]![place.index].point = point
                return
            }
            detach(slot, from: place)
        } else {
            count += 1
        }
        var list = cells[key, default: []]
        list.append(Entry(slot: slot, point: point))
        places[s] = Place(cell: key, index: list.count - 1)
        cells[key] = list
    }

    /// Removes `slot`; does nothing when it is not in the index.
    public mutating func remove(_ slot: UInt32) {
        let s = Int(slot)
        guard s < places.count, let place = places[s] else { return }
        detach(slot, from: place)
        places[s] = nil
        count -= 1
    }

    private mutating func detach(_ slot: UInt32, from place: Place) {
        var list = cells.removeValue(forKey: place.cell)!
        let last = list.count - 1
        if place.index != last {
            list[place.index] = list[last]
            places[Int(list[place.index].slot)]!.index = place.index
        }
        list.removeLast()
        if !list.isEmpty { cells[place.cell] = list }
    }

    /// Calls `body` with every slot within `radiusKm` of `center` (inclusive) and its distance.
    public func forEach(within radiusKm: Double, of center: GeoPoint, _ body: (UInt32, Double) -> Void) {
        let box = Geo.boundingBox(center: center, radiusKm: radiusKm)
        let rowLo = row(box.latLo), rowHi = row(box.latHi)
        func visit(_ list: [Entry]) {
            for entry in list {
                let d = Geo.distanceKm(center, entry.point)
                if d <= radiusKm { body(entry.slot, d) }
            }
        }
        guard let half = box.lonHalfWidth else {
            for (key, list) in cells where (rowLo...rowHi).contains(key / lonCells) { visit(list) }
            return
        }
        let colLo = rawColumn(center.lon - half)
        let span = min(lonCells, rawColumn(center.lon + half) - colLo + 1)
        if (rowHi - rowLo + 1) * span > cells.count {
            // Fewer non-empty cells than cells in the box: test each cell's key instead.
            for (key, list) in cells {
                let r = key / lonCells, c = key % lonCells
                guard r >= rowLo, r <= rowHi else { continue }
                let offset = wrap(c - colLo)
                if offset < span { visit(list) }
            }
            return
        }
        for r in rowLo...rowHi {
            for k in 0..<span {
                let c = wrap(colLo + k)
                if let list = cells[r * lonCells + c] { visit(list) }
            }
        }
    }

    private func row(_ lat: Double) -> Int {
        Int(((lat + 90) / cellDegrees).rounded(.down))
    }

    /// Column of a longitude before wrapping; may lie outside 0..<lonCells near ±180°.
    private func rawColumn(_ lon: Double) -> Int {
        Int(((lon + 180) / cellDegrees).rounded(.down))
    }

    /// Wraps a column into 0..<lonCells: the grid is a ring at ±180°.
    private func wrap(_ column: Int) -> Int {
        ((column % lonCells) + lonCells) % lonCells
    }

    private func cellKey(_ p: GeoPoint) -> Int {
        row(p.lat) * lonCells + wrap(rawColumn(p.lon))
    }
}
