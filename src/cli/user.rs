//! `onemap user add|list|disable|enable|token|tokens|revoke`: accounts and API tokens on the
//! command line, and the demo accounts `serve --demo-accounts` creates.

use crate::access::{Role, check_name, check_password, secret};
use crate::api::access::DemoAccount;
use crate::model::Level;
use crate::store::Store;
use crate::store::access::AuditEntry;
use crate::store::areas::AreaFilter;
use anyhow::{Context, bail};
use clap::Subcommand;
use std::io::BufRead;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an account: a role and a scope (an area code: it sees that area and everything
    /// under it). Without --password or --password-stdin a random password is made and printed.
    Add {
        /// Account name (letters, digits, _ . -).
        name: String,
        /// admin (市级管理员), leader (领导), grid_worker (网格员), analyst (分析员) or
        /// screen (大屏).
        #[arg(long)]
        role: String,
        /// Area code of the scope, e.g. 3503 (the city), 350304 (a district), 350304101 (a town).
        #[arg(long)]
        scope: String,
        /// The password (visible to other users of this machine in the process list; prefer
        /// --password-stdin).
        #[arg(long, conflicts_with = "password_stdin")]
        password: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// A name to show, e.g. 张三.
        #[arg(long, default_value = "")]
        display_name: String,
    },
    /// List the accounts.
    List,
    /// Disable an account: it can no longer sign in, its sessions end and its tokens stop
    /// working.
    Disable { name: String },
    /// Enable a disabled account again.
    Enable { name: String },
    /// Create an API token for an account (for systems and screens); printed once.
    Token {
        name: String,
        /// What the token is for, e.g. "指挥中心大屏".
        #[arg(long, default_value = "command line")]
        label: String,
        /// Days until it expires.
        #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(i64).range(1..=3650))]
        days: i64,
    },
    /// List API tokens (of one account, or all).
    Tokens { name: Option<String> },
    /// Revoke an API token by its id.
    Revoke { id: i64 },
}

fn cli_actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

async fn audit(store: &Store, action: &str, target: &str) -> anyhow::Result<()> {
    store
        .audit(&AuditEntry {
            user_name: cli_actor(),
            address: "local".into(),
            action: action.into(),
            target: target.into(),
            status: 200,
            ..Default::default()
        })
        .await?;
    Ok(())
}

