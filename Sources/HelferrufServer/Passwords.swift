import Foundation
import HelferrufStore
import HelferrufSync
import HummingbirdBcrypt
import NIOPosix
import Synchronization

/// Password hashing with bcrypt.
///
/// bcrypt reads at most 72 bytes and stops at a NUL byte, so a password is first reduced
/// to its hex SHA-256 (64 ASCII bytes): every character of a long passphrase counts, and
/// no input can cut it short.
///
/// The default cost is measured so that one hash takes 100–250 ms on the machines this
/// runs on (2 cores): CPU time per hash, median of 5, with the bcrypt C code built `-O2`
/// as in a release build: cost 10 = 70 ms, 11 = 138 ms, 12 = 275 ms, 13 = 550 ms. (Wall
/// time was 3× that while four Swift builds shared the 2 cores.) `helferruf account
/// bcrypt-cost` measures it again on the target machine. The cost is stored in each
/// hash, so changing it later only affects new passwords.
public enum Passwords {
    public static let defaultCost = 11
    /// bcrypt's own range is 4–31; above 16 one login would take many seconds.
    public static let costRange = 4...16

    public static func hash(_ password: String, cost: Int) -> String {
        Bcrypt.hash(Tokens.hash(password), cost: UInt8(cost))
    }

    public static func verify(_ password: String, hash: String) -> Bool {
        Bcrypt.verify(Tokens.hash(password), hash: hash)
    }
}

/// Checks login passwords on a thread pool of its own, so that the ~200 ms of bcrypt
/// never stall an event loop or the cooperative pool (which also serves the sockets), and
/// so that file serving (on NIO's shared pool) does not wait behind logins.
///
/// A login for an unknown, disabled or foreign address is checked against a dummy hash
/// of the same cost: it takes as long as a real one, so timing does not tell whether an
/// address has an account.
final class PasswordChecker: Sendable {
    /// Two threads: on two cores more would only compete with the event loops.
    private static let threads: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        return pool
    }()

    /// Checks waiting or running at once; beyond this a login is answered "busy" at once
    /// rather than queued for seconds.
    static let maxPending = 32

    let cost: Int
    private let dummy = StateLock<String?>(nil)
    private let pending = Atomic<Int>(0)

    init(cost: Int) {
        self.cost = cost
    }

    enum Failure: Error { case busy }

    /// Whether `password` matches `hash`; with no hash, checks against the dummy and
    /// answers false.
    func check(_ password: String, against hash: String?) async throws -> Bool {
        let queued = pending.add(1, ordering: .relaxed).newValue
        defer { pending.subtract(1, ordering: .relaxed) }
        guard queued <= Self.maxPending else { throw Failure.busy }
        return try await Self.threads.runIfActive { [self] in
            if let hash { return Passwords.verify(password, hash: hash) }
            _ = Passwords.verify(password, hash: dummyHash())
            return false
        }
    }

    /// Made on first use (on the pool), so that servers without logins never pay for it.
    private func dummyHash() -> String {
        if let made = dummy.withLock({ $0 }) { return made }
        let made = Passwords.hash(Tokens.generate(.session), cost: cost)
        dummy.withLock { $0 = made }
        return made
    }
}
