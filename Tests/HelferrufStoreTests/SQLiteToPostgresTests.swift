import Foundation
import GRDB
import HelferrufCore
import PostgresNIO
import Testing
@testable import HelferrufStore

/// `helferruf migrate`: an SQLite installation copied into an empty PostgreSQL database
/// arrives whole (every table, every column, every value), and a database that is not empty
/// is refused without a write.
@Suite(.enabled(if: TestPostgres.configured, "HELFERRUF_TEST_POSTGRES_URL is not set"))
struct SQLiteToPostgresTests {
    @Test func copiesEveryTableValueForValue() async throws {
        let source = try await populatedSource()
        try await TestPostgres.withFreshDatabase { location in
            let summary = try await SQLiteToPostgres.migrate(from: source.path, to: location)
            #expect(summary.rows["calls"] == 3)
            #expect(summary.rows["confirmations"] == 3)
            #expect(summary.rows.filter { $0.value == 0 }.isEmpty, "the fixture fills every table")
            let database = try await PostgresDatabase(location: location)
            let tables = try await SQLiteToPostgres.columns(database.client, database.logger)
            #expect(tables.map(\.name).sorted() == Set(SQLiteToPostgres.tableNames).sorted())
            for table in tables {
                let expected = try sqliteRows(source.store, table)
                let copied = try await postgresRows(database.client, table)
                #expect(copied == expected, "table \(table.name)")
            }
            // The engine reads the copy as it read the original.
            let store = PostgresStore(database: database)
            #expect(try await store.organisations().map(\.name).sorted() == ["Second", "Test"])
            #expect(try await store.blocks(orgId: source.orgId).count == 1)
            await database.close()
        }
    }

    @Test func refusesADatabaseThatIsNotEmptyAndWritesNothing() async throws {
        let source = try await populatedSource()
        try await TestPostgres.withFreshDatabase { location in
            _ = try await SQLiteToPostgres.migrate(from: source.path, to: location)
            let database = try await PostgresDatabase(location: location)
            let tables = try await SQLiteToPostgres.columns(database.client, database.logger)
            var before: [String: [[Value]]] = [:]
            for table in tables { before[table.name] = try await postgresRows(database.client, table) }
            await #expect(throws: StoreError.self) {
                _ = try await SQLiteToPostgres.migrate(from: source.path, to: location)
            }
            for table in tables { #expect(try await postgresRows(database.client, table) == before[table.name]) }
            await database.close()
        }
    }

