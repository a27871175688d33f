import Foundation
import HelferrufCore
import Testing
@testable import HelferrufStore

/// The storage boundary: what the server and the command line see of an engine, used only
/// through `any RecordStore` and `any RosterLedger`, as they use it.
@Suite struct RecordStoreTests {
    @Test(arguments: [
        ("./helferruf-data/helferruf.sqlite", DatabaseLocation.sqlite(path: "./helferruf-data/helferruf.sqlite")),
        ("/var/lib/helferruf/db.sqlite", .sqlite(path: "/var/lib/helferruf/db.sqlite")),
        ("postgres://u:p@db.example:5432/helferruf", .postgres(url: "postgres://u:p@db.example:5432/helferruf")),
        ("postgresql://db.example/helferruf?sslmode=require", .postgres(url: "postgresql://db.example/helferruf?sslmode=require")),
        ("POSTGRES://db.example/h", .postgres(url: "POSTGRES://db.example/h")),
        // A relative folder that merely starts with the word is a file path.
        ("postgres/helferruf.sqlite", .sqlite(path: "postgres/helferruf.sqlite")),
    ])
    func locationNamesTheEngine(text: String, expected: DatabaseLocation) {
        #expect(DatabaseLocation(text) == expected)
    }

    /// A URL goes to the PostgreSQL engine, whose own checks answer (a server that does not
    /// answer: PostgresUnavailableTests).
    @Test func aPostgresURLIsCheckedAsOneWithoutTouchingTheDisk() async throws {
        let cwd = FileManager.default.currentDirectoryPath
        let error = await #expect(throws: StoreError.self) { try await openRecordStore("postgres://127.0.0.1/no-user") }
        #expect(error.map { "\($0)" }?.contains("names no user") == true)
        // Not taken for a path: no "postgres:" folder appears.
        #expect(!FileManager.default.fileExists(atPath: cwd + "/postgres:"))
    }

    /// Through the protocol only: the first N of concurrent accepts are confirmed, the rest
    /// answered `full`, and the committed call and confirmation list agree.
    @Test(arguments: Engine.available) func firstNThroughTheBoundary(engine: Engine) async throws {
        switch engine {
        case .sqlite:
            try await firstN(try await openRecordStore(temporaryDatabasePath()))
        case .postgres:
            try await TestPostgres.withFreshDatabase { location in
                var url = try #require(TestPostgres.url.flatMap(URLComponents.init(string:)))
                url.path = "/" + location.database
                let store = try await openRecordStore(try #require(url.string))
                #expect(store is PostgresStore)
                try await firstN(store)
                await (store as? PostgresStore)?.database.close()
            }
        }
    }

    private func firstN(_ store: any RecordStore) async throws {
        let ledger = store.makeLedger(clock: { testNow }, maxOverlapping: Ledger.defaultMaxOverlapping)
        let (org, _) = try await store.createOrganisation(name: "Feuerwehr", now: testNow)
        let call = makeCall(org: org, needed: 5)
        #expect(await ledger.submit(.createCall(call)).result == .done)
        var volunteers: [String] = []
        for i in 0..<20 {
            let (v, _) = try await store.createVolunteer(
                displayName: "Helfer \(i)", skills: [], maxDistanceKm: 10, contact: nil, fatigue: FatigueLimits(), now: testNow)
            volunteers.append(v.id)
        }
        let answers = await withTaskGroup(of: RosterOutcome.Result.self) { group in
            for v in volunteers {
                group.addTask { await ledger.submit(.accept(callId: call.id, volunteerId: v, eligible: true)).result }
            }
            var all: [RosterOutcome.Result] = []
            for await r in group { all.append(r) }
            return all
        }
        #expect(answers.filter { $0 == .answer(.confirmed) }.count == 5)
        #expect(answers.filter { $0 == .answer(.full) }.count == 15)
        await ledger.waitUntilIdle()
        let stored = try #require(try await store.call(id: call.id))
        #expect(stored.confirmed == 5)
        #expect(stored.status == .filled)
        #expect(try await store.confirmations(callId: call.id, noShowsSince: Timestamp(millis: 0)).count == 5)
        #expect(ledger.statistics.changes == 21)
        #expect(try await store.stats().confirmations == 5)
    }
}
