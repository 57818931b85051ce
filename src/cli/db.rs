//! `onemap db start|stop|status|url`: the private cluster.

use crate::config::PRIVATE_DATABASE;
use crate::store::cluster::PrivateCluster;
use clap::Subcommand;
use std::path::Path;

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create (if needed) and start the private cluster, and print its URL.
    Start,
    /// Stop the private cluster.
    Stop,
    /// Say whether the private cluster exists and runs.
    Status,
    /// Print the URL of the private cluster's admin database (`postgres`), for tests and tools.
    AdminUrl,
}

pub async fn run(action: DbCommand, home: &Path) -> anyhow::Result<()> {
    let home = home.to_path_buf();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        match action {
            DbCommand::Start => {
                let c = PrivateCluster::ensure_running(&home)?;
                println!("{}", c.url(PRIVATE_DATABASE));
            }
            DbCommand::AdminUrl => {
                let c = PrivateCluster::ensure_running(&home)?;
                println!("{}", c.url("postgres"));
            }
            DbCommand::Stop => match PrivateCluster::existing(&home)? {
                Some(c) => {
                    c.stop()?;
                    eprintln!("stopped the private cluster in {}", c.dir.display());
                }
                None => eprintln!("no private cluster in {}", home.join("pg").display()),
            },
            DbCommand::Status => match PrivateCluster::existing(&home)? {
                Some(c) => println!(
                    "{} ({}) {}",
                    c.dir.display(),
                    if c.is_running() { "running" } else { "stopped" },
                    c.url(PRIVATE_DATABASE)
                ),
                None => println!("no private cluster in {}", home.join("pg").display()),
            },
        }
        Ok(())
    })
    .await?
}
