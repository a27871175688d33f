import ArgumentParser
import Foundation
import HelferrufCore
import HelferrufServer
import HelferrufStore
import Logging

/// `helferruf account …`: the people who sign in to the console for an organisation.
struct AccountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account",
        abstract: "Manage console accounts (e-mail and password) of organisations.",
        subcommands: [Add.self, List.self, Disable.self, BcryptCost.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an account and print it as JSON (never the password).",
            discussion: "The password (12 to 1024 characters) is read from standard input with --password-stdin, else asked for twice on the terminal; it is never taken from the command line.")

        @Option(help: "The organisation's id (see `org list`).")
        var org: String

        @Option(help: "The person's e-mail address (compared without regard to case).")
        var email: String

        @Flag(name: .customLong("password-stdin"), help: "Read the password from the first line of standard input.")
        var passwordStdin = false

        @OptionGroup var cost: BcryptCostOption
        @OptionGroup var database: DatabaseOption

        func run() async throws {
            let email: String, password: String
            do {
                email = try Rules.email(self.email)
            } catch {
                throw ArgumentParser.ValidationError("--email \(error.message)")
            }
            do {
                password = try Rules.password(try readPassword())
            } catch let error as HelferrufCore.ValidationError {
                throw ArgumentParser.ValidationError("the password \(error.message)")
            }
            let store = try await database.open()
            let hash = Passwords.hash(password, cost: try cost.value())
            do {
                let account = try await store.createAccount(orgId: org, email: email, passwordHash: hash, now: .now)
                print(JSONLine.object(["id": account.id, "orgId": account.orgId, "email": account.email, "createdAt": RFC3339.format(account.createdAt)]))
            } catch let error as AccountError {
                throw ArgumentParser.ValidationError(error.description)
            }
        }

        private func readPassword() throws -> String {
            if passwordStdin {
                guard let line = Swift.readLine(strippingNewline: true) else { throw ArgumentParser.ValidationError("no password on standard input") }
                return line
            }
            guard isatty(STDIN_FILENO) == 1 else { throw ArgumentParser.ValidationError("standard input is no terminal: use --password-stdin") }
            guard let first = getpass("Password: ").map({ String(cString: $0) }),
                  let again = getpass("Again: ").map({ String(cString: $0) }), again == first
            else { throw ArgumentParser.ValidationError("the passwords differ") }
            return first
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an organisation's accounts, one JSON line each.")

        @Option(help: "The organisation's id.")
        var org: String

        @OptionGroup var database: DatabaseOption

        func run() async throws {
            for a in try await database.open().accounts(orgId: org) {
                print(JSONLine.object(["id": a.id, "orgId": a.orgId, "email": a.email, "createdAt": RFC3339.format(a.createdAt), "disabled": a.disabled]))
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable an account: it can no longer sign in, and its sessions end at once.")

        @Option(help: "The account's e-mail address.")
        var email: String

        @Flag(help: "Enable it again instead.")
        var enable = false

        @OptionGroup var database: DatabaseOption

        func run() async throws {
            let normalised = email.trimmingWhitespace().lowercased()
            guard try await database.open().setAccountDisabled(email: normalised, !enable) else { throw ArgumentParser.ValidationError("no account \(normalised)") }
        }
    }

    /// Measures bcrypt here, to choose `--bcrypt-cost` so that one hash takes 100–250 ms.
    /// CPU time is printed beside wall time: on a busy machine only the former is stable.
    struct BcryptCost: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bcrypt-cost",
            abstract: "Time bcrypt hashes on this machine and print the median per cost as JSON.")

        @Option(help: "Hashes per cost.")
        var rounds = 5

        @Option(help: "Comma-separated costs to time, each 4 to 16.")
        var costs = "10,11,12,13"

        func run() async throws {
            guard (1...50).contains(rounds) else { throw ArgumentParser.ValidationError("--rounds must be 1 to 50") }
            let list = costs.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !list.isEmpty, list.allSatisfy(Passwords.costRange.contains) else {
                throw ArgumentParser.ValidationError("--costs must list numbers from 4 to 16")
            }
            for cost in list {
                var wall: [Double] = [], cpu: [Double] = []
                for _ in 0..<rounds {
                    let (wallStart, cpuStart) = (Self.millis(CLOCK_MONOTONIC), Self.millis(CLOCK_THREAD_CPUTIME_ID))
                    _ = Passwords.hash("correct horse battery staple", cost: cost)
                    wall.append(Self.millis(CLOCK_MONOTONIC) - wallStart)
                    cpu.append(Self.millis(CLOCK_THREAD_CPUTIME_ID) - cpuStart)
                }
                func median(_ v: [Double]) -> Int { Int(v.sorted()[v.count / 2].rounded()) }
                print(JSONLine.object(["cost": cost, "medianMs": median(wall), "cpuMs": median(cpu)]))
            }
        }

        private static func millis(_ clock: clockid_t) -> Double {
            var t = timespec()
            clock_gettime(clock, &t)
            return Double(t.tv_sec) * 1000 + Double(t.tv_nsec) / 1_000_000
        }
    }
}

/// `--bcrypt-cost`, shared by `serve` and `account add`.
struct BcryptCostOption: ParsableArguments {
    @Option(name: .customLong("bcrypt-cost"), help: "bcrypt cost of password hashes, 4 to 16 (env HELFERRUF_BCRYPT_COST; default \(Passwords.defaultCost), about 140 ms a hash; see `account bcrypt-cost`).")
    var bcryptCost: String?

    func value() throws -> Int {
        try Environment.value(bcryptCost, "HELFERRUF_BCRYPT_COST", "--bcrypt-cost", default: Passwords.defaultCost) {
            Int($0).flatMap { Passwords.costRange.contains($0) ? $0 : nil }
        }
    }
}
