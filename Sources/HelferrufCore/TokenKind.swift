/// What a secret is for, told by its prefix. The message parsers need the prefixes
/// to keep a dashboard ticket out of a `token` field; making and hashing secrets is the
/// store's (`Tokens`).
public enum TokenKind: String, Sendable {
    case organisation = "hro_"
    case volunteer = "hrv_"
    /// A console session's secret, carried in its cookie.
    case session = "hrs_"
    /// A single-use dashboard ticket (kept in memory only).
    case ticket = "hrt_"
}
