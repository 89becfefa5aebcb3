-- Model metadata: the fields of the seed's Weaviate ModelData class (name,
-- framework, metrics, use case, version, created by), split into a model and its versions.
CREATE TABLE IF NOT EXISTS model_platform.models (
    id          SERIAL PRIMARY KEY,
    name        VARCHAR(200) UNIQUE NOT NULL,
    framework   VARCHAR(100) NOT NULL,
    use_case    TEXT,
    description TEXT,
    created_by  INTEGER REFERENCES auth.users (id),
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);
CREATE OR REPLACE TRIGGER models_touch_updated_at BEFORE UPDATE ON model_platform.models
    FOR EACH ROW EXECUTE FUNCTION service_platform.touch_updated_at();

CREATE TABLE IF NOT EXISTS model_platform.model_versions (
    id           SERIAL PRIMARY KEY,
    model_id     INTEGER NOT NULL REFERENCES model_platform.models (id) ON DELETE CASCADE,
    version      VARCHAR(50) NOT NULL,
    metrics      JSONB NOT NULL DEFAULT '{}'::jsonb,
    artifact_uri TEXT,
    created_by   INTEGER REFERENCES auth.users (id),
    created_at   TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    CONSTRAINT model_versions_model_version_key UNIQUE (model_id, version)
);
CREATE INDEX IF NOT EXISTS idx_model_versions_latest ON model_platform.model_versions (model_id, created_at DESC, id DESC);
