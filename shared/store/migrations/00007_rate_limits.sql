-- Rate limit counters: one row per organization, bucket and fixed window.
-- The counters live in PostgreSQL rather than in process memory so that a
-- limit holds across every instance of the function app. A bucket names
-- the action and the scope, such as "search:org" or "search:user:<uuid>".

-- +goose Up
CREATE TABLE rate_limit_counters (
    org_id        uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    bucket        text NOT NULL,
    window_start  timestamptz NOT NULL,
    count         integer NOT NULL CHECK (count > 0),
    PRIMARY KEY (org_id, bucket, window_start)
);

ALTER TABLE rate_limit_counters ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON rate_limit_counters USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());

-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'bondingai_app') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE ON rate_limit_counters TO bondingai_app;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE rate_limit_counters;
