-- Users, groups, membership and permissions. The seed defines users and groups
-- and leaves the rest "略"; membership and per-group / per-user permissions follow
-- the usual Django-style auth layout the seed's columns come from.
CREATE TABLE IF NOT EXISTS auth.users (
    id              SERIAL PRIMARY KEY,
    username        VARCHAR(150) UNIQUE NOT NULL,
    email           VARCHAR(254) UNIQUE NOT NULL,
    password_hash   VARCHAR(255) NOT NULL,
    first_name      VARCHAR(150),
    last_name       VARCHAR(150),
    is_active       BOOLEAN NOT NULL DEFAULT true,
    is_superuser    BOOLEAN NOT NULL DEFAULT false,
    date_joined     TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    last_login      TIMESTAMP WITH TIME ZONE,
    organization_id INTEGER,
    updated_at      TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);
-- The seed's indexes (the UNIQUE constraints index username and email already;
-- the seed creates explicit ones too, kept for parity).
CREATE INDEX IF NOT EXISTS idx_users_username ON auth.users (username);
CREATE INDEX IF NOT EXISTS idx_users_email ON auth.users (email);
CREATE INDEX IF NOT EXISTS idx_users_org_id ON auth.users (organization_id);

CREATE TABLE IF NOT EXISTS auth.groups (
    id          SERIAL PRIMARY KEY,
    name        VARCHAR(150) UNIQUE NOT NULL,
    description TEXT,
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS auth.user_groups (
    user_id    INTEGER NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    group_id   INTEGER NOT NULL REFERENCES auth.groups (id) ON DELETE CASCADE,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX IF NOT EXISTS idx_user_groups_group ON auth.user_groups (group_id);

-- A permission is a code such as `models.deploy`.
CREATE TABLE IF NOT EXISTS auth.permissions (
    id          SERIAL PRIMARY KEY,
    code        VARCHAR(150) UNIQUE NOT NULL,
    description TEXT,
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS auth.group_permissions (
    group_id      INTEGER NOT NULL REFERENCES auth.groups (id) ON DELETE CASCADE,
    permission_id INTEGER NOT NULL REFERENCES auth.permissions (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, permission_id)
);

CREATE TABLE IF NOT EXISTS auth.user_permissions (
    user_id       INTEGER NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    permission_id INTEGER NOT NULL REFERENCES auth.permissions (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, permission_id)
);

CREATE OR REPLACE TRIGGER users_touch_updated_at BEFORE UPDATE ON auth.users
    FOR EACH ROW EXECUTE FUNCTION service_platform.touch_updated_at();
CREATE OR REPLACE TRIGGER groups_touch_updated_at BEFORE UPDATE ON auth.groups
    FOR EACH ROW EXECUTE FUNCTION service_platform.touch_updated_at();