pub async fn run(store: &Store, cmd: UserCommand) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Add {
            name,
            role,
            scope,
            password,
            password_stdin,
            display_name,
        } => {
            check_name(&name).map_err(anyhow::Error::msg)?;
            let role = Role::parse(&role).with_context(|| {
                format!("unknown role '{role}': use admin, leader, grid_worker, analyst or screen")
            })?;
            let scope = scope.trim().to_string();
            if store.area(&scope).await?.is_none() {
                bail!("no area has code '{scope}' (load the areas first; the city is e.g. 3503)");
            }
            let (password, generated) = match (password, password_stdin) {
                (Some(p), _) => (p, false),
                (None, true) => {
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line)?;
                    (line.trim_end_matches(['\r', '\n']).to_string(), false)
                }
                (None, false) => (secret::new_secret()[..16].to_string(), true),
            };
            check_password(&password).map_err(anyhow::Error::msg)?;
            let hash = secret::hash_password(&password);
            match store
                .user_add(&name, &display_name, role.as_str(), &scope, &hash)
                .await?
            {
                Some(_) => {
                    audit(store, "user add", &name).await?;
                    eprintln!(
                        "added {name}: {} ({}), scope {scope}",
                        role.as_str(),
                        role.label()
                    );
                    if generated {
                        println!("password: {password}");
                    }
                    Ok(())
                }
                None => bail!("an account called '{name}' exists already"),
            }
        }
        UserCommand::List => {
            let users = store.users().await?;
            println!(
                "{:<20} {:<12} {:<14} {:<9} created",
                "name", "role", "scope", "state"
            );
            for u in &users {
                println!(
                    "{:<20} {:<12} {:<14} {:<9} {}",
                    u.name,
                    u.role,
                    u.scope_code,
                    if u.disabled { "disabled" } else { "active" },
                    u.created_at.format("%Y-%m-%d %H:%M")
                );
            }
            eprintln!("{} accounts", users.len());
            Ok(())
        }
        UserCommand::Disable { name } => {
            if !store.user_set_disabled(&name, true).await? {
                bail!("no account called '{name}'");
            }
            audit(store, "user disable", &name).await?;
            eprintln!(
                "disabled {name}: its sessions have ended; a running server stops honouring its tokens within 10 s"
            );
            Ok(())
        }
        UserCommand::Enable { name } => {
            if !store.user_set_disabled(&name, false).await? {
                bail!("no account called '{name}'");
            }
            audit(store, "user enable", &name).await?;
            eprintln!("enabled {name}");
            Ok(())
        }
        UserCommand::Token { name, label, days } => {
            let user = store
                .user_by_name(&name)
                .await?
                .with_context(|| format!("no account called '{name}'"))?;
            let token = secret::new_token();
            let expires = chrono::Utc::now() + chrono::Duration::days(days);
            let id = store
                .token_create(&secret::digest(&token), user.id, &label, expires)
                .await?;
            audit(store, "token create", &format!("{name} #{id}")).await?;
            eprintln!(
                "token #{id} for {name} ({}), expires {} (keep it secret: it is shown only now)",
                user.role,
                expires.format("%Y-%m-%d")
            );
            println!("{token}");
            Ok(())
        }
        UserCommand::Tokens { name } => {
            let list = store.tokens(name.as_deref()).await?;
            println!(
                "{:<6} {:<20} {:<24} {:<11} state",
                "id", "account", "label", "expires"
            );
            for t in &list {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else if t.expires_at < chrono::Utc::now() {
                    "expired"
                } else {
                    "live"
                };
                println!(
                    "{:<6} {:<20} {:<24} {:<11} {state}",
                    t.id,
                    t.user_name,
                    t.label,
                    t.expires_at.format("%Y-%m-%d")
                );
            }
            Ok(())
        }
        UserCommand::Revoke { id } => match store.token_revoke(id, None).await? {
            Some(_) => {
                audit(store, "token revoke", &format!("#{id}")).await?;
                eprintln!("revoked token #{id} (a running server stops honouring it within 10 s)");
                Ok(())
            }
            None => bail!("no live token #{id}"),
        },
    }
}

/// The demo accounts, one per level (the city, a district, a town, a village, a grid worker)
/// and an analyst and a screen for the city: created if missing, their passwords reset to the
/// demo ones. The places follow the demo fleet's town (黄石镇) so every panel has data.
pub async fn demo_accounts(store: &Store, city: &str) -> anyhow::Result<Vec<DemoAccount>> {
    let town = crate::vessels::demo::HUANGSHI.to_string();
    let district = town[..6].to_string();
    let first_child = |parent: String, level: Level| async move {
        let l = store
            .list_areas(&AreaFilter {
                level: Some(level),
                parent: Some(parent),
                q: None,
                within: None,
                limit: 1,
                offset: 0,
            })
            .await?;
        anyhow::Ok(l.into_iter().next().map(|a| a.code))
    };
    let Some(village) = first_child(town.clone(), Level::Village).await? else {
        bail!("the demo town {town} has no villages: load the demo city first");
    };
    let grid = first_child(village.clone(), Level::Grid)
        .await?
        .unwrap_or_else(|| village.clone());
    let plan = [
        ("city", Role::Admin, city.to_string()),
        ("district", Role::Leader, district),
        ("town", Role::Leader, town),
        ("village", Role::Leader, village),
        ("grid", Role::GridWorker, grid),
        ("analyst", Role::Analyst, city.to_string()),
        ("screen", Role::Screen, city.to_string()),
    ];
    let mut out = Vec::new();
    for (name, role, scope) in plan {
        let password = format!("demo-{name}");
        let hash = secret::hash_password(&password);
        if store
            .user_add(name, "", role.as_str(), &scope, &hash)
            .await?
            .is_none()
        {
            store.user_reset(name, role.as_str(), &scope, &hash).await?;
        }
        let scope_name = store
            .area(&scope)
            .await?
            .map(|a| a.name)
            .unwrap_or_default();
        out.push(DemoAccount {
            name: name.into(),
            password,
            role,
            role_name: role.label(),
            scope,
            scope_name,
        });
    }
    Ok(out)
}
