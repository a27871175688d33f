import GRDB
import Testing
@testable import HelferrufStore

@Suite struct SettingsTests {
    @Test func writerIsDurableWALWithBusyTimeout() throws {
        let t = try TestDatabase(busyTimeout: 4)
        let pragmas = try t.store.writerPragmas()
        #expect(pragmas.journalMode == "wal")
        #expect(pragmas.synchronous == 2)
        let timeout = try t.store.pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA busy_timeout") }
        #expect(timeout == 4000)
    }

    @Test func reopeningKeepsDurableSettings() throws {
        let t = try TestDatabase()
        let again = try Store(path: t.path)
        let pragmas = try again.writerPragmas()
        #expect(pragmas.journalMode == "wal" && pragmas.synchronous == 2)
    }
}
