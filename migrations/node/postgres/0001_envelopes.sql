-- Accepted envelopes, one row per (originator, sequence id).
CREATE TABLE envelopes (
    originator_id  BIGINT NOT NULL,
    sequence_id    BIGINT NOT NULL,
    topic          BYTEA  NOT NULL,
    received_at_ns BIGINT NOT NULL,
    envelope       BYTEA  NOT NULL,
    PRIMARY KEY (originator_id, sequence_id)
);

-- Query and Subscribe read one topic from one originator after a sequence id.
CREATE INDEX envelopes_by_topic ON envelopes (topic, originator_id, sequence_id);

-- Originators that have envelopes here (one row each; small).
CREATE TABLE originators (
    originator_id BIGINT PRIMARY KEY
);

-- Folded identity log of each inbox; version counts the updates applied.
CREATE TABLE identity_states (
    inbox_id BYTEA  PRIMARY KEY,
    version  BIGINT NOT NULL,
    state    BYTEA  NOT NULL
);

-- The inbox each wallet address currently belongs to (an address belongs to at most one).
CREATE TABLE address_inboxes (
    address  BYTEA PRIMARY KEY,
    inbox_id BYTEA NOT NULL
);

-- The newest key package of each installation.
CREATE TABLE key_packages (
    installation_key BYTEA  PRIMARY KEY,
    inbox_id         BYTEA  NOT NULL,
    originator_id    BIGINT NOT NULL,
    sequence_id      BIGINT NOT NULL,
    not_after        BIGINT NOT NULL,
    FOREIGN KEY (originator_id, sequence_id) REFERENCES envelopes (originator_id, sequence_id)
);
