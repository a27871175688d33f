import Foundation
import GRDB
import HelferrufCore
import Testing
@testable import HelferrufStore

/// Accounts and sessions, on every engine (``Engine``).
@Suite struct AccountStoreTests {
    let limits = SessionLimits(idleMillis: 3_600_000, lifetimeMillis: 4 * 3_600_000)

    func withAccount(_ engine: Engine, _ body: (EngineStore, Organisation, Account) async throws -> Void) async throws {
        try await engine.withStore { e in
            let org = try await e.records.createOrganisation(name: "THW", now: testNow).0
            let account = try await e.records.createAccount(orgId: org.id, email: "anna@example.org", passwordHash: "$2b$04$hash", now: testNow)
            try await body(e, org, account)
        }
    }

    @Test(arguments: Engine.available)
    func onlyTheHashOfASessionIsStored(engine: Engine) async throws {
        try await withAccount(engine) { e, org, account in
            let store = e.records
            let secret = try await store.createSession(accountId: account.id, now: testNow, limits: limits)
            #expect(secret.hasPrefix("hrs_") && secret.count >= 40)
            let rows = try await e.rows("sessions")
            #expect(rows.count == 1)
            #expect(rows.first?["id_hash"] == Tokens.hash(secret))
            for (column, value) in rows.first ?? [:] {
                #expect(!value.contains(String(secret.dropFirst(4))), "\(column) holds the secret")
            }
            let found = try #require(try await store.session(secret: secret, now: testNow, limits: limits))
            #expect(found.account == account && found.organisation.id == org.id && found.organisation.name == "THW")
            #expect(try await store.session(secret: secret + "x", now: testNow, limits: limits) == nil)
            try await store.deleteSession(secret: secret)
            #expect(try await store.session(secret: secret, now: testNow, limits: limits) == nil)
        }
    }

    @Test(arguments: Engine.available)
    func sessionsEndWhenIdleOrTooOldAndUseIsRecorded(engine: Engine) async throws {
        try await withAccount(engine) { e, _, account in
            let store = e.records
            let secret = try await store.createSession(accountId: account.id, now: testNow, limits: limits)
            let hour: Int64 = 3_600_000
            // Used after 50 minutes (recorded), then again 50 minutes later: still live.
            #expect(try await store.session(secret: secret, now: testNow.adding(millis: 50 * 60_000), limits: limits) != nil)
            #expect(try await store.session(secret: secret, now: testNow.adding(millis: 100 * 60_000), limits: limits) != nil)
            // Idle for more than an hour: gone.
            #expect(try await store.session(secret: secret, now: testNow.adding(millis: 100 * 60_000 + hour), limits: limits) == nil)
            // Used every 50 minutes, it still ends after its lifetime of 4 hours.
            let busy = try await store.createSession(accountId: account.id, now: testNow, limits: limits)
            var t = testNow
            while t.millis - testNow.millis < 4 * hour - 50 * 60_000 {
                t = t.adding(millis: 50 * 60_000)
                #expect(try await store.session(secret: busy, now: t, limits: limits) != nil)
            }
            #expect(try await store.session(secret: busy, now: testNow.adding(millis: 4 * hour), limits: limits) == nil)
            // A new login clears out the sessions that ran out.
            _ = try await store.createSession(accountId: account.id, now: testNow.adding(millis: 5 * hour), limits: limits)
            #expect(try await e.rows("sessions").count == 1)
        }
    }

    @Test(arguments: Engine.available)
    func addressesAreUniqueAndDisablingEndsSessions(engine: Engine) async throws {
        try await withAccount(engine) { e, org, account in
            let store = e.records
            await #expect(throws: AccountError.self) {
                try await store.createAccount(orgId: org.id, email: "anna@example.org", passwordHash: "x", now: testNow)
            }
            await #expect(throws: AccountError.self) {
                try await store.createAccount(orgId: "nope", email: "ben@example.org", passwordHash: "x", now: testNow)
            }
            let candidate = try #require(try await store.loginCandidate(email: "anna@example.org"))
            #expect(candidate.passwordHash == "$2b$04$hash" && candidate.account == account)
            let secret = try await store.createSession(accountId: account.id, now: testNow, limits: limits)
            #expect(try await store.setAccountDisabled(email: "anna@example.org", true))
            #expect(try await store.session(secret: secret, now: testNow, limits: limits) == nil)
            #expect(try await store.loginCandidate(email: "anna@example.org") == nil)
            #expect(try await store.accounts(orgId: org.id).map(\.disabled) == [true])
            #expect(try await !store.setAccountDisabled(email: "nobody@example.org", true))
            // A disabled organisation's accounts cannot sign in either.
            #expect(try await store.setAccountDisabled(email: "anna@example.org", false))
            #expect(try await store.setOrganisationDisabled(id: org.id, true))
            #expect(try await store.loginCandidate(email: "anna@example.org") == nil)
        }
    }

    /// Organisations: only token hashes stored, rotation retires the old token at once,
    /// a disabled organisation's token stops working, and the Demo organisation is created
    /// once even when several starts race for it.
    @Test(arguments: Engine.available)
    func organisationsAndTheirTokens(engine: Engine) async throws {
        try await engine.withStore { e in
            let store = e.records
            let demos = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<4 { group.addTask { try await store.createDemoOrganisationIfEmpty(now: testNow) != nil } }
                var created = 0
                for try await made in group where made { created += 1 }
                return created
            }
            #expect(demos == 1)
            let (org, token) = try await store.createOrganisation(name: "DLRG 'Ortsgruppe'; --", now: testNow.adding(millis: 1))
            #expect(try await store.organisation(token: token) == org)
            #expect(try await store.organisations().map(\.name) == ["Demo", "DLRG 'Ortsgruppe'; --"])
            #expect(try await e.rows("organisations").allSatisfy { !($0["token_hash"] ?? "").contains(String(token.dropFirst(4))) })
            let rotated = try #require(try await store.rotateOrganisationToken(id: org.id))
            #expect(try await store.organisation(token: token) == nil)
            #expect(try await store.organisation(token: rotated)?.id == org.id)
            #expect(try await store.rotateOrganisationToken(id: "nope") == nil)
            #expect(try await store.setOrganisationDisabled(id: org.id, true))
            #expect(try await store.organisation(token: rotated) == nil)
            #expect(try await store.enabledOrganisation(id: org.id) == nil)
            #expect(try await !store.setOrganisationDisabled(id: "nope", true))
        }
    }

    @Test func emailRules() throws {
        #expect(try Rules.email("  Anna.Berg@Example.ORG ") == "anna.berg@example.org")
        for bad in ["", "anna", "@example.org", "anna@", "anna@localhost", "an na@example.org", "anna@@example.org", "anna@example.org.", "a\u{7}@x.de"] {
            #expect(throws: ValidationError.self, "\(bad)") { try Rules.email(bad) }
        }
        #expect(throws: ValidationError.self) { try Rules.password("elf Zeichen") }
        #expect(try Rules.password(" zwölf Zeichen") == " zwölf Zeichen")
    }
}
