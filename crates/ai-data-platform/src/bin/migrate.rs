//! `ai-data-pg-migrate`: apply the platform schema migrations to the
//! database configured by `AI_DATA_PG_*` (or the URL given as argument).

use ai_data_pg::{PgConfig, PgDatabase};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let config = match std::env::args().nth(1) {
        Some(url) => PgConfig::from_url(&url),
        None => PgConfig::from_env(),
    };
    let result = async {
        let config = config?;
        let db = PgDatabase::connect(&config).await?;
        db.migrate(&ai_data_platform::pg::MIGRATOR).await
    }
    .await;
    match result {
        Ok(()) => println!("migrations applied"),
        Err(e) => {
            eprintln!("ai-data-pg-migrate: {e}");
            std::process::exit(1);
        }
    }
}
