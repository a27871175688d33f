import Foundation
import GRDB
import HelferrufCore
import PostgresNIO
import Testing
@testable import HelferrufStore

/// A value bound into a rig's raw statement.
enum RigValue: Sendable {
    case text(String), int(Int64), real(Double)
}

/// A store of one engine with one organisation, for the ledger's tests on both engines: the
/// store and its ledgers only through the storage boundary, plus raw statements (with `$1`,
/// `$2`… placeholders on both engines) to look at or set up what the ledger wrote.
struct LedgerRig: Sendable {
    let engine: Engine
    let store: any RecordStore
    let orgId: String
    /// A ledger on this database, as one node has it.
    let makeLedger: @Sendable (_ clock: @escaping @Sendable () -> Timestamp, _ onCommit: LedgerCommitHandler?) -> any RosterLedger
    /// Runs a statement; returns the first column of every row as text.
    let execute: @Sendable (_ sql: String, _ args: [RigValue]) async throws -> [String]
    /// Another node on the same database: a store and ledger of their own (PostgreSQL only).
    let otherNode: (@Sendable () async throws -> (any RecordStore, any RosterLedger))?

    func ledger(clock: @escaping @Sendable () -> Timestamp = { .testNow }, onCommit: LedgerCommitHandler? = nil) -> any RosterLedger {
        makeLedger(clock, onCommit)
    }

    /// Posts an open call of the rig's organisation (or `orgId`) needing `needed` helpers,
    /// running `from`…`to` hours after the test's now.
    func postCall(
        _ ledger: any RosterLedger, needed: Int, from: Int64 = 0, to: Int64 = 1, standby: Bool = false, orgId: String? = nil,
        adjust: (inout Call) -> Void = { _ in }
    ) async throws -> String {
        var call = Call(
            id: UUID().uuidString, orgId: orgId ?? self.orgId, orgName: "Test", title: "Sandbags", description: "", address: "",
            location: GeoPoint(lat: 50.9, lon: 6.9), radiusKm: 5, needed: needed, skills: [],
            startsAt: Timestamp.testNow.adding(millis: from * 3_600_000), endsAt: Timestamp.testNow.adding(millis: to * 3_600_000),
            createdAt: .testNow)
        call.standbyEnabled = standby
        adjust(&call)
        guard await ledger.submit(.createCall(call)).result == .done else { throw FixtureError.notCreated }
        return call.id
    }

    /// The confirmed volunteers of a call as the database holds them.
    func confirmedVolunteers(_ callId: String) async throws -> Set<String> {
        Set(try await execute("SELECT volunteer_id FROM confirmations WHERE call_id = $1", [.text(callId)]))
    }

    /// Rows of `table` (a constant) for the call.
    func count(_ table: String, callId: String) async throws -> Int {
        Int(try await execute("SELECT COUNT(*) FROM \(table) WHERE call_id = $1", [.text(callId)]).first ?? "") ?? -1
    }
}

extension Engine {
    /// Runs `body` on a new, empty database of this engine with one organisation.
    func withRig<T: Sendable>(maxOverlapping: Int = Ledger.defaultMaxOverlapping, _ body: (LedgerRig) async throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            let store = try Store(path: temporaryDatabasePath())
            let orgId = try store.createOrganisation(name: "Test", now: .testNow).0.id
            let execute: @Sendable (String, [RigValue]) async throws -> [String] = { sql, args in
                let sqliteSQL = sql.replacingOccurrences(of: "$", with: "?")
                let arguments = StatementArguments(args.map { value -> DatabaseValue in
                    switch value {
                    case .text(let s): return s.databaseValue
                    case .int(let i): return i.databaseValue
                    case .real(let d): return d.databaseValue
                    }
                })
                return try await store.pool.write { db in
                    try Row.fetchAll(db, sql: sqliteSQL, arguments: arguments).map { "\($0[0] ?? "")" }
                }
            }
            let rig = LedgerRig(
                engine: self, store: store, orgId: orgId,
                makeLedger: { clock, onCommit in Ledger(store: store, clock: clock, maxOverlapping: maxOverlapping, onCommit: onCommit) },
                execute: execute, otherNode: nil)
            return try await body(rig)
        case .postgres:
            return try await TestPostgres.withFreshDatabase { location in
                let store = try await TestPostgres.openStore(location)
                let orgId = try await store.createOrganisation(name: "Test", now: .testNow).0.id
                let client = store.database.client
                let execute: @Sendable (String, [RigValue]) async throws -> [String] = { sql, args in
                    var query = PostgresQuery(unsafeSQL: sql)
                    for value in args {
                        switch value {
                        case .text(let s): try query.binds.append(s, context: .default)
                        case .int(let i): try query.binds.append(i, context: .default)
                        case .real(let d): try query.binds.append(d, context: .default)
                        }
                    }
                    var out: [String] = []
                    for try await row in try await client.query(query) {
                        guard let cell = row.first else { continue }
                        switch cell.dataType {
                        case _ where cell.bytes == nil: out.append("")
                        case .int2, .int4, .int8: out.append(String(try cell.decode(Int64.self)))
                        case .float8: out.append(String(try cell.decode(Double.self)))
                        default: out.append(try cell.decode(String.self))
                        }
                    }
                    return out
                }
                let nodes = NodeList()
                let rig = LedgerRig(
                    engine: self, store: store, orgId: orgId,
                    makeLedger: { clock, onCommit in
                        PostgresLedger(database: store.database, clock: clock, maxOverlapping: maxOverlapping, onCommit: onCommit)
                    },
                    execute: execute,
                    otherNode: {
                        let other = try await TestPostgres.openStore(location)
                        nodes.add(other.database)
                        return (other, PostgresLedger(database: other.database, clock: { .testNow }, maxOverlapping: maxOverlapping))
                    })
                let result: Result<T, any Error>
                do {
                    result = .success(try await body(rig))
                } catch {
                    result = .failure(error)
                }
                for database in nodes.all + [store.database] { await database.close() }
                return try result.get()
            }
        }
    }
}

/// The other nodes' databases a test opened, closed at its end.
private final class NodeList: @unchecked Sendable {
    private let lock = NSLock()
    private var databases: [HelferrufStore.PostgresDatabase] = []
    func add(_ d: HelferrufStore.PostgresDatabase) { lock.withLock { databases.append(d) } }
    var all: [HelferrufStore.PostgresDatabase] { lock.withLock { databases } }
}

/// Accepts every volunteer in `volunteers` concurrently; returns each one's result, in
/// submission order.
func acceptAll(_ ledger: any RosterLedger, callId: String, volunteers: [String], eligible: Bool = true) async -> [(String, RosterOutcome.Result)] {
    await withTaskGroup(of: (Int, String, RosterOutcome.Result).self) { group in
        for (i, vid) in volunteers.enumerated() {
            group.addTask {
                let outcome = await ledger.submit(.accept(callId: callId, volunteerId: vid, eligible: eligible))
                return (i, vid, outcome.result)
            }
        }
        var results: [(Int, String, RosterOutcome.Result)] = []
        for await r in group { results.append(r) }
        return results.sorted { $0.0 < $1.0 }.map { ($0.1, $0.2) }
    }
}
