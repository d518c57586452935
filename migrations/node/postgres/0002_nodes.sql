-- Nodes that write to this database, each with the key that signs its envelopes. One node
-- process registers itself here when it starts; several processes may share the database, and
-- each tells its clients about the others (NodeInfo.peers).
CREATE TABLE nodes (
    node_id    BIGINT PRIMARY KEY,
    public_key BYTEA  NOT NULL
);
