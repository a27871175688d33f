import ArgumentParser
import Foundation
import HelferrufCore
import HelferrufServer
import HelferrufStore
import Logging

struct Org: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage organisations.",
        subcommands: [Add.self, List.self, Disable.self, Token.self]
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
            let (org, token) = try await database.open().createOrganisation(name: name, now: .now)
            print(JSONLine.object(["id": org.id, "name": org.name, "token": token]))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List organisations (never their tokens), one JSON line each.")

        @OptionGroup var database: DatabaseOption

        func run() async throws {
            for org in try await database.open().organisations() {
                print(JSONLine.object(["id": org.id, "name": org.name, "createdAt": RFC3339.format(org.createdAt), "disabled": org.disabled]))
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable an organisation: its token stops working, its calls stay.")

        @Option(help: "The organisation's id.")
        var id: String

        @Flag(help: "Enable it again instead.")
        var enable = false

        @OptionGroup var database: DatabaseOption

        func run() async throws {
            guard try await database.open().setOrganisationDisabled(id: id, !enable) else { throw ValidationError("no organisation \(id)") }
        }
    }

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Organisation tokens.", subcommands: [Rotate.self])

        struct Rotate: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Replace an organisation's token (the old one is revoked at once) and print the new one as JSON.")

            @Option(help: "The organisation's id.")
            var id: String

            @OptionGroup var database: DatabaseOption

            func run() async throws {
                guard let token = try await database.open().rotateOrganisationToken(id: id) else { throw ValidationError("no organisation \(id)") }
                print(JSONLine.object(["id": id, "token": token]))
            }
        }
    }
}

struct Calls: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Inspect calls.", subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List calls of all organisations, newest first, one JSON line each.")

        @Option(help: "Only calls with this status (open, filled, cancelled, expired).")
        var status: String?

        @OptionGroup var database: DatabaseOption

        func run() async throws {
            var filter: CallStatus?
            if let status {
                guard let s = CallStatus(rawValue: status) else { throw ValidationError("--status must be open, filled, cancelled or expired") }
                filter = s
            }
            for c in try await database.open().allCalls(status: filter) {
                print(JSONLine.object([
                    "id": c.id, "org": c.orgName, "title": c.title, "status": c.status.rawValue,
                    "confirmed": c.confirmed, "needed": c.needed, "alerted": c.alerted, "endsAt": RFC3339.format(c.endsAt),
                ]))
            }
        }
    }
}
