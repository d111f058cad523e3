-- Usage analytics: an append-only table of usage events and the rollups
-- computed from it. Events carry ids and numbers only, never message or
-- document text or file names.
--
-- A rollup job computes one organization's hour: it replaces the hour's
-- rows in analytics_rollups, re-derives the day's rows from the day's
-- hours, and adds the hour's users to analytics_active_users. The
-- watermark marks where every earlier hour is final (computed after the
-- lateness window closed), so the scheduler resumes there after downtime.

-- +goose Up
CREATE TABLE usage_events (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id            uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- user_id has no foreign key: events outlive deleted users, and the
    -- rollups count users by id only.
    user_id           uuid,
    type              text NOT NULL CHECK (type IN ('sign_in', 'conversation_started', 'message_answered', 'search',
                          'document_uploaded', 'document_ready', 'document_failed', 'feedback_given')),
    occurred_at       timestamptz NOT NULL,
    recorded_at       timestamptz NOT NULL DEFAULT now(),
    model             text,
    prompt_tokens     integer CHECK (prompt_tokens >= 0),
    completion_tokens integer CHECK (completion_tokens >= 0),
    latency_ms        integer CHECK (latency_ms >= 0),
    citation_count    integer CHECK (citation_count >= 0),
    pages             integer CHECK (pages >= 0),
    chunks            integer CHECK (chunks >= 0),
    duration_ms       integer CHECK (duration_ms >= 0),
    -- feedback_score is +1 (helpful) or -1 (not helpful).
    feedback_score    smallint CHECK (feedback_score IN (-1, 1)),
    -- document_ids are the cited documents of an answer, or the document
    -- of a document_* event.
    document_ids      uuid[] NOT NULL DEFAULT '{}'
);
CREATE INDEX usage_events_org_occurred ON usage_events (org_id, occurred_at);

-- One row per organization, granularity, window, metric and dimension.
-- Metrics and their dimensions: events:<type> (''), prompt_tokens and
-- completion_tokens (model), latency_ms_bucket (the bucket's upper bound
-- in ms, or +Inf), feedback (up or down), citations (document id),
-- pages and chunks (''), for document_ready events.
CREATE TABLE analytics_rollups (
    org_id       uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    granularity  text NOT NULL CHECK (granularity IN ('hour', 'day')),
    window_start timestamptz NOT NULL,
    metric       text NOT NULL,
    dimension    text NOT NULL DEFAULT '',
    value        bigint NOT NULL,
    PRIMARY KEY (org_id, granularity, window_start, metric, dimension)
);

-- The distinct users active on each UTC day; weekly and monthly active
-- users are counted exactly as the distinct users over the period's days.
CREATE TABLE analytics_active_users (
    org_id  uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    day     date NOT NULL,
    user_id uuid NOT NULL,
    PRIMARY KEY (org_id, day, user_id)
);

-- The hours computed so far; final means computed after the hour's end
-- plus the lateness window, so later events no longer change it.
CREATE TABLE analytics_rollup_windows (
    org_id       uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    window_start timestamptz NOT NULL,
    computed_at  timestamptz NOT NULL,
    final        boolean NOT NULL,
    PRIMARY KEY (org_id, window_start)
);

-- Every hour before rolled_up_until has a final rollup.
CREATE TABLE analytics_watermarks (
    org_id          uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    rolled_up_until timestamptz NOT NULL
);

ALTER TABLE usage_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_rollups ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_active_users ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_rollup_windows ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_watermarks ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON usage_events USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());
CREATE POLICY tenant_isolation ON analytics_rollups USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());
CREATE POLICY tenant_isolation ON analytics_active_users USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());
CREATE POLICY tenant_isolation ON analytics_rollup_windows USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());
CREATE POLICY tenant_isolation ON analytics_watermarks USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());

-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'bondingai_app') THEN
        -- Events are append-only: the application inserts them, and deletes
        -- them only for retention.
        GRANT SELECT, INSERT, DELETE ON usage_events TO bondingai_app;
        GRANT SELECT, INSERT, UPDATE, DELETE ON analytics_rollups, analytics_active_users,
            analytics_rollup_windows, analytics_watermarks TO bondingai_app;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE analytics_watermarks;
DROP TABLE analytics_rollup_windows;
DROP TABLE analytics_active_users;
DROP TABLE analytics_rollups;
DROP TABLE usage_events;
