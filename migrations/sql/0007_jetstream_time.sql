-- The Jetstream-format view (`/subscribe`) addresses events by a unix
-- microsecond timestamp. Each event gets one when it is appended, strictly
-- increasing along `seq` (the clock, or one more than the previous event's
-- when the clock has not moved on or went back), so a `time_us` cursor
-- names a position in the log as exactly as a `seq` does.
ALTER TABLE repo_seq ADD COLUMN time_us INTEGER;
UPDATE repo_seq SET time_us = sequenced_at * 1000;
CREATE INDEX repo_seq_time_us ON repo_seq (time_us);