    @Test func aMissingSourceFileIsAnErrorNotANewDatabase() async throws {
        try await TestPostgres.withFreshDatabase { location in
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-\(UUID().uuidString).sqlite").path
            await #expect(throws: StoreError.self) { _ = try await SQLiteToPostgres.migrate(from: path, to: location) }
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }

    /// An SQLite store with rows in as many tables as the store's own operations fill.
    private func populatedSource() async throws -> TestDatabase {
        let t = try TestDatabase()
        let store = t.store
        _ = try store.createOrganisation(name: "Second", now: .testNow)
        var volunteers: [String] = []
        for i in 0..<4 {
            let (profile, _) = try await store.createVolunteer(
                displayName: "Helfer \(i)", skills: ["first_aid"], maxDistanceKm: 12.5, contact: "+49 170 000\(i)",
                fatigue: FatigueLimits(maxAlertsPerDay: 3), now: .testNow)
            volunteers.append(profile.id)
        }
        let account = try store.createAccount(orgId: t.orgId, email: "leitung@example.org", passwordHash: "$2b$12$hash", now: .testNow)
        _ = try await store.createSession(accountId: account.id, now: .testNow, limits: SessionLimits(idleMillis: 3_600_000, lifetimeMillis: 86_400_000))
        _ = try await store.vapidPrivateKey(now: .testNow)
        let subscription = PushSubscription(
            endpoint: "https://push.example.org/abc", p256dh: [4] + Array(repeating: 7, count: 64), auth: Array(repeating: 9, count: 16),
            createdAt: .testNow)
        _ = try await store.upsertPushSubscription(volunteerId: volunteers[0], subscription)
        _ = try await store.block(orgId: t.orgId, volunteerId: volunteers[3], now: .testNow)

        let ledger = t.ledger()
        let open = try await t.postCall(ledger, needed: 2)
        let cancelled = try await t.postCall(ledger, needed: 1)
        _ = await ledger.submit(.recordAlerts(callId: open, volunteerIds: volunteers))
        _ = await ledger.submit(.recordSuppressed(callId: open, volunteerIds: [volunteers[3]], reason: .quiet))
        _ = await ledger.submit(.funnel(callId: open, volunteerId: volunteers[0], stage: .received))
        _ = await ledger.submit(.funnel(callId: open, volunteerId: volunteers[0], stage: .seen))
        _ = await ledger.submit(.accept(callId: open, volunteerId: volunteers[0], eligible: true))
        _ = await ledger.submit(.accept(callId: open, volunteerId: volunteers[1], eligible: true))
        _ = await ledger.submit(.decline(callId: open, volunteerId: volunteers[2]))
        _ = await ledger.submit(.checkin(callId: open, volunteerId: volunteers[0], arrived: true))
        _ = await ledger.submit(.postMessage(callId: open, orgId: t.orgId, text: "Bitte Gummistiefel mitbringen"))
        _ = await ledger.submit(.accept(callId: cancelled, volunteerId: volunteers[2], eligible: true))
        _ = await ledger.submit(.withdraw(callId: cancelled, volunteerId: volunteers[2]))
        _ = await ledger.submit(.cancel(callId: cancelled, orgId: t.orgId))
        var queued = Call(
            id: UUID().uuidString, orgId: t.orgId, orgName: "Test", title: "Deich", description: "", address: "",
            location: GeoPoint(lat: 50.9, lon: 6.9), radiusKm: 5, needed: 1, skills: [],
            startsAt: .testNow, endsAt: Timestamp.testNow.adding(millis: 3_600_000), createdAt: .testNow)
        queued.standbyEnabled = true
        _ = await ledger.submit(.createCall(queued))
        _ = await ledger.submit(.accept(callId: queued.id, volunteerId: volunteers[0], eligible: true))
        _ = await ledger.submit(.accept(callId: queued.id, volunteerId: volunteers[1], eligible: true))
        _ = await ledger.submit(.remove(callId: queued.id, orgId: t.orgId, volunteerId: volunteers[0]))
        try await store.recordPushes(callId: open, [(volunteerId: volunteers[0], endpoint: subscription.endpoint)], now: .testNow)
        await ledger.waitUntilIdle()
        return t
    }
}

/// One stored value, as both engines' columns hold it.
enum Value: Hashable, Comparable {
    case null, text(String), int(Int64), double(Double), bytes([UInt8])

    static func < (a: Value, b: Value) -> Bool { "\(a)" < "\(b)" }
}

private func sqliteRows(_ store: Store, _ table: SQLiteToPostgres.Table) throws -> [[Value]] {
    let names = table.columns.map(\.name).joined(separator: ", ")
    return try store.pool.read { db in
        try Row.fetchAll(db, sql: "SELECT \(names) FROM \(table.name)").map { row in
            table.columns.indices.map { i in
                let value: DatabaseValue = row[i]
                switch (value.storage, table.columns[i].type) {
                case (.null, _): return .null
                case (.string(let s), _): return .text(s)
                case (.int64(let n), .double): return .double(Double(n))
                case (.int64(let n), _): return .int(n)
                case (.double(let d), _): return .double(d)
                case (.blob(let data), _): return .bytes(Array(data))
                }
            }
        }.sorted { $0.lexicographicallyPrecedes($1) }
    }
}

private func postgresRows(_ client: PostgresClient, _ table: SQLiteToPostgres.Table) async throws -> [[Value]] {
    let names = table.columns.map(\.name).joined(separator: ", ")
    var out: [[Value]] = []
    for try await row in try await client.query(PostgresQuery(unsafeSQL: "SELECT \(names) FROM \(table.name)")) {
        let cells = row.makeRandomAccess()
        var values: [Value] = []
        for (i, column) in table.columns.enumerated() {
            switch column.type {
            case .text: values.append(try cells[i].decode(String?.self).map(Value.text) ?? .null)
            case .bigint: values.append(try cells[i].decode(Int64?.self).map(Value.int) ?? .null)
            case .integer: values.append(try cells[i].decode(Int32?.self).map { .int(Int64($0)) } ?? .null)
            case .double: values.append(try cells[i].decode(Double?.self).map(Value.double) ?? .null)
            case .bytea: values.append(try cells[i].decode(ByteBuffer?.self).map { .bytes(Array($0.readableBytesView)) } ?? .null)
            }
        }
        out.append(values)
    }
    return out.sorted { $0.lexicographicallyPrecedes($1) }
}
