-- did:plc operations this server signed (or a user submitted through it),
-- in order per DID, and whether the PLC directory has accepted them. An
-- operation is written in the transaction of the change it describes and
-- submitted afterwards; pending ones are retried with backoff, also after
-- a restart.
CREATE TABLE plc_operation (
    -- Order of the operations.
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    cid             TEXT    NOT NULL UNIQUE,
    did             TEXT    NOT NULL,
    -- The signed operation, DAG-CBOR.
    operation       BLOB    NOT NULL,
    created_at      TEXT    NOT NULL,
    -- pending | submitted | rejected | unsubmitted (no directory configured)
    state           TEXT    NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- Unix seconds of the next submission attempt.
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT
);
CREATE INDEX plc_operation_did ON plc_operation (did, id);
CREATE INDEX plc_operation_pending ON plc_operation (state, next_attempt_at);
