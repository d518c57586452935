-- What this installation wants to publish to a group, durable until it is done. Every attempt
-- is rebuilt from `data`; states move only forward:
--   to_publish → published → committed, or → failed (with `error`).
-- A lost commit race or a message echoed in an older epoch sends the intent back to
-- to_publish for a new attempt on the current epoch (at most a few times).
CREATE TABLE intents (
    id              INTEGER PRIMARY KEY,
    group_id        BLOB    NOT NULL REFERENCES conversations (group_id),
    kind            TEXT    NOT NULL
                    CHECK (kind IN ('message', 'add_members', 'remove_members', 'rename',
                                    'set_role', 'leave', 'commit_pending')),
    -- message: the id of its row in messages (8 bytes, big endian);
    -- add_members / remove_members: the inbox ids, 32 bytes each, concatenated;
    -- rename: the new name (UTF-8); set_role: the inbox id then one byte (0 member, 1 admin,
    -- 2 super admin); leave, commit_pending (commit the leave requests of others): empty.
    data            BLOB    NOT NULL,
    state           TEXT    NOT NULL
                    CHECK (state IN ('to_publish', 'published', 'committed', 'failed')),
    -- The current attempt: the client envelope, its hash (echoes are recognized by it) and
    -- the epoch it was built on. NULL until an attempt is prepared.
    payload         BLOB,
    payload_hash    BLOB    UNIQUE,
    epoch           INTEGER,
    -- A commit's welcome and the installation keys it goes to (32 bytes each), sent once the
    -- commit's echo is merged; welcome_sent records that it left.
    welcome         BLOB,
    welcome_targets BLOB,
    welcome_sent    INTEGER NOT NULL DEFAULT 0 CHECK (welcome_sent IN (0, 1)),
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- Why it failed: a stable error code and a message.
    error_code      TEXT,
    error           TEXT,
    created_at_ns   INTEGER NOT NULL
) STRICT;
CREATE INDEX intents_open ON intents (group_id, id) WHERE state IN ('to_publish', 'published');
-- A message's intent by its data (the message id); welcomes still to send.
CREATE INDEX intents_by_data ON intents (kind, data);
CREATE INDEX intents_welcomes ON intents (group_id, id) WHERE welcome IS NOT NULL AND welcome_sent = 0;

-- Pending commits are intents now (an installation upgraded with one in flight treats it as
-- lost: the group's next commit from it is rebuilt on the current epoch).
DROP TABLE pending_commits;

-- Hashes of every envelope this installation published (commits and messages, every attempt):
-- an echo of a superseded attempt is recognized and skipped.
ALTER TABLE own_commits RENAME TO own_payloads;

-- Whether this installation is still in the conversation: 'leaving' once it asked to leave,
-- 'left' when the commit removing it was applied, 'removed' when someone else removed it.
ALTER TABLE conversations ADD COLUMN state TEXT NOT NULL DEFAULT 'active'
    CHECK (state IN ('active', 'leaving', 'left', 'removed'));

-- The newest message this installation has shown as read in the conversation (0: none).
ALTER TABLE conversations ADD COLUMN last_read_id INTEGER NOT NULL DEFAULT 0;
