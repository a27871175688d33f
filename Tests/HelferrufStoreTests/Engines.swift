import Foundation
import GRDB
import PostgresNIO
import Testing
@testable import HelferrufStore

/// The store engines a test runs on: SQLite always, PostgreSQL when
/// `HELFERRUF_TEST_POSTGRES_URL` is set (CI sets it). Each run gets a new database.
enum Engine: String, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }

    static let available: [Engine] = TestPostgres.configured ? [.sqlite, .postgres] : [.sqlite]

    /// Runs `body` on a new, empty store of this engine.
    func withStore<T: Sendable>(_ body: (EngineStore) async throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            let store = try Store(path: temporaryDatabasePath())
            let rows: @Sendable (String) async throws -> [[String: String]] = { table in
                try await store.pool.read { db in
                    try Row.fetchAll(db, sql: "SELECT * FROM \(table)").map { row in
                        Dictionary(uniqueKeysWithValues: row.columnNames.map { ($0, "\(row[$0] ?? "")") })
                    }
                }
            }
            let insertCall: @Sendable (String, Int64?) async throws -> String = { orgId, endedAt in
                let id = Tokens.newId()
                let sql = (1...4).reduce(callSQL) { $0.replacingOccurrences(of: "$\($1)", with: "?") }
                try await store.pool.write { db in
                    try db.execute(sql: sql, arguments: [id, orgId, endedAt == nil ? "open" : "expired", endedAt])
                }
                return id
            }
            return try await body(EngineStore(records: store, rows: rows, insertCall: insertCall))
        case .postgres:
            return try await TestPostgres.withFreshDatabase { location in
                let store = try await TestPostgres.openStore(location)
                let database = store.database
                let rows: @Sendable (String) async throws -> [[String: String]] = { table in
                    try await database.run { [client = database.client] in
                        var out: [[String: String]] = []
                        let query = PostgresQuery(unsafeSQL: "SELECT row_to_json(t)::text FROM \(table) t")
                        for try await json in try await client.query(query).decode(String.self) {
                            let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] ?? [:]
                            out.append(object.mapValues { "\($0)" })
                        }
                        return out
                    }
                }
                let insertCall: @Sendable (String, Int64?) async throws -> String = { orgId, endedAt in
                    let id = Tokens.newId()
                    var query = PostgresQuery(unsafeSQL: callSQL)
                    try query.binds.append(id, context: .default)
                    try query.binds.append(orgId, context: .default)
                    try query.binds.append(endedAt == nil ? "open" : "expired", context: .default)
                    try query.binds.append(endedAt, context: .default)
                    _ = try await database.run { [client = database.client, query] in try await client.query(query) }
                    return id
                }
                let result: Result<T, any Error>
                do {
                    result = .success(try await body(EngineStore(records: store, rows: rows, insertCall: insertCall)))
                } catch {
                    result = .failure(error)
                }
                await database.close()
                return try result.get()
            }
        }
    }
}

/// A store under test, and a way around it to see what it wrote.
struct EngineStore: Sendable {
    let records: any OrganisationRecords & AccountRecords & VolunteerRecords & DenialRecords & PushRecords & MaintenanceRecords
    /// Every row of a table (a constant name from the test), each column as text.
    let rows: @Sendable (String) async throws -> [[String: String]]
    /// Writes a call of `orgId` straight into the table, open or (with `endedAt`) expired,
    /// for tests of records that refer to calls (the ledgers' own tests post calls the real
    /// way); returns its id.
    let insertCall: @Sendable (_ orgId: String, _ endedAt: Int64?) async throws -> String

    func insertOpenCall(_ orgId: String) async throws -> String { try await insertCall(orgId, nil) }
}

/// The columns a call needs, the same on both engines ($3 status, $4 ended_at).
let callSQL = """
    INSERT INTO calls (id, org_id, title, description, address, lat, lon, radius_km, needed, skills, starts_at, ends_at, created_at, status, ended_at)
    VALUES ($1, $2, 'Sandsäcke', '', '', 50.9, 6.9, 5, 2, '', 0, 9999999999999, 0, $3, $4)
    """
