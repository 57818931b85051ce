//! The benchmarks' account: a city administrator `bench-admin` and one API token per process,
//! installed in each benchmark database (`install`) and sent by every client (`client`).
// Each example uses what it needs of this module.
#![allow(dead_code)]

use std::sync::OnceLock;
use std::time::Duration;

/// This process's token (the same in every database it installs into).
pub fn token() -> &'static str {
    static T: OnceLock<String> = OnceLock::new();
    T.get_or_init(onemap::access::secret::new_token)
}

/// Makes `bench-admin` (admin over the city) in the database at `url` and gives it `token()`.
pub async fn install(url: &str) -> anyhow::Result<()> {
    let store = onemap::store::Store::connect(url, 1).await?;
    store.migrate().await?;
    let city = store.city_code().await?.unwrap_or_else(|| "3503".into());
    if store
        .user_add("bench-admin", "", "admin", &city, "bench-no-password")
        .await?
        .is_none()
    {
        store
            .user_reset("bench-admin", "admin", &city, "bench-no-password")
            .await?;
    }
    let user = store
        .user_by_name("bench-admin")
        .await?
        .ok_or_else(|| anyhow::anyhow!("bench-admin vanished"))?;
    let digest = onemap::access::secret::digest(token());
    if !has_token(&store).await {
        let _ = store
            .token_create(
                &digest,
                user.id,
                "benchmark",
                chrono::Utc::now() + chrono::Duration::days(1),
            )
            .await;
    }
    store.close().await;
    Ok(())
}

async fn has_token(store: &onemap::store::Store) -> bool {
    store
        .token_user(&onemap::access::secret::digest(token()))
        .await
        .ok()
        .flatten()
        .is_some()
}

/// A client that sends `token()` on every request.
pub fn client(timeout: Option<Duration>) -> anyhow::Result<reqwest::Client> {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {}", token()).parse()?,
    );
    let mut b = reqwest::Client::builder().default_headers(h);
    if let Some(t) = timeout {
        b = b.timeout(t);
    }
    Ok(b.build()?)
}
