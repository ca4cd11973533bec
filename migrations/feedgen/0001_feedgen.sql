-- The Atrarium feed generator's own database (feedgen.sqlite): ingest
-- cursors, the durable work queue, and the community index.

-- Where each ingest source has read up to (local sequencer seq, or a
-- Jetstream endpoint's time_us). Written in the same transaction as the
-- queue rows of the events read, so a restart neither loses nor skips.
CREATE TABLE ingest_cursor (
    source TEXT PRIMARY KEY,
    cursor INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Events that passed the cheap filter, waiting to be indexed.
CREATE TABLE ingest_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    event BLOB NOT NULL,            -- the IngestEvent as atproto JSON
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before INTEGER NOT NULL DEFAULT 0,   -- unix ms; retries back off
    last_error TEXT,
    enqueued_at INTEGER NOT NULL
);
CREATE INDEX ingest_queue_ready ON ingest_queue (not_before, id);

-- Events that could not be read or processed, kept for inspection.
CREATE TABLE dead_letter (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    event BLOB NOT NULL,            -- at most the first 8 KiB
    error TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    failed_at INTEGER NOT NULL
);

-- A community: the first valid net.atrarium.community.config record that
-- claims a hashtag. Its author is the owner.
CREATE TABLE community (
    id TEXT PRIMARY KEY,            -- the 8 hex digits of the hashtag
    config_uri TEXT NOT NULL UNIQUE,
    config_cid TEXT NOT NULL,
    owner_did TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    stage TEXT NOT NULL,
    access_type TEXT NOT NULL,
    parent_uri TEXT,
    mix_own INTEGER NOT NULL DEFAULT 100,
    mix_parent INTEGER NOT NULL DEFAULT 0,
    mix_global INTEGER NOT NULL DEFAULT 0,
    moderators TEXT NOT NULL DEFAULT '[]',   -- JSON array of DIDs
    blocklist TEXT NOT NULL DEFAULT '[]',    -- JSON array of DIDs
    created_at TEXT NOT NULL,
    indexed_at INTEGER NOT NULL
);

-- Membership claims as written (any author); whether they count is
-- decided by the community's rules into community_member.
CREATE TABLE membership_claim (
    uri TEXT PRIMARY KEY,
    member_did TEXT NOT NULL,
    community_uri TEXT NOT NULL,
    active INTEGER NOT NULL,
    joined_at TEXT NOT NULL
);
CREATE INDEX membership_claim_community ON membership_claim (community_uri, member_did);

-- Approvals of membership claims as written (any author).
CREATE TABLE membership_approval (
    uri TEXT PRIMARY KEY,
    approver_did TEXT NOT NULL,
    community_uri TEXT NOT NULL,
    member_did TEXT NOT NULL
);
CREATE INDEX membership_approval_community ON membership_approval (community_uri, member_did);

-- Moderation actions as written (any author); the effective state is in
-- community_hidden_post and community_blocked_user.
CREATE TABLE moderation_action (
    uri TEXT PRIMARY KEY,
    author_did TEXT NOT NULL,
    community_uri TEXT NOT NULL,
    action TEXT NOT NULL,
    target_uri TEXT,
    target_did TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX moderation_action_community ON moderation_action (community_uri);

-- Active members by the rules, with their role (owner, moderator, member).
CREATE TABLE community_member (
    community TEXT NOT NULL,
    did TEXT NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY (community, did)
) WITHOUT ROWID;
CREATE INDEX community_member_did ON community_member (did);

CREATE TABLE community_hidden_post (
    community TEXT NOT NULL,
    uri TEXT NOT NULL,
    PRIMARY KEY (community, uri)
) WITHOUT ROWID;

CREATE TABLE community_blocked_user (
    community TEXT NOT NULL,
    did TEXT NOT NULL,
    PRIMARY KEY (community, did)
) WITHOUT ROWID;

-- Indexed posts, one row per community a post tags.
CREATE TABLE community_post (
    community TEXT NOT NULL,
    uri TEXT NOT NULL,
    cid TEXT NOT NULL,
    author_did TEXT NOT NULL,
    created_at INTEGER NOT NULL,    -- unix ms: the record's createdAt, never later than when it was indexed
    indexed_at INTEGER NOT NULL,
    PRIMARY KEY (community, uri)
) WITHOUT ROWID;
CREATE INDEX community_post_feed ON community_post (community, created_at DESC, cid DESC);
CREATE INDEX community_post_time ON community_post (created_at DESC, cid DESC);
CREATE INDEX community_post_author ON community_post (author_did);
CREATE INDEX community_post_uri ON community_post (uri);

-- Deleted records, so a late duplicate of their creation is not indexed again.
CREATE TABLE record_tombstone (
    uri TEXT NOT NULL,
    cid TEXT NOT NULL,
    deleted_at INTEGER NOT NULL,
    PRIMARY KEY (uri, cid)
) WITHOUT ROWID;
