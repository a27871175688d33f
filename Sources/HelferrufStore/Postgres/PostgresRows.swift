import HelferrufCore
import PostgresNIO

/// Rows of the call tables decoded by column name (`SELECT c.*, …`), as GRDB's `Row` does
/// for the SQLite engine: the same columns and defaults as ``Call/init(row:)``.
extension PostgresRandomAccessRow {
    func value<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try self[column].decode(T.self)
    }
}

extension Call {
    /// The columns every call query selects on PostgreSQL: the call and its organisation's name.
    static let postgresSelect = "SELECT c.*, o.name AS org_name FROM calls c JOIN organisations o ON o.id = c.org_id"

    init(postgres r: PostgresRandomAccessRow) throws {
        let radius: Double = try r.value("radius_km")
        let ends = Timestamp(try r.value("ends_at", as: Int64.self))
        self.init(
            id: try r.value("id"), orgId: try r.value("org_id"), orgName: try r.value("org_name"), title: try r.value("title"),
            description: try r.value("description"), address: try r.value("address"),
            location: GeoPoint(lat: try r.value("lat"), lon: try r.value("lon")), radiusKm: radius,
            needed: try r.value("needed"), skills: SkillList.decode(try r.value("skills")),
            startsAt: Timestamp(try r.value("starts_at", as: Int64.self)), endsAt: ends,
            createdAt: Timestamp(try r.value("created_at", as: Int64.self)),
            status: CallStatus(rawValue: try r.value("status")) ?? .open,
            confirmed: try r.value("confirmed"), alerted: try r.value("alerted"), declined: try r.value("declined"),
            endedAt: try r.value("ended_at", as: Int64?.self).map { Timestamp(millis: $0) })
        let maxRadius: Double? = try r.value("max_radius_km")
        switch try r.value("dispatch_mode", as: String?.self) {
        case "waves":
            dispatch = .waves(maxRadiusKm: maxRadius ?? radius, waveSeconds: try r.value("wave_seconds", as: Int?.self) ?? Waves.defaultWaveSeconds)
        case "deadline":
            dispatch = .deadline(
                fillBy: Timestamp(millis: try r.value("fill_by", as: Int64?.self) ?? ends.millis),
                confidence: try r.value("confidence", as: Double?.self) ?? DeadlinePlanner.defaultConfidence,
                maxRadiusKm: maxRadius ?? radius)
            delayModel = DelayModel(
                medianSeconds: try r.value("delay_median_s", as: Double?.self) ?? DelayModel.default.medianSeconds,
                sigma: try r.value("delay_sigma", as: Double?.self) ?? DelayModel.default.sigma
            ).clamped
        default:
            break
        }
        acceptanceRate = try r.value("acceptance_rate", as: Double?.self) ?? Waves.defaultAcceptanceRate
        standbyEnabled = try r.value("standby_enabled", as: Int.self) != 0
        reachedRadiusKm = try r.value("reached_radius_km", as: Double?.self) ?? radius
        waves = try r.value("waves")
        delivered = try r.value("delivered")
        seen = try r.value("seen")
        checkedIn = try r.value("checked_in")
        standby = try r.value("standby")
        suppressed = try r.value("suppressed")
    }
}

extension CallMessage {
    /// The columns of ``postgres(_:)``.
    static let postgresColumns = "m.id, m.call_id, m.kind, m.text, m.at"

    static func postgres(_ r: (String, String, String, String, Int64)) -> CallMessage {
        CallMessage(id: r.0, callId: r.1, kind: Kind(rawValue: r.2) ?? .organisation, text: r.3, at: Timestamp(r.4))
    }
}

extension PostgresStore {
    /// Every row of a query, for decoding by column name.
    static func rows(_ sequence: PostgresRowSequence) async throws -> [PostgresRandomAccessRow] {
        var out: [PostgresRandomAccessRow] = []
        for try await row in sequence { out.append(row.makeRandomAccess()) }
        return out
    }

    static func calls(_ sequence: PostgresRowSequence) async throws -> [Call] {
        try await rows(sequence).map(Call.init(postgres:))
    }
}
