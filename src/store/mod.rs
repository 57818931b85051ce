//! PostgreSQL/PostGIS: the pool, migrations, and every SQL statement of the project.
//!
//! PostGIS is the truth. Other modules ask this one for rows and never write SQL themselves.

pub mod access;
pub mod areas;
pub mod assets;
pub mod changes;
pub mod cluster;
pub mod demo_events;
pub mod demo_profiles;
pub mod edit;
pub mod enterprises;
pub mod event_reports;
pub mod event_view;
pub mod events;
pub mod ledgers;
pub mod profiles;
pub mod validate;
pub mod vessels;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use std::str::FromStr;
use std::time::Duration;

/// Errors of the storage layer, with the operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error while {op}: {source}")]
    Db {
        op: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("migrating the database failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Cluster(#[from] cluster::ClusterError),
    #[error("invalid DATABASE_URL: {0}")]
    BadUrl(String),
    #[error("geometry could not be decoded: {0}")]
    Geometry(String),
}

/// Adds the operation's name to a sqlx error.
pub trait Op<T> {
    fn op(self, op: &'static str) -> Result<T, StoreError>;
}

impl<T> Op<T> for Result<T, sqlx::Error> {
    fn op(self, op: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Db { op, source })
    }
}

/// Handle to the database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: PgPool,
}

impl Store {
    /// Connects to `url` with a pool of at most `max_connections`.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::BadUrl(e.to_string()))?
            .application_name("onemap")
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Debug, Duration::from_secs(5));
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .op("connecting")?;
        Ok(Store { pool })
    }

    /// Applies the migrations in migrations/ that have not run yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations").run(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection of the pool (waits for them to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// True when the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

/// Creates database `name` through `admin_url` unless it exists.
pub async fn ensure_database(admin_url: &str, name: &str) -> Result<(), StoreError> {
    let admin = Store::connect(admin_url, 1).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&admin.pool)
            .await
            .op("looking up the database")?;
    if !exists {
        // Identifiers cannot be bound; `name` is ours, never user input, and quoted anyway.
        let sql = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
        match sqlx::query(&sql).execute(&admin.pool).await {
            Ok(_) => tracing::info!(database = name, "created database"),
            // Another process created it at the same moment.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
            Err(e) => {
                return Err(StoreError::Db {
                    op: "creating the database",
                    source: e,
                });
            }
        }
    }
    admin.pool.close().await;
    Ok(())
}

/// A fingerprint of the schema (the migrations' checksums): test templates and caches built
/// for one schema are not reused for another.
pub fn schema_fingerprint() -> String {
    let migrator = sqlx::migrate!("./migrations");
    let mut h: u64 = 0xcbf29ce484222325;
    for m in migrator.iter() {
        for b in m.checksum.iter() {
            h = (h ^ *b as u64).wrapping_mul(0x100000001b3);
        }
    }
    format!("{h:016x}")
}
