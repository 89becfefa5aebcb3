-- Data sources and text embeddings (seed, section 2.4.1).
CREATE TABLE IF NOT EXISTS data_platform.data_sources (
    id              SERIAL PRIMARY KEY,
    name            VARCHAR(200) NOT NULL,
    description     TEXT,
    source_type     VARCHAR(50) NOT NULL,
    connection_info JSONB NOT NULL,
    created_by      INTEGER REFERENCES auth.users (id),
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    updated_at      TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    is_active       BOOLEAN NOT NULL DEFAULT true
);
CREATE INDEX IF NOT EXISTS idx_data_sources_created_by ON data_platform.data_sources (created_by);
CREATE OR REPLACE TRIGGER data_sources_touch_updated_at BEFORE UPDATE ON data_platform.data_sources
    FOR EACH ROW EXECUTE FUNCTION service_platform.touch_updated_at();

-- 1536 dimensions: the seed's OpenAI ada embeddings.
CREATE TABLE IF NOT EXISTS data_platform.text_embeddings (
    id           SERIAL PRIMARY KEY,
    dataset_id   INTEGER,
    record_id    VARCHAR(100),
    text_content TEXT,
    embedding    vector(1536),
    created_at   TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);
-- HNSW with cosine (the seed used IVFFlat lists=100, which must be built after
-- loading and degrades as data grows; HNSW has no training step).
CREATE INDEX IF NOT EXISTS idx_text_embeddings_vector ON data_platform.text_embeddings
    USING hnsw (embedding vector_cosine_ops);
CREATE INDEX IF NOT EXISTS idx_text_embeddings_dataset ON data_platform.text_embeddings (dataset_id);
