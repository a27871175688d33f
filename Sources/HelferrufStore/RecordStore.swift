import HelferrufCore

/// The store of record as the server and the command line see it: one protocol, one
/// implementation per database engine (the SQLite ``Store`` is the embedded default).
///
/// Everything that changes a call or its roster goes through the engine's ``RosterLedger``
/// (``makeLedger(clock:maxOverlapping:)``); the store holds the rest: organisations,
/// accounts, volunteers, push subscriptions, blocks, and the reads. Every requirement is
/// `async`, as a networked engine needs; the SQLite engine answers synchronously where it
/// always did, which satisfies them unchanged.
///
/// The hub's hot paths never wait on the store: matching and fan-out run on the in-memory
/// state, and the ledger answers from its own writer. The existential costs one indirect
/// call per request, next to a database round trip.
public protocol RecordStore: OrganisationRecords, AccountRecords, VolunteerRecords, DenialRecords, PushRecords, MaintenanceRecords {
    /// The ledger that applies roster changes to this store. Call once per process: each
    /// ledger is the single writer of its engine's rosters (group commit).
    func makeLedger(clock: @escaping @Sendable () -> Timestamp, maxOverlapping: Int) -> any RosterLedger

    /// What the other nodes of the same database commit, for an engine that runs several
    /// nodes (PROTOCOL.md §9); nil for one that runs one (SQLite).
    var clusterFeed: (any ClusterFeed)? { get }

    // MARK: Volunteers' records

    func export(volunteerId id: String) async throws -> VolunteerExport?
    func welcomeState(volunteerId id: String, now: Timestamp) async throws -> WelcomeState

    // MARK: Calls

    func call(id: String) async throws -> Call?
    func calls(orgId: String, status: CallStatus?) async throws -> [Call]
    func allCalls(status: CallStatus?) async throws -> [Call]
    func dashboardCalls(orgId: String, endedSince: Timestamp) async throws -> [Call]
    func activeCalls() async throws -> [(call: Call, alerted: Set<String>, declined: Set<String>)]
    func recentAlertTimes(since: Timestamp) async throws -> [String: [Timestamp]]
    func confirmations(callId: String, noShowsSince: Timestamp) async throws -> [Confirmation]
    func messages(callId: String) async throws -> [CallMessage]
    func acceptanceRate(orgId: String) async throws -> Double
    func delayModel(orgId: String) async throws -> DelayModel
    func deadlineProgress(callId: String) async throws -> (alertedAt: [String: Timestamp], answered: Set<String>)
}

/// Organisations and their tokens (only hashes are stored).
public protocol OrganisationRecords: Sendable {
    func createOrganisation(name: String, now: Timestamp) async throws -> (Organisation, token: String)
    /// Creates the "Demo" organisation when there is none yet (once, also with several nodes
    /// starting together); nil when an organisation exists.
    func createDemoOrganisationIfEmpty(now: Timestamp) async throws -> (Organisation, token: String)?
    func organisation(token: String) async throws -> Organisation?
    func organisations() async throws -> [Organisation]
    func setOrganisationDisabled(id: String, _ disabled: Bool) async throws -> Bool
    func rotateOrganisationToken(id: String) async throws -> String?
}

/// Console accounts and their sessions (passwords as bcrypt hashes, sessions as hashes of
/// their secrets).
public protocol AccountRecords: Sendable {
    /// Throws ``AccountError`` for an unknown organisation or a taken address.
    func createAccount(orgId: String, email: String, passwordHash: String, now: Timestamp) async throws -> Account
    func accounts(orgId: String) async throws -> [Account]
    func setAccountDisabled(email: String, _ disabled: Bool) async throws -> Bool
    func loginCandidate(email: String) async throws -> (account: Account, organisation: Organisation, passwordHash: String)?
    func createSession(accountId: String, now: Timestamp, limits: SessionLimits) async throws -> String
    func session(secret: String, now: Timestamp, limits: SessionLimits) async throws -> AccountSession?
    func enabledOrganisation(id: String) async throws -> Organisation?
    func deleteSession(secret: String) async throws
}

/// Volunteers' profiles, found by token (only its hash is stored) or id. Never a precise
/// location: only the alert area a volunteer chose (rounded before it gets here).
public protocol VolunteerRecords: Sendable {
    func createVolunteer(
        displayName: String, skills: [String], maxDistanceKm: Double, contact: String?, fatigue: FatigueLimits, now: Timestamp
    ) async throws -> (VolunteerProfile, token: String)
    func volunteer(token: String) async throws -> VolunteerProfile?
    func volunteer(id: String) async throws -> VolunteerProfile?
    /// Stores a changed profile; false when the volunteer no longer exists.
    func updateVolunteer(_ p: VolunteerProfile) async throws -> Bool
    /// Erases the profile and contact with everything hanging on them (subscriptions,
    /// blocks, push records); confirmations and alerts stay under the anonymous id.
    func deleteVolunteer(id: String) async throws
}

