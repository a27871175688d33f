import Foundation
import GRDB
import Testing
@testable import HelferrufStore

/// The database lives on a 2 MiB tmpfs that fills up during a burst of accepts.
@Suite struct DiskFullTests {
    @Test func aFullDiskAnswersUnavailableAndRecoversOnceSpaceIsFreed() async throws {
        let mountPoint = FileManager.default.temporaryDirectory.appendingPathComponent("helferruf-full-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: mountPoint) }
        guard run("/bin/mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mountPoint.path) == 0 else {
            try Test.cancel("skipped: cannot mount a tmpfs at \(mountPoint.path) (needs root; CI runs as root)")
        }
        defer { _ = run("/bin/umount", "-l", mountPoint.path) }

        let t = try TestDatabase(folder: mountPoint)
        let ledger = t.ledger()
        let cid = try await t.postCall(ledger, needed: 100_000)
        // Leave about 600 KiB free, then send long volunteer ids until the disk is full.
        let filler = mountPoint.appendingPathComponent("filler")
        let free = try freeBytes(mountPoint.path)
        #expect(FileManager.default.createFile(atPath: filler.path, contents: Data(count: max(0, free - 600 * 1024))))
        let pad = String(repeating: "x", count: 900)
        var told: [(String, RosterOutcome.Result)] = []
        for round in 0..<60 {
            let burst = (0..<50).map { "r\(round)-\($0)-\(pad)" }
            told += await acceptAll(ledger, callId: cid, volunteers: burst)
            if told.contains(where: { $0.1 == .unavailable }) { break }
        }
        let refused = told.filter { $0.1 == .unavailable }.map(\.0)
        #expect(!refused.isEmpty, "the disk never filled up")
        #expect(!confirmedSet(told).isEmpty, "some accepts committed before the disk was full")
        #expect(ledger.statistics.failedBatches > 0)
        #expect(await t.store.isReadable(), "reads keep working on a full disk")
        // Nobody was told confirmed without being stored; nobody refused was stored.
        #expect(try t.confirmedVolunteers(cid) == confirmedSet(told))

        try FileManager.default.removeItem(at: filler)
        let retried = await acceptAll(ledger, callId: cid, volunteers: Array(refused.prefix(150)))
        #expect(retried.allSatisfy { $0.1 == .answer(.confirmed) }, "the same ledger works again once space is free")
        let all = confirmedSet(told).union(confirmedSet(retried))
        #expect(try t.confirmedVolunteers(cid) == all)
        #expect(try t.storedCount(cid).confirmed == all.count)
        #expect(try t.integrityCheck() == "ok")
    }

    private func freeBytes(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfFileSystem(forPath: path)
        return (attributes[.systemFreeSize] as? NSNumber)?.intValue ?? 0
    }

    private func run(_ tool: String, _ args: String...) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }
}
