import ATProto
import GRDB

// The atproto identifiers bind to and read from TEXT columns as their
// strings, so a store passes a `DID` or an `NSID` where it used to pass
// `.string` and reads one back without a second scan.
//
// Reading uses `init(unchecked:)`: every identifier column of this
// project's databases is written only from values already checked (a
// request's parameters are parsed before any store sees them). A row that
// holds something else was not written by this server; the check would
// cost a scan per row on every listRecords page for nothing.

extension DatabaseValueConvertible where Self: ScannedSyntax {
    public var databaseValue: DatabaseValue { string.databaseValue }

    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> Self? {
        String.fromDatabaseValue(dbValue).map(Self.init(unchecked:))
    }
}

extension DID: DatabaseValueConvertible {}
extension Handle: DatabaseValueConvertible {}
extension NSID: DatabaseValueConvertible {}
extension RecordKey: DatabaseValueConvertible {}
