-- The OAuth authorization server (issue 26).

-- Pushed authorization requests (RFC 9126), from PAR to the code's
-- exchange. `id` is the random part of the request_uri; `parameters` the
-- JSON of what the client asked for; `dpop_jkt` the key of the PAR's DPoP
-- proof, which the token request must prove too. The authorize page binds
-- the request to the browser that opened it (`device_id`); consent sets
-- `did` and the code (stored as its SHA-256); the exchange sets `grant_id`,
-- so a second exchange of the same code is seen and revokes that grant.
-- Rows are deleted an hour after they expire.
CREATE TABLE oauth_request (
    id              TEXT PRIMARY KEY,
    client_id       TEXT NOT NULL,
    parameters      TEXT NOT NULL,
    dpop_jkt        TEXT NOT NULL,
    client_auth     TEXT NOT NULL,
    expires_at      INTEGER NOT NULL,
    device_id       TEXT,
    did             TEXT,
    code_hash       TEXT UNIQUE,
    code_expires_at INTEGER,
    grant_id        TEXT
);
CREATE INDEX oauth_request_expiry ON oauth_request (expires_at);

-- What a user granted a client: one row per sign-in of an app, with the
-- scope, the DPoP key every token of it is bound to, and when it ends
-- (`expires_at`, fixed at creation: two weeks for public clients).
-- `last_used_at` advances at each refresh (every access token's lifetime).
CREATE TABLE oauth_grant (
    id           TEXT PRIMARY KEY,
    did          TEXT NOT NULL,
    client_id    TEXT NOT NULL,
    client_name  TEXT,
    scope        TEXT NOT NULL,
    dpop_jkt     TEXT NOT NULL,
    client_auth  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX oauth_grant_did ON oauth_grant (did);

-- Refresh tokens by SHA-256: one unspent per grant; a spent one presented
-- again ends the grant (RFC 9700 §4.14.2).
CREATE TABLE oauth_refresh_token (
    token_hash TEXT PRIMARY KEY,
    grant_id   TEXT NOT NULL,
    spent      INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX oauth_refresh_token_grant ON oauth_refresh_token (grant_id);

-- Browsers that signed in on the authorize pages: `id` is the SHA-256 of
-- the device cookie; the accounts signed in on each, remembered until
-- `expires_at`, so the next app on the device offers them.
CREATE TABLE oauth_device_account (
    device_id    TEXT NOT NULL,
    did          TEXT NOT NULL,
    signed_in_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (device_id, did)
) WITHOUT ROWID;
