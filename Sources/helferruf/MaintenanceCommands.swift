import ArgumentParser
import Foundation
import HelferrufCore
import HelferrufServer
import HelferrufStore
import Logging

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print counts of organisations, volunteers, calls and confirmations as JSON.")

    @OptionGroup var database: DatabaseOption

    func run() async throws {
        let s = try await database.open().stats()
        var fields: [String: Any] = ["organisations": s.organisations, "volunteers": s.volunteers, "confirmations": s.confirmations, "alerts": s.alerts]
        for status in CallStatus.allCases { fields["calls_\(status.rawValue)"] = s.callsByStatus[status.rawValue] ?? 0 }
        print(JSONLine.object(fields))
    }
}

/// `helferruf backup --to PATH`: an online, consistent copy of the database
/// (docs/OPERATIONS.md, "Backup and restore"); on PostgreSQL an error that names pg_dump.
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Copy the database to a new file while the server runs.")

    @Option(help: ArgumentHelp("Where to write the copy; must not exist yet.", valueName: "path"))
    var to: String

    @OptionGroup var database: DatabaseOption

    func run() async throws {
        // A missing file is not made empty and backed up; PostgreSQL answers for itself.
        if case .sqlite(let path) = DatabaseLocation(database.path), !FileManager.default.fileExists(atPath: path) {
            throw ValidationError("no database at \(path)")
        }
        let summary = try await database.open().backup(to: to)
        print(JSONLine.object(["backup": summary.path, "calls": summary.calls, "confirmations": summary.confirmations]))
    }
}

struct Vacuum: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Rebuild the database file to reclaim space (safe while the server runs; it waits for the write lock).")

    @OptionGroup var database: DatabaseOption

    func run() async throws {
        try await database.open().vacuum()
    }
}

/// One line of JSON with sorted keys, for the admin commands.
