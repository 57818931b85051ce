//! The SQL of access control: accounts, sessions, API tokens and the append-only audit log.

use super::{Op, Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use sqlx::postgres::PgRow;

#[derive(Debug, Clone, Serialize)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub display_name: String,
    pub role: String,
    pub scope_code: String,
    #[serde(skip)]
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

const USER_COLUMNS: &str =
    "u.id, u.name, u.display_name, u.role, u.scope_code, u.password_hash, u.disabled, u.created_at";

fn user_row(r: &PgRow) -> UserRow {
    UserRow {
        id: r.get("id"),
        name: r.get("name"),
        display_name: r.get("display_name"),
        role: r.get("role"),
        scope_code: r.get("scope_code"),
        password_hash: r.get("password_hash"),
        disabled: r.get("disabled"),
        created_at: r.get("created_at"),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TokenRow {
    pub id: i64,
    pub user_name: String,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// One line of the audit log, as written.
#[derive(Debug, Clone, Default)]
pub struct AuditEntry {
    pub user_name: String,
    pub role: String,
    pub scope_code: String,
    pub address: String,
    pub action: String,
    pub target: String,
    pub status: i16,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub user_name: String,
    pub role: String,
    pub scope_code: String,
    pub address: String,
    pub action: String,
    pub target: String,
    pub status: i16,
    pub detail: serde_json::Value,
}

/// Filters of the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub user: Option<String>,
    pub action_prefix: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub limit: i64,
}

impl Store {
    /// Adds an account; None when the name is taken.
    pub async fn user_add(
        &self,
        name: &str,
        display_name: &str,
        role: &str,
        scope_code: &str,
        password_hash: &str,
    ) -> Result<Option<i64>, StoreError> {
        sqlx::query_scalar(
            "INSERT INTO app_user (name, display_name, role, scope_code, password_hash)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING RETURNING id",
        )
        .bind(name)
        .bind(display_name)
        .bind(role)
        .bind(scope_code)
        .bind(password_hash)
        .fetch_optional(&self.pool)
        .await
        .op("adding an account")
    }

    /// Sets an account's password, role and scope (the demo accounts are reset this way).
    pub async fn user_reset(
        &self,
        name: &str,
        role: &str,
        scope_code: &str,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "UPDATE app_user SET role = $2, scope_code = $3, password_hash = $4, disabled = false
              WHERE name = $1",
        )
        .bind(name)
        .bind(role)
        .bind(scope_code)
        .bind(password_hash)
        .execute(&self.pool)
        .await
        .op("resetting an account")?
        .rows_affected();
        Ok(n == 1)
    }

    pub async fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM app_user u ORDER BY u.scope_code, u.name"
        ))
        .fetch_all(&self.pool)
        .await
        .op("listing accounts")?;
        Ok(rows.iter().map(user_row).collect())
    }

    pub async fn user_by_name(&self, name: &str) -> Result<Option<UserRow>, StoreError> {
        let r = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM app_user u WHERE u.name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .op("reading an account")?;
        Ok(r.as_ref().map(user_row))
    }

    /// Disables or enables an account; false when there is no such account. Disabling ends
    /// its sessions.
    pub async fn user_set_disabled(&self, name: &str, disabled: bool) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.op("disabling an account")?;
        let id: Option<i64> =
            sqlx::query_scalar("UPDATE app_user SET disabled = $2 WHERE name = $1 RETURNING id")
                .bind(name)
                .bind(disabled)
                .fetch_optional(&mut *tx)
                .await
                .op("disabling an account")?;
        if let (Some(id), true) = (id, disabled) {
            sqlx::query("DELETE FROM user_session WHERE user_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .op("ending an account's sessions")?;
        }
        tx.commit().await.op("disabling an account")?;
        Ok(id.is_some())
    }

    pub async fn session_create(
        &self,
        digest: &[u8],
        user_id: i64,
        csrf: &str,
        expires_at: DateTime<Utc>,
        address: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO user_session (digest, user_id, csrf, expires_at, address)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(digest)
        .bind(user_id)
        .bind(csrf)
        .bind(expires_at)
        .bind(address)
        .execute(&self.pool)
        .await
        .op("starting a session")?;
        // Expired sessions go as new ones come.
        sqlx::query("DELETE FROM user_session WHERE expires_at < now()")
            .execute(&self.pool)
            .await
            .op("ending expired sessions")?;
        Ok(())
    }

    /// The account, CSRF secret and expiry of a live session of an enabled account.
    pub async fn session_user(
        &self,
        digest: &[u8],
    ) -> Result<Option<(UserRow, String, DateTime<Utc>)>, StoreError> {
        let r = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, s.csrf, s.expires_at AS s_expires FROM user_session s
               JOIN app_user u ON u.id = s.user_id
              WHERE s.digest = $1 AND s.expires_at > now() AND NOT u.disabled"
        ))
        .bind(digest)
        .fetch_optional(&self.pool)
        .await
        .op("reading a session")?;
        Ok(r.map(|r| (user_row(&r), r.get("csrf"), r.get("s_expires"))))
    }

    pub async fn session_end(&self, digest: &[u8]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM user_session WHERE digest = $1")
            .bind(digest)
            .execute(&self.pool)
            .await
            .op("ending a session")?;
        Ok(())
    }

    pub async fn token_create(
        &self,
        digest: &[u8],
        user_id: i64,
        label: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "INSERT INTO api_token (digest, user_id, label, expires_at) VALUES ($1, $2, $3, $4)
             RETURNING id",
        )
        .bind(digest)
        .bind(user_id)
        .bind(label)
        .bind(expires_at)
        .fetch_one(&self.pool)
        .await
        .op("creating a token")
    }

    /// The account and expiry of a live token (not revoked, not expired, account enabled).
    pub async fn token_user(
        &self,
        digest: &[u8],
    ) -> Result<Option<(UserRow, DateTime<Utc>)>, StoreError> {
        let r = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, t.expires_at AS t_expires FROM api_token t
               JOIN app_user u ON u.id = t.user_id
              WHERE t.digest = $1 AND t.revoked_at IS NULL AND t.expires_at > now()
                AND NOT u.disabled"
        ))
        .bind(digest)
        .fetch_optional(&self.pool)
        .await
        .op("reading a token")?;
        Ok(r.map(|r| (user_row(&r), r.get("t_expires"))))
    }

    /// Tokens, of one account or all.
    pub async fn tokens(&self, user: Option<&str>) -> Result<Vec<TokenRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.id, u.name, t.label, t.created_at, t.expires_at, t.revoked_at
               FROM api_token t JOIN app_user u ON u.id = t.user_id
              WHERE $1::text IS NULL OR u.name = $1 ORDER BY t.id",
        )
        .bind(user)
        .fetch_all(&self.pool)
        .await
        .op("listing tokens")?;
        Ok(rows
            .iter()
            .map(|r| TokenRow {
                id: r.get(0),
                user_name: r.get(1),
                label: r.get(2),
                created_at: r.get(3),
                expires_at: r.get(4),
                revoked_at: r.get(5),
            })
            .collect())
    }

    /// Revokes token `id` (of `user` when given); its digest when it was live.
    pub async fn token_revoke(
        &self,
        id: i64,
        user: Option<&str>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        sqlx::query_scalar(
            "UPDATE api_token t SET revoked_at = now() FROM app_user u
              WHERE t.id = $1 AND u.id = t.user_id AND t.revoked_at IS NULL
                AND ($2::text IS NULL OR u.name = $2)
          RETURNING t.digest",
        )
        .bind(id)
        .bind(user)
        .fetch_optional(&self.pool)
        .await
        .op("revoking a token")
    }

    /// Appends to the audit log.
    pub async fn audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_log (user_name, role, scope_code, address, action, target, status, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&e.user_name)
        .bind(&e.role)
        .bind(&e.scope_code)
        .bind(&e.address)
        .bind(&e.action)
        .bind(&e.target)
        .bind(e.status)
        .bind(&e.detail)
        .execute(&self.pool)
        .await
        .op("writing the audit log")?;
        Ok(())
    }

    pub async fn audit_log(&self, q: &AuditQuery) -> Result<Vec<AuditRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, user_name, role, scope_code, address, action, target, status, detail
               FROM audit_log
              WHERE ($1::text IS NULL OR user_name = $1)
                AND ($2::text IS NULL OR action LIKE $2 || '%')
                AND ($3::timestamptz IS NULL OR at >= $3)
              ORDER BY id DESC LIMIT $4",
        )
        .bind(&q.user)
        .bind(&q.action_prefix)
        .bind(q.since)
        .bind(q.limit)
        .fetch_all(&self.pool)
        .await
        .op("reading the audit log")?;
        Ok(rows
            .iter()
            .map(|r| AuditRow {
                id: r.get(0),
                at: r.get(1),
                user_name: r.get(2),
                role: r.get(3),
                scope_code: r.get(4),
                address: r.get(5),
                action: r.get(6),
                target: r.get(7),
                status: r.get(8),
                detail: r.get(9),
            })
            .collect())
    }

    /// The area codes of an owned object, for scope checks of routes naming it by id:
    /// events, assets, enterprises, vessels and alerts. None when there is no such object.
    pub async fn owner_area(&self, kind: OwnerKind, id: i64) -> Result<Option<String>, StoreError> {
        let sql = match kind {
            OwnerKind::Event => {
                "SELECT coalesce(unit_code, grid_code, village_code, town_code, district_code, '')
                   FROM event WHERE id = $1::bigint"
            }
            OwnerKind::Asset => {
                "SELECT coalesce(unit_code, grid_code, village_code, town_code, district_code, '')
                   FROM asset WHERE id = $1::bigint"
            }
            OwnerKind::Enterprise => {
                "SELECT coalesce(unit_code, grid_code, village_code, town_code, district_code, '')
                   FROM enterprise WHERE id = $1::bigint"
            }
            OwnerKind::Vessel => {
                "SELECT coalesce(village_code, '') FROM vessel WHERE mmsi = $1::bigint"
            }
            OwnerKind::Alert => {
                "SELECT coalesce(village_code, town_code, district_code, '')
                   FROM fire_alert WHERE id = $1::bigint"
            }
        };
        sqlx::query_scalar(sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .op("reading the area of an object")
    }
}

/// Objects named by id in routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerKind {
    Event,
    Asset,
    Enterprise,
    Vessel,
    Alert,
}
