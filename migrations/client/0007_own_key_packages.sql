-- This installation's key packages (their private keys live in the openmls tables under the
-- same hash reference). A key package is superseded when a newer one is published; superseded
-- ones are deleted, private keys and all, once a grace period has passed (a welcome made from
-- one just before it was superseded can still be joined).
CREATE TABLE own_key_packages (
    hash_ref         BLOB    PRIMARY KEY NOT NULL,
    created_at_ns    INTEGER NOT NULL,
    superseded_at_ns INTEGER
) STRICT;
