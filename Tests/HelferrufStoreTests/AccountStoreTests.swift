import Foundation
import GRDB
import HelferrufCore
import Testing
@testable import HelferrufStore

@Suite struct AccountStoreTests {
    let limits = SessionLimits(idleMillis: 3_600_000, lifetimeMillis: 4 * 3_600_000)

    func storeWithAccount() throws -> (Store, Organisation, Account) {
        let store = try Store(path: temporaryDatabasePath())
        let org = try store.createOrganisation(name: "THW", now: testNow).0
        let account = try store.createAccount(orgId: org.id, email: "anna@example.org", passwordHash: "$2b$04$hash", now: testNow)
        return (store, org, account)
    }

    @Test func onlyTheHashOfASessionIsStored() async throws {
        let (store, org, account) = try storeWithAccount()
        let secret = try await store.createSession(accountId: account.id, now: testNow, limits: limits)
        #expect(secret.hasPrefix("hrs_") && secret.count >= 40)
        let rows = try store.pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM sessions") }
        #expect(rows.count == 1)
        #expect(rows[0]["id_hash"] as String == Tokens.hash(secret))
        for column in rows[0].columnNames {
            #expect(!"\(rows[0][column] ?? "")".contains(String(secret.dropFirst(4))), "\(column) holds the secret")
        }
        let found = try #require(try await store.session(secret: secret, now: testNow, limits: limits))
        #expect(found.account == account && found.organisation.id == org.id && found.organisation.name == "THW")
        #expect(try await store.session(secret: secret + "x", now: testNow, limits: limits) == nil)
        try await store.deleteSession(secret: secret)
        #expect(try await store.session(secret: secret, now: testNow, limits: limits) == nil)
    }

    @Test func sessionsEndWhenIdleOrTooOldAndUseIsRecorded() async throws {
        let (store, _, account) = try storeWithAccount()
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
        #expect(try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sessions") } == 1)
    }

    @Test func addressesAreUniqueAndDisablingEndsSessions() async throws {
        let (store, org, account) = try storeWithAccount()
        #expect(throws: AccountError.self) {
            try store.createAccount(orgId: org.id, email: "anna@example.org", passwordHash: "x", now: testNow)
        }
        #expect(throws: AccountError.self) {
            try store.createAccount(orgId: "nope", email: "ben@example.org", passwordHash: "x", now: testNow)
        }
        let candidate = try #require(try await store.loginCandidate(email: "anna@example.org"))
        #expect(candidate.passwordHash == "$2b$04$hash" && candidate.account == account)
        let secret = try await store.createSession(accountId: account.id, now: testNow, limits: limits)
        #expect(try store.setAccountDisabled(email: "anna@example.org", true))
        #expect(try await store.session(secret: secret, now: testNow, limits: limits) == nil)
        #expect(try await store.loginCandidate(email: "anna@example.org") == nil)
        #expect(try store.accounts(orgId: org.id).map(\.disabled) == [true])
        #expect(try !store.setAccountDisabled(email: "nobody@example.org", true))
        // A disabled organisation's accounts cannot sign in either.
        #expect(try store.setAccountDisabled(email: "anna@example.org", false))
        #expect(try store.setOrganisationDisabled(id: org.id, true))
        #expect(try await store.loginCandidate(email: "anna@example.org") == nil)
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
