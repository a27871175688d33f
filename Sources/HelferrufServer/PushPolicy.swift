import HelferrufCore
import struct HelferrufPush.PushTopic

/// What goes into a push about a call (PROTOCOL.md §8, "The message" and "Retraction"):
/// plaintexts, `TTL` and `Topic`. Pure functions, so the rules are testable on their own.
enum PushPolicy {
    /// Largest plaintext: the push service takes 4 KiB of ciphertext, and the encryption
    /// adds a header and padding.
    static let maxPlaintextBytes = 3000
    /// RFC 8030 allows more; the contract caps the `TTL` at a day.
    static let maxTTLSeconds = 86_400
    /// A retraction may outlive the call: a phone that was off when the call ended still
    /// has to withdraw the notification it shows, so it is kept for the longest `TTL`.
    static let retractionTTLSeconds = maxTTLSeconds

    /// Seconds until the call ends, within 0…86,400.
    static func ttl(_ call: Call, now: Timestamp) -> Int {
        Int(min(Int64(maxTTLSeconds), max(0, (call.endsAt.millis - now.millis) / 1000)))
    }

    /// The same for every message about one call (the push client's ``PushTopic`` rule).
    static func topic(_ call: Call) -> String { PushTopic(digestOf: call.id).value }

    /// `{"type":"alert","callId","title","orgName","address","distanceKm","startsAt","endsAt",
    /// "needed","confirmed"}`, at most 3,000 bytes: when the texts make it longer, the
    /// address and then the title are shortened (with "…") until it fits.
    static func alert(_ call: Call, distanceKm: Double) -> [UInt8] {
        var title = call.title, address = call.address, orgName = call.orgName
        while true {
            let bytes = alertJSON(call, title: title, orgName: orgName, address: address, distanceKm: distanceKm)
            if bytes.count <= maxPlaintextBytes { return bytes }
            if address.count > 1 {
                address = shortened(address)
            } else if title.count > 1 {
                title = shortened(title)
            } else {
                orgName = shortened(orgName)
            }
        }
    }

    /// `{"type":"call_update","callId","status","confirmed","needed"}`: the socket's
    /// `call_update`, so a service worker can withdraw the alert's notification.
    static func callUpdate(_ call: Call) -> [UInt8] {
        var w = JSONWriter(capacity: 128)
        w.raw("{\"type\":\"call_update\",\"callId\":"); w.string(call.id)
        w.raw(",\"status\":"); w.string(call.status.rawValue)
        w.raw(",\"confirmed\":"); w.int(call.confirmed)
        w.raw(",\"needed\":"); w.int(call.needed)
        w.raw("}")
        return w.bytes
    }

    private static func alertJSON(_ call: Call, title: String, orgName: String, address: String, distanceKm: Double) -> [UInt8] {
        var w = JSONWriter(capacity: 512)
        w.raw("{\"type\":\"alert\",\"callId\":"); w.string(call.id)
        w.raw(",\"title\":"); w.string(title)
        w.raw(",\"orgName\":"); w.string(orgName)
        w.raw(",\"address\":"); w.string(address)
        w.raw(",\"distanceKm\":"); w.number(Wire.roundedKm(distanceKm))
        w.raw(",\"startsAt\":"); w.time(call.startsAt)
        w.raw(",\"endsAt\":"); w.time(call.endsAt)
        w.raw(",\"needed\":"); w.int(call.needed)
        w.raw(",\"confirmed\":"); w.int(call.confirmed)
        w.raw("}")
        return w.bytes
    }

    /// About three quarters of the text, ending in "…" (whole characters only).
    private static func shortened(_ text: String) -> String {
        let kept = text.hasSuffix("…") ? text.dropLast() : Substring(text)
        return String(kept.prefix(max(0, kept.count * 3 / 4))) + "…"
    }
}
