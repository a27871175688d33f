/// What `serve` prints on standard error after the first start created the Demo
/// organisation: a frame that points at the JSON line with the token (PROTOCOL.md §1 allows
/// the token to be printed once, so the banner never repeats it), how to make a new token,
/// and where the pages are. The frame is open on the right, so a narrow terminal that wraps
/// a long line (the rotate command with its id) does not break it.
enum FirstStartBanner {
    /// `base` is where the server listens, nil when it could not start listening.
    static func text(organisationId: String, base: String?, databaseOption: String?) -> String {
        let db = databaseOption.map { " --db " + $0 } ?? ""
        let lines = [
            "The organisation \"Demo\" was created. Its token is the \"token\" of the",
            "JSON line {\"id\":\"\(organisationId.prefix(8))…\",\"name\":\"Demo\",…} printed above,",
            "shown only this once: copy it now.",
            "",
            "Lost it? Make a new one (the old one stops working at once):",
            "  swift run helferruf org token rotate --id \(organisationId)\(db)",
        ] + (base.map { base in [
            "",
            "Try it:     swift run helferruf demo --token <the token>",
            "Volunteers: \(base)/",
            "Console:    \(base)/console",
            "Dashboard:  \(base)/dashboard",
        ] } ?? [])
        let title = "┌─ Helferruf: first start "
        let top = title + String(repeating: "─", count: max(0, 72 - title.count))
        let bottom = "└" + String(repeating: "─", count: 71)
        return ([top] + lines.map { $0.isEmpty ? "│" : "│ " + $0 } + [bottom]).joined(separator: "\n") + "\n"
    }
}
