/// A growable list of slots that radius queries append to. Reused across queries, it
/// allocates only when a result is larger than any before; appending a cell costs one
/// capacity check, not one per slot.
///
/// Why a raw pointer is safe here: `base` is owned by this object alone (allocated in
/// `init` and `grow`, freed in `grow` and `deinit`), writers go through ``reserve(_:)``,
/// which makes room before it hands out the pointer, and only ``commit(_:)`` makes written
/// slots readable; reads check their index (``subscript(_:)`` traps past `count`). The class
/// is not `Sendable`, so the compiler keeps each buffer with one owner (the matcher, under
/// the hub's lock).
public final class SlotBuffer {
    public private(set) var count = 0
    private(set) var base: UnsafeMutablePointer<UInt32>
    private var capacity: Int

    public init(capacity: Int = 1024) {
        self.capacity = max(16, capacity)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    public func removeAll() { count = 0 }

    public subscript(i: Int) -> UInt32 {
        precondition(i >= 0 && i < count)
        return base[i]
    }

    /// The slots as an array.
    public var slots: [UInt32] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// Room for `n` more slots; returns where they go.
    @inline(__always)
    func reserve(_ n: Int) -> UnsafeMutablePointer<UInt32> {
        if count + n > capacity { grow(count + n) }
        return base + count
    }

    @inline(__always)
    func commit(_ n: Int) { count += n }

    private func grow(_ needed: Int) {
        let newCapacity = max(needed, 2 * capacity)
        let fresh = UnsafeMutablePointer<UInt32>.allocate(capacity: newCapacity)
        fresh.update(from: base, count: count)
        base.deallocate()
        base = fresh
        capacity = newCapacity
    }
}
