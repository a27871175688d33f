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
}
