-- Indexes no query uses, each one more B-tree written on every commit:
-- nothing looks events up by DID, retention prunes by `time_us` (for every
-- event `sequenced_at` is `time_us / 1000`, so `sequenced_at < c` and
-- `time_us < c * 1000` select the same rows), and records are never looked
-- up by rev (`listBlobs?since=` joins them by primary key).
DROP INDEX repo_seq_did;
DROP INDEX repo_seq_sequenced_at;
DROP INDEX record_did_rev;
