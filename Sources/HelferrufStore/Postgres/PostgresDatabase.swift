import Foundation
import Logging
import PostgresNIO

/// A PostgreSQL database as the store sees it: postgres-nio's `PostgresClient` (the
/// connection pool), whose `run()` runs for this object's lifetime, with the schema
/// migrated on open.
///
/// Every value goes to the server as a bound parameter (`PostgresQuery` string
/// interpolation binds, it never splices); the only SQL text not written with bindings is
/// the constant schema. Errors that mean the database cannot answer now (connection lost or
/// refused, server shutting down, out of resources, a serialisation failure) come out as
/// ``StoreError/unavailable(_:)``, which the server answers with 503 `unavailable`.
public final class PostgresDatabase: Sendable {
    let client: PostgresClient
    let logger: Logger
    public let location: PostgresLocation
    private let runner: Task<Void, Never>

    /// Key of the advisory lock that serialises migrations when several nodes start at once.
    static let migrationLock: Int64 = 0x4865_6C66_6572_7275 // "Helferru"
    /// Key of the advisory lock under which the Demo organisation is created once.
    static let demoLock: Int64 = 0x4865_6C66_6465_6D6F // "Helfdemo"

    /// How long one operation may wait for the database, a free connection included. The
    /// pool keeps retrying a lost server in the background; a request meanwhile fails as
    /// ``StoreError/unavailable(_:)`` after this long instead of waiting with it (SQLite's
    /// busy timeout is as long).
    public let timeout: Duration

    /// Connects, and migrates the schema (waiting at most `openTimeout` for the server).
    public init(
        location: PostgresLocation, timeout: Duration = .seconds(5), openTimeout: Duration = .seconds(30),
        logger: Logger = PostgresDatabase.quietLogger
    ) async throws {
        self.location = location
        self.logger = logger
        self.timeout = timeout
        let client = PostgresClient(configuration: location.clientConfiguration(), backgroundLogger: logger)
        self.client = client
        runner = Task { await client.run() }
        do {
            try await Self.deadline(openTimeout) {
                try await Self.checkDurability(client, logger)
                try await Self.migrate(client, logger)
            }
        } catch {
            runner.cancel()
            throw Self.storeError(error)
        }
    }

    /// The pool's background messages at warning and above only: a server that is down
    /// would otherwise log every reconnection attempt.
    public static var quietLogger: Logger {
        var logger = Logger(label: "helferruf.postgres")
        logger.logLevel = .warning
        return logger
    }

    deinit { runner.cancel() }

    /// Stops the pool; queries after this fail.
    public func close() async {
        runner.cancel()
        await runner.value
    }

    /// The migrations applied so far, in order.
    public func appliedMigrations() async throws -> [String] {
        try await run { [client, logger] in
            var ids: [String] = []
            for try await id in try await client.query("SELECT id FROM schema_migrations ORDER BY applied_at, id", logger: logger).decode(String.self) {
                ids.append(id)
            }
            return ids
        }
    }

    /// Runs `work` within ``timeout`` and maps PostgreSQL's errors onto the store's
    /// (``storeError(_:)``).
    func run<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
        do {
            return try await Self.deadline(timeout, work)
        } catch {
            throw Self.storeError(error)
        }
    }

    /// `work`'s result, or ``StoreError/unavailable(_:)`` once `limit` has passed (the work
    /// is cancelled then, a connection lease with it).
    static func deadline<T: Sendable>(_ limit: Duration, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await work() }
            group.addTask {
                try await Task.sleep(for: limit)
                throw StoreError.unavailable("no answer within \(limit)")
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw CancellationError() }
            return first
        }
    }

    /// Refuses a server that may lose or tear acknowledged commits, as the SQLite store
    /// refuses anything but WAL with `synchronous=FULL`: `fsync` and `full_page_writes` must
    /// be on, and `synchronous_commit` anything but `off` for this database and role.
    static func checkDurability(_ client: PostgresClient, _ logger: Logger) async throws {
        let rows = try await PostgresStore.all(
            client.query(
                "SELECT current_setting('fsync'), current_setting('full_page_writes'), current_setting('synchronous_commit')", logger: logger),
            as: (String, String, String).self)
        guard let (fsync, fullPages, commit) = rows.first else { throw StoreError.unavailable("no settings") }
        guard fsync == "on", fullPages == "on", commit != "off" else {
            throw StoreError.unsafeServerSettings(fsync: fsync, fullPageWrites: fullPages, synchronousCommit: commit)
        }
    }

    /// Applies the missing migrations of ``PostgresSchema``, each in the one transaction that
    /// also records it in `schema_migrations`, under an advisory lock so that nodes starting
    /// together migrate once.
    private static func migrate(_ client: PostgresClient, _ logger: Logger) async throws {
        try await client.withTransaction(logger: logger) { conn in
            try await conn.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: logger)
            try await conn.query("CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)", logger: logger)
            var applied = Set<String>()
            for try await id in try await conn.query("SELECT id FROM schema_migrations", logger: logger).decode(String.self) {
                applied.insert(id)
            }
            for migration in PostgresSchema.migrations where !applied.contains(migration.id) {
                for statement in migration.statements {
                    try await conn.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                let now = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
                try await conn.query("INSERT INTO schema_migrations (id, applied_at) VALUES (\(migration.id), \(now))", logger: logger)
            }
        }
    }

    /// SQLSTATE classes that mean "not now" rather than "not this": connection exceptions
    /// (08), insufficient resources (53), operator intervention such as a shutdown (57),
    /// system errors (58), and transaction rollbacks for serialisation or deadlock (40).
    private static let unavailableClasses: Set<Substring> = ["08", "53", "57", "58", "40"]

    /// The store's error for an error of postgres-nio: ``StoreError/unavailable(_:)`` when the
    /// database cannot answer now, ``StoreError/refused(_:)`` when it refused the statement.
    static func storeError(_ error: any Error) -> any Error {
        if error is StoreError { return error }
        // postgres-nio wraps whatever failed inside `withTransaction`.
        if let wrapped = error as? PostgresTransactionError, let cause = wrapped.closureError ?? wrapped.commitError ?? wrapped.beginError {
            return storeError(cause)
        }
        guard let psql = error as? PSQLError else { return StoreError.unavailable(String(describing: type(of: error))) }
        if psql.code == .server, let state = psql.serverInfo?[.sqlState] {
            if unavailableClasses.contains(state.prefix(2)) { return StoreError.unavailable("SQLSTATE \(state)") }
            return StoreError.refused(sqlState: state, constraint: psql.serverInfo?[.constraintName])
        }
        return StoreError.unavailable(psql.code.description)
    }
}
