//! The `onemap` binary: parse the command line, start logging, hand over to the library.

use clap::Parser;
use onemap::cli::{
    Cli, Command, SimulateCommand, assign, db, fire, import, serve, user, validate, vessels,
};
use onemap::config::open_store;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("onemap=info,tower_http=warn,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // Our errors already quote their causes; add only causes not yet said.
            let mut message = e.to_string();
            for cause in e.chain().skip(1) {
                let c = cause.to_string();
                if !message.contains(&c) {
                    message = format!("{message}: {c}");
                }
            }
            eprintln!("error: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let url = cli.database_url.as_deref();
    match cli.command {
        Command::Db { action } => db::run(action, &cli.home).await,
        Command::Migrate => {
            open_store(url, &cli.home, 2).await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Serve(args) => serve::run(open_store(url, &cli.home, 32).await?, args).await,
        Command::Import { what } => {
            let store = open_store(url, &cli.home, 4).await?;
            match what {
                import::ImportCommand::Demo { seed, units } => {
                    import::demo(
                        &store,
                        onemap::demo::DemoParams {
                            seed,
                            units: units as usize,
                            ..Default::default()
                        },
                    )
                    .await
                }
                import::ImportCommand::Areas { file, allow_gaps } => {
                    import::areas(&store, &file, allow_gaps).await
                }
                import::ImportCommand::DemoEvents {
                    count,
                    seed,
                    days,
                    until,
                    replace,
                    append,
                } => {
                    let mut params = onemap::events::demo::DemoEventParams {
                        seed,
                        count: count as usize,
                        days,
                        ..Default::default()
                    };
                    if let Some(u) = until {
                        params.until = u;
                    }
                    let existing = match (replace, append) {
                        (true, _) => import::Existing::Replace,
                        (_, true) => import::Existing::Append,
                        _ => import::Existing::Refuse,
                    };
                    import::demo_events(&store, params, existing).await
                }
                import::ImportCommand::Assets { file, kind } => {
                    fire::import_assets(&store, &file, &kind).await
                }
                import::ImportCommand::DemoAssets { seed, replace } => {
                    fire::demo_assets(&store, seed, replace).await
                }
                import::ImportCommand::Vessels { file } => {
                    vessels::import_vessels(&store, &file).await
                }
                import::ImportCommand::DemoVessels { seed, replace } => {
                    vessels::demo_vessels(&store, seed, replace).await
                }
                import::ImportCommand::DemoProfiles { people, seed } => {
                    let params = onemap::profiles::demo::DemoProfileParams {
                        seed,
                        people: people as usize,
                        ..Default::default()
                    };
                    import::demo_profiles(&store, params).await
                }
            }
        }
        Command::Simulate { what } => match what {
            SimulateCommand::Sensors(args) => fire::simulate_sensors(args).await,
            SimulateCommand::Vessels(args) => vessels::simulate_vessels(args).await,
        },
        Command::User { action } => user::run(&open_store(url, &cli.home, 2).await?, action).await,
        Command::Validate(args) => validate::run(&open_store(url, &cli.home, 2).await?, args).await,
        Command::Assign(args) => assign::run(&open_store(url, &cli.home, 2).await?, args).await,
    }
}
