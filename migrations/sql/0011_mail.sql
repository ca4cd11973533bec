-- Mail (issue 27): the outbox, email sign-in codes, and invites switched
-- off per account.

-- Messages on their way to the SMTP server. A row is written in the same
-- transaction as the token it carries, so a token is never issued without
-- its message nor the other way round. `message` is the rendered RFC 5322
-- message, `Message-ID` included, so a retry sends the very same bytes; it
-- is dropped once the server took it (state `sent`), and the row a week
-- later. `superseded`: a newer token of the same purpose to the same
-- address replaced it before it went. `failed`: the server refused it for
-- good, or its token expired (an operator's message: 24 hours) while the
-- server was unreachable (kept 30 days, for the operator).
CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    message         BLOB,
    created_at      INTEGER NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    finished_at     INTEGER,
    last_error      TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox (state, next_attempt_at);

-- `emailAuthFactor` (com.atproto.server.updateEmail): a code by mail is
-- needed beside the password to sign in.
ALTER TABLE account ADD COLUMN email_auth_factor INTEGER NOT NULL DEFAULT 0;
-- com.atproto.admin.disableAccountInvites.
ALTER TABLE account ADD COLUMN invites_disabled INTEGER NOT NULL DEFAULT 0;

-- com.atproto.server.reserveSigningKey: a repository signing key made
-- before the account that uses it (a migration names the new server's key
-- in its PLC operation before createAccount). `subject` is the DID it is
-- reserved for, or the key's own did:key. Kept for 7 days.
CREATE TABLE reserved_signing_key (
    subject     TEXT PRIMARY KEY,
    key_type    TEXT NOT NULL,
    private_key BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);
