-- The identity mirror: organizations, domains, users, memberships and
-- Directory Sync objects copied from the WorkOS Events API, the cursor of
-- that stream, webhook event ids, the sessions seen in access tokens, and
-- each organization's settings.
--
-- Mirrored rows keep the object's WorkOS updated_at (workos_updated_at) so
-- that an older event never overwrites a newer state, and deleted objects
-- stay as tombstones (deleted_at) for the same reason.

-- +goose Up
ALTER TABLE organizations
    ADD COLUMN workos_updated_at timestamptz,
    ADD COLUMN deleted_at        timestamptz;

ALTER TABLE users
    ADD COLUMN first_name        text NOT NULL DEFAULT '',
    ADD COLUMN last_name         text NOT NULL DEFAULT '',
    ADD COLUMN workos_updated_at timestamptz,
    ADD COLUMN deleted_at        timestamptz;
-- Directory users are linked to users by email; queries repeat the
-- email <> '' condition so that this partial index applies.
CREATE INDEX users_email ON users (lower(email)) WHERE email <> '';

-- A membership's status is WorkOS's: active, inactive or pending. Rows the
-- request path creates on first sight of a token start active.
ALTER TABLE organization_memberships
    ADD COLUMN workos_id         text UNIQUE,
    ADD COLUMN status            text NOT NULL DEFAULT 'active',
    ADD COLUMN workos_updated_at timestamptz,
    ADD COLUMN deleted_at        timestamptz;

CREATE TABLE organization_domains (
    org_id            uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    workos_id         text PRIMARY KEY,
    domain            text NOT NULL,
    state             text NOT NULL DEFAULT '',
    workos_updated_at timestamptz NOT NULL,
    deleted_at        timestamptz
);
CREATE INDEX organization_domains_org ON organization_domains (org_id);

CREATE TABLE directories (
    org_id            uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    workos_id         text PRIMARY KEY,
    name              text NOT NULL DEFAULT '',
    type              text NOT NULL DEFAULT '',
    state             text NOT NULL DEFAULT '',
    workos_updated_at timestamptz NOT NULL,
    deleted_at        timestamptz
);
CREATE INDEX directories_org ON directories (org_id);

-- user_id links a directory user to the platform user with the same WorkOS
-- user id or, failing that, the same email; NULL until such a user exists.
CREATE TABLE directory_users (
    org_id              uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    workos_id           text PRIMARY KEY,
    directory_workos_id text NOT NULL,
    user_id             uuid REFERENCES users (id) ON DELETE SET NULL,
    email               text NOT NULL DEFAULT '',
    first_name          text NOT NULL DEFAULT '',
    last_name           text NOT NULL DEFAULT '',
    state               text NOT NULL,
    workos_updated_at   timestamptz NOT NULL,
    deleted_at          timestamptz
);
CREATE INDEX directory_users_org_user ON directory_users (org_id, user_id);
CREATE INDEX directory_users_org_email ON directory_users (org_id, lower(email));

CREATE TABLE directory_groups (
    org_id              uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    workos_id           text PRIMARY KEY,
    directory_workos_id text NOT NULL,
    name                text NOT NULL DEFAULT '',
    workos_updated_at   timestamptz NOT NULL,
    deleted_at          timestamptz
);
CREATE INDEX directory_groups_org ON directory_groups (org_id);

-- Group membership events carry no updated_at of their own, so the event's
-- created_at orders them.
CREATE TABLE directory_group_memberships (
    org_id                 uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    group_workos_id        text NOT NULL,
    directory_user_workos_id text NOT NULL,
    event_created_at       timestamptz NOT NULL,
    deleted_at             timestamptz,
    PRIMARY KEY (group_workos_id, directory_user_workos_id)
);
CREATE INDEX directory_group_memberships_org ON directory_group_memberships (org_id);

