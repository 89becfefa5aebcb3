//! `model_platform.models` and `model_platform.model_versions`.

use ai_data_core::{Error, ErrorKind, Result};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::FromRow;

use ai_data_pg::SqlxResultExt;
use ai_data_pg::{PgDatabase, Repository};

const MODELS: &str = "model_platform.models";
const VERSIONS: &str = "model_platform.model_versions";
const MODEL_COLUMNS: &str =
    "id, name, framework, use_case, description, created_by, created_at, updated_at";
const VERSION_COLUMNS: &str =
    "id, model_id, version, metrics, artifact_uri, created_by, created_at";

/// A registered model (the seed's ModelData: name, framework, use case, created by).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Model {
    /// Primary key.
    pub id: i32,
    /// Unique name.
    pub name: String,
    /// Framework (`pytorch`, `onnx`, ...).
    pub framework: String,
    /// What the model is for.
    pub use_case: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Registering user.
    pub created_by: Option<i32>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Maintained by a trigger.
    pub updated_at: DateTime<Utc>,
}

/// One version of a model, with its metrics.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct ModelVersion {
    /// Primary key.
    pub id: i32,
    /// The model.
    pub model_id: i32,
    /// Version label, unique per model.
    pub version: String,
    /// Evaluation metrics (JSON object).
    pub metrics: Json<serde_json::Value>,
    /// Where the artifact lives.
    pub artifact_uri: Option<String>,
    /// Publishing user.
    pub created_by: Option<i32>,
    /// Creation time; the latest version is the newest.
    pub created_at: DateTime<Utc>,
}

/// A model to register.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct NewModel {
    /// Unique name.
    pub name: String,
    /// Framework.
    pub framework: String,
    /// Use case.
    pub use_case: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Registering user.
    pub created_by: Option<i32>,
}

impl NewModel {
    /// A model with the required fields.
    pub fn new(name: impl Into<String>, framework: impl Into<String>) -> Self {
        NewModel {
            name: name.into(),
            framework: framework.into(),
            ..Default::default()
        }
    }
}

/// A version to publish.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewModelVersion {
    /// Version label.
    pub version: String,
    /// Metrics (a JSON object).
    pub metrics: serde_json::Value,
    /// Artifact location.
    pub artifact_uri: Option<String>,
    /// Publishing user.
    pub created_by: Option<i32>,
}

impl NewModelVersion {
    /// A version with metrics.
    pub fn new(version: impl Into<String>, metrics: serde_json::Value) -> Self {
        NewModelVersion {
            version: version.into(),
            metrics,
            artifact_uri: None,
            created_by: None,
        }
    }
}

/// Models and their versions.
///
/// ```no_run
/// # async fn demo(db: ai_data_pg::PgDatabase) -> ai_data_core::Result<()> {
/// use ai_data_platform::pg::{ModelRepo, NewModel, NewModelVersion};
/// let models = ModelRepo::new(db);
/// let m = models.register(NewModel::new("ranker", "pytorch")).await?;
/// models.add_version(m.id, NewModelVersion::new("1.0.0", serde_json::json!({"ndcg": 0.71}))).await?;
/// let latest = models.latest(m.id).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ModelRepo {
    repo: Repository,
}

impl ModelRepo {
    /// Lists go to a replica when there is one.
    pub fn new(db: PgDatabase) -> Self {
        ModelRepo {
            repo: Repository::new(db),
        }
    }

    /// Every read from the primary (read-your-writes).
    #[must_use]
    pub fn primary_only(mut self) -> Self {
        self.repo = self.repo.primary_only();
        self
    }

    /// Register a model; a taken name is `Conflict`.
    pub async fn register(&self, model: NewModel) -> Result<Model> {
        self.repo
            .db()
            .observe("models.register", MODELS, self.insert(model))
            .await
    }

