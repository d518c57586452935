-- Rich messages: every message has a content id (16 random bytes its sender gave it) by which
-- replies, reactions, receipts, edits and deletes name it. Reactions, receipts, edits and
-- deletes are stored as hidden messages (they go through the same intents as any message) and
-- their effect is kept in the tables below.
ALTER TABLE messages ADD COLUMN content_id BLOB;
ALTER TABLE messages ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0 CHECK (hidden IN (0, 1));
ALTER TABLE messages ADD COLUMN edited_at_ns INTEGER;
ALTER TABLE messages ADD COLUMN deleted_at_ns INTEGER;
CREATE INDEX messages_by_content_id ON messages (group_id, content_id);
CREATE INDEX messages_shown ON messages (group_id, id) WHERE hidden = 0;

-- Earlier versions of an edited message, kept on this device only (removed when it is deleted).
CREATE TABLE message_edits (
    id             INTEGER PRIMARY KEY,
    message_id     INTEGER NOT NULL REFERENCES messages (id),
    type_id        TEXT    NOT NULL,
    content        BLOB    NOT NULL,
    replaced_at_ns INTEGER NOT NULL
) STRICT;
CREATE INDEX message_edits_by_message ON message_edits (message_id, id);

-- Who reacted to which message with what (the target is a content id; a reaction that arrives
-- before its message waits here for it).
CREATE TABLE reactions (
    group_id      BLOB    NOT NULL,
    target        BLOB    NOT NULL,
    reactor_inbox BLOB    NOT NULL,
    emoji         TEXT    NOT NULL,
    reacted_at_ns INTEGER NOT NULL,
    PRIMARY KEY (group_id, target, reactor_inbox, emoji)
) STRICT;

-- The newest message each member has read (their latest receipt; only ever moves forward).
CREATE TABLE read_receipts (
    group_id     BLOB    NOT NULL,
    reader_inbox BLOB    NOT NULL,
    message_id   INTEGER NOT NULL,
    read_at_ns   INTEGER NOT NULL,
    PRIMARY KEY (group_id, reader_inbox)
) STRICT;

-- Files of stored messages (an attachment's sealed digest and CID), so the media cache knows
-- which opened files are still wanted; a deleted or expired message's rows go with its content.
CREATE TABLE message_files (
    message_id INTEGER NOT NULL REFERENCES messages (id),
    position   INTEGER NOT NULL,
    digest     BLOB    NOT NULL,
    cid        TEXT    NOT NULL,
    PRIMARY KEY (message_id, position)
) STRICT;
CREATE INDEX message_files_by_digest ON message_files (digest);

-- The newest message this installation sent a read receipt for (0: none).
ALTER TABLE conversations ADD COLUMN receipt_sent_id INTEGER NOT NULL DEFAULT 0;
