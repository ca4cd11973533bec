-- Failed logins counted per account and client address (issue: five wrong
-- passwords from anywhere used to lock the account everywhere). `subject`
-- is the account's DID, or `identifier:` and the identifier given when no
-- account has it (so an unknown identifier is throttled exactly like a
-- known one, and the answers tell nothing). Kept for a day.
DROP TABLE login_attempts;
CREATE TABLE login_failure (
    subject   TEXT NOT NULL,
    address   TEXT NOT NULL,
    failed_at INTEGER NOT NULL
);
CREATE INDEX login_failure_subject ON login_failure (subject, address, failed_at);
CREATE INDEX login_failure_address ON login_failure (address, failed_at);
-- Pruning by age at every failure: without it, a scan of a day's rows.
CREATE INDEX login_failure_time ON login_failure (failed_at);

-- The addresses each account signed in from, the last time: an address
-- that has signed in is not slowed down when others fail against the
-- account. Kept for 30 days.
CREATE TABLE login_success (
    did          TEXT NOT NULL,
    address      TEXT NOT NULL,
    signed_in_at INTEGER NOT NULL,
    PRIMARY KEY (did, address)
) WITHOUT ROWID;

-- A migrating account's empty placeholder repository, which its first
-- `importRepo` may replace whatever the revs (its rev is newer than the
-- repository it imports); cleared by that import.
ALTER TABLE account ADD COLUMN awaiting_import INTEGER NOT NULL DEFAULT 0;
