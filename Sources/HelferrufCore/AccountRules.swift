/// Rules for organisation accounts (people who sign in to the console).
extension Rules {
    public static let passwordLength = 12...1024
    public static let emailMaxLength = 254

    /// Trims and lower-cases an e-mail address and checks its shape: one `@` with text on
    /// both sides, a dot in the domain, no white space or control characters, at most 254
    /// bytes. Addresses are compared in this form, so "Anna@X.de" and "anna@x.de" are one.
    public static func email(_ raw: String, field: String = "email") throws(ValidationError) -> String {
        let email = raw.trimmingWhitespace().lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.utf8.count <= emailMaxLength, parts.count == 2, !parts[0].isEmpty,
              parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
              !email.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 32 || $0.value == 127 })
        else {
            throw ValidationError(field: field, message: "must be an e-mail address")
        }
        return email
    }

    /// A new password: 12 to 1024 characters, used exactly as given (no trimming).
    public static func password(_ raw: String, field: String = "password") throws(ValidationError) -> String {
        guard passwordLength.contains(raw.count) else {
            throw ValidationError(field: field, message: "must be 12 to 1024 characters")
        }
        return raw
    }
}
