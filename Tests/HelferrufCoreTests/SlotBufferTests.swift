import Testing
@testable import HelferrufCore

/// ``SlotBuffer`` manages its memory by hand: growth keeps what was written, and a read past
/// what was committed traps instead of returning stale memory.
@Suite struct SlotBufferTests {
    @Test func growingKeepsEverySlotInOrder() {
        let buffer = SlotBuffer(capacity: 16)
        for round in 0..<10 {
            let n = 7 << round
            let start = buffer.count
            let room = buffer.reserve(n)
            for k in 0..<n { room[k] = UInt32(start + k) }
            buffer.commit(n)
        }
        #expect(buffer.slots == (0..<buffer.count).map { UInt32($0) })
        buffer.removeAll()
        #expect(buffer.count == 0)
        #expect(buffer.slots.isEmpty)
    }

    @Test func readingPastTheCommittedSlotsTraps() async {
        await #expect(processExitsWith: .failure) {
            let buffer = SlotBuffer(capacity: 16)
            _ = buffer.reserve(4)  // room, but nothing committed
            _ = buffer[0]
        }
    }
}
