import Foundation
import HelferrufStore
import Synchronization

/// This node's view of the other nodes of its database (PROTOCOL.md §9), beyond the
/// committed changes: who is alive (each node sends a heartbeat every second), and the
/// questions (`/reach`, a step's candidates) waiting for the others' answers.
final class ClusterLink: Sendable {
    let feed: any ClusterFeed
    /// How often this node says it is alive (and renews its leases).
    static let heartbeat: Duration = .seconds(1)
    /// A node not heard from for this long is no longer waited for.
    static let peerTimeout: Duration = .milliseconds(3500)
    /// The longest a question waits for the other nodes' answers; a node that has not
    /// answered by then is left out.
    static let answerTimeout: Duration = .milliseconds(500)

    private let peers = Mutex([String: ContinuousClock.Instant]())
    private let newcomer = Mutex(false)
    private let reaches = Questions<ReachAnswer>()
    private let steps = Questions<CandidateAnswer>()

    init(feed: any ClusterFeed) {
        self.feed = feed
    }

    var node: String { feed.node }

    /// Sends this node's news to the others; with nothing, a heartbeat. A notice that cannot
    /// be sent (the database unreachable) is dropped: a resync or the next heartbeat follows.
    func tell(
        blocks: [BlockChange] = [], volunteers: [String] = [], availability: [AvailabilityChange] = [], reached: ReachAnswer? = nil,
        offered: CandidateAnswer? = nil
    ) async {
        try? await feed.publish(
            ClusterNotice(node: node, blocks: blocks, volunteers: volunteers, reached: reached, offered: offered, availability: availability))
    }

    /// Announces push-reachable volunteers connected here, or gone from here, in notices
    /// of at most ``ClusterNotice/maxPresencePerNotice`` ids.
    func tell(present: [String], absent: [String]) async {
        var (present, absent) = (present[...], absent[...])
        while !present.isEmpty || !absent.isEmpty {
            let p = present.prefix(ClusterNotice.maxPresencePerNotice)
            let a = absent.prefix(ClusterNotice.maxPresencePerNotice - p.count)
            (present, absent) = (present.dropFirst(p.count), absent.dropFirst(a.count))
            try? await feed.publish(ClusterNotice(node: node, present: Array(p), absent: Array(a)))
        }
    }

    /// Sends each order to its node.
    func tell(_ orders: [AlertOrder]) async {
        for order in orders { try? await feed.publish(ClusterNotice(node: node, order: order)) }
    }

    /// Notes that `node` sent something: it is alive.
    func heard(from node: String) {
        let new = peers.withLock { $0.updateValue(.now, forKey: node) == nil }
        if new { newcomer.withLock { $0 = true } }
    }

    /// Whether a node was heard from for the first time (or again, after it was given up)
    /// since the last call: it needs to be told what it cannot know yet.
    func takeNewcomer() -> Bool {
        newcomer.withLock { seen in
            defer { seen = false }
            return seen
        }
    }

    /// The nodes heard from within ``peerTimeout``.
    var livePeers: Set<String> {
        let now = ContinuousClock.now
        return peers.withLock { peers in
            peers = peers.filter { now - $0.value < Self.peerTimeout }
            return Set(peers.keys)
        }
    }

    /// The other nodes' counts for `query` (its id is replaced), summed; what a node did not
    /// answer within ``answerTimeout`` is left out.
    func reach(_ query: ReachQuery) async -> (available: Int, connected: Int) {
        var query = query
        query.id = UUID().uuidString
        let answers = await reaches.ask(query.id, of: livePeers) { [feed, node, query] in
            try? await feed.publish(ClusterNotice(node: node, reach: query))
        }
        return answers.values.reduce((0, 0)) { ($0.0 + max(0, $1.available), $0.1 + max(0, $1.connected)) }
    }

    /// Each other node's candidates for a step of `query`'s call (its id is replaced), by node.
    func candidates(_ query: CandidateQuery) async -> [String: CandidateAnswer] {
        var query = query
        query.id = UUID().uuidString
        return await steps.ask(query.id, of: livePeers) { [feed, node, query] in
            try? await feed.publish(ClusterNotice(node: node, candidates: query))
        }
    }

    /// Takes in another node's answer to one of this node's questions.
    func answered(_ answer: ReachAnswer, from node: String) { reaches.answer(answer.id, answer, from: node) }

    func answered(_ answer: CandidateAnswer, from node: String) { steps.answer(answer.id, answer, from: node) }
}

/// Questions asked of the other nodes and waiting for their answers, each answered once
/// every node it waits for did, or after ``ClusterLink/answerTimeout`` with what came.
private final class Questions<Answer: Sendable>: Sendable {
    private struct Question {
        var waiting: Set<String>
        var answers: [String: Answer] = [:]
        var continuation: CheckedContinuation<[String: Answer], Never>
    }

    private let pending = Mutex([String: Question]())

    /// Sends a question with `ask` and waits for the answers of `peers`, by node.
    func ask(_ id: String, of peers: Set<String>, _ ask: @escaping @Sendable () async -> Void) async -> [String: Answer] {
        guard !peers.isEmpty else { return [:] }
        return await withCheckedContinuation { continuation in
            pending.withLock { $0[id] = Question(waiting: peers, continuation: continuation) }
            Task {
                await ask()
                try? await Task.sleep(for: ClusterLink.answerTimeout)
                self.finish(id)
            }
        }
    }

    func answer(_ id: String, _ answer: Answer, from node: String) {
        let done = pending.withLock { pending -> Bool in
            guard var q = pending[id], q.waiting.remove(node) != nil else { return false }
            q.answers[node] = answer
            pending[id] = q
            return q.waiting.isEmpty
        }
        if done { finish(id) }
    }

    private func finish(_ id: String) {
        guard let q = pending.withLock({ $0.removeValue(forKey: id) }) else { return }
        q.continuation.resume(returning: q.answers)
    }
}
