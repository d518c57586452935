-- The intents a group's run acts on next: one to publish, or a change waiting for its echo. It
-- is looked up before and after every send; published messages (waiting for their echo without
-- holding anything up) are left out, so the lookup stays small however many of them pile up.
-- Queries use this exact condition as one AND term, which lets SQLite pick the index.
CREATE INDEX intents_next ON intents (group_id, id)
    WHERE state = 'to_publish' OR (state = 'published' AND kind <> 'message');

-- A group's changes (every intent but messages): whether its creation commit was prepared.
CREATE INDEX intents_changes ON intents (group_id, id) WHERE kind <> 'message';
