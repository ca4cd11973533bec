-- When each community last had a post (unix ms; issue 28's lifecycle): a
-- community with none for `inactiveAfterDays` is marked inactive. Kept on
-- the community because posts older than the retention window (7 days) are
-- deleted, and the threshold may be longer than that.
ALTER TABLE community ADD COLUMN last_post_at INTEGER;
UPDATE community SET last_post_at = (SELECT MAX(created_at) FROM community_post p WHERE p.community = community.id);
