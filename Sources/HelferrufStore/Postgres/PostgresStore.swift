import HelferrufCore
import PostgresNIO

/// The PostgreSQL engine of the store, on ``PostgresDatabase``. So far it holds the records
/// outside calls: organisations, accounts and sessions, volunteers, blocks and Web Push
/// (``OrganisationRecords``, ``AccountRecords``, ``VolunteerRecords``, ``DenialRecords``,
/// ``PushRecords``). It becomes a ``RecordStore`` (and `--db postgres://…` opens it) once
/// the call reads and its ``RosterLedger`` are in (issue 16).
///
/// Every value is bound (`PostgresQuery` interpolation); a change that needs to see the
/// database in one state runs in one transaction, because other nodes write too.
public final class PostgresStore: Sendable {
    public let database: PostgresDatabase

    public init(database: PostgresDatabase) {
        self.database = database
    }

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
