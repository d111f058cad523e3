-- Refresh coordination for browser sessions. AuthKit refresh tokens are
-- single-use, so when several requests carry the same session cookie only
-- one of them may spend the refresh token. The first one stores the new
-- tokens here, sealed with the session cookie key, and the others reuse them
-- until expires_at, a grace period of a few seconds.
--
-- The table has no org_id and no row-level security because it holds no
-- business data: a row is found only by the SHA-256 of a refresh token, and
-- its result is encrypted with a key the database never sees.

-- +goose Up
CREATE TABLE session_refreshes (
    token_hash  bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    result      bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX session_refreshes_expires_at ON session_refreshes (expires_at);

-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'bondingai_app') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE ON session_refreshes TO bondingai_app;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE session_refreshes;
