import Crypto
import Foundation
import HelferrufCore

/// One Web Push to one subscription (RFC 8030 §5): what to say, for how long, how urgently.
public struct PushMessage: Sendable {
    /// The longest `TTL` the contract uses: one day.
    public static let maximumTTL = 86_400

    /// Where it goes.
    public var subscription: PushSubscription
    /// The plaintext (the contract's JSON); encrypted per subscription when sent.
    public let payload: Data
    /// Seconds the push service may hold the message for an offline device (0…86400).
    public let ttl: Int
    /// How eagerly the device should be woken.
    public var urgency: PushUrgency
    /// Replaces an undelivered earlier message with the same topic (one per call).
    public var topic: PushTopic?

    /// - Throws: ``PushMessageError`` for a payload over
    ///   ``WebPushEncryption/maximumPlaintextLength`` or a TTL outside 0…86400.
    public init(
        subscription: PushSubscription, payload: Data, ttl: Int, urgency: PushUrgency, topic: PushTopic?
    ) throws(PushMessageError) {
        guard payload.count <= WebPushEncryption.maximumPlaintextLength else { throw .payloadTooLarge(payload.count) }
        guard (0...Self.maximumTTL).contains(ttl) else { throw .ttlOutOfRange(ttl) }
        self.subscription = subscription
        self.payload = payload
        self.ttl = ttl
        self.urgency = urgency
        self.topic = topic
    }
}

/// Why a ``PushMessage`` could not be made.
public enum PushMessageError: Error, Sendable, Equatable {
    /// The payload has this many bytes, more than one record holds.
    case payloadTooLarge(Int)
    /// The TTL is not within 0…86400 seconds.
    case ttlOutOfRange(Int)
}

/// The `Urgency` header (RFC 8030 §5.3). Alerts are `high`; updates that only tidy up the
/// device's notifications are `normal`.
public enum PushUrgency: String, Sendable, CaseIterable {
    /// Deliver on power and Wi-Fi only (RFC 8030's example: advertisements).
    case veryLow = "very-low"
    /// Deliver on power or Wi-Fi.
    case low
    /// Deliver unless the battery is low: the contract's `call_update`.
    case normal
    /// Deliver at once, even on a low battery: the contract's alerts.
    case high
}

/// The `Topic` header (RFC 8030 §5.4): at most 32 characters of the base64url alphabet.
public struct PushTopic: Sendable, Hashable, CustomStringConvertible {
    /// The header value.
    public let value: String

    /// Validates a topic; nil when it is empty, longer than 32 characters or has a character
    /// outside `A–Z a–z 0–9 - _`.
    public init?(_ value: String) {
        guard (1...32).contains(value.utf8.count), value.utf8.allSatisfy(Base64URL.isAlphabet) else { return nil }
        self.value = value
    }

    /// A topic for any text, such as a call id (a UUID has 36 characters, too many): the
    /// base64url of the first 24 bytes of its SHA-256, 32 characters. Equal texts give equal
    /// topics, so every message about one call replaces the one before.
    public init(digestOf text: String) {
        value = Base64URL.encode(SHA256.hash(data: Data(text.utf8)).prefix(24))
    }

    public var description: String { value }
}

/// What became of a submitted message, reported once to its completion closure.
public struct PushResult: Sendable, Equatable {
    /// The end state, also the `result` label of the server's push metrics.
    public enum Outcome: String, Sendable, CaseIterable {
        /// The push service accepted it (2xx).
        case delivered
        /// 404 or 410: the subscription is dead; the caller deletes it and never uses it again.
        case gone
        /// Another answer that retrying will not change (400, 403, 413, 3xx, …).
        case rejected
        /// Still 429, 5xx or a network error after the last try.
        case failed
        /// The endpoint is not on the allow-list (or not a URL); nothing was sent.
        case refused
        /// `stillWanted` said no before a retry.
        case abandoned
        /// The delivery shut down before the message got an answer.
        case dropped
    }

    /// The end state.
    public var outcome: Outcome
    /// Requests made (0 for refused, and for dropped before the first).
    public var attempts: Int
    /// The status of the last answer, if one came.
    public var lastStatus: Int?
    /// A description of the last network or local error, if the last try ended in one.
    public var lastError: String?

    public init(outcome: Outcome, attempts: Int, lastStatus: Int? = nil, lastError: String? = nil) {
        self.outcome = outcome
        self.attempts = attempts
        self.lastStatus = lastStatus
        self.lastError = lastError
    }
}
