import ArgumentParser
import HelferrufStore

/// `helferruf migrate --from PATH --to URL`: copies an SQLite installation into an empty
/// PostgreSQL database (docs/OPERATIONS.md, "Moving from SQLite to PostgreSQL").
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy an SQLite database into a new, empty PostgreSQL database (stop the server first).")

    @Option(help: ArgumentHelp("The SQLite database file to copy.", valueName: "path"))
    var from: String

    @Option(help: ArgumentHelp("The empty PostgreSQL database: postgres://USER:PASSWORD@HOST:PORT/DBNAME.", valueName: "url"))
    var to: String

    func validate() throws {
        guard case .postgres = DatabaseLocation(to) else { throw ValidationError("--to must be a postgres:// or postgresql:// URL") }
        guard case .sqlite = DatabaseLocation(from) else { throw ValidationError("--from must be an SQLite file path") }
    }

    func run() async throws {
        let summary = try await SQLiteToPostgres.migrate(from: from, to: try PostgresLocation(url: to))
        print(JSONLine.object(["migrated": summary.target, "rows": summary.rows]))
    }
}
