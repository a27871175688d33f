import Foundation
import HelferrufCore
import HelferrufSync
import Logging

/// A swift-log handler that writes one JSON object per line to standard error, for log
/// collectors. Fields: `ts`, `level`, `label`, `msg`, and every metadata key.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private static let output = StateLock(FileHandle.standardError)

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var w = JSONWriter(capacity: 256)
        w.raw("{\"ts\":")
        w.time(Timestamp.now)
        w.raw(",\"level\":")
        w.string(event.level.rawValue)
        w.raw(",\"label\":")
        w.string(label)
        w.raw(",\"msg\":")
        w.string(event.message.description)
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for key in merged.keys.sorted() {
            w.raw(",")
            w.string(key)
            w.raw(":")
            w.string(merged[key]!.description)
        }
        w.raw("}\n")
        let bytes = Data(w.bytes)
        Self.output.withLock { $0.write(bytes) }
    }
}
