import Foundation
import GRDB
import HelferrufCore
@testable import HelferrufStore

/// A store in a fresh temporary folder with one organisation, removed on deinit.
final class TestDatabase: @unchecked Sendable {
    let folder: URL
    let store: Store
    let orgId: String
    var path: String { store.path }

    init(folder: URL? = nil, busyTimeout: TimeInterval = 5) throws {
        let base = folder ?? FileManager.default.temporaryDirectory.appendingPathComponent("helferruf-store-\(UUID().uuidString)")
        self.folder = base
        store = try Store(path: base.appendingPathComponent("db.sqlite").path, busyTimeout: busyTimeout)
        orgId = try store.createOrganisation(name: "Test", now: .testNow).0.id
    }

    deinit {
        try? FileManager.default.removeItem(at: folder)
    }

    func ledger(onCommit: LedgerCommitHandler? = nil) -> Ledger {
        Ledger(store: store, clock: { .testNow }, onCommit: onCommit)
    }

    /// Posts an open call needing `needed` helpers and returns its id.
    func postCall(_ ledger: Ledger, needed: Int) async throws -> String {
        let call = Call(
            id: UUID().uuidString, orgId: orgId, orgName: "Test", title: "Sandbags", description: "", address: "",
            location: GeoPoint(lat: 50.9, lon: 6.9), radiusKm: 5, needed: needed, skills: [],
            startsAt: .testNow, endsAt: Timestamp.testNow.adding(millis: 3_600_000), createdAt: .testNow)
        let outcome = await ledger.submit(.createCall(call))
        guard outcome.result == .done else { throw FixtureError.notCreated }
        return call.id
    }

    /// The confirmed volunteers of a call as the database holds them.
    func confirmedVolunteers(_ callId: String) throws -> Set<String> {
        try store.pool.read { db in
            Set(try String.fetchAll(db, sql: "SELECT volunteer_id FROM confirmations WHERE call_id = ?", arguments: [callId]))
        }
    }

    /// The call's stored `confirmed` count and status.
    func storedCount(_ callId: String) throws -> (confirmed: Int, status: String) {
        try store.pool.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT confirmed, status FROM calls WHERE id = ?", arguments: [callId])!
            return (row["confirmed"], row["status"])
        }
    }

    /// A second connection to the same file that may keep a transaction open across
    /// accesses: it holds the write lock from `BEGIN IMMEDIATE` until `COMMIT`.
    func lockHolder() throws -> DatabaseQueue {
        var config = Configuration()
        config.allowsUnsafeTransactions = true
        return try DatabaseQueue(path: path, configuration: config)
    }

    func integrityCheck() throws -> String {
        try store.pool.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "" }
    }
}

enum FixtureError: Error { case notCreated }

extension Timestamp {
    static let testNow = Timestamp(millis: 1_795_000_000_000)
}

func confirmedSet(_ results: [(String, RosterOutcome.Result)]) -> Set<String> {
    Set(results.filter { $0.1 == .answer(.confirmed) }.map(\.0))
}
