//! The `onemap` command line: each subcommand in its own file; `main.rs` only parses and
//! dispatches.

pub mod assign;
pub mod db;
pub mod fire;
pub mod import;
pub mod progress;
pub mod serve;
pub mod user;
pub mod validate;
pub mod vessels;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// One map of the whole city: areas, grid assignment and the map for grid-based governance.
#[derive(Debug, Parser)]
#[command(name = "onemap", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// PostgreSQL+PostGIS database to use. Without it, onemap starts (once) its own private
    /// cluster on 127.0.0.1 under --home and uses that.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Folder for the private cluster and other local state (ignored by git).
    #[arg(long, env = "ONEMAP_HOME", global = true, default_value = ".onemap")]
    pub home: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (API, tiles and the map client).
    Serve(serve::ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load data: the demo city, or a new layout of areas from a file.
    Import {
        #[command(subcommand)]
        what: import::ImportCommand,
    },
    /// Check the area tree for gaps, overlaps, spills and invalid geometry.
    Validate(validate::ValidateArgs),
    /// Add unit/grid/village/town/district columns to a CSV of coordinates.
    Assign(assign::AssignArgs),
    /// Replay a synthetic feed into a running server.
    Simulate {
        #[command(subcommand)]
        what: SimulateCommand,
    },
    /// Accounts and API tokens (access control: roles and area scopes).
    User {
        #[command(subcommand)]
        action: user::UserCommand,
    },
    /// Manage the private PostgreSQL cluster (when no DATABASE_URL is set).
    Db {
        #[command(subcommand)]
        action: db::DbCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum SimulateCommand {
    /// Send readings of the server's sensors (from a seed; an alarm now and then) to
    /// `POST /api/sensors/readings`.
    Sensors(fire::SimulateSensorsArgs),
    /// Replay a day of the server's fishing fleet (Huangshi's boats first) as AIVDM sentences
    /// into its AIS TCP listener, faster than real time: departures, trawling, returns, a few
    /// boats that go dark, one that leaves during a closure, corrupted sentences.
    Vessels(vessels::SimulateVesselsArgs),
}