/// Organisations' blocks of volunteers (PROTOCOL.md §11).
public protocol DenialRecords: Sendable {
    /// Blocking again keeps the first time; nil when there is no such volunteer.
    func block(orgId: String, volunteerId: String, now: Timestamp) async throws -> Block?
    func unblock(orgId: String, volunteerId: String) async throws -> Bool
    /// An organisation's blocks, newest first.
    func blocks(orgId: String) async throws -> [Block]
    /// Every block, by organisation (the live state at start).
    func allBlocks() async throws -> [String: Set<String>]
}

/// Web Push records (PROTOCOL.md §8): the server's VAPID key, volunteers' subscriptions
/// and standing availability, and the pushes sent (at most one per call, volunteer and
/// endpoint, across restarts and nodes).
public protocol PushRecords: Sendable {
    /// The VAPID private scalar, created once (one for all nodes).
    func vapidPrivateKey(now: Timestamp) async throws -> [UInt8]
    func upsertPushSubscription(volunteerId id: String, _ sub: PushSubscription) async throws -> SubscriptionUpsert
    @discardableResult
    func deletePushSubscription(volunteerId id: String, endpoint: String) async throws -> Bool
    func pushSubscriptions(volunteerId id: String) async throws -> [PushSubscription]
    func setStandingAvailability(volunteerId id: String, _ availability: Availability?) async throws
    func pushVolunteers() async throws -> [PushVolunteer]
    func pushVolunteer(id: String) async throws -> PushVolunteer?
    func recordPushes(callId: String, _ sent: [(volunteerId: String, endpoint: String)], now: Timestamp) async throws
    /// Pushes sent for open or filled calls: call → volunteer → endpoints.
    func activePushes() async throws -> [String: [String: Set<String>]]
}

/// Retention, figures and upkeep.
public protocol MaintenanceRecords: Sendable {
    /// Whether the database answers a trivial query (`/readyz`).
    func isReadable() async -> Bool
    /// Marks every call that ended before `cutoff` as past retention; returns how many.
    @discardableResult
    func eraseContacts(endedBefore cutoff: Timestamp, now: Timestamp) async throws -> Int
    func stats() async throws -> StoreStats
    /// A consistent copy for `helferruf backup`; an engine with its own tools throws
    /// ``StoreError/notSupported(_:)`` naming them.
    func backup(to destination: String) async throws -> BackupSummary
    /// Reclaims space; an engine that does this itself throws ``StoreError/notSupported(_:)``.
    func vacuum() async throws
}

/// The single writer of everything that changes a call or its roster, per engine: it applies
/// ``RosterChange``s in group commits and answers each only after its commit returned.
public protocol RosterLedger: AnyObject, Sendable {
    /// Applies `change` durably and returns what happened, after the commit.
    func submit(_ change: RosterChange) async -> RosterOutcome
    /// Queues `change` without waiting for its outcome; it is still applied in order.
    func submitDetached(_ change: RosterChange)
    /// Returns once nothing is pending or being committed.
    func waitUntilIdle() async
    /// Sets the handler that sees every committed batch, in commit order, before any
    /// requester is answered.
    func setCommitHandler(_ handler: @escaping LedgerCommitHandler)
    /// Sets the observer of every attempted transaction.
    func setBatchObserver(_ observer: @escaping LedgerBatchObserver)
    /// Changes waiting for the writer.
    var queueDepth: Int { get }
    var statistics: LedgerStatistics { get }
}

/// Sees the outcomes of each committed batch: the place to update in-memory views.
public typealias LedgerCommitHandler = @Sendable ([RosterOutcome]) -> Void

/// Sees every transaction a ledger attempts: its size, how long it took (from `BEGIN` to the
/// end of the commit), and whether it committed.
public typealias LedgerBatchObserver = @Sendable (_ changes: Int, _ duration: Duration, _ committed: Bool) -> Void

/// A ledger's counters since it started.
public struct LedgerStatistics: Sendable, Equatable {
    /// Transactions attempted (one per batch).
    public var batches = 0
    /// Changes in those batches.
    public var changes = 0
    /// Batches whose transaction failed, every change answered `unavailable`.
    public var failedBatches = 0
    /// Detached changes given up after failed commits (beyond the ledger's retry limit).
    public var droppedRetries = 0

    public init() {}
}

/// Figures for `helferruf stats`.
public struct StoreStats: Sendable {
    public var organisations: Int
    public var volunteers: Int
    public var callsByStatus: [String: Int]
    public var confirmations: Int
    public var alerts: Int
}

/// Where `--db` points: an SQLite file, or a PostgreSQL server (`postgres://` or
/// `postgresql://` URL).
public enum DatabaseLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(url: String)

    public init(_ text: String) {
        let lower = text.lowercased()
        if lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://") {
            self = .postgres(url: text)
        } else {
            self = .sqlite(path: text)
        }
    }
}

/// Opens the store `location` names, creating or migrating its schema: an SQLite file, or
/// a PostgreSQL database (which must exist; the server creates its tables).
public func openRecordStore(_ location: String) async throws -> any RecordStore {
    switch DatabaseLocation(location) {
    case .sqlite(let path):
        return try Store(path: path)
    case .postgres(let url):
        return try await PostgresStore(location: PostgresLocation(url: url))
    }
}
