// Where scratch files go (spill files, `:memory:` databases): `$TMPDIR` when set, else /tmp,
// always ending in "/" — what Foundation's NSTemporaryDirectory() returns on Linux, without
// needing full Foundation.

#if canImport(Glibc)
import Glibc
#endif

/// The folder for temporary files, with a trailing slash.
package func temporaryDirectory() -> String {
    var folder = "/tmp/"
    if let value = getenv("TMPDIR"), value.pointee != 0 {
        folder = String(cString: value)
        if !folder.hasSuffix("/") { folder += "/" }
    }
    return folder
}

/// A fresh name in the temporary folder: `prefix`, the process id and a random number.
package func temporaryPath(_ prefix: String) -> String {
    temporaryDirectory() + "\(prefix)-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
}
