import Foundation
import GRDB
import Logging
import PostgresNIO

/// `helferruf migrate --from PATH --to URL`: moves an SQLite installation to PostgreSQL
/// (issue 16, docs/OPERATIONS.md "Moving from SQLite to PostgreSQL").
///
/// Both schemas have the same tables and columns (`PostgresSchemaTests` compares them), so
/// the copy is generic: every table of ``PostgresSchema`` in creation order (parents before
/// children), every column PostgreSQL has, read from one consistent SQLite snapshot (WAL),
/// written in one PostgreSQL transaction, page by page with bound values. Either everything
/// arrives or nothing does. The target must be empty; the source is only read (it is first
/// brought to the current schema, as `serve` would do).
public enum SQLiteToPostgres {
    /// What was copied: rows per table, and where to.
    public struct Summary: Sendable, Equatable {
        public var target: String
        public var rows: [String: Int]
    }

    /// Rows per `INSERT`: PostgreSQL takes at most 65,535 bound values per statement.
    static let maxBindsPerStatement = 60_000
    /// Rows read from SQLite at a time, so that a large table never sits in memory whole.
    static let pageSize = 5_000

    /// Copies everything from the SQLite database at `path` into the empty PostgreSQL
    /// database at `location` (migrating its schema first) and checks the row counts.
    public static func migrate(from path: String, to location: PostgresLocation, logger: Logger = PostgresDatabase.quietLogger) async throws -> Summary {
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError.migrationFailed("no SQLite database at \(path)") }
        let source = try Store(path: path)
        let snapshot = try source.pool.makeSnapshot()
        let target = try await PostgresDatabase(location: location, timeout: .seconds(600), logger: logger)
        do {
            let summary = try await copy(snapshot, into: target)
            await target.close()
            return summary
        } catch {
            await target.close()
            throw error
        }
    }

    private static func copy(_ snapshot: DatabaseSnapshot, into target: PostgresDatabase) async throws -> Summary {
        let client = target.client, logger = target.logger
        let tables = try await columns(client, logger)
        let occupied = try await rowCounts(client, logger, tables.map(\.name)).filter { $0.value > 0 }
        guard occupied.isEmpty else {
            let list = occupied.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value) rows" }.joined(separator: ", ")
            throw StoreError.migrationFailed("the target database is not empty (\(list)); migrate into a new, empty database")
        }
        let sourceCounts = try await snapshot.read { db in
            try Dictionary(uniqueKeysWithValues: tables.map { ($0.name, try Int.fetchOne(db, sql: "SELECT count(*) FROM \($0.name)") ?? 0) })
        }
        // The counts are compared inside the transaction: a difference rolls everything back.
        let targetCounts = try await target.run {
            try await client.withTransaction(logger: logger) { conn in
                var copied: [String: Int] = [:]
                for table in tables {
                    copied[table.name] = try await copy(table, from: snapshot, to: conn, logger)
                }
                let stored = try await rowCounts(conn, logger, tables.map(\.name))
                guard stored == sourceCounts, copied == sourceCounts else {
                    throw StoreError.migrationFailed("row counts differ: SQLite \(sourceCounts), PostgreSQL \(stored)")
                }
                return stored
            }
        }
        return Summary(target: target.location.redacted, rows: targetCounts)
    }

    /// A table of the PostgreSQL schema and its columns' types, in creation order.
    struct Table: Sendable {
        var name: String
        var columns: [(name: String, type: ColumnType)]
    }

    enum ColumnType: Sendable {
        case text, bigint, integer, double, bytea

        init(_ dataType: String) throws {
            switch dataType {
            case "text": self = .text
            case "bigint": self = .bigint
            case "integer": self = .integer
            case "double precision": self = .double
            case "bytea": self = .bytea
            default: throw StoreError.migrationFailed("column type \(dataType) has no SQLite counterpart")
            }
        }
    }

    /// The names in ``PostgresSchema``'s `CREATE TABLE` statements, in order: parents come
    /// before the tables that reference them.
    static var tableNames: [String] {
        PostgresSchema.migrations.flatMap(\.statements).compactMap { statement in
            let words = statement.split(whereSeparator: \.isWhitespace)
            guard words.count > 2, words[0] == "CREATE", words[1] == "TABLE" else { return nil }
            let name = String(words[2])
            return PostgresSchema.nodeTables.contains(name) ? nil : name
        }
    }

    static func columns(_ client: PostgresClient, _ logger: Logger) async throws -> [Table] {
        let rows = try await PostgresStore.all(
            client.query(
                """
                SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns
                WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position
                """, logger: logger),
            as: (String, String, String).self)
        var byTable: [String: [(name: String, type: ColumnType)]] = [:]
        for (table, column, type) in rows where !PostgresSchema.nodeTables.contains(table) { byTable[table, default: []].append((column, try ColumnType(type))) }
        return try tableNames.map { name in
            guard let columns = byTable[name] else { throw StoreError.migrationFailed("table \(name) is missing in the target") }
            return Table(name: name, columns: columns)
        }
    }

    private static func rowCounts(_ client: PostgresClient, _ logger: Logger, _ tables: [String]) async throws -> [String: Int] {
        try await client.withConnection { try await rowCounts($0, logger, tables) }
    }

    private static func rowCounts(_ conn: PostgresConnection, _ logger: Logger, _ tables: [String]) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for table in tables {
            // Table names come from our own schema, never from input.
            let rows = try await PostgresStore.all(conn.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table)"), logger: logger), as: Int64.self)
            counts[table] = Int(rows.first ?? 0)
        }
        return counts
    }

    /// Copies one table page by page; returns how many rows it wrote.
    private static func copy(_ table: Table, from snapshot: DatabaseSnapshot, to conn: PostgresConnection, _ logger: Logger) async throws -> Int {
        let names = table.columns.map(\.name).joined(separator: ", ")
        let order = try await snapshot.read { db in try orderClause(db, table.name) }
        let rowsPerInsert = max(1, maxBindsPerStatement / table.columns.count)
        var offset = 0
        while true {
            let page = try await snapshot.read { db in
                try Row.fetchAll(db, sql: "SELECT \(names) FROM \(table.name) ORDER BY \(order) LIMIT ? OFFSET ?", arguments: [pageSize, offset])
            }
            var start = 0
            while start < page.count {
                let chunk = page[start..<min(page.count, start + rowsPerInsert)]
                try await conn.query(try insert(table, chunk), logger: logger)
                start += chunk.count
            }
            offset += page.count
            if page.count < pageSize { return offset }
        }
    }

    /// The primary key's columns (or the rowid for a table without one): a stable order
    /// for paging through the snapshot.
    private static func orderClause(_ db: Database, _ table: String) throws -> String {
        let key = try db.primaryKey(table)
        return key.isRowID ? "rowid" : key.columns.joined(separator: ", ")
    }

    private static func insert(_ table: Table, _ rows: ArraySlice<Row>) throws -> PostgresQuery {
        var bindings = PostgresBindings(capacity: rows.count * table.columns.count)
        var tuples: [String] = []
        tuples.reserveCapacity(rows.count)
        for row in rows {
            var placeholders: [String] = []
            for (index, column) in table.columns.enumerated() {
                try bind(row[index] as DatabaseValue, as: column.type, into: &bindings, table: table.name, column: column.name)
                placeholders.append("$\(bindings.count)")
            }
            tuples.append("(" + placeholders.joined(separator: ", ") + ")")
        }
        let names = table.columns.map(\.name).joined(separator: ", ")
        return PostgresQuery(unsafeSQL: "INSERT INTO \(table.name) (\(names)) VALUES " + tuples.joined(separator: ", "), binds: bindings)
    }

    /// Binds one SQLite value as the PostgreSQL column's type; a value of another kind
    /// (which the STRICT SQLite tables do not allow) is an error naming where it is.
    static func bind(_ value: DatabaseValue, as type: ColumnType, into bindings: inout PostgresBindings, table: String, column: String) throws {
        func mismatch() -> StoreError {
            StoreError.migrationFailed("\(table).\(column) holds \(value) where PostgreSQL expects \(type)")
        }
        switch (value.storage, type) {
        case (.null, _): bindings.appendNull()
        case (.string(let s), .text): bindings.append(s)
        case (.int64(let i), .bigint): bindings.append(i)
        case (.int64(let i), .integer):
            guard let small = Int32(exactly: i) else { throw mismatch() }
            bindings.append(small)
        case (.int64(let i), .double): bindings.append(Double(i))
        case (.double(let d), .double): bindings.append(d)
        case (.blob(let data), .bytea): bindings.append(ByteBuffer(bytes: data))
        default: throw mismatch()
        }
    }
}
