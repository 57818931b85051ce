//! The project's private PostgreSQL + PostGIS cluster, used when no `DATABASE_URL` is given.
//!
//! It lives in `<home>/pg` (by default `.onemap/pg` in the working directory, ignored by git),
//! listens on 127.0.0.1 only, on a port chosen once and remembered in `<home>/pg/port`, and is
//! left running between commands so that each `onemap` invocation starts in milliseconds;
//! `onemap db stop` stops it. PostgreSQL refuses to run as root, so when we are root the
//! cluster's files belong to the `postgres` system user and its programs run through `runuser`.

use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What went wrong while preparing the private cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "PostgreSQL server programs not found under /usr/lib/postgresql/*/bin \
         (install them with `apt-get install postgresql-15 postgresql-15-postgis-3`, \
         or set ONEMAP_PG_BIN, or point DATABASE_URL at an existing database)"
    )]
    NoServer,
    #[error(
        "PostGIS is not installed for PostgreSQL {0} (install it with \
         `apt-get install postgresql-{0}-postgis-3`, or point DATABASE_URL at a database that has it)"
    )]
    NoPostgis(String),
    #[error("{what} failed: {detail}")]
    Command { what: String, detail: String },
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

/// A running private cluster.
#[derive(Debug, Clone)]
pub struct PrivateCluster {
    pub dir: PathBuf,
    pub port: u16,
    bin: PathBuf,
}

/// Database user that owns everything in the private cluster (trust auth, loopback only).
const USER: &str = "onemap";

impl PrivateCluster {
    /// Starts the cluster in `home/pg`, creating it first if needed, and returns it running.
    /// Safe to call from several processes at once: the first one creates and starts it.
    pub fn ensure_running(home: &Path) -> Result<PrivateCluster, ClusterError> {
        let dir = absolute(&home.join("pg"))?;
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let lock_path = dir.join("setup.lock");
        let lock = std::fs::File::create(&lock_path).map_err(|e| io(&lock_path, e))?;
        lock.lock().map_err(|e| io(&lock_path, e))?;

        let bin = server_bin_dir()?;
        let cluster = PrivateCluster {
            port: remembered_port(&dir)?,
            dir,
            bin,
        };
        if !cluster.data_dir().join("PG_VERSION").exists() {
            cluster.init()?;
        }
        if !cluster.is_running() {
            cluster.start()?;
        }
        drop(lock);
        Ok(cluster)
    }

    /// Opens the cluster at `home/pg` without starting it (for `db stop` / `db status`).
    pub fn existing(home: &Path) -> Result<Option<PrivateCluster>, ClusterError> {
        let dir = absolute(&home.join("pg"))?;
        if !dir.join("data").join("PG_VERSION").exists() {
            return Ok(None);
        }
        Ok(Some(PrivateCluster {
            port: remembered_port(&dir)?,
            dir,
            bin: server_bin_dir()?,
        }))
    }

