import ArgumentParser
import Foundation
import HelferrufCore
import HelferrufServer
import HelferrufStore
import Logging

@main
struct Helferruf: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "helferruf",
        abstract: "Real-time alerts for spontaneous volunteering.",
        discussion: "Every option can also be set by the environment variable named in its help; a flag wins over the environment.",
        subcommands: [Serve.self, Org.self, AccountCommand.self, Calls.self, Stats.self, Backup.self, Vacuum.self, Simulate.self],
        defaultSubcommand: Serve.self
    )
}

/// Options shared by every command that opens the database.
struct DatabaseOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("SQLite database file (env HELFERRUF_DB; default ./helferruf-data/helferruf.sqlite).", valueName: "path"))
    var db: String?

    var path: String { db ?? Environment.string("HELFERRUF_DB") ?? "./helferruf-data/helferruf.sqlite" }

    func open() throws -> Store { try Store(path: path) }
}

enum JSONLine {
    static func object(_ fields: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
