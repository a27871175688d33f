import Foundation
import HelferrufCore
import PostgresNIO

/// The PostgreSQL engine of ``RecordStore`` (`--db postgres://…`), on ``PostgresDatabase``:
/// the records, the call reads (PostgresStore+Calls.swift), and ``PostgresLedger`` for
/// everything that changes a call or its roster.
///
/// Every value is bound (`PostgresQuery` interpolation); a change that needs to see the
/// database in one state runs in one transaction, because other nodes write too.
public final class PostgresStore: Sendable {
    public let database: PostgresDatabase
    /// This process's id among the nodes of the database: its ledger signs its
    /// notifications with it, and its ``clusterFeed`` skips them.
    public let node = UUID().uuidString.lowercased()

    public init(database: PostgresDatabase) {
        self.database = database
    }

    /// The changes the other nodes commit (PROTOCOL.md §9).
    public var clusterFeed: (any ClusterFeed)? { PostgresClusterFeed(database: database, node: node) }

    /// Connects to `location` and migrates its schema.
    public convenience init(location: PostgresLocation) async throws {
        self.init(database: try await PostgresDatabase(location: location))
    }

    var client: PostgresClient { database.client }
    var logger: Logger { database.logger }
}

/// Row shapes shared by the queries.
extension PostgresStore {
    typealias OrganisationRow = (String, String, Int64, Int)

    static func organisation(_ r: OrganisationRow) -> Organisation {
        Organisation(id: r.0, name: r.1, createdAt: Timestamp(r.2), disabled: r.3 != 0)
    }

    /// Collects a query's rows, each decoded as a tuple of `columns`.
    static func all<each Column: PostgresDecodable & Sendable>(
        _ rows: PostgresRowSequence, as columns: (repeat each Column).Type
    ) async throws -> [(repeat each Column)] {
        var out: [(repeat each Column)] = []
        for try await row in rows.decode(columns) { out.append(row) }
        return out
    }
}
