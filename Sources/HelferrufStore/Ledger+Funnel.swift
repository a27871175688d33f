import GRDB
import HelferrufCore

/// The funnel answers of one ledger batch, applied together per call and stage
/// (``RosterSQL/funnel(_:_:stage:db:now:)``): 5,000 recipients' `received` cost one insert
/// and one counter update instead of two statements each.
///
/// They are applied before the batch's next change of another kind and at its end, so they
/// keep their place among the other changes; among themselves the order does not matter, as
/// an answer only needs its alert record and counts once per volunteer: within a group, the
/// first answer of a volunteer is the one that counts. Each answer still gets its own
/// outcome, with the call as it stands after the answers applied with it.
struct FunnelGroups {
    private struct Key: Hashable {
        let callId: String
        let stage: FunnelStage
    }

    private var groups: [Key: [(index: Int, volunteerId: String)]] = [:]

    var isEmpty: Bool { groups.isEmpty }

    /// The lowest batch index of the waiting answers: the one set aside when their statement fails.
    var firstIndex: Int? { groups.values.compactMap { $0.first?.index }.min() }

    mutating func add(_ index: Int, callId: String, volunteerId: String, stage: FunnelStage) {
        groups[Key(callId: callId, stage: stage), default: []].append((index, volunteerId))
    }

    /// Applies every waiting group and writes each answer's outcome at its index in
    /// `outcomes`. Every outcome of a call carries the call as it stands after all its
    /// groups, so that both counters are current whichever stage was applied last.
    mutating func apply(_ changes: [RosterChange], into outcomes: inout [RosterOutcome?], sql: inout RosterSQL, db: Database, now: Timestamp) throws {
        var counted: [Key: Set<String>] = [:]
        var latest: [String: Call] = [:]
        for (key, answers) in groups {
            guard let applied = try sql.funnel(key.callId, answers.map(\.volunteerId), stage: key.stage, db: db, now: now) else { continue }
            counted[key] = applied.counted
            latest[key.callId] = applied.call
        }
        for (key, answers) in groups {
            for (index, vid) in answers {
                guard let call = latest[key.callId] else {
                    outcomes[index] = RosterOutcome(change: changes[index], result: .notFound, call: nil, statusChanged: false, changed: false)
                    continue
                }
                let changed = counted[key]?.remove(vid) != nil
                outcomes[index] = RosterOutcome(change: changes[index], result: .done, call: call, statusChanged: false, changed: changed)
            }
        }
        groups.removeAll(keepingCapacity: true)
    }
}