    async fn insert(&self, model: NewModel) -> Result<Model> {
        if model.name.trim().is_empty() || model.framework.trim().is_empty() {
            return Err(Error::invalid_input(
                "model name and framework must not be empty",
            ));
        }
        let sql = format!(
            "INSERT INTO model_platform.models (name, framework, use_case, description, created_by) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {MODEL_COLUMNS}"
        );
        sqlx::query_as::<_, Model>(&sql)
            .bind(&model.name)
            .bind(&model.framework)
            .bind(&model.use_case)
            .bind(&model.description)
            .bind(model.created_by)
            .fetch_one(self.repo.db().primary())
            .await
            .op("register model", MODELS)
    }

    /// By name; `NotFound` when absent.
    pub async fn get_by_name(&self, name: &str) -> Result<Model> {
        self.repo
            .db()
            .observe("models.get_by_name", MODELS, async {
                let sql =
                    format!("SELECT {MODEL_COLUMNS} FROM model_platform.models WHERE name = $1");
                sqlx::query_as::<_, Model>(&sql)
                    .bind(name)
                    .fetch_optional(self.repo.db().primary())
                    .await
                    .op("get model", MODELS)?
                    .ok_or_else(|| {
                        Error::new(ErrorKind::NotFound, format!("no model {name}"))
                            .with_target(MODELS)
                    })
            })
            .await
    }

    /// Publish a version; a repeated label is `Conflict`, an unknown model `InvalidInput`.
    pub async fn add_version(
        &self,
        model_id: i32,
        version: NewModelVersion,
    ) -> Result<ModelVersion> {
        self.repo
            .db()
            .observe(
                "models.add_version",
                VERSIONS,
                self.insert_version(model_id, version),
            )
            .await
    }

    async fn insert_version(
        &self,
        model_id: i32,
        version: NewModelVersion,
    ) -> Result<ModelVersion> {
        if !version.metrics.is_object() {
            return Err(Error::invalid_input("metrics must be a JSON object"));
        }
        if version.version.trim().is_empty() {
            return Err(Error::invalid_input("version must not be empty"));
        }
        let sql = format!(
            "INSERT INTO model_platform.model_versions (model_id, version, metrics, artifact_uri, created_by) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {VERSION_COLUMNS}"
        );
        sqlx::query_as::<_, ModelVersion>(&sql)
            .bind(model_id)
            .bind(&version.version)
            .bind(Json(&version.metrics))
            .bind(&version.artifact_uri)
            .bind(version.created_by)
            .fetch_one(self.repo.db().primary())
            .await
            .op("add model version", VERSIONS)
    }

    /// All versions, newest first.
    pub async fn versions(&self, model_id: i32) -> Result<Vec<ModelVersion>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM model_platform.model_versions WHERE model_id = $1 \
             ORDER BY created_at DESC, id DESC"
        );
        let read = self.repo.read(|pool| {
            let sql = sql.clone();
            async move {
                sqlx::query_as::<_, ModelVersion>(&sql)
                    .bind(model_id)
                    .fetch_all(&pool)
                    .await
                    .op("list model versions", VERSIONS)
            }
        });
        self.repo
            .db()
            .observe_counted("models.versions", VERSIONS, read, Vec::len)
            .await
    }

    /// The newest version; `NotFound` when the model has none.
    pub async fn latest(&self, model_id: i32) -> Result<ModelVersion> {
        self.repo.db()
            .observe("models.latest", VERSIONS, async {
                let sql = format!(
                    "SELECT {VERSION_COLUMNS} FROM model_platform.model_versions WHERE model_id = $1 \
                     ORDER BY created_at DESC, id DESC LIMIT 1"
                );
                sqlx::query_as::<_, ModelVersion>(&sql)
                    .bind(model_id)
                    .fetch_optional(self.repo.db().primary())
                    .await
                    .op("latest model version", VERSIONS)?
                    .ok_or_else(|| {
                        Error::new(
                            ErrorKind::NotFound,
                            format!("model {model_id} has no version"),
                        )
                        .with_target(VERSIONS)
                    })
            })
            .await
    }
}
