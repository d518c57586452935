-- This data directory's installation (exactly one row) and what registration recorded.
CREATE TABLE installation (
    id               INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    installation_key BLOB    NOT NULL,
    inbox_id         BLOB,
    wallet_address   BLOB,
    registered_at_ns INTEGER
) STRICT;
