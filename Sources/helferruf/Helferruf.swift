import ArgumentParser
import Foundation
import HelferrufCore
import HelferrufServer
import HelferrufStore
import Logging
import Synchronization

@main
struct Helferruf: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "helferruf",
        abstract: "Real-time alerts for spontaneous volunteering.",
        discussion: "Every option can also be set by the environment variable named in its help; a flag wins over the environment.",
        subcommands: [Serve.self, Demo.self, Org.self, AccountCommand.self, Calls.self, Stats.self, Backup.self, Vacuum.self, Migrate.self, Simulate.self],
        defaultSubcommand: Serve.self
    )

    /// ArgumentParser's own `main` reports an error thrown by `run()` against the root
    /// command, so every such error ended with `Usage: helferruf <subcommand>`. Here an
    /// error from `run()` is reported against the command that threw it: one line, then
    /// that command's own usage (parse errors already are).
    static func main() async {
        let command: any ParsableCommand
        let arguments = Array(CommandLine.arguments.dropFirst())
        let names = CommandPath.subcommandNames
        if let first = arguments.first, !first.hasPrefix("-"), first != "help", !names.contains(first) {
            // Without this, the default subcommand would take it for an argument of `serve`.
            let names = names.joined(separator: ", ")
            FileHandle.standardError.write(Data("Error: unknown command '\(first)'; the commands are \(names)\n  See 'helferruf --help' for more information.\n".utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        }
        do {
            command = try parseAsRoot(arguments)
        } catch {
            exit(withError: error)
        }
        do {
            var command = command
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error, from: type(of: command))
        }
    }

    /// Exits for an error thrown by `run()` of `subcommand`.
    static func exit(withError error: any Error, from subcommand: any ParsableCommand.Type) -> Never {
        guard let validation = error as? ArgumentParser.ValidationError else { exit(withError: error) }
        FileHandle.standardError.write(Data(errorText(validation.message, for: subcommand).utf8))
        Foundation.exit(ExitCode.validationFailure.rawValue)
    }

    /// `Error: MESSAGE`, the subcommand's usage and where its help is, as ArgumentParser
    /// writes them for a parse error.
    static func errorText(_ message: String, for subcommand: any ParsableCommand.Type) -> String {
        let path = CommandPath.names(of: subcommand).joined(separator: " ")
        let usage = usageString(for: subcommand).split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n       ")
        return "Error: \(message)\nUsage: \(usage)\n  See '\(path) --help' for more information.\n"
    }
}

/// The names from the root to a command, e.g. `helferruf org token rotate`.
enum CommandPath {
    /// The root's subcommands: serve, demo, org, ….
    static var subcommandNames: [String] {
        var names: [String] = []
        for command in Helferruf.configuration.subcommands { names.append(command._commandName) }
        return names
    }

    static func names(of command: any ParsableCommand.Type) -> [String] {
        func search(_ node: any ParsableCommand.Type, _ path: [String]) -> [String]? {
            let here = path + [node._commandName]
            if ObjectIdentifier(node) == ObjectIdentifier(command) { return here }
            for child in node.configuration.subcommands {
                if let found = search(child, here) { return found }
            }
            return nil
        }
        return search(Helferruf.self, []) ?? [Helferruf._commandName, command._commandName]
    }
}

/// Options shared by every command that opens the database.
struct DatabaseOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("SQLite database file, or a postgres://USER:PASSWORD@HOST/DATABASE URL (env HELFERRUF_DB; default ./helferruf-data/helferruf.sqlite).", valueName: "path-or-url"))
    var db: String?

    static let defaultPath = "./helferruf-data/helferruf.sqlite"

    var path: String { db ?? Environment.string("HELFERRUF_DB") ?? Self.defaultPath }

    func open() async throws -> any RecordStore { try await openRecordStore(path) }
}

enum JSONLine {
    static func object(_ fields: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// A value that tasks share, behind a lock.
final class Shared<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}
