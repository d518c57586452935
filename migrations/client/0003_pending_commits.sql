-- This installation's commit waiting for its echo: merged when its echo is the next commit read
-- from the group topic, dropped if another member's commit comes first. The welcome (if any)
-- is sent to its targets only after the merge.
CREATE TABLE pending_commits (
    group_id        BLOB PRIMARY KEY NOT NULL REFERENCES conversations (group_id),
    payload_hash    BLOB NOT NULL,
    welcome         BLOB,
    -- Installation keys the welcome goes to, 32 bytes each, concatenated.
    welcome_targets BLOB NOT NULL
) STRICT;
