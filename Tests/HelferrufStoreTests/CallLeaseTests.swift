import Foundation
import PostgresNIO
import Testing
@testable import HelferrufStore

/// The leases that let exactly one node drive each call (PROTOCOL.md §9): a live holder
/// keeps its calls, a dead one's are taken over, by one node only.
@Suite(.enabled(if: TestPostgres.configured, "HELFERRUF_TEST_POSTGRES_URL is not set"))
struct CallLeaseTests {
    @Test func aLiveHolderKeepsItsCallsAndADeadOnesAreTakenOver() async throws {
        try await Engine.postgres.withStore { e in
            let store = try #require(e.records as? PostgresStore)
            let org = try await e.records.createOrganisation(name: "THW", now: .testNow).0
            let (c1, c2) = (try await e.insertOpenCall(org.id), try await e.insertOpenCall(org.id))
            let (a, b) = (PostgresClusterFeed(database: store.database, node: "a"), PostgresClusterFeed(database: store.database, node: "b"))

            #expect(try await a.leaseCalls([c1]) == [c1])
            #expect(try await b.leaseCalls([c1]) == [])
            #expect(try await a.leaseCalls([c1]) == [c1])
            // Unknown ids are no calls: nothing to lease.
            #expect(try await b.leaseCalls(["no-such-call", "'; DROP TABLE calls; --"]) == [])

            try await expire("a", store.database)
            #expect(try await b.leaseCalls([c1, c2]) == [c1, c2])
            // Back after its lease ran out, a finds its call driven by b.
            #expect(try await a.leaseCalls([c1]) == [])
            #expect(try await b.leaseCalls([c1, c2]) == [c1, c2])
        }
    }

    @Test func nodesTakingOverAtOnceGetEachCallOnce() async throws {
        try await Engine.postgres.withStore { e in
            let store = try #require(e.records as? PostgresStore)
            let org = try await e.records.createOrganisation(name: "THW", now: .testNow).0
            var inserted: [String] = []
            for _ in 0..<20 { inserted.append(try await e.insertOpenCall(org.id)) }
            let calls = inserted
            let dead = PostgresClusterFeed(database: store.database, node: "dead")
            #expect(try await dead.leaseCalls(calls) == Set(calls))
            try await expire("dead", store.database)
            let held = try await withThrowingTaskGroup(of: Set<String>.self) { group in
                for node in ["n1", "n2", "n3", "n4"] {
                    group.addTask { try await PostgresClusterFeed(database: store.database, node: node).leaseCalls(calls.shuffled()) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(held.reduce(0) { $0 + $1.count } == calls.count)
            #expect(held.reduce(into: Set<String>()) { $0.formUnion($1) } == Set(calls))
        }
    }

    /// A node's lease as if its node had died a while ago.
    private func expire(_ node: String, _ database: HelferrufStore.PostgresDatabase) async throws {
        _ = try await database.client.query("UPDATE node_leases SET expires_at = now() - interval '1 second' WHERE node = \(node)")
    }
}
