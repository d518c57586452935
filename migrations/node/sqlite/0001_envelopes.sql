-- Accepted envelopes, one row per (originator, sequence id).
CREATE TABLE envelopes (
    originator_id  INTEGER NOT NULL,
    sequence_id    INTEGER NOT NULL,
    topic          BLOB    NOT NULL,
    received_at_ns INTEGER NOT NULL,
    envelope       BLOB    NOT NULL,
    PRIMARY KEY (originator_id, sequence_id)
) STRICT;

-- Query and Subscribe read one topic from one originator after a sequence id.
CREATE INDEX envelopes_by_topic ON envelopes (topic, originator_id, sequence_id);

-- Originators that have envelopes here (one row each; small).
CREATE TABLE originators (
    originator_id INTEGER PRIMARY KEY NOT NULL
) STRICT;

-- Folded identity log of each inbox; version counts the updates applied.
CREATE TABLE identity_states (
    inbox_id BLOB    PRIMARY KEY NOT NULL,
    version  INTEGER NOT NULL,
    state    BLOB    NOT NULL
) STRICT;

-- The inbox each wallet address currently belongs to (an address belongs to at most one).
CREATE TABLE address_inboxes (
    address  BLOB PRIMARY KEY NOT NULL,
    inbox_id BLOB NOT NULL
) STRICT;

-- The newest key package of each installation.
CREATE TABLE key_packages (
    installation_key BLOB    PRIMARY KEY NOT NULL,
    inbox_id         BLOB    NOT NULL,
    originator_id    INTEGER NOT NULL,
    sequence_id      INTEGER NOT NULL,
    not_after        INTEGER NOT NULL,
    FOREIGN KEY (originator_id, sequence_id) REFERENCES envelopes (originator_id, sequence_id)
) STRICT;
