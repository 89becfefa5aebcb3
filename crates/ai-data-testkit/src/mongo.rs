//! A MongoDB client and a database of the test's own.

use mongodb::{Client, Database};

use crate::{cleanup_blocking, test_var, unavailable, unique_name, MONGO_URL_VAR};

/// A connected client and a fresh database name, dropped with the handle.
#[derive(Debug)]
pub struct MongoTest {
    /// The server's URL.
    pub url: String,
    /// This test's database name.
    pub database: String,
    /// A connected client.
    pub client: Client,
    #[cfg(feature = "testcontainers")]
    _container: Option<testcontainers::ContainerAsync<testcontainers_modules::mongo::Mongo>>,
}

impl MongoTest {
    /// This test's database.
    pub fn db(&self) -> Database {
        self.client.database(&self.database)
    }
}

/// A MongoDB client that answered `ping`, or `None` (skip) when no MongoDB
/// is configured and stores are not required.
pub async fn mongo() -> Option<MongoTest> {
    #[cfg(feature = "testcontainers")]
    let mut container = None;
    let url = match test_var(MONGO_URL_VAR) {
        Some(url) => url,
        None => {
            #[cfg(feature = "testcontainers")]
            if crate::docker_available() {
                use testcontainers::runners::AsyncRunner;
                let c = testcontainers_modules::mongo::Mongo::default()
                    .start()
                    .await
                    .expect("start the mongo container");
                let port = c.get_host_port_ipv4(27017).await.expect("mapped port");
                container = Some(c);
                format!("mongodb://127.0.0.1:{port}")
            } else {
                return unavailable(
                    "MongoDB",
                    &format!("{MONGO_URL_VAR} is not set and Docker is not reachable"),
                );
            }
            #[cfg(not(feature = "testcontainers"))]
            return unavailable("MongoDB", &format!("{MONGO_URL_VAR} is not set"));
        }
    };
    let client = match Client::with_uri_str(&url).await {
        Ok(client) => client,
        Err(e) => panic!("{MONGO_URL_VAR} is not a MongoDB URL: {e}"),
    };
    let ping = client
        .database("admin")
        .run_command(mongodb::bson::doc! { "ping": 1 })
        .await;
    if let Err(e) = ping {
        return unavailable("MongoDB", &format!("no answer from {MONGO_URL_VAR}: {e}"));
    }
    Some(MongoTest {
        url,
        database: unique_name("t_"),
        client,
        #[cfg(feature = "testcontainers")]
        _container: container,
    })
}

impl Drop for MongoTest {
    fn drop(&mut self) {
        let url = self.url.clone();
        let database = self.database.clone();
        cleanup_blocking(move || async move {
            if let Ok(client) = Client::with_uri_str(&url).await {
                let _ = client.database(&database).drop().await;
            }
        });
    }
}
