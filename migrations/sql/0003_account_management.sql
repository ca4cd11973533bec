-- Account management: when a deactivated account asked to be deleted, and
-- lookups of single-use email tokens by their value (password reset).

-- The `deleteAfter` a user gave when deactivating (a datetime), or NULL.
ALTER TABLE account ADD COLUMN delete_after TEXT;

CREATE INDEX email_token_token ON email_token (purpose, token);
