-- Accounts, sessions, app passwords, invite codes and login throttling.

CREATE TABLE account (
    did                TEXT NOT NULL PRIMARY KEY,
    handle             TEXT NOT NULL UNIQUE COLLATE NOCASE,
    email              TEXT UNIQUE COLLATE NOCASE,
    password_hash      TEXT NOT NULL,
    -- The repository signing key (raw private key) and its type.
    signing_key_type   TEXT NOT NULL,
    signing_key        BLOB NOT NULL,
    -- The signed did:plc genesis operation (DAG-CBOR), for the directory.
    plc_genesis        BLOB,
    -- active | deactivated | takendown | deleted
    status             TEXT NOT NULL DEFAULT 'active',
    takedown_ref       TEXT,
    email_confirmed_at TEXT,
    created_at         TEXT NOT NULL,
    deactivated_at     TEXT
);

-- One row per issued refresh token. A login starts a session (`session_id`);
-- each refresh spends its token (`spent_at`) and issues the next one in the
-- same session. Presenting a spent token again ends the whole session.
CREATE TABLE refresh_token (
    id                TEXT NOT NULL PRIMARY KEY,
    session_id        TEXT NOT NULL,
    did               TEXT NOT NULL,
    app_password_name TEXT,
    expires_at        INTEGER NOT NULL,
    spent_at          INTEGER
);
CREATE INDEX refresh_token_session ON refresh_token (session_id);
CREATE INDEX refresh_token_did ON refresh_token (did);

CREATE TABLE app_password (
    did           TEXT NOT NULL,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    privileged    INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (did, name)
);

CREATE TABLE invite_code (
    code           TEXT NOT NULL PRIMARY KEY,
    available_uses INTEGER NOT NULL,
    disabled       INTEGER NOT NULL DEFAULT 0,
    for_account    TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     TEXT NOT NULL
);

CREATE TABLE invite_code_use (
    code    TEXT NOT NULL,
    used_by TEXT NOT NULL,
    used_at TEXT NOT NULL,
    PRIMARY KEY (code, used_by)
);

-- Failed logins by account and by client address, for lockouts.
CREATE TABLE login_attempts (
    key          TEXT NOT NULL,
    attempted_at INTEGER NOT NULL
);
CREATE INDEX login_attempts_key ON login_attempts (key, attempted_at);

-- Single-use tokens sent by mail (or written to the log): password reset,
-- account deletion.
CREATE TABLE email_token (
    purpose      TEXT NOT NULL,
    did          TEXT NOT NULL,
    token        TEXT NOT NULL,
    requested_at INTEGER NOT NULL,
    PRIMARY KEY (purpose, did)
);

-- app.bsky preferences, stored per account.
CREATE TABLE account_pref (
    did        TEXT NOT NULL PRIMARY KEY,
    prefs_json TEXT NOT NULL
);