-- The Events API cursor: the id of the last applied event. One row per
-- stream name; the platform reads one stream, "identity".
CREATE TABLE workos_event_cursors (
    stream      text PRIMARY KEY,
    event_id    text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Webhook deliveries, kept for deduplication and as a durable "sync
-- requested" signal: a row with synced_at NULL asks for a sync run.
CREATE TABLE workos_webhook_events (
    event_id     text PRIMARY KEY,
    event_type   text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    synced_at    timestamptz
);
CREATE INDEX workos_webhook_events_unsynced ON workos_webhook_events (received_at) WHERE synced_at IS NULL;

-- AuthKit sessions seen in access tokens, so that deprovisioning can revoke
-- them. Like organizations and users, this table has no row-level security:
-- deleting a user revokes their sessions in every organization at once.
CREATE TABLE user_sessions (
    session_id            text PRIMARY KEY,
    org_id                uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id               uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    first_seen_at         timestamptz NOT NULL DEFAULT now(),
    revoke_requested_at   timestamptz,
    revoked_at            timestamptz
);
CREATE INDEX user_sessions_user ON user_sessions (user_id, org_id);
CREATE INDEX user_sessions_pending_revocation ON user_sessions (revoke_requested_at) WHERE revoke_requested_at IS NOT NULL AND revoked_at IS NULL;

CREATE TABLE organization_settings (
    org_id      uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    document    jsonb NOT NULL,
    version     bigint NOT NULL,
    updated_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- access_denial returns why a user may no longer call the API in an
-- organization, or NULL when access is allowed. It is SECURITY DEFINER so
-- that the request path checks the membership and directory user rows in
-- one statement, without a transaction that sets app.org_id; it reads only
-- the two ids it is given. Its tables are schema-qualified instead of
-- setting search_path, which would make every call slower.
-- +goose StatementBegin
CREATE FUNCTION access_denial(p_org_id uuid, p_user_id uuid) RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    AS $$
    DECLARE
        user_email text;
    BEGIN
        IF EXISTS (SELECT FROM public.organizations o WHERE o.id = p_org_id AND o.deleted_at IS NOT NULL) THEN
            RETURN 'organization_deleted';
        END IF;
        SELECT lower(u.email) INTO user_email FROM public.users u WHERE u.id = p_user_id;
        IF EXISTS (SELECT FROM public.users u WHERE u.id = p_user_id AND u.deleted_at IS NOT NULL) THEN
            RETURN 'user_deleted';
        END IF;
        IF EXISTS (SELECT FROM public.organization_memberships m
                   WHERE m.org_id = p_org_id AND m.user_id = p_user_id
                     AND (m.deleted_at IS NOT NULL OR m.status = 'inactive')) THEN
            RETURN 'membership_removed';
        END IF;
        -- A directory user belongs to the user when it was linked by WorkOS
        -- user id or email, or when its email matches the user's now: the
        -- user may have signed in after the directory user was synced. One
        -- active directory user is enough, for a user in two directories.
        IF EXISTS (SELECT FROM public.directory_users d
                   WHERE d.org_id = p_org_id
                     AND (d.user_id = p_user_id OR (user_email <> '' AND lower(d.email) = user_email))
                     AND (d.deleted_at IS NOT NULL OR d.state <> 'active'))
           AND NOT EXISTS (SELECT FROM public.directory_users d
                   WHERE d.org_id = p_org_id
                     AND (d.user_id = p_user_id OR (user_email <> '' AND lower(d.email) = user_email))
                     AND d.deleted_at IS NULL AND d.state = 'active') THEN
            RETURN 'directory_user_inactive';
        END IF;
        RETURN NULL;
    END
    $$;
-- +goose StatementEnd

ALTER TABLE organization_domains ENABLE ROW LEVEL SECURITY;
ALTER TABLE directories ENABLE ROW LEVEL SECURITY;
ALTER TABLE directory_users ENABLE ROW LEVEL SECURITY;
ALTER TABLE directory_groups ENABLE ROW LEVEL SECURITY;
ALTER TABLE directory_group_memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE organization_settings ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON organization_domains USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());
CREATE POLICY tenant_isolation ON directories USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());
CREATE POLICY tenant_isolation ON directory_users USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());
CREATE POLICY tenant_isolation ON directory_groups USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());
CREATE POLICY tenant_isolation ON directory_group_memberships USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());
CREATE POLICY tenant_isolation ON organization_settings USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());

-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'bondingai_app') THEN
        GRANT SELECT, INSERT, UPDATE ON workos_event_cursors, workos_webhook_events, user_sessions TO bondingai_app;
        GRANT SELECT, INSERT, UPDATE, DELETE ON organization_domains, directories, directory_users, directory_groups,
            directory_group_memberships, organization_settings TO bondingai_app;
        GRANT EXECUTE ON FUNCTION access_denial(uuid, uuid) TO bondingai_app;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION access_denial(uuid, uuid);
DROP TABLE organization_settings;
DROP TABLE user_sessions;
DROP TABLE workos_webhook_events;
DROP TABLE workos_event_cursors;
DROP TABLE directory_group_memberships;
DROP TABLE directory_groups;
DROP TABLE directory_users;
DROP TABLE directories;
DROP TABLE organization_domains;
ALTER TABLE organization_memberships DROP COLUMN workos_id, DROP COLUMN status, DROP COLUMN workos_updated_at, DROP COLUMN deleted_at;
DROP INDEX users_email;
ALTER TABLE users DROP COLUMN first_name, DROP COLUMN last_name, DROP COLUMN workos_updated_at, DROP COLUMN deleted_at;
ALTER TABLE organizations DROP COLUMN workos_updated_at, DROP COLUMN deleted_at;
