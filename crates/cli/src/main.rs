//! `shuqiao`: the platform (`serve`, `demo`) and its operator commands.

/// jemalloc rather than the system allocator: see `tikv-jemallocator` in the workspace's Cargo.toml.
#[cfg(all(unix, not(target_env = "musl")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use shuqiao_app::catalog_io::{self, Importer};
use shuqiao_app::{Config, Platform};
use shuqiao_catalog_files::FileFormat;
use shuqiao_domain::rules::RuleSet;

#[derive(Parser)]
#[command(
    name = "shuqiao",
    version,
    about = "数桥 Shuqiao — 政务数据共享交换平台 (government data sharing and exchange platform)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// 运行平台 Run the platform.
    Serve(ServeArgs),
    /// 运行演示平台 Run the platform with a demo province (河北省) seeded into an empty store.
    Demo(ServeArgs),
    /// 目录导入导出 Catalog import and export, directly on the store.
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
    },
    /// 规则集 Rule sets.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// 审计 Audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// 运维 Operator tasks.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// 前置交换节点 Run a front-end exchange node (`--config node.toml`, see docs/node.md), or make its key.
    Node(NodeArgs),
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
struct NodeArgs {
    #[command(subcommand)]
    command: Option<NodeCommand>,
    /// The node configuration (TOML): platform URL, key file, node id, sources.
    #[arg(long, env = "SHUQIAO_NODE_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum NodeCommand {
    /// Make the node's key pair: writes the secret to --out (mode 0600, never overwritten) and prints the public
    /// key to register with `POST /api/v1/nodes`.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Args, Clone)]
struct StoreArgs {
    /// Data directory: SQLite database, search index, keys.
    #[arg(long, default_value = "./shuqiao-data", env = "SHUQIAO_DATA")]
    data: PathBuf,
    /// Database URL (postgres://…); default: SQLite in the data directory.
    #[arg(long, env = "SHUQIAO_DATABASE")]
    database: Option<String>,
    /// Rule set file (TOML); default: the built-in national-2025.
    #[arg(long, env = "SHUQIAO_RULES")]
    rules: Option<PathBuf>,
    /// How long a login session lasts, in seconds.
    #[arg(long, default_value_t = 8 * 3600, env = "SHUQIAO_SESSION_SECONDS")]
    session_seconds: i64,
    /// How long a data request waits for the provider's node, in seconds (then 504).
    #[arg(long, default_value_t = 10, env = "SHUQIAO_NODE_TIMEOUT_SECONDS")]
    node_timeout_seconds: u64,
    /// How often a caught-up subscription asks for changes, in milliseconds.
    #[arg(long, default_value_t = 1000, env = "SHUQIAO_SYNC_POLL_MS")]
    sync_poll_ms: u64,
    /// How often a subscription reads its table in full again (deletes, repairs), in seconds.
    #[arg(long, default_value_t = 3600, env = "SHUQIAO_SYNC_FULL_PASS_SECONDS")]
    sync_full_pass_seconds: u64,
    /// Rows per table-sync batch.
    #[arg(long, default_value_t = 5000, env = "SHUQIAO_SYNC_BATCH_ROWS")]
    sync_batch_rows: u32,
}

#[derive(Args, Clone)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "SHUQIAO_LISTEN")]
    listen: SocketAddr,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Import entries from an xlsx, csv or json file (all or nothing). Each entry goes to the department named by
    /// its provider credit code.
    Import {
        file: PathBuf,
        /// Publish the imported entries at once (operator migration of an approved catalog).
        #[arg(long)]
        publish: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Export the published catalog.
    Export {
        /// Output file; its extension (xlsx, csv, json, jsonld) picks the format unless --format is given.
        out: PathBuf,
        #[arg(long)]
        format: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Check a rule set file and print it as the platform reads it.
    Check { file: PathBuf },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Verify the hash chain and the signed checkpoints; exits 1 and says where the chain breaks if it does.
    Verify {
        /// The platform's data directory (holds the signing key, and the SQLite store unless --database is given).
        #[arg(long, default_value = "./shuqiao-data", env = "SHUQIAO_DATA")]
        data: PathBuf,
        /// Database URL (postgres://…); default: SQLite in the data directory.
        #[arg(long, env = "SHUQIAO_DATABASE")]
        database: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Rebuild the catalog search index from the store.
    Reindex {
        #[command(flatten)]
        store: StoreArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("错误 error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("SHUQIAO_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tantivy=warn"));
    let json = std::env::var("SHUQIAO_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn config(args: &StoreArgs) -> anyhow::Result<Config> {
    let mut cfg = Config::new(args.data.clone());
    cfg.database_url = args.database.clone();
    if args.session_seconds < 1 {
        anyhow::bail!("--session-seconds must be at least 1");
    }
    cfg.session_seconds = args.session_seconds;
    if args.node_timeout_seconds < 1 {
        anyhow::bail!("--node-timeout-seconds must be at least 1");
    }
    cfg.node_timeout = std::time::Duration::from_secs(args.node_timeout_seconds);
    if !(10..=600_000).contains(&args.sync_poll_ms) {
        anyhow::bail!("--sync-poll-ms must be between 10 and 600000");
    }
    cfg.sync_poll = std::time::Duration::from_millis(args.sync_poll_ms);
    if args.sync_full_pass_seconds < 1 {
        anyhow::bail!("--sync-full-pass-seconds must be at least 1");
    }
    cfg.sync_full_pass_every = std::time::Duration::from_secs(args.sync_full_pass_seconds);
    if !(1..=100_000).contains(&args.sync_batch_rows) {
        anyhow::bail!("--sync-batch-rows must be between 1 and 100000");
    }
    cfg.sync_batch_rows = args.sync_batch_rows;
    if let Some(path) = &args.rules {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read the rule set {}: {e}", path.display()))?;
        cfg.rules = RuleSet::from_toml(&text).map_err(|e| anyhow::anyhow!("rule set {}: {e}", path.display()))?;
    }
    Ok(cfg)
}

async fn open(args: &StoreArgs) -> anyhow::Result<Platform> {
    Platform::open(config(args)?).await.map_err(|e| anyhow::anyhow!("{e:#}"))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args, false).await,
        Command::Demo(args) => serve(args, true).await,
        Command::Catalog { command: CatalogCommand::Import { file, publish, store } } => {
            let format =
                file.extension().and_then(|e| e.to_str()).and_then(FileFormat::from_name).ok_or_else(|| {
                    anyhow::anyhow!("{}: the file name must end in .xlsx, .csv or .json", file.display())
                })?;
            let bytes = std::fs::read(&file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let platform = open(&store).await?;
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_message("导入 importing");
            let progress = |done: usize, total: usize| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            };
            let result = catalog_io::import(&platform, Importer::Operator { publish }, format, &bytes, &progress).await;
            bar.finish_and_clear();
            match result {
                Ok(n) => {
                    println!(
                        "已导入 {n} 条信息资源 (imported {n} entries){}",
                        if publish { "，已发布 (published)" } else { "" }
                    );
                    Ok(())
                }
                Err(shuqiao_app::AppError::Import(errors)) => {
                    for e in &errors {
                        eprintln!("第 {} 行 row {}, 列 column “{}”: {}", e.row, e.row, e.column, e.message);
                    }
                    anyhow::bail!("{} problem(s) in {}; nothing was imported", errors.len(), file.display())
                }
                Err(e) => Err(anyhow::anyhow!("{e}")),
            }
        }
        Command::Catalog { command: CatalogCommand::Export { out, format, store } } => {
            let name =
                format.or_else(|| out.extension().and_then(|e| e.to_str()).map(str::to_owned)).unwrap_or_default();
            let format = FileFormat::from_name(&name)
                .ok_or_else(|| anyhow::anyhow!("unknown format `{name}`: use xlsx, csv, json or dcat"))?;
            let platform = open(&store).await?;
            let bytes = catalog_io::export(&platform, format, "http://localhost:8080")
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            std::fs::write(&out, bytes).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
            println!("已导出到 {} (exported)", out.display());
            Ok(())
        }
        Command::Rules { command: RulesCommand::Check { file } } => {
            let text =
                std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let rules = RuleSet::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            println!("{}", serde_json::to_string_pretty(&rules)?);
            Ok(())
        }
        Command::Audit { command: AuditCommand::Verify { data, database, json } } => {
            audit_verify(data, database, json).await
        }
        Command::Node(args) => match (args.command, args.config) {
            (Some(NodeCommand::Keygen { out }), _) => {
                let public = shuqiao_node::keygen(&out)?;
                eprintln!("节点密钥已写入 node key written to {} (keep it secret)", out.display());
                eprintln!("公钥 public key — register it with POST /api/v1/nodes {{\"name\": …, \"public_key\": …}}:");
                println!("{public}");
                Ok(())
            }
            (None, Some(config)) => shuqiao_node::run(&config).await,
            (None, None) => {
                anyhow::bail!(
                    "give --config node.toml (see docs/node.md), or make a key with `shuqiao node keygen --out node.key`"
                )
            }
        },
        Command::Admin { command: AdminCommand::Reindex { store } } => {
            let platform = open(&store).await?;
            let n = platform.reindex().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("索引已重建，{n} 个文档 (index rebuilt: {n} documents)");
            Ok(())
        }
    }
}

async fn audit_verify(data: PathBuf, database: Option<String>, json: bool) -> anyhow::Result<()> {
    let store = match &database {
        Some(url) => shuqiao_store::Store::connect(url).await,
        None => {
            if !data.join("shuqiao.db").exists() {
                anyhow::bail!("{} holds no Shuqiao database; give --data DIR or --database URL", data.display());
            }
            shuqiao_store::Store::open_sqlite(&data).await
        }
    }
    .map_err(|e| anyhow::anyhow!("cannot open the store: {e}"))?;
    let keys = shuqiao_app::audit::open_existing(&store, &data).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let report = shuqiao_app::audit::verify_store(&store, &keys).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    store.close().await;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if report.ok {
        println!(
            "审计链完整 audit chain intact: {} events, {} signed checkpoints, head {} ({})",
            report.events, report.checkpoints, report.head, report.algorithm
        );
    }
    if report.ok {
        Ok(())
    } else {
        anyhow::bail!(
            "审计链在事件 {} 处断裂 the audit chain breaks at event {}: {}",
            report.first_bad.unwrap_or(0),
            report.first_bad.unwrap_or(0),
            report.problem.unwrap_or_default()
        )
    }
}

async fn serve(args: ServeArgs, demo: bool) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    let local = listener.local_addr()?;
    let state = shuqiao_server::AppState::new();
    let server_state = state.clone();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut stop_rx2 = stop_rx.clone();
    let server = tokio::spawn(shuqiao_server::serve(listener, server_state, async move {
        let _ = stop_rx2.wait_for(|s| *s).await;
    }));
    tracing::info!(%local, "listening");
    println!("数桥 Shuqiao listening on http://{local}");
    let signals = tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let platform = tokio::select! {
        p = open(&args.store) => p?,
        _ = wait_stop(stop_rx.clone()) => return Ok(()),
    };
    let admin_pw = std::env::var("SHUQIAO_ADMIN_PASSWORD").ok();
    if let Some(generated) =
        shuqiao_app::auth::bootstrap_admin(&platform, admin_pw).await.map_err(|e| anyhow::anyhow!("{e}"))?
    {
        println!("已创建管理员 admin，初始密码 (initial password, shown once): {generated}");
    }
    if demo {
        let summary = shuqiao_app::demo::seed(&platform).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        println!(
            "演示数据 demo province: {} departments, {} catalog entries{}",
            summary.departments,
            summary.entries,
            if summary.seeded { " (seeded now)" } else { " (already in the store)" }
        );
        println!("演示账号 demo logins (username / password / roles / department):");
        for (u, pw, roles, dept) in &summary.logins {
            println!("  {u:<16} {pw:<10} {roles:<36} {dept}");
        }
    }
    state.set_ready(platform.clone());
    let background = tokio::spawn(background(platform.clone(), stop_rx.clone()));
    let sync = tokio::spawn(shuqiao_app::exchange::sync::supervise(platform.clone(), wait_stop(stop_rx.clone())));
    println!("就绪 ready: http://{local}/  API: http://{local}/api/v1/");
    let _ = wait_stop(stop_rx).await;
    // Node connections are long-lived: close them so that the graceful stop does not wait for them.
    platform.nodes.close_all();
    let _ = server.await;
    let _ = background.await;
    let _ = sync.await;
    // Requests that finished while the server drained were counted after the background loop's last write.
    if let Err(e) = shuqiao_app::exchange::usage::flush(&platform).await {
        tracing::warn!(error = %e, "could not write grants' usage counts at stop");
    }
    signals.abort();
    platform.store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Periodic work: write grants' usage counts (every 250 ms); sign the audit head; mark overdue applications and objections, expire grants and flag unused
/// ones for re-certification (at start, then every minute).
async fn background(platform: Platform, stop: tokio::sync::watch::Receiver<bool>) {
    let every = std::time::Duration::from_secs(u64::from(platform.rules.audit.checkpoint_every_seconds.max(1)));
    let mut checkpoint = tokio::time::interval(every);
    checkpoint.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sharing = tokio::time::interval(std::time::Duration::from_secs(60));
    sharing.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut usage = tokio::time::interval(std::time::Duration::from_millis(250));
    usage.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = checkpoint.tick() => {
                if let Err(e) = shuqiao_app::audit::checkpoint(&platform).await {
                    tracing::warn!(error = %e, "could not sign an audit checkpoint");
                }
            }
            _ = sharing.tick() => {
                match shuqiao_app::sharing::tick(&platform).await {
                    Ok(r) => tracing::debug!(?r, "sharing deadlines checked"),
                    Err(e) => tracing::warn!(error = %e, "could not check sharing deadlines"),
                }
            }
            _ = usage.tick() => {
                if let Err(e) = shuqiao_app::exchange::usage::flush(&platform).await {
                    tracing::warn!(error = %e, "could not write grants' usage counts");
                }
            }
            () = wait_stop(stop.clone()) => break,
        }
    }
    if let Err(e) = shuqiao_app::exchange::usage::flush(&platform).await {
        tracing::warn!(error = %e, "could not write grants' usage counts at stop");
    }
    // A last checkpoint so that a clean stop leaves the whole chain signed.
    let _ = shuqiao_app::audit::checkpoint(&platform).await;
}

async fn wait_stop(mut rx: tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
