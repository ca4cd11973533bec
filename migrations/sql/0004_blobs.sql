-- Blobs: which account uploaded which blob, and which records reference
-- which blobs. The bytes live in the blob store (files under
-- `<dataDirectory>/blobs/`), addressed by CID only; several accounts that
-- upload the same bytes share one stored file and have one row each here.

-- One row per (account, blob) uploaded with `com.atproto.repo.uploadBlob`.
-- A record may only reference a blob its account has a row for here. Rows
-- that no record references (no `blob_usage` row) for longer than the grace
-- period are deleted by the blob garbage collector.
CREATE TABLE blob_ref (
    did        TEXT    NOT NULL,
    -- The blob's CID (raw codec, sha2-256) in its base32 string form `bafkrei…`.
    cid        TEXT    NOT NULL,
    -- The detected (or, failing that, declared) MIME type, served by getBlob.
    mime_type  TEXT    NOT NULL,
    -- Size in bytes; the per-account quota is the sum of these.
    size       INTEGER NOT NULL,
    -- Unix time (seconds) of the upload, for the garbage collector's grace period.
    created_at INTEGER NOT NULL,
    PRIMARY KEY (did, cid)
) WITHOUT ROWID;
-- Is the CID still held by another account (before its file is deleted)?
CREATE INDEX blob_ref_cid ON blob_ref (cid);
CREATE INDEX blob_ref_created_at ON blob_ref (created_at);

-- One row per (record, blob it references), written in the same transaction
-- as the commit that creates, updates or deletes the record (and rebuilt from
-- the records by importRepo). A referenced blob need not have a `blob_ref`
-- row: after an import, the missing ones are what listMissingBlobs reports.
CREATE TABLE blob_usage (
    did        TEXT NOT NULL,
    -- The record's path `<collection>/<rkey>`, as two columns so it joins
    -- the `record` table on its primary key.
    collection TEXT NOT NULL,
    rkey       TEXT NOT NULL,
    -- The referenced blob's CID string, as in `blob_ref.cid`.
    blob_cid   TEXT NOT NULL,
    PRIMARY KEY (did, collection, rkey, blob_cid)
) WITHOUT ROWID;
-- Listing an account's blobs, and "is this blob still referenced?".
CREATE INDEX blob_usage_blob ON blob_usage (did, blob_cid);