    /// Connection URL of a database in this cluster.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{database}", self.port)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub fn log_file(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    pub fn is_running(&self) -> bool {
        self.pg_command("pg_ctl")
            .args(["status", "-D"])
            .arg(self.data_dir())
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }

    pub fn stop(&self) -> Result<(), ClusterError> {
        if !self.is_running() {
            return Ok(());
        }
        let mut cmd = self.pg_command("pg_ctl");
        cmd.args(["stop", "-m", "fast", "-w", "-D"])
            .arg(self.data_dir());
        run(cmd, "pg_ctl stop")
    }

    fn init(&self) -> Result<(), ClusterError> {
        let major = self
            .bin
            .parent()
            .and_then(|p| p.file_name())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let control = PathBuf::from(format!(
            "/usr/share/postgresql/{major}/extension/postgis.control"
        ));
        if !control.exists() {
            return Err(ClusterError::NoPostgis(major));
        }
        let data = self.data_dir();
        std::fs::create_dir_all(&data).map_err(|e| io(&data, e))?;
        self.hand_over(&self.dir)?;
        let mut cmd = self.pg_command("initdb");
        cmd.args([
            "-U",
            USER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "-D",
        ])
        .arg(&data);
        run(cmd, "initdb")?;
        // Settings for a small dedicated machine; durability stays on (fsync, synchronous commit).
        let conf = format!(
            "\n# onemap private cluster\nlisten_addresses = '127.0.0.1'\nport = {}\n\
             unix_socket_directories = '{}'\nmax_connections = 300\nshared_buffers = 512MB\n\
             work_mem = 32MB\nmaintenance_work_mem = 256MB\nmax_wal_size = 2GB\n\
             checkpoint_timeout = 15min\nlog_min_messages = warning\n",
            self.port,
            self.dir.display()
        );
        let conf_path = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf_path).map_err(|e| io(&conf_path, e))?;
        text.push_str(&conf);
        std::fs::write(&conf_path, text).map_err(|e| io(&conf_path, e))?;
        self.hand_over(&self.dir)?;
        tracing::info!(dir = %self.dir.display(), "created private PostgreSQL cluster");
        Ok(())
    }

    fn start(&self) -> Result<(), ClusterError> {
        // The log file must be writable by the server's user.
        let log = self.log_file();
        if !log.exists() {
            std::fs::write(&log, b"").map_err(|e| io(&log, e))?;
        }
        self.hand_over(&log)?;
        let mut cmd = self.pg_command("pg_ctl");
        cmd.args(["start", "-w", "-t", "120", "-D"])
            .arg(self.data_dir())
            .arg("-l")
            .arg(&log)
            .arg("-o")
            // Settings given at start apply to clusters made by earlier versions too.
            // wal_compression: full-page images of the event indexes after each checkpoint
            // are most of the WAL a burst of reports writes; lz4 shrinks them cheaply.
            .arg(format!("-p {} -c wal_compression=lz4", self.port));
        run(cmd, "pg_ctl start").map_err(|e| match e {
            ClusterError::Command { what, detail } => ClusterError::Command {
                what,
                detail: format!("{detail} (see {})", log.display()),
            },
            other => other,
        })?;
        tracing::info!(port = self.port, dir = %self.dir.display(), "started private PostgreSQL cluster on 127.0.0.1");
        Ok(())
    }

    /// A command for one of the server programs, run as `postgres` when we are root.
    fn pg_command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if running_as_root() {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(path);
            cmd
        } else {
            Command::new(path)
        }
    }

    /// When we are root, give `path` (recursively) to the `postgres` user.
    fn hand_over(&self, path: &Path) -> Result<(), ClusterError> {
        if !running_as_root() {
            return Ok(());
        }
        let mut cmd = Command::new("chown");
        cmd.args(["-R", "postgres:postgres"]).arg(path);
        run(cmd, "chown")
    }
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

fn absolute(p: &Path) -> Result<PathBuf, ClusterError> {
    std::path::absolute(p).map_err(|e| io(p, e))
}

fn io(path: &Path, e: std::io::Error) -> ClusterError {
    ClusterError::Io(path.display().to_string(), e)
}

fn run(mut cmd: Command, what: &str) -> Result<(), ClusterError> {
    let out = cmd.output().map_err(|e| ClusterError::Command {
        what: what.to_string(),
        detail: e.to_string(),
    })?;
    if out.status.success() {
        return Ok(());
    }
    Err(ClusterError::Command {
        what: what.to_string(),
        detail: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stderr).trim(),
            String::from_utf8_lossy(&out.stdout).trim()
        ),
    })
}

/// The newest PostgreSQL server installed from Debian's packages, or `ONEMAP_PG_BIN`.
fn server_bin_dir() -> Result<PathBuf, ClusterError> {
    if let Ok(dir) = std::env::var("ONEMAP_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| ClusterError::NoServer)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let major: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((major, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, p)| p).ok_or(ClusterError::NoServer)
}

/// The port stored in `dir/port`, or a free loopback port, stored for next time.
fn remembered_port(dir: &Path) -> Result<u16, ClusterError> {
    let file = dir.join("port");
    if let Some(port) = std::fs::read_to_string(&file)
        .ok()
        .and_then(|s| s.trim().parse().ok())
    {
        return Ok(port);
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| io(&file, e))?
        .port();
    std::fs::write(&file, port.to_string()).map_err(|e| io(&file, e))?;
    Ok(port)
}
