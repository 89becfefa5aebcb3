-- System configuration: one JSON value per key, versioned by updated_at.
CREATE TABLE IF NOT EXISTS service_platform.system_config (
    key         VARCHAR(200) PRIMARY KEY,
    value       JSONB NOT NULL,
    description TEXT,
    updated_by  INTEGER REFERENCES auth.users (id),
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);
CREATE OR REPLACE TRIGGER system_config_touch_updated_at BEFORE UPDATE ON service_platform.system_config
    FOR EACH ROW EXECUTE FUNCTION service_platform.touch_updated_at();
