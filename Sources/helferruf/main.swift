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
        subcommands: [Serve.self, Org.self, Backup.self],
        defaultSubcommand: Serve.self
    )
}

/// Options shared by every command that opens the database.
struct DatabaseOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("SQLite database file (env HELFERRUF_DB).", valueName: "path"))
    var db: String = ProcessInfo.processInfo.environment["HELFERRUF_DB"] ?? "./helferruf-data/helferruf.sqlite"
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server (the default command).")

    @Option(help: "Address to listen on (env HELFERRUF_HOST).")
    var host: String = ProcessInfo.processInfo.environment["HELFERRUF_HOST"] ?? "127.0.0.1"

    @Option(help: "Port to listen on; 0 picks a free one (env HELFERRUF_PORT).")
    var port: Int = Int(ProcessInfo.processInfo.environment["HELFERRUF_PORT"] ?? "") ?? 8080

    @OptionGroup var database: DatabaseOption

    @Option(help: ArgumentHelp("Folder of the web pages (env HELFERRUF_WEB); default: web/ beside the package.", valueName: "dir"))
    var web: String?

    @Option(name: .customLong("rate-limits"), help: "Abuse limits: on or off (env HELFERRUF_RATE_LIMITS).")
    var rateLimits: String = ProcessInfo.processInfo.environment["HELFERRUF_RATE_LIMITS"] ?? "on"

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env HELFERRUF_LOG_LEVEL).")
    var logLevel: String = ProcessInfo.processInfo.environment["HELFERRUF_LOG_LEVEL"] ?? "info"

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
        guard ["on", "off"].contains(rateLimits) else { throw ValidationError("--rate-limits must be on or off") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level is not a log level") }
    }

    func run() async throws {
        var config = ServerConfiguration()
        config.host = host
        config.port = port
        config.databasePath = database.db
        config.webDirectory = web ?? ProcessInfo.processInfo.environment["HELFERRUF_WEB"] ?? Self.defaultWebDirectory()
        config.rateLimits = rateLimits == "on"
        config.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = config.logLevel
            return handler
        }
        try await runServer(config) { line in
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }
    }

    /// `web/` in the working directory, else beside the package this binary was built from.
    static func defaultWebDirectory() -> String? {
        let fm = FileManager.default
        if fm.fileExists(atPath: "web/volunteer.html") { return fm.currentDirectoryPath + "/web" }
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let candidate = url.appendingPathComponent("web").path
        return fm.fileExists(atPath: candidate) ? candidate : nil
    }
}

struct Org: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage organisations.",
        subcommands: [Add.self, List.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an organisation and print its token once, as JSON.")

        @Option(help: "The organisation's name.")
        var name: String

        @OptionGroup var database: DatabaseOption

        func run() async throws {
            let name: String
            do {
                name = try Rules.organisationName(self.name)
            } catch {
                throw ValidationError("--name \(error.message)")
            }
            let store = try Store(path: database.db)
            let (org, token) = try store.createOrganisation(name: name, now: .now)
            print(OrgLine.json(id: org.id, name: org.name, token: token))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List organisations (without tokens).")

        @OptionGroup var database: DatabaseOption

        func run() async throws {
            let store = try Store(path: database.db)
            for org in try store.organisations() {
                print(OrgLine.json(id: org.id, name: org.name, token: nil))
            }
        }
    }
}

/// `helferruf backup --to PATH`: an online, consistent copy of the database
/// (docs/OPERATIONS.md, "Backup and restore").
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Copy the database to a new file while the server runs.")

    @Option(help: ArgumentHelp("Where to write the copy; must not exist yet.", valueName: "path"))
    var to: String

    @OptionGroup var database: DatabaseOption

    func run() async throws {
        guard FileManager.default.fileExists(atPath: database.db) else { throw ValidationError("no database at \(database.db)") }
        let summary = try Store(path: database.db).backup(to: to)
        print("{\"backup\":\(OrgLine.quote(summary.path)),\"calls\":\(summary.calls),\"confirmations\":\(summary.confirmations)}")
    }
}

/// The one-line JSON that `org add` prints.
enum OrgLine {
    static func json(id: String, name: String, token: String?) -> String {
        var fields: [(String, String)] = [("id", id), ("name", name)]
        if let token { fields.append(("token", token)) }
        let encoded = fields.map { "\"\($0.0)\":\(quote($0.1))" }.joined(separator: ",")
        return "{\(encoded)}"
    }

    static func quote(_ s: String) -> String {
        let data = try! JSONEncoder().encode(s)
        return String(decoding: data, as: UTF8.self)
    }
}
