-- This server as an OAuth client (issue 28): the Atrarium dashboard signs
-- people in with their own PDS, whichever it is, and writes to their
-- repositories with their DPoP-bound tokens.

-- Sign-ins under way, between the pushed authorization request and the
-- browser's return to the callback. `state` is the random value sent to
-- the authorization server; `browser_hash` is SHA-256 of a cookie set on
-- the browser that started, so a callback carried to another browser (a
-- login CSRF) is refused. `dpop_key` is the raw P-256 private key the
-- tokens will be bound to; `code_verifier` is PKCE's. Rows live ten
-- minutes (the authorization server's request lasts five).
CREATE TABLE oauth_client_request (
    state          TEXT PRIMARY KEY,
    browser_hash   TEXT NOT NULL,
    issuer         TEXT NOT NULL,
    token_endpoint TEXT NOT NULL,
    revocation_endpoint TEXT,
    pds_url        TEXT NOT NULL,
    expected_did   TEXT,
    code_verifier  TEXT NOT NULL,
    dpop_key       BLOB NOT NULL,
    dpop_nonce     TEXT,
    return_to      TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);

-- Signed-in browsers. `id_hash` is SHA-256 of the session cookie (the
-- cookie itself is never stored). The tokens are the authorization
-- server's; `access_expires_at` is when the access token stops working,
-- and the refresh token (single use) is replaced on every refresh, in the
-- same write that stores the new access token. `csrf` is the token every
-- form of the session carries. `expires_at` is the session's end (14 days,
-- the atproto OAuth limit for a public client's grant).
CREATE TABLE oauth_client_session (
    id_hash        TEXT PRIMARY KEY,
    did            TEXT NOT NULL,
    issuer         TEXT NOT NULL,
    token_endpoint TEXT NOT NULL,
    revocation_endpoint TEXT,
    pds_url        TEXT NOT NULL,
    scope          TEXT NOT NULL,
    access_token   TEXT NOT NULL,
    access_expires_at INTEGER NOT NULL,
    refresh_token  TEXT,
    dpop_key       BLOB NOT NULL,
    auth_nonce     TEXT,
    pds_nonce      TEXT,
    csrf           TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
);
CREATE INDEX oauth_client_session_expiry ON oauth_client_session (expires_at);
