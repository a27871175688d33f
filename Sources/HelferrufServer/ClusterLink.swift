import Foundation
import HelferrufStore
import Synchronization

/// This node's view of the other nodes of its database (PROTOCOL.md §9), beyond the
/// committed changes: who is alive (each node sends a heartbeat every second), and the
/// `/reach` questions waiting for the others' counts.
final class ClusterLink: Sendable {
    let feed: any ClusterFeed
    /// How often this node says it is alive.
    static let heartbeat: Duration = .seconds(1)
    /// A node not heard from for this long is no longer waited for.
    static let peerTimeout: Duration = .milliseconds(3500)
    /// The longest a `/reach` waits for the other nodes' counts; a node that has not
    /// answered by then is left out of the sum.
    static let reachTimeout: Duration = .milliseconds(500)

    private struct Question {
        var waiting: Set<String>
        var available = 0
        var connected = 0
        var continuation: CheckedContinuation<(available: Int, connected: Int), Never>
    }

    private struct State {
        var peers: [String: ContinuousClock.Instant] = [:]
        var questions: [String: Question] = [:]
    }

    private let state = Mutex(State())

    init(feed: any ClusterFeed) {
        self.feed = feed
    }

    var node: String { feed.node }

    /// Sends this node's news to the others; with nothing, a heartbeat. A notice that cannot
    /// be sent (the database unreachable) is dropped: a resync or the next heartbeat follows.
    func tell(blocks: [BlockChange] = [], volunteers: [String] = [], reached: ReachAnswer? = nil) async {
        try? await feed.publish(ClusterNotice(node: node, blocks: blocks, volunteers: volunteers, reached: reached))
    }

    /// Notes that `node` sent something: it is alive.
    func heard(from node: String) {
        state.withLock { $0.peers[node] = .now }
    }

    /// The nodes heard from within ``peerTimeout``.
    var livePeers: Set<String> {
        let now = ContinuousClock.now
        return state.withLock { s in
            s.peers = s.peers.filter { now - $0.value < Self.peerTimeout }
            return Set(s.peers.keys)
        }
    }

    /// The other nodes' counts for `query` (its id is replaced), summed; what a node did not
    /// answer within ``reachTimeout`` is left out.
    func reach(_ query: ReachQuery) async -> (available: Int, connected: Int) {
        let peers = livePeers
        guard !peers.isEmpty else { return (0, 0) }
        var query = query
        query.id = UUID().uuidString
        let id = query.id
        let notice = ClusterNotice(node: node, reach: query)
        return await withCheckedContinuation { continuation in
            state.withLock { $0.questions[id] = Question(waiting: peers, continuation: continuation) }
            Task { [feed] in
                try? await feed.publish(notice)
                try? await Task.sleep(for: Self.reachTimeout)
                self.finish(id)
            }
        }
    }

    /// Adds one node's answer; the question is answered once every node it waits for did.
    func answered(_ answer: ReachAnswer, from node: String) {
        let done = state.withLock { s -> Bool in
            guard var q = s.questions[answer.id], q.waiting.remove(node) != nil else { return false }
            q.available += max(0, answer.available)
            q.connected += max(0, answer.connected)
            s.questions[answer.id] = q
            return q.waiting.isEmpty
        }
        if done { finish(answer.id) }
    }

    private func finish(_ id: String) {
        guard let q = state.withLock({ $0.questions.removeValue(forKey: id) }) else { return }
        q.continuation.resume(returning: (q.available, q.connected))
    }
}
