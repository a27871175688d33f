import Foundation
import GRDB
import HelferrufCore
import Testing
@testable import HelferrufStore

/// Retention and erasure: what the organisation sees after the retention period, and that
/// erased personal data is gone from the database file and its WAL, byte for byte.
@Suite struct RetentionTests {
    /// The database file and its WAL, concatenated, as raw bytes.
    private func fileBytes(_ path: String) throws -> Data {
        var all = Data()
        for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: path + suffix) {
            all.append(try Data(contentsOf: URL(fileURLWithPath: path + suffix)))
        }
        return all
    }

    private func contains(_ data: Data, _ marker: String) -> Bool {
        data.range(of: Data(marker.utf8)) != nil
    }

    @Test func secureDeleteIsOn() throws {
        let db = try TestDatabase()
        #expect(try db.store.secureDeleteEnabled())
    }

    @Test func deletedVolunteerIsPhysicallyGone() async throws {
        let db = try TestDatabase()
        let marker = "erase-me-0171-5550199-\(UUID().uuidString.prefix(8))"
        let (kept, _) = try await db.store.createVolunteer(displayName: "Bert", skills: [], maxDistanceKm: 10, contact: "keep-me-4711", now: .testNow)
        let (profile, _) = try await db.store.createVolunteer(displayName: "Anna", skills: ["sandbags"], maxDistanceKm: 10, contact: marker, now: .testNow)
        #expect(contains(try fileBytes(db.path), marker))
        try await db.store.deleteVolunteer(id: profile.id)
        let after = try fileBytes(db.path)
        #expect(!contains(after, marker), "the erased contact is still in the database file or WAL")
        #expect(contains(after, "keep-me-4711"), "the test must see a contact that was not erased")
        #expect(try await db.store.volunteer(id: kept.id)?.contact == "keep-me-4711")
    }

    @Test func replacedContactIsPhysicallyGone() async throws {
        let db = try TestDatabase()
        let old = "old-contact-\(UUID().uuidString.prefix(8))"
        var (profile, _) = try await db.store.createVolunteer(displayName: "Anna", skills: [], maxDistanceKm: 10, contact: old, now: .testNow)
        profile.contact = "new-contact"
        #expect(try await db.store.updateVolunteer(profile))
        let after = try fileBytes(db.path)
        #expect(!contains(after, old))
        #expect(contains(after, "new-contact"))
    }

    @Test func confirmationsHideNamesAndContactsAfterRetention() async throws {
        let db = try TestDatabase()
        let ledger = db.ledger()
        let (anna, _) = try await db.store.createVolunteer(displayName: "Anna", skills: [], maxDistanceKm: 10, contact: "0171 1", now: .testNow)
        let ended = try await db.postCall(ledger, needed: 2)
        let running = try await db.postCall(ledger, needed: 2)
        for call in [ended, running] {
            #expect(await ledger.submit(.accept(callId: call, volunteerId: anna.id, eligible: true)).result == .answer(.confirmed))
        }
        #expect(await ledger.submit(.cancel(callId: ended, orgId: db.orgId)).result == .done)
        let endedAt = try #require(try await db.store.call(id: ended)?.endedAt)

        // Before the cutoff nothing changes; after it, only the ended call is affected.
        #expect(try await db.store.eraseContacts(endedBefore: endedAt, now: .testNow) == 0)
        #expect(try await db.store.confirmations(callId: ended).first?.contact == "0171 1")
        #expect(try await db.store.eraseContacts(endedBefore: endedAt.adding(millis: 1), now: .testNow) == 1)
        #expect(try await db.store.eraseContacts(endedBefore: endedAt.adding(millis: 1), now: .testNow) == 0)

        let hidden = try #require(try await db.store.confirmations(callId: ended).first)
        #expect(hidden.volunteerId == anna.id && hidden.displayName == nil && hidden.contact == nil)
        let shown = try #require(try await db.store.confirmations(callId: running).first)
        #expect(shown.displayName == "Anna" && shown.contact == "0171 1")
        // The profile is the volunteer's own and stays as it is.
        #expect(try await db.store.volunteer(id: anna.id)?.contact == "0171 1")
    }
}
