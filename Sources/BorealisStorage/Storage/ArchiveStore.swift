// Where the continuous archive keeps its objects (docs/backup.md §4): a small store of named,
// immutable objects. Names are relative paths of at most two parts (`seg/…`, `base/…`,
// `catalogue/…`). Invariants every store keeps:
//
// - `put` is atomic and durable: after it returns the object is whole under its name, and a
//   crash during it leaves either no object or the previous one with that name (never a part);
// - objects are never changed in place: a new version is a new name (the catalogue) or the
//   same bytes again (a segment archived twice after a crash);
// - `list` returns names of complete objects only (temporary files are not objects).
//
// The folder store keeps object `a/b` as the file `FOLDER/a/b`; a put writes `FOLDER/tmp/…`,
// fsyncs it, renames it into place and fsyncs the folder it landed in.

/// A store of named immutable objects: the continuous archive's storage. The default is a
/// folder beside the database (`FolderArchiveStore`); an object store can take its place.
public protocol ArchiveStore: Sendable {
    /// Stores `bytes` under `name`, atomically and durably (replacing an object of that name).
    func put(_ name: String, _ bytes: [UInt8]) throws
    /// Stores the local file at `localPath` under `name`, atomically and durably (the caller
    /// has not synced it), and consumes it (the file is gone
    /// afterwards). For objects too large to hold in memory: base images.
    func putFile(_ name: String, from localPath: String) throws
    /// The object's bytes; SQLSTATE 58P01 when there is none.
    func get(_ name: String) throws -> [UInt8]
    /// A local file holding the object, when the store keeps its objects as local files (nil
    /// otherwise: then `get` it).
    func localPath(of name: String) -> String?
    /// The names starting with `prefix` (e.g. "seg/"), in no particular order.
    func list(_ prefix: String) throws -> [String]
    /// Removes the object (no error when there is none).
    func delete(_ name: String) throws
    /// The object's size in bytes, nil when there is none.
    func size(of name: String) -> UInt64?
    /// A local folder where a large object may be staged before `putFile` (same file system
    /// as the store for a folder store, so that `putFile` is a rename).
    var stagingDirectory: String { get }
}

/// The default archive store: a folder (by default `P-archive/` beside the database `P`).
public struct FolderArchiveStore: ArchiveStore {
    public let folder: String
    let fileSystem: any FileSystem
    static let kinds = ["seg", "base", "catalogue"]

    public init(folder: String, fileSystem: any FileSystem = PosixFileSystem()) {
        self.folder = folder
        self.fileSystem = fileSystem
    }

    /// Creates the folder and its subfolders when missing.
    func prepare() throws {
        for directory in [folder] + (Self.kinds + ["tmp"]).map({ folder + "/" + $0 }) where !fileSystem.exists(directory) {
            try fileSystem.makeDirectory(directory)
            try fileSystem.syncDirectory(parentDirectory(of: directory))
        }
    }

    public var stagingDirectory: String { folder + "/tmp" }

    private func path(_ name: String) throws -> String {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, Self.kinds.contains(String(parts[0])), !parts[1].isEmpty, !parts[1].contains("/"),
              parts[1] != ".", parts[1] != ".." else {
            throw DatabaseError(.misuse, sqlState: SQLState.invalidParameterValue, "\(name) is not an archive object name")
        }
        return folder + "/" + name
    }

    public func put(_ name: String, _ bytes: [UInt8]) throws {
        try prepare()
        let target = try path(name)
        let temporary = stagingDirectory + "/" + name.replacingSlashes() + ".partial"
        let file = try fileSystem.open(temporary, create: true)
        do {
            defer { file.close() }
            try file.truncate(to: 0)
            try file.write(bytes, at: 0)
            try file.sync()
        } catch {
            try? fileSystem.remove(temporary)
            throw error
        }
        try fileSystem.rename(temporary, to: target)
        try fileSystem.syncDirectory(parentDirectory(of: target))
    }

    public func putFile(_ name: String, from localPath: String) throws {
        try prepare()
        let target = try path(name)
        let file = try fileSystem.open(localPath, create: false)
        defer { file.close() }
        try file.sync()
        try fileSystem.rename(localPath, to: target)
        try fileSystem.syncDirectory(parentDirectory(of: target))
    }

    public func get(_ name: String) throws -> [UInt8] {
        let source = try path(name)
        guard fileSystem.exists(source) else {
            throw DatabaseError(.cantOpen, sqlState: SQLState.undefinedFile, "archive object \(name) is missing from \(folder)")
        }
        let file = try fileSystem.open(source, create: false)
        defer { file.close() }
        let size = try file.size()
        guard size <= UInt64(Int32.max) else { throw DatabaseError.corrupt("archive object \(name) is \(size) bytes, too large to read whole") }
        return try file.readBytes(count: Int(size), at: 0)
    }

    public func localPath(of name: String) -> String? {
        guard let path = try? path(name), fileSystem.exists(path) else { return nil }
        return path
    }

    public func list(_ prefix: String) throws -> [String] {
        var names: [String] = []
        for kind in Self.kinds {
            let directory = folder + "/" + kind
            guard (kind + "/").hasPrefix(prefix) || prefix.hasPrefix(kind + "/"), fileSystem.exists(directory) else { continue }
            for entry in try fileSystem.list(directory) where !entry.hasSuffix(".partial") {
                let name = kind + "/" + entry
                if name.hasPrefix(prefix) { names.append(name) }
            }
        }
        return names
    }

    public func delete(_ name: String) throws {
        let target = try path(name)
        if fileSystem.exists(target) { try fileSystem.remove(target) }
    }

    public func size(of name: String) -> UInt64? {
        guard let target = try? path(name), fileSystem.exists(target), let file = try? fileSystem.open(target, create: false) else { return nil }
        defer { file.close() }
        return try? file.size()
    }

    /// Removes what crashed puts and captures left in the staging folder.
    func removeLeftovers() {
        for entry in (try? fileSystem.list(stagingDirectory)) ?? [] { try? fileSystem.remove(stagingDirectory + "/" + entry) }
    }
}

private extension String {
    func replacingSlashes() -> String { String(map { $0 == "/" ? "-" : $0 }) }
}

/// Archive object names (docs/backup.md §4): 16 hex digits of an LSN or sequence number.
enum ArchiveName {
    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }

    static func segment(_ start: LSN) -> String { "seg/" + hex(start) + ".zst" }
    static func base(_ lsn: LSN) -> String { "base/" + hex(lsn) + ".bbk" }
    static func catalogue(_ sequence: UInt64) -> String { "catalogue/" + hex(sequence) }

    /// The number in `name` after `prefix` and before `suffix`, nil when it is not such a name.
    static func parse(_ name: String, prefix: String, suffix: String = "") -> UInt64? {
        guard name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
        let stem = name.dropFirst(prefix.count).dropLast(suffix.count)
        guard stem.count == 16 else { return nil }
        return UInt64(stem, radix: 16)
    }
}
