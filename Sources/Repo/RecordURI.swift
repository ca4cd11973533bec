import ATProto

extension ATURI {
    /// The AT URI of a record of `did`'s repository, from a collection and
    /// record key this repository already holds or has checked (they are
    /// not scanned again: a listRecords page builds 100 of these).
    public static func record(_ did: DID, collection: String, rkey: String) -> ATURI {
        ATURI(authority: .did(did), collection: NSID(unchecked: collection), recordKey: RecordKey(unchecked: rkey))
    }

    /// The AT URI of the record at `path`, an MST key
    /// (`<collection>/<record key>`) of `did`'s repository.
    public static func record(_ did: DID, path: String) -> ATURI {
        let slash = path.firstIndex(of: "/") ?? path.endIndex
        let rkey = slash < path.endIndex ? path[path.index(after: slash)...] : ""
        return record(did, collection: String(path[..<slash]), rkey: String(rkey))
    }
}
