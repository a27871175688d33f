import Foundation
import Logging
import PostgresNIO
@testable import HelferrufStore

/// The PostgreSQL that tests run against, from `HELFERRUF_TEST_POSTGRES_URL`
/// (`scripts/postgres-test-server`; CI sets it). Without it the PostgreSQL tests are skipped.
/// Each test gets a database of its own, made from nothing and dropped afterwards.
enum TestPostgres {
    static let url = ProcessInfo.processInfo.environment["HELFERRUF_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static var configured: Bool { url != nil }

    /// Runs `body` with a fresh, empty database's location, then drops the database.
    static func withFreshDatabase<T: Sendable>(_ body: (PostgresLocation) async throws -> T) async throws -> T {
        let admin = try PostgresLocation(url: try require(url))
        // The name comes from our own UUID: identifiers cannot be bound as parameters.
        let name = "helferruf_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try await withClient(admin) { try await $0.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)")) }
        var location = admin
        location.database = name
        do {
            let result = try await body(location)
            try await drop(name, admin)
            return result
        } catch {
            try? await drop(name, admin)
            // PSQLError's own description hides the server's message; a failing test needs it.
            if let psql = error as? PSQLError { throw PostgresFailure(details: String(reflecting: psql)) }
            throw error
        }
    }

    /// Opens a database with the patience of a shared, busy test machine: the whole suite
    /// opens dozens of databases at once while other work runs, and the production limits
    /// (10 s to open, 5 s per query) are about a server that does not answer at all.
    static func open(_ location: PostgresLocation) async throws -> HelferrufStore.PostgresDatabase {
        try await HelferrufStore.PostgresDatabase(location: location, timeout: .seconds(60), openTimeout: .seconds(120))
    }

    static func openStore(_ location: PostgresLocation) async throws -> PostgresStore {
        PostgresStore(database: try await open(location))
    }

    private static func drop(_ name: String, _ admin: PostgresLocation) async throws {
        try await withClient(admin) { try await $0.query(PostgresQuery(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)")) }
    }

    /// A plain postgres-nio client on `location` for the length of `body`.
    static func withClient<T: Sendable>(_ location: PostgresLocation, _ body: (PostgresClient) async throws -> T) async throws -> T {
        var configuration = location.clientConfiguration()
        // The whole suite connects at once on a busy machine (SCRAM costs CPU): be patient.
        configuration.options.connectTimeout = .seconds(60)
        let client = PostgresClient(configuration: configuration)
        let runner = Task { await client.run() }
        defer { runner.cancel() }
        return try await body(client)
    }
}

/// A PostgreSQL error with the server's message, which `PSQLError` keeps out of its description.
struct PostgresFailure: Error, CustomStringConvertible {
    var details: String
    var description: String { details }
}

private func require<T>(_ value: T?) throws -> T {
    guard let value else { throw StoreError.invalidLocation("HELFERRUF_TEST_POSTGRES_URL is not set") }
    return value
}
