//! Where the database is: `DATABASE_URL` if given, otherwise the private cluster in the
//! project's home folder (started if needed).

use crate::store::cluster::PrivateCluster;
use crate::store::{Store, StoreError, ensure_database};
use std::path::Path;

/// Name of the database used inside the private cluster.
pub const PRIVATE_DATABASE: &str = "onemap";

/// Connects to `database_url`, or to the private cluster under `home` (starting it), and
/// applies pending migrations.
pub async fn open_store(
    database_url: Option<&str>,
    home: &Path,
    max_connections: u32,
) -> Result<Store, StoreError> {
    let store = match database_url.filter(|u| !u.trim().is_empty()) {
        Some(url) => Store::connect(url, max_connections).await?,
        None => {
            let home = home.to_path_buf();
            let cluster =
                tokio::task::spawn_blocking(move || PrivateCluster::ensure_running(&home))
                    .await
                    .map_err(|e| StoreError::Geometry(format!("cluster start panicked: {e}")))??;
            ensure_database(&cluster.url("postgres"), PRIVATE_DATABASE).await?;
            Store::connect(&cluster.url(PRIVATE_DATABASE), max_connections).await?
        }
    };
    store.migrate().await?;
    Ok(store)
}
