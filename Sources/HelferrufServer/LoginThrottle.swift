import HelferrufSync

/// Limits failed logins per e-mail address and per client address over a sliding window
/// (defaults: 5 per address and 20 per IP in 15 minutes).
///
/// Every attempt counts as a failure from the moment it starts, so that parallel guesses
/// cannot all pass the check while bcrypt runs; a successful login takes its own attempt
/// back and clears the address's failures. Unknown addresses are counted exactly like
/// known ones, so a 429 tells nothing about whether an account exists.
final class LoginThrottle: Sendable {
    struct Limits: Sendable {
        var perAccount: Int
        var perClient: Int
        var windowMillis: Int64
    }

    /// Keys tracked at most per map; beyond this, keys whose failures all left the window
    /// are dropped, and if that is not enough the map starts afresh (the per-client
    /// limit still holds an attacker who sprays addresses).
    static let maxKeys = 50_000

    private struct State {
        var accounts: [String: [Int64]] = [:]
        var clients: [String: [Int64]] = [:]
    }

    let limits: Limits
    private let state = StateLock(State())

    init(limits: Limits) {
        self.limits = limits
    }

    /// One attempt, to be ended with ``succeeded(email:client:at:)`` when the password
    /// was right.
    struct Attempt {
        let at: Int64
    }

    /// Records an attempt, or returns the milliseconds until one is allowed again.
    func begin(email: String, client: String, now: Int64) -> Result<Attempt, Refusal> {
        let limits = self.limits
        return state.withLock { s in
            let from = now - limits.windowMillis
            let account = (s.accounts[email] ?? []).filter { $0 > from }
            let byClient = (s.clients[client] ?? []).filter { $0 > from }
            var wait: Int64 = 0
            if account.count >= limits.perAccount, let oldest = account.first { wait = max(wait, oldest - from) }
            if byClient.count >= limits.perClient, let oldest = byClient.first { wait = max(wait, oldest - from) }
            if wait > 0 { return .failure(Refusal(retryAfterMillis: wait)) }
            Self.store(&s.accounts, email, account + [now], from: from)
            Self.store(&s.clients, client, byClient + [now], from: from)
            return .success(Attempt(at: now))
        }
    }

    struct Refusal: Error {
        let retryAfterMillis: Int64
    }

    func succeeded(email: String, client: String, attempt: Attempt) {
        state.withLock { s in
            s.accounts[email] = nil
            if var list = s.clients[client], let i = list.lastIndex(of: attempt.at) {
                list.remove(at: i)
                s.clients[client] = list.isEmpty ? nil : list
            }
        }
    }

    private static func store(_ map: inout [String: [Int64]], _ key: String, _ list: [Int64], from: Int64) {
        if map[key] == nil, map.count >= maxKeys {
            map = map.filter { $0.value.last.map { $0 > from } ?? false }
            if map.count >= maxKeys { map.removeAll(keepingCapacity: true) }
        }
        map[key] = list
    }
}
