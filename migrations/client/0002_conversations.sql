-- Conversations this installation is in (one MLS group each).
CREATE TABLE conversations (
    group_id         BLOB    PRIMARY KEY NOT NULL,
    kind             TEXT    NOT NULL CHECK (kind IN ('group', 'dm')),
    name             TEXT,
    -- For a DM: the other inbox (a DM's membership never changes).
    dm_peer          BLOB,
    created_at_ns    INTEGER NOT NULL,
    -- Epoch at which this installation joined; earlier messages are not for it.
    joined_epoch     INTEGER NOT NULL,
    last_activity_ns INTEGER NOT NULL
) STRICT;

-- Messages, in the order they were read from the node (own messages when sent).
CREATE TABLE messages (
    id                  INTEGER PRIMARY KEY,
    group_id            BLOB    NOT NULL REFERENCES conversations (group_id),
    sender_inbox        BLOB    NOT NULL,
    sender_installation BLOB    NOT NULL,
    type_id             TEXT    NOT NULL,
    content             BLOB    NOT NULL,
    fallback            TEXT    NOT NULL,
    sent_at_ns          INTEGER NOT NULL,
    -- Hash of the client envelope that carried it (own echoes are recognized by it).
    payload_hash        BLOB    NOT NULL UNIQUE,
    originator_id       INTEGER,
    sequence_id         INTEGER,
    delivery            TEXT    NOT NULL CHECK (delivery IN ('sending', 'sent', 'failed'))
) STRICT;
CREATE INDEX messages_by_group ON messages (group_id, id);

-- Payload hashes of commits this installation published (their echoes are skipped).
CREATE TABLE own_commits (
    payload_hash BLOB PRIMARY KEY NOT NULL
) STRICT;

-- How far each topic has been read: originator → last sequence id.
CREATE TABLE cursors (
    topic         BLOB    NOT NULL,
    originator_id INTEGER NOT NULL,
    sequence_id   INTEGER NOT NULL,
    PRIMARY KEY (topic, originator_id)
) STRICT;
