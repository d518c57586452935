-- Group profiles and disappearing messages. A group's profile (description, image, who may do
-- what) and a conversation's disappearing timer change through a new kind of intent,
-- `update_settings` (its data: an `arx.v1.SettingsChange`); SQLite cannot widen a CHECK, so
-- the intents table is rebuilt with the same columns, rows and indexes.
CREATE TABLE intents_rebuilt (
    id              INTEGER PRIMARY KEY,
    group_id        BLOB    NOT NULL REFERENCES conversations (group_id),
    kind            TEXT    NOT NULL
                    CHECK (kind IN ('message', 'add_members', 'remove_members', 'rename',
                                    'set_role', 'leave', 'commit_pending', 'update_settings')),
    data            BLOB    NOT NULL,
    state           TEXT    NOT NULL
                    CHECK (state IN ('to_publish', 'published', 'committed', 'failed')),
    payload         BLOB,
    payload_hash    BLOB    UNIQUE,
    epoch           INTEGER,
    welcome         BLOB,
    welcome_targets BLOB,
    welcome_sent    INTEGER NOT NULL DEFAULT 0 CHECK (welcome_sent IN (0, 1)),
    attempts        INTEGER NOT NULL DEFAULT 0,
    error_code      TEXT,
    error           TEXT,
    created_at_ns   INTEGER NOT NULL
) STRICT;
INSERT INTO intents_rebuilt (id, group_id, kind, data, state, payload, payload_hash, epoch,
    welcome, welcome_targets, welcome_sent, attempts, error_code, error, created_at_ns)
SELECT id, group_id, kind, data, state, payload, payload_hash, epoch, welcome, welcome_targets,
    welcome_sent, attempts, error_code, error, created_at_ns FROM intents;
DROP TABLE intents;
ALTER TABLE intents_rebuilt RENAME TO intents;
CREATE INDEX intents_open ON intents (group_id, id) WHERE state IN ('to_publish', 'published');
CREATE INDEX intents_by_data ON intents (kind, data);
CREATE INDEX intents_welcomes ON intents (group_id, id) WHERE welcome IS NOT NULL AND welcome_sent = 0;
CREATE INDEX intents_next ON intents (group_id, id)
    WHERE state = 'to_publish' OR (state = 'published' AND kind <> 'message');
CREATE INDEX intents_changes ON intents (group_id, id) WHERE kind <> 'message';

-- The conversation's disappearing timer as its latest commit set it (NULL: off), and when each
-- message disappears (its arrival, or sending, plus the timer then in force).
ALTER TABLE conversations ADD COLUMN disappear_after_ns INTEGER;
ALTER TABLE messages ADD COLUMN expires_at_ns INTEGER;
CREATE INDEX messages_expiring ON messages (expires_at_ns) WHERE expires_at_ns IS NOT NULL;
