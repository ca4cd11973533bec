-- The reason of each moderation action (issue 28): the dashboard's history
-- shows why a post was hidden or an account blocked. Actions indexed before
-- this have none; the next re-index of their record fills it in.
ALTER TABLE moderation_action ADD COLUMN reason TEXT;
