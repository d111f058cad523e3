-- Conversations between a user and the assistant, their messages with the
-- citations and token usage of each answer, and feedback on answers.
--
-- A conversation belongs to one user inside one organization. Row-level
-- security scopes every row to the transaction's organization as in the
-- first migration; the queries in conversations.go also filter by the
-- owning user, so another member of the organization sees none of it.

-- +goose Up
CREATE TABLE conversations (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id      uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- deleted_at hides the conversation from its owner; the rows stay for
    -- the organization's retention policy.
    deleted_at  timestamptz
);
CREATE INDEX conversations_owner_created ON conversations (org_id, user_id, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;

CREATE TABLE messages (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id             uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    conversation_id    uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role               text NOT NULL CHECK (role IN ('user', 'assistant')),
    content            text NOT NULL,
    -- citations is the JSON array of checked citations the reply carried.
    citations          jsonb NOT NULL DEFAULT '[]',
    -- context_chunk_ids are the retrieved chunks the answer was grounded
    -- on, in rank order. No foreign key: deleting a document must not
    -- rewrite the conversation history.
    context_chunk_ids  uuid[] NOT NULL DEFAULT '{}',
    model              text,
    prompt_tokens      integer,
    completion_tokens  integer,
    latency_ms         integer,
    created_at         timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX messages_conversation_created ON messages (conversation_id, created_at, id);

CREATE TABLE message_feedback (
    message_id  uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    org_id      uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    rating      text NOT NULL CHECK (rating IN ('up', 'down')),
    comment     text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, user_id)
);

ALTER TABLE conversations ENABLE ROW LEVEL SECURITY;
ALTER TABLE messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE message_feedback ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON conversations USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());
CREATE POLICY tenant_isolation ON messages USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());
CREATE POLICY tenant_isolation ON message_feedback USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());

-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'bondingai_app') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE ON conversations, messages, message_feedback TO bondingai_app;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE message_feedback;
DROP TABLE messages;
DROP TABLE conversations;
