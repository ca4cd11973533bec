-- Repository storage: the blocks of every hosted repository, each
-- repository's current commit, and an index of its records.

-- Every block (commit, MST node or record) of a repository, by CID (binary).
-- `rev` is the revision that first wrote the block, for `getRepo?since=`.
-- A rowid table: its rows (up to a record's size) are too big for WITHOUT ROWID.
CREATE TABLE blockstore (
    did     TEXT    NOT NULL,
    cid     BLOB    NOT NULL,
    rev     TEXT    NOT NULL,
    size    INTEGER NOT NULL,
    content BLOB    NOT NULL,
    UNIQUE (did, cid)
);
CREATE INDEX blockstore_did_rev ON blockstore (did, rev);

-- The current signed commit of each repository.
CREATE TABLE repo_root (
    did        TEXT NOT NULL PRIMARY KEY,
    cid        BLOB NOT NULL,
    rev        TEXT NOT NULL,
    indexed_at TEXT NOT NULL
);

-- The records of each repository, for listing and lookups without walking
-- the MST.
CREATE TABLE record (
    did        TEXT NOT NULL,
    collection TEXT NOT NULL,
    rkey       TEXT NOT NULL,
    cid        BLOB NOT NULL,
    rev        TEXT NOT NULL,
    indexed_at TEXT NOT NULL,
    PRIMARY KEY (did, collection, rkey)
) WITHOUT ROWID;
CREATE INDEX record_did_rev ON record (did, rev);
CREATE INDEX record_did_cid ON record (did, cid);
