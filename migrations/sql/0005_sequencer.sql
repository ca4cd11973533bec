-- The sequencer: a durable, gap-free log of repository and account events
-- served by `com.atproto.sync.subscribeRepos`. Each row is written in the
-- same transaction as the change it announces, so `seq` (AUTOINCREMENT:
-- never reused, even after pruning) has no gaps among written events.
CREATE TABLE repo_seq (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    did          TEXT    NOT NULL,
    -- The frame type: '#commit', '#sync', '#identity' or '#account'.
    event_type   TEXT    NOT NULL,
    -- The DAG-CBOR body of the frame without its `seq`.
    event        BLOB    NOT NULL,
    -- Unix time (milliseconds) the event was written, for retention.
    sequenced_at INTEGER NOT NULL
);
CREATE INDEX repo_seq_did ON repo_seq (did);
CREATE INDEX repo_seq_sequenced_at ON repo_seq (sequenced_at);
