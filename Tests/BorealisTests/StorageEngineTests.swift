import Testing
@testable import Borealis

@Suite struct StorageEngineTests {
    func writeMarker(_ engine: StorageEngine, page: PageNumber? = nil, value: UInt64) throws -> PageNumber {
        let txn = try engine.beginWrite()
        let number = try page ?? txn.allocatePage()
        let image = try txn.writablePage(number)
        image.bytes.storeLittleEndian(value, at: 100)
        try txn.commit()
        return number
    }

    func readMarker(_ engine: StorageEngine, page: PageNumber) throws -> UInt64 {
        let txn = try engine.beginRead()
        defer { txn.rollback() }
        return UnsafeRawBufferPointer(try txn.page(page).bytes).littleEndian(at: 100, as: UInt64.self)
    }

    @Test func committedPageSurvivesReopen() throws {
        let dir = TemporaryDirectory()
        var page: PageNumber = 0
        do {
            let engine = try StorageEngine(path: dir.database, options: smallOptions())
            page = try writeMarker(engine, value: 42)
            #expect(try readMarker(engine, page: page) == 42)
            try engine.close()
        }
        let engine = try StorageEngine(path: dir.database, options: smallOptions())
        #expect(try readMarker(engine, page: page) == 42)
        try engine.close()
    }

    @Test func recoveryReplaysUnmaterializedTail() throws {
        let dir = TemporaryDirectory()
        var options = smallOptions()
        options.backgroundMaterializer = false
        var page: PageNumber = 0
        do {
            let engine = try StorageEngine(path: dir.database, options: options)
            page = try writeMarker(engine, value: 1)
            for v in 2...50 { _ = try writeMarker(engine, page: page, value: UInt64(v)) }
            // Simulate a crash: no close, no materialization. Drop the engine without closing by
            // leaking its files; reopen a second engine on the same files.
            #expect(engine.metrics.materializedLSN == 0)
            let second = try StorageEngine(path: dir.database, options: options)
            #expect(try readMarker(second, page: page) == 50)
            try second.close()
            try engine.close()
        }
    }

    @Test func readerKeepsSnapshotWhileWriterCommitsAndMaterializerRuns() throws {
        let dir = TemporaryDirectory()
        var options = smallOptions()
        options.backgroundMaterializer = false
        let engine = try StorageEngine(path: dir.database, options: options)
        let page = try writeMarker(engine, value: 7)
        let reader = try engine.beginRead()
        for v in 8...30 {
            _ = try writeMarker(engine, page: page, value: UInt64(v))
            if v % 5 == 0 { try engine.materializeNow() }
        }
        try engine.materializeNow()
        #expect(UnsafeRawBufferPointer(try reader.page(page).bytes).littleEndian(at: 100, as: UInt64.self) == 7)
        reader.rollback()
        #expect(try readMarker(engine, page: page) == 30)
        try engine.close()
    }

    @Test func staleReaderTurningWriterGetsSerializationFailure() throws {
        let dir = TemporaryDirectory()
        let engine = try StorageEngine(path: dir.database, options: smallOptions())
        let page = try writeMarker(engine, value: 1)
        let reader = try engine.beginRead()
        _ = try reader.page(page)
        _ = try writeMarker(engine, page: page, value: 2)
        #expect(throws: DatabaseError.self) { _ = try reader.writablePage(page) }
        do {
            _ = try reader.writablePage(page)
        } catch let error as DatabaseError {
            #expect(error.sqlState == "40001")
        }
        reader.rollback()
        try engine.close()
    }

    @Test func secondWriterGetsBusyAfterTimeout() throws {
        let dir = TemporaryDirectory()
        var options = smallOptions()
        options.busyTimeoutMilliseconds = 50
        let engine = try StorageEngine(path: dir.database, options: options)
        let first = try engine.beginWrite()
        do {
            _ = try engine.beginWrite()
            Issue.record("second writer should not get the lock")
        } catch let error as DatabaseError {
            #expect(error.code == .busy)
        }
        first.rollback()
        let second = try engine.beginWrite()
        second.rollback()
        try engine.close()
    }
}
