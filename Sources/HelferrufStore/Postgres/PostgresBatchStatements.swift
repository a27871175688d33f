import PostgresNIO

// The statements every batch of the PostgreSQL ledger runs, prepared once per connection:
// PostgreSQL then parses and plans them once instead of in every batch (planning the facts
// statement costs about as much as running it for a hundred accepts). Their result columns
// never depend on the schema, so a migration cannot invalidate them.

/// Takes the accepting volunteers' transaction-scoped advisory locks
/// (``PostgresRoster/volunteerLockSpace``), in key order; the inner `ORDER BY … OFFSET 0`
/// fixes that order.
struct VolunteerLocksStatement: PostgresPreparedStatement {
    static let name = "helferruf_volunteer_locks"
    static let sql = """
        SELECT pg_advisory_xact_lock($1, h)::text
        FROM (SELECT DISTINCT hashtext(v) AS h FROM unnest($2::text[]) AS v ORDER BY h OFFSET 0) AS keys
        """
    typealias Row = String

    var space: Int32
    var volunteerIds: [String]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(space)
        bindings.append(volunteerIds)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(String.self) }
}

/// For each (call, volunteer) pair, numbered from 1: barred (blocked by the call's
/// organisation or removed from the call), places held on other live calls whose window
/// overlaps the call's, already confirmed, on the standby list, alerted (``AcceptFacts``).
/// Pairs whose call does not exist give no row.
///
/// Every check is a scalar subquery per pair (the call's row too, kept apart by `OFFSET 0`),
/// which the planner cannot turn into a join or a hashed subplan, and the overlap counts
/// start from the volunteer's own places. Written as joins and `EXISTS`, the plan cached
/// while a new database's tables were still empty walked every open call for each accept
/// and hashed whole tables per batch: the first minute ran at a twentieth of the speed.
struct AcceptFactsStatement: PostgresPreparedStatement {
    static let name = "helferruf_accept_facts"
    static let sql = """
        SELECT a.n,
            COALESCE((SELECT true FROM blocks WHERE org_id = c.org_id AND volunteer_id = a.vid LIMIT 1), false)
                OR COALESCE((SELECT true FROM removals WHERE call_id = a.cid AND volunteer_id = a.vid LIMIT 1), false),
            (SELECT COUNT(*) FROM confirmations x WHERE x.volunteer_id = a.vid AND x.call_id <> a.cid
                AND (SELECT o.status IN ('open','filled') AND o.starts_at < c.ends_at AND o.ends_at > c.starts_at AND o.ends_at > $3
                     FROM calls o WHERE o.id = x.call_id))
            + (SELECT COUNT(*) FROM standby s WHERE s.volunteer_id = a.vid AND s.left_at IS NULL AND s.call_id <> a.cid
                AND (SELECT o.status IN ('open','filled') AND o.starts_at < c.ends_at AND o.ends_at > c.starts_at AND o.ends_at > $3
                     FROM calls o WHERE o.id = s.call_id)),
            COALESCE((SELECT true FROM confirmations WHERE call_id = a.cid AND volunteer_id = a.vid LIMIT 1), false),
            COALESCE((SELECT true FROM standby WHERE call_id = a.cid AND volunteer_id = a.vid AND left_at IS NULL LIMIT 1), false),
            COALESCE((SELECT true FROM alerts WHERE call_id = a.cid AND volunteer_id = a.vid LIMIT 1), false)
        FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS a(cid, vid, n)
        CROSS JOIN LATERAL (SELECT org_id, starts_at, ends_at FROM calls WHERE id = a.cid OFFSET 0) AS c
        """
    typealias Row = (Int, Bool, Int, Bool, Bool, Bool)

    var callIds: [String]
    var volunteerIds: [String]
    var now: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(callIds)
        bindings.append(volunteerIds)
        bindings.append(now)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// Inserts the confirmations and takes their places call by call with the conditional
/// update; returns each updated call's count and status. A call whose places do not fit
/// gives no row (its confirmations are inserted all the same: the caller fails the batch).
struct StoreConfirmationsStatement: PostgresPreparedStatement {
    static let name = "helferruf_store_confirmations"
    static let sql = """
        WITH added AS (
            INSERT INTO confirmations (call_id, volunteer_id, confirmed_at, party)
            SELECT call_id, volunteer_id, $4, party FROM unnest($1::text[], $2::text[], $3::int[]) AS b(call_id, volunteer_id, party)
            RETURNING call_id, party),
        places AS (SELECT call_id, SUM(party)::int AS taken FROM added GROUP BY call_id)
        UPDATE calls c SET confirmed = c.confirmed + p.taken,
            status = CASE WHEN c.confirmed + p.taken >= c.needed THEN 'filled' ELSE c.status END
        FROM places p
        WHERE c.id = p.call_id AND c.status = 'open' AND c.confirmed + p.taken <= c.needed
        RETURNING c.id, c.confirmed, c.status
        """
    typealias Row = (String, Int, String)

    var callIds: [String]
    var volunteerIds: [String]
    var parties: [Int]
    var at: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(callIds)
        bindings.append(volunteerIds)
        bindings.append(parties)
        bindings.append(at)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}
