-- Consent: whether this person wants to hear from an inbox, and whether a conversation is in
-- their list, in Requests (someone they have not allowed invited them) or hidden (blocked or
-- deleted). Conversations from before this version stay in the list.
CREATE TABLE inbox_consent (
    inbox         BLOB    PRIMARY KEY NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('allowed', 'denied')),
    updated_at_ns INTEGER NOT NULL
) STRICT;

ALTER TABLE conversations ADD COLUMN consent TEXT NOT NULL DEFAULT 'allowed'
    CHECK (consent IN ('unknown', 'allowed', 'denied'));
-- The inbox whose welcome brought this installation in (NULL: created here).
ALTER TABLE conversations ADD COLUMN invited_by BLOB;
