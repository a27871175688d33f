import Foundation
import GRDB
import HelferrufCore
import PostgresNIO
import Testing
@testable import HelferrufStore

@Suite struct PostgresLocationTests {
    @Test func readsEveryPartOfTheURL() throws {
        let l = try PostgresLocation(url: "postgresql://hilfe%40stadt:p%2Fss%3Aw@db.stadt.example:6432/helferruf?sslmode=verify-full")
        #expect(l.username == "hilfe@stadt")
        #expect(l.password == "p/ss:w")
        #expect(l.host == "db.stadt.example")
        #expect(l.port == 6432)
        #expect(l.database == "helferruf")
        #expect(l.sslMode == .verifyFull)
        #expect(!l.redacted.contains("p/ss"))
    }

    @Test func defaultsArePort5432AndPreferTLS() throws {
        let l = try PostgresLocation(url: "postgres://helferruf@127.0.0.1/h")
        #expect(l.port == 5432)
        #expect(l.password == nil)
        #expect(l.sslMode == .prefer)
    }

    @Test(arguments: [
        "postgres://127.0.0.1/h",                      // no user
        "postgres://u@127.0.0.1",                      // no database
        "postgres://u@127.0.0.1/",                     // no database
        "postgres://u@/h",                             // no host
        "postgres://u@127.0.0.1/h?sslmode=sometimes",  // unknown mode
        "postgres://u@127.0.0.1/h?options=-c%20x",     // parameters beyond sslmode
        "postgres://u@127.0.0.1:70000/h",              // port out of range
        "mysql://u@127.0.0.1/h",
    ])
    func refusesWhatItCannotUse(url: String) {
        #expect(throws: StoreError.self) { try PostgresLocation(url: url) }
    }
}

/// The PostgreSQL database under the store: migrations, the schema's parity with SQLite, and
/// the database-level rules the fill ledger relies on. Runs against a real server
/// (`HELFERRUF_TEST_POSTGRES_URL`), one fresh database per test.
@Suite(.enabled(if: TestPostgres.configured, "HELFERRUF_TEST_POSTGRES_URL is not set"))
struct PostgresDatabaseTests {
    @Test func migratesOnceAndRecordsTheVersion() async throws {
        try await TestPostgres.withFreshDatabase { location in
            let first = try await TestPostgres.open(location)
            #expect(try await first.appliedMigrations() == PostgresSchema.migrations.map(\.id))
            await first.close()
            let again = try await TestPostgres.open(location)
            #expect(try await again.appliedMigrations() == PostgresSchema.migrations.map(\.id))
            await again.close()
        }
    }

