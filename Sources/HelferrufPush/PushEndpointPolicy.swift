/// The push services a subscription endpoint may point to (contract §8, `--push-endpoints`).
///
/// The allow-list is what keeps a subscription from being a way to make the server call an
/// arbitrary URL (an internal address, a metadata service, someone else's API). It is checked
/// when a subscription is stored and again before every request.
///
/// Each entry is an origin `scheme://host[:port]`. A host written `*.example.com` matches every
/// subdomain of `example.com` but not `example.com` itself. Hosts compare case-insensitively;
/// an endpoint's port, explicit or implied by its scheme, must equal the entry's. IP literals
/// match only when listed verbatim, and `http://` only when an `http://` origin is listed.
public struct PushEndpointPolicy: Sendable, Hashable {
    /// The contract's default list: Google (FCM), Mozilla, Apple and Microsoft (WNS).
    public static let defaultOrigins =
        "https://fcm.googleapis.com,https://updates.push.services.mozilla.com,https://web.push.apple.com,https://*.notify.windows.com"

    /// The policy for ``defaultOrigins``.
    public static let `default` = try! PushEndpointPolicy(origins: defaultOrigins)  // A constant known to parse.

    private struct Origin: Hashable {
        var scheme: String
        var host: String
        var port: Int
        var isWildcard: Bool
    }

    private let origins: [Origin]

    /// Parses a comma-separated origin list; spaces around entries are ignored.
    ///
    /// - Throws: ``PushEndpointPolicyError`` naming the first entry that is not an origin
    ///   (an entry with a path, userinfo, a query or a `*` other than a leading `*.` is not),
    ///   or when the list is empty.
    public init(origins list: String) throws(PushEndpointPolicyError) {
        var parsed: [Origin] = []
        for entry in list.split(separator: ",") {
            let text = entry.trimmingSpaces
            guard !text.isEmpty else { continue }
            guard let parts = OriginParts(text, allowingPath: false, allowingWildcard: true) else {
                throw PushEndpointPolicyError(entry: text)
            }
            parsed.append(Origin(scheme: parts.scheme, host: parts.host, port: parts.port, isWildcard: parts.isWildcard))
        }
        guard !parsed.isEmpty else { throw PushEndpointPolicyError(entry: list) }
        origins = parsed
    }

    /// True when `endpoint` parses as a ``PushEndpoint`` and its origin is on the list.
    public func allows(endpoint: String) -> Bool {
        guard let parsed = PushEndpoint(endpoint) else { return false }
        return allows(parsed)
    }

    /// True when the parsed endpoint's origin is on the list.
    public func allows(_ endpoint: PushEndpoint) -> Bool {
        origins.contains { origin in
            guard origin.scheme == endpoint.scheme, origin.port == endpoint.port else { return false }
            if origin.isWildcard {
                return endpoint.host.hasSuffix("." + origin.host) && !OriginParts.isIPv4(endpoint.host)
            }
            return endpoint.host == origin.host
        }
    }
}

/// An entry of a push endpoint list that is not an origin.
public struct PushEndpointPolicyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The offending entry, as written.
    public var entry: String

    public var description: String { "not a push service origin: \"\(entry)\"" }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
