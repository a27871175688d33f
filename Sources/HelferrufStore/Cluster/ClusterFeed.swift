/// The other nodes of the same database, for an engine that runs several nodes on one.
public protocol ClusterFeed: Sendable {
    /// This process's node id: its own notices come back to it and are skipped.
    var node: String { get }

    /// Runs until cancelled. Calls `resync` each time it starts or resumes listening (what
    /// was committed while it did not listen is only in the database), then `receive` for
    /// each notice another node sent, in the order they were sent.
    func run(resync: @escaping @Sendable () async -> Void, receive: @escaping @Sendable (ClusterNotice) async -> Void) async

    /// Sends `notice` to the other nodes (outside any transaction: delivered at once).
    func publish(_ notice: ClusterNotice) async throws

    /// Renews this node's lease and takes the lease of each of `callIds` that has no holder
    /// or whose holder's lease ran out (PROTOCOL.md §9: one node drives each call's waves,
    /// taken over when its node dies). Returns the calls whose lease this node holds now.
    /// A lease lasts ``callLeaseSeconds``; a node renews it with every heartbeat.
    func leaseCalls(_ callIds: [String]) async throws -> Set<String>
}

/// How long a node's lease on the calls it drives lasts without a renewal: with renewals
/// every second, another node takes a dead node's calls over within about six seconds.
public let callLeaseSeconds = 5
