import Foundation
import Logging

/// Keeps the data directory private to the server's user: the directory and
/// every folder in it 0700, every file 0600.
///
/// The service database holds the accounts' signing keys and password
/// hashes, so nothing in the directory may be readable by other users.
/// Installations made before this check had `pds.sqlite` (and its `-wal` and
/// `-shm`) at 0644 in a 0755 directory; ``secure(_:logger:)`` corrects them
/// at start and says so. From then on the process creates files with umask
/// 077, so SQLite's log files, blobs and keys are born private.
public enum DataDirectoryPermissions {
    /// Mode of the data directory and the folders in it.
    public static let directoryMode: mode_t = 0o700
    /// Mode of every file in it.
    public static let fileMode: mode_t = 0o600

    /// Creates `path` if missing, sets the process's umask to 077, and
    /// corrects the mode of the directory and of everything in it.
    /// - Returns: the paths whose mode was corrected (each also logged as a
    ///   warning).
    @discardableResult
    public static func secure(_ path: String, logger: Logger) throws -> [String] {
        // Everything this process creates from now on is private: SQLite's
        // `-wal` and `-shm`, blobs, keys, the feed generator's database.
        umask(0o077)
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: Int(directoryMode)])
        var corrected: [String] = []
        try correct(path, isDirectory: true, isDataDirectory: true, corrected: &corrected, logger: logger)
        // A walk of the whole tree, blobs included: ~1 s per million files,
        // once per start. The directory's own 0700 already keeps others out;
        // the files' modes matter when the directory is copied elsewhere.
        if let walker = FileManager.default.enumerator(atPath: path) {
            while let relative = walker.nextObject() as? String {
                let full = path + "/" + relative
                var info = stat()
                // lstat: a symbolic link is left alone (its mode means nothing).
                guard lstat(full, &info) == 0 else { continue }
                switch info.st_mode & S_IFMT {
                case S_IFDIR: try correct(full, isDirectory: true, corrected: &corrected, logger: logger)
                case S_IFREG: try correct(full, isDirectory: false, corrected: &corrected, logger: logger)
                default: continue
                }
            }
        }
        if !corrected.isEmpty {
            logger.warning(
                "data directory: made private (others could read it, and it holds the accounts' signing keys)",
                metadata: [
                    "corrected": .stringConvertible(corrected.count),
                    "examples": .string(corrected.prefix(5).joined(separator: ", ")),
                ])
        }
        return corrected
    }

    private static func correct(
        _ path: String, isDirectory: Bool, isDataDirectory: Bool = false, corrected: inout [String], logger: Logger
    ) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw PermissionError.unreadable(path, errno) }
        let wanted = isDirectory ? directoryMode : fileMode
        guard info.st_mode & 0o777 != wanted else { return }
        guard chmod(path, wanted) == 0 else {
            // Not ours to change (a volume's mount point, a file another
            // user made): say so, but start; the directory's own mode is
            // what keeps others out, and only a failure on it stops the start.
            let error = PermissionError.cannotChange(path, errno)
            if isDataDirectory { throw error }
            logger.warning("data directory: \(error)")
            return
        }
        corrected.append(path)
    }

    /// Why the data directory could not be made private.
    public enum PermissionError: Error, CustomStringConvertible {
        case unreadable(String, Int32)
        case cannotChange(String, Int32)

        public var description: String {
            switch self {
            case .unreadable(let path, let code):
                return "cannot read the mode of \(path): \(String(cString: strerror(code)))"
            case .cannotChange(let path, let code):
                return "cannot make \(path) private (chmod): \(String(cString: strerror(code))); run the server as the directory's owner"
            }
        }
    }
}
