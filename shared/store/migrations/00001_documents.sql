-- The platform's first schema: organizations and users mirrored from WorkOS,
-- documents with their chunks and vectors, and embedding jobs.
--
-- Every business row carries org_id and is guarded by row-level security:
-- the functions connect as bondingai_app, which neither owns the tables nor
-- bypasses RLS, and set app.org_id inside each transaction. A query that
-- forgets to set it sees no rows.

-- +goose Up
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE organizations (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workos_id   text NOT NULL UNIQUE,
    name        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workos_id   text NOT NULL UNIQUE,
    email       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE organization_memberships (
    org_id      uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, user_id)
);

CREATE TABLE documents (
    id              uuid PRIMARY KEY,
    org_id          uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    uploaded_by     uuid REFERENCES users (id) ON DELETE SET NULL,
    filename        text NOT NULL,
    content_type    text NOT NULL,
    size_bytes      bigint NOT NULL CHECK (size_bytes >= 0),
    sha256          bytea NOT NULL,
    blob_name       text NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'processing', 'ready', 'failed')),
    error           text,
    page_count      integer,
    chunk_count     integer,
    embedding_model text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    ready_at        timestamptz
);
CREATE INDEX documents_org_created ON documents (org_id, created_at DESC, id DESC);
-- One live copy of identical content per organization: a re-upload finds
-- the existing document instead of indexing the same chunks twice.
CREATE UNIQUE INDEX documents_org_content ON documents (org_id, sha256) WHERE status <> 'failed';

-- array_to_string is only STABLE in general, but for text[] it cannot
-- change between calls, and a generated column needs an IMMUTABLE expression.
CREATE FUNCTION heading_path_text(text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT array_to_string($1, ' ') $$;

CREATE TABLE chunks (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id               uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    document_id          uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    chunk_index          integer NOT NULL,
    -- page is 1-based; NULL for formats without fixed pages (DOCX, HTML, text).
    page                 integer,
    heading_path         text[] NOT NULL DEFAULT '{}',
    text                 text NOT NULL,
    token_count          integer NOT NULL,
    search_vector        tsvector GENERATED ALWAYS AS (
                             setweight(to_tsvector('english', heading_path_text(heading_path)), 'B') ||
                             setweight(to_tsvector('english', text), 'A')
                         ) STORED,
    -- The vector column has no fixed dimension so that the model can change;
    -- each model's vectors are indexed by a partial expression index below.
    embedding            vector,
    embedding_model      text,
    embedding_dimensions integer,
    UNIQUE (document_id, chunk_index),
    CHECK ((embedding IS NULL) = (embedding_model IS NULL))
);
CREATE INDEX chunks_org_document ON chunks (org_id, document_id);
CREATE INDEX chunks_search_vector ON chunks USING gin (search_vector);
-- USE-lite (the offline default) has 512 dimensions; Azure OpenAI
-- text-embedding-3-small and ada-002 have 1536. HNSW indexes at most 2000
-- dimensions of type vector.
CREATE INDEX chunks_embedding_512 ON chunks
    USING hnsw ((embedding::vector(512)) vector_cosine_ops) WHERE embedding_dimensions = 512;
CREATE INDEX chunks_embedding_1536 ON chunks
    USING hnsw ((embedding::vector(1536)) vector_cosine_ops) WHERE embedding_dimensions = 1536;

CREATE TABLE embedding_jobs (
    id           uuid PRIMARY KEY,
    org_id       uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    document_id  uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    batch_index  integer NOT NULL,
    -- The job embeds chunks first_chunk..last_chunk (chunk_index, inclusive).
    first_chunk  integer NOT NULL,
    last_chunk   integer NOT NULL,
    status       text NOT NULL CHECK (status IN ('queued', 'done', 'failed')),
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    UNIQUE (document_id, batch_index),
    CHECK (first_chunk <= last_chunk)
);
CREATE INDEX embedding_jobs_document_status ON embedding_jobs (document_id, status);

-- Row-level security keyed by the transaction's organization.
CREATE FUNCTION current_org_id() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT NULLIF(current_setting('app.org_id', true), '')::uuid $$;

ALTER TABLE organization_memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE documents ENABLE ROW LEVEL SECURITY;
ALTER TABLE chunks ENABLE ROW LEVEL SECURITY;
ALTER TABLE embedding_jobs ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON organization_memberships USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());
CREATE POLICY tenant_isolation ON documents USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());
CREATE POLICY tenant_isolation ON chunks USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());
CREATE POLICY tenant_isolation ON embedding_jobs USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());

-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'bondingai_app') THEN
        GRANT SELECT, INSERT, UPDATE ON organizations, users TO bondingai_app;
        GRANT SELECT, INSERT, UPDATE, DELETE ON organization_memberships, documents, chunks, embedding_jobs TO bondingai_app;
        GRANT EXECUTE ON FUNCTION current_org_id() TO bondingai_app;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE embedding_jobs;
DROP TABLE chunks;
DROP TABLE documents;
DROP TABLE organization_memberships;
DROP TABLE users;
DROP TABLE organizations;
DROP FUNCTION current_org_id();
DROP FUNCTION heading_path_text(text[]);
