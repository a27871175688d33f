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
/// outcome, with the call as it stands after its group.
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

    /// Applies every waiting group and writes each answer's outcome at its index in `outcomes`.
    mutating func apply(_ changes: [RosterChange], into outcomes: inout [RosterOutcome?], sql: inout RosterSQL, db: Database, now: Timestamp) throws {
        for (key, answers) in groups {
            let applied = try sql.funnel(key.callId, answers.map(\.volunteerId), stage: key.stage, db: db, now: now)
            var counted = applied?.counted ?? []
            for (index, vid) in answers {
                guard let applied else {
                    outcomes[index] = RosterOutcome(change: changes[index], result: .notFound, call: nil, statusChanged: false, changed: false)
                    continue
                }
                let changed = counted.remove(vid) != nil
                outcomes[index] = RosterOutcome(change: changes[index], result: .done, call: applied.call, statusChanged: false, changed: changed)
            }
        }
        groups.removeAll(keepingCapacity: true)
    }
}
