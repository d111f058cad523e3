-- The egress audit: one row per outbound HTTP request, without payload,
-- query string or identifiers. It describes the deployment's traffic, not
-- an organization's data, so it has no org_id and no row-level security;
-- only administrators read it, through GET /api/admin/egress.

-- +goose Up
CREATE TABLE egress_audit (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at            timestamptz NOT NULL,
    function_name          text NOT NULL DEFAULT '',
    destination            text NOT NULL,
    class                  text NOT NULL CHECK (class IN ('identity', 'business', 'infrastructure')),
    host                   text NOT NULL,
    method                 text NOT NULL,
    path_template          text NOT NULL,
    bytes_sent             bigint NOT NULL DEFAULT 0,
    bytes_received         bigint NOT NULL DEFAULT 0,
    status                 integer NOT NULL,
    outside_customer_cloud boolean NOT NULL DEFAULT false
);
CREATE INDEX egress_audit_occurred_at ON egress_audit (occurred_at);

-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'bondingai_app') THEN
        GRANT SELECT, INSERT ON egress_audit TO bondingai_app;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE egress_audit;
