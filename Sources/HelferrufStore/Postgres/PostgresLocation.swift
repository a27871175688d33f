import Foundation
import NIOSSL
import PostgresNIO

/// A `postgres://` or `postgresql://` URL as `--db` takes it, turned into postgres-nio's
/// client configuration:
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require|verify-full]`.
///
/// User and password are percent-decoded. `sslmode` follows libpq: `prefer` (the default)
/// tries TLS and falls back to plain, `require` insists on TLS without checking the
/// certificate, `verify-full` checks certificate and host name, `disable` never tries.
public struct PostgresLocation: Sendable, Equatable {
    public enum SSLMode: String, Sendable, Equatable {
        case disable, prefer, require
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode

    public init(url text: String) throws(StoreError) {
        guard let parts = URLComponents(string: text), let scheme = parts.scheme?.lowercased(),
              scheme == "postgres" || scheme == "postgresql"
        else { throw .invalidLocation("not a postgres:// URL") }
        guard let host = parts.host, !host.isEmpty else { throw .invalidLocation("the URL names no host") }
        guard let user = parts.percentEncodedUser.flatMap({ $0.removingPercentEncoding }), !user.isEmpty else {
            throw .invalidLocation("the URL names no user (postgres://USER:PASSWORD@HOST/DATABASE)")
        }
        let database = String(parts.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw .invalidLocation("the URL names no database (…@HOST/DATABASE)") }
        if let port = parts.port, !(1...65535).contains(port) { throw .invalidLocation("port out of range") }
        var mode = SSLMode.prefer
        for item in parts.queryItems ?? [] {
            guard item.name == "sslmode" else { throw .invalidLocation("unknown URL parameter \(item.name) (only sslmode)") }
            guard let value = item.value.flatMap(SSLMode.init(rawValue:)) else {
                throw .invalidLocation("sslmode must be disable, prefer, require or verify-full")
            }
            mode = value
        }
        self.host = host
        self.port = parts.port ?? 5432
        self.username = user
        self.password = parts.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        self.database = database
        self.sslMode = mode
    }

    /// The URL again with the password left out, for logs and messages.
    public var redacted: String { "postgres://\(username)@\(host):\(port)/\(database)" }

    /// postgres-nio's configuration for this location.
    func clientConfiguration() -> PostgresClient.Configuration {
        var unverified = TLSConfiguration.makeClientConfiguration()
        unverified.certificateVerification = .none
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(unverified)
        case .require: tls = .require(unverified)
        case .verifyFull: tls = .require(.makeClientConfiguration())
        }
        var config = PostgresClient.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tls)
        config.options.connectTimeout = .seconds(5)
        config.options.additionalStartupParameters = [("application_name", "helferruf")]
        return config
    }
}