    /// Nodes starting at the same moment: the advisory lock lets one migrate, the others
    /// find the schema in place.
    @Test func nodesStartingTogetherMigrateOnce() async throws {
        try await TestPostgres.withFreshDatabase { location in
            let opened = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        let db = try await TestPostgres.open(location)
                        defer { Task { await db.close() } }
                        return try await db.appliedMigrations()
                    }
                }
                var all: [[String]] = []
                for try await ids in group { all.append(ids) }
                return all
            }
            #expect(opened == Array(repeating: PostgresSchema.migrations.map(\.id), count: 3))
        }
    }

    /// Every table and column of the SQLite schema exists on PostgreSQL, and nothing more:
    /// what one engine stores, the other does (and no column for a precise location). The
    /// nodes' leases exist on PostgreSQL only: one SQLite file has one node.
    @Test func sameTablesAndColumnsAsSQLite() async throws {
        let sqlite = try Store(path: temporaryDatabasePath())
        let expected: [String: Set<String>] = try await sqlite.pool.read { db in
            var tables: [String: Set<String>] = [:]
            let names = try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'grdb_migrations'")
            for name in names {
                tables[name] = Set(try Row.fetchAll(db, sql: "PRAGMA table_info(\(name))").map { $0["name"] as String })
            }
            return tables
        }
        try await TestPostgres.withFreshDatabase { location in
            let db = try await TestPostgres.open(location)
            var actual: [String: Set<String>] = [:]
            let rows = try await db.client.query(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'schema_migrations'")
            for try await (table, column) in rows.decode((String, String).self) where !PostgresSchema.nodeTables.contains(table) {
                actual[table, default: []].insert(column)
            }
            await db.close()
            #expect(actual == expected)
        }
    }

    /// The conditional update the fill ledger builds on, from many connections at once:
    /// PostgreSQL re-checks `confirmed + party <= needed` on the row each waiting update
    /// finally sees, so exactly `needed` places are taken; the CHECK refuses more outright.
    @Test func theDatabaseHoldsTheFillRule() async throws {
        try await TestPostgres.withFreshDatabase { location in
            let db = try await TestPostgres.open(location)
            try await db.client.query("INSERT INTO organisations (id, name, token_hash, created_at) VALUES ('o1', 'Feuerwehr', 'h', 0)")
            try await db.client.query("""
                INSERT INTO calls (id, org_id, title, description, address, lat, lon, radius_km, needed, skills, starts_at, ends_at, created_at, status)
                VALUES ('c1', 'o1', 'Sandsäcke', '', '', 50.9, 6.9, 5, \(10), '', 0, 1, 0, 'open')
                """)
            let taken = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<60 {
                    group.addTask {
                        let party = 1
                        let rows = try await db.client.query(
                            "UPDATE calls SET confirmed = confirmed + \(party) WHERE id = \("c1") AND confirmed + \(party) <= needed RETURNING confirmed")
                        var n = 0
                        for try await _ in rows { n += 1 }
                        return n
                    }
                }
                var sum = 0
                for try await n in group { sum += n }
                return sum
            }
            #expect(taken == 10)
            let error = await #expect(throws: StoreError.self) {
                try await db.run { try await db.client.query("UPDATE calls SET confirmed = \(11) WHERE id = \("c1")") }
            }
            if case .refused(let state, let constraint) = error {
                #expect(state == "23514")
                #expect(constraint == "calls_check")
            } else {
                Issue.record("expected a refusal, got \(String(describing: error))")
            }
            await db.close()
        }
    }

    /// Like SQLite's WAL + `synchronous=FULL` check: a database whose commits may be
    /// acknowledged before they are durable is refused at open, with the reason.
    @Test func refusesADatabaseWithoutDurableCommits() async throws {
        try await TestPostgres.withFreshDatabase { location in
            try await TestPostgres.withClient(location) { client in
                try await client.query(PostgresQuery(unsafeSQL: "ALTER DATABASE \(location.database) SET synchronous_commit = off"))
            }
            let error = await #expect(throws: StoreError.self) { _ = try await PostgresDatabase(location: location) }
            guard case .unsafeServerSettings(_, _, let commit) = error else {
                Issue.record("expected unsafeServerSettings, got \(String(describing: error))")
                return
            }
            #expect(commit == "off")
        }
    }

    @Test func hostileTextIsStoredVerbatim() async throws {
        try await TestPostgres.withFreshDatabase { location in
            let db = try await TestPostgres.open(location)
            let name = "x'); DROP TABLE calls; -- \u{0} Ünïcödé 🚒"
                .replacingOccurrences(of: "\u{0}", with: "") // PostgreSQL text holds no NUL
            try await db.client.query("INSERT INTO organisations (id, name, token_hash, created_at) VALUES (\("o1"), \(name), \("h"), \(Int64(0)))")
            var names: [String] = []
            for try await n in try await db.client.query("SELECT name FROM organisations").decode(String.self) { names.append(n) }
            #expect(names == [name])
            #expect(try await db.appliedMigrations() == PostgresSchema.migrations.map(\.id))
            await db.close()
        }
    }
}

/// Without a server: a database nobody answers for is `unavailable`, the error the server
/// turns into 503, once the open timeout has passed.
@Suite struct PostgresUnavailableTests {
    @Test func aClosedPortIsUnavailable() async throws {
        let port = try closedPort()
        let location = try PostgresLocation(url: "postgres://helferruf:x@127.0.0.1:\(port)/helferruf?sslmode=disable")
        let error = await #expect(throws: StoreError.self) { _ = try await PostgresDatabase(location: location, openTimeout: .seconds(1)) }
        // The open timeout answered, not the pool: alone it keeps retrying for a minute and
        // more. (Not a wall-clock bound: the whole suite on two cores can hold up a timer.)
        guard case .unavailable(let reason) = error else {
            Issue.record("expected unavailable, got \(String(describing: error))")
            return
        }
        #expect(reason.hasPrefix("no answer within"))
    }

    /// A loopback port with nothing listening (bound, then closed).
    private func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { throw StoreError.unavailable("no port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
