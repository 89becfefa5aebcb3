-- Extensions and schemas of the platform (seed, section 2.4.1).
-- `vector` is not a trusted extension: the migrating role must be allowed to create it.
CREATE EXTENSION IF NOT EXISTS vector;
-- pgcrypto as the seed asks, where the server ships it. Nothing here depends on
-- it (UUIDs come from the built-in gen_random_uuid(), passwords are hashed with
-- Argon2id client-side), so a server built without OpenSSL still migrates.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pgcrypto') THEN
        CREATE EXTENSION IF NOT EXISTS pgcrypto;
    END IF;
END
$$;

CREATE SCHEMA IF NOT EXISTS auth;
CREATE SCHEMA IF NOT EXISTS data_platform;
CREATE SCHEMA IF NOT EXISTS algo_platform;
CREATE SCHEMA IF NOT EXISTS model_platform;
CREATE SCHEMA IF NOT EXISTS service_platform;

-- Keeps updated_at current on every UPDATE (one function, used by every table that has the column).
CREATE OR REPLACE FUNCTION service_platform.touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
