-- Envelopes a sync passed over without acting on them (undecodable, a bad originator signature,
-- a commit that failed its checks, a welcome that cannot be joined...), with the reason. The
-- cursor moves past them; this is the record of why, for diagnostics (`arx skipped`).
CREATE TABLE skipped_envelopes (
    id INTEGER PRIMARY KEY,
    topic BLOB NOT NULL,
    originator_id INTEGER NOT NULL,
    sequence_id INTEGER NOT NULL,
    code TEXT NOT NULL,
    reason TEXT NOT NULL,
    skipped_at_ns INTEGER NOT NULL,
    UNIQUE (topic, originator_id, sequence_id)
) STRICT;
