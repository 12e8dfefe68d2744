//! `hullrt`: an OCI runtime with runc's command line. Argument structs only; every command is a
//! few lines that call the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use clap::{Parser, Subcommand, ValueEnum};
use hull_oci::container::{self, create, exec, run};

#[derive(Parser)]
#[command(
    name = "hullrt",
    version,
    about = "Hull's OCI container runtime (runc's command line)"
)]
struct Cli {
    /// Where container state lives.
    #[arg(long, global = true, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Append log lines to this file.
    #[arg(long, global = true, value_name = "FILE")]
    log: Option<PathBuf>,
    #[arg(long = "log-format", global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Log debug messages too.
    #[arg(long, global = true)]
    debug: bool,
    /// Use systemd for cgroups (not supported: hullrt writes cgroupfs itself).
    #[arg(long = "systemd-cgroup", global = true)]
    systemd_cgroup: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Create a container from a bundle; its program waits until `start`.
    Create {
        id: String,
        #[arg(short, long, default_value = ".")]
        bundle: PathBuf,
        #[arg(long = "pid-file")]
        pid_file: Option<PathBuf>,
        /// Unix socket that receives the pty master when process.terminal is true.
        #[arg(long = "console-socket")]
        console_socket: Option<PathBuf>,
    },
    /// Run the program of a created container.
    Start { id: String },
    /// Freeze every process of a running container.
    Pause { id: String },
    /// Thaw a paused container.
    Resume { id: String },
    /// Change a container's resource limits (from flags, or -r FILE with linux.resources).
    Update {
        id: String,
        /// A linux.resources object (JSON); "-" reads standard input.
        #[arg(short, long, conflicts_with_all = ["memory", "memory_swap", "pids_limit", "cpu_quota", "cpu_period", "cpu_share", "cpuset_cpus", "cpuset_mems"])]
        resources: Option<PathBuf>,
        /// Memory limit: bytes, or e.g. 64m.
        #[arg(long)]
        memory: Option<String>,
        /// Memory plus swap limit; -1 for none.
        #[arg(long = "memory-swap", allow_hyphen_values = true)]
        memory_swap: Option<String>,
        /// Maximum number of processes; -1 for none.
        #[arg(long = "pids-limit", allow_hyphen_values = true)]
        pids_limit: Option<i64>,
        /// CPU CFS quota in microseconds per period; -1 for none.
        #[arg(long = "cpu-quota", allow_hyphen_values = true)]
        cpu_quota: Option<i64>,
        /// CPU CFS period in microseconds.
        #[arg(long = "cpu-period")]
        cpu_period: Option<u64>,
        /// CPU shares (relative weight).
        #[arg(long = "cpu-share")]
        cpu_share: Option<u64>,
        /// CPUs the container may use, e.g. 0-1.
        #[arg(long = "cpuset-cpus")]
        cpuset_cpus: Option<String>,
        /// Memory nodes the container may use.
        #[arg(long = "cpuset-mems")]
        cpuset_mems: Option<String>,
    },
    /// Print a container's OCI state as JSON.
    State {
        id: String,
        /// Also print hullrt's own facts: org.hull.oom-killed, org.hull.oom-kill-count and
        /// org.hull.exit-code (kept out of the spec's document and of the hooks' input).
        #[arg(long)]
        hull: bool,
    },
    /// Send a signal (default TERM) to a container's init, or with --all to all its processes.
    Kill {
        id: String,
        #[arg(default_value = "TERM")]
        signal: String,
        #[arg(short, long)]
        all: bool,
    },
    /// Delete a stopped container (--force: stop it first).
    Delete {
        id: String,
        #[arg(short, long)]
        force: bool,
    },
    /// Create and start a container, then wait for it and exit with its status.
    Run {
        id: String,
        #[arg(short, long, default_value = ".")]
        bundle: PathBuf,
        #[arg(long = "pid-file")]
        pid_file: Option<PathBuf>,
        #[arg(short, long)]
        detach: bool,
        /// Keep the stopped container instead of deleting it.
        #[arg(long)]
        keep: bool,
        #[arg(long = "console-socket")]
        console_socket: Option<PathBuf>,
    },
    /// Run a command inside a running container.
    Exec {
        id: String,
        /// The command and its arguments (not with --process).
        #[arg(
            required_unless_present = "process",
            trailing_var_arg = true,
            allow_hyphen_values = true
        )]
        command: Vec<String>,
        /// An OCI process object (JSON) to run instead of the config's process and the flags.
        #[arg(short, long, conflicts_with_all = ["cwd", "env", "user", "cap"])]
        process: Option<PathBuf>,
        /// Add a capability (e.g. CAP_NET_ADMIN) to the bounding, effective and permitted sets.
        #[arg(short, long)]
        cap: Vec<String>,
        #[arg(long)]
        cwd: Option<PathBuf>,
        #[arg(short, long = "env")]
        env: Vec<String>,
        /// UID[:GID]
        #[arg(short, long)]
        user: Option<String>,
        #[arg(short, long)]
        detach: bool,
        #[arg(long = "pid-file")]
        pid_file: Option<PathBuf>,
        /// Give the command a terminal (its own /dev/pts/N in the container).
        #[arg(short, long)]
        tty: bool,
        /// Unix socket that receives the terminal's pty master (with --tty or a process.terminal).
        #[arg(long = "console-socket")]
        console_socket: Option<PathBuf>,
    },
    /// List containers.
    List {
        #[arg(short, long, default_value = "table")]
        format: ListFormat,
        #[arg(short, long)]
        quiet: bool,
    },
    /// Write a default config.json into the bundle.
    Spec {
        #[arg(short, long, default_value = ".")]
        bundle: PathBuf,
    },
    /// Print what this runtime supports (OCI features JSON).
    Features,
}

#[derive(Clone, Copy, ValueEnum)]
enum ListFormat {
    Table,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    hull_oci::log::init(
        cli.log.clone(),
        match cli.log_format {
            LogFormat::Text => hull_oci::log::Format::Text,
            LogFormat::Json => hull_oci::log::Format::Json,
        },
        cli.debug,
    );
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            // Our errors name their cause in their own message: the chain would repeat it.
            let msg = e.to_string();
            hull_oci::log::error(&msg);
            eprintln!("hullrt: {msg}");
            ExitCode::from(1)
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    if cli.systemd_cgroup {
        bail!("--systemd-cgroup is not supported: hullrt manages cgroupfs directly (v1 and v2)");
    }
    let root = container::root_path(&cli.root);
    // Commands whose processes enter a container run from a binary no container can write
    // (CVE-2019-5736).
    if matches!(
        cli.command,
        Command::Create { .. } | Command::Run { .. } | Command::Exec { .. }
    ) {
        hull_oci::host::run_from_protected_binary("hullrt")?;
    }
    match cli.command {
        Command::Create {
            id,
            bundle,
            pid_file,
            console_socket,
        } => {
            // The container's process sends its pty's master to the client itself.
            let console = console_socket
                .as_deref()
                .map(hull_oci::host::connect_console_socket)
                .transpose()?;
            create::create(create::CreateOptions {
                root: root.clone(),
                id: id.clone(),
                bundle,
                pid_file,
                console,
                stdio: None,
            })?;
            Ok(0)
        }
        Command::Start { id } => {
            container::start::start(&root, &id)?;
            Ok(0)
        }
        Command::Pause { id } => {
            container::pause::pause(&root, &id)?;
            Ok(0)
        }
        Command::Resume { id } => {
            container::pause::resume(&root, &id)?;
            Ok(0)
        }
        Command::Update {
            id,
            resources,
            memory,
            memory_swap,
            pids_limit,
            cpu_quota,
            cpu_period,
            cpu_share,
            cpuset_cpus,
            cpuset_mems,
        } => {
            let resources = match resources {
                Some(file) => container::update::load_resources(&file)?,
                None => container::update::Limits {
                    memory,
                    memory_swap,
                    pids_limit,
                    cpu_quota,
                    cpu_period,
                    cpu_share,
                    cpuset_cpus,
                    cpuset_mems,
                }
                .resources()?,
            };
            container::update::update(&root, &id, &resources)?;
            Ok(0)
        }
        Command::State { id, hull } => {
            let state = container::state::state(&root, &id, hull)?;
            println!("{}", serde_json::to_string_pretty(&state)?);
            Ok(0)
        }
        Command::Kill { id, signal, all } => {
            let sig = hull_oci::signal::parse(&signal)?;
            container::kill::kill(&root, &id, sig, all)?;
            Ok(0)
        }
        Command::Delete { id, force } => {
            container::delete::delete(&root, &id, force)?;
            Ok(0)
        }
        Command::Run {
            id,
            bundle,
            pid_file,
            detach,
            keep,
            console_socket,
        } => Ok(run::run(run::RunOptions {
            root,
            id,
            bundle,
            pid_file,
            detach,
            keep,
            console_socket,
        })?),
        Command::Exec {
            id,
            command,
            process,
            cap,
            cwd,
            env,
            user,
            detach,
            pid_file,
            tty,
            console_socket,
        } => {
            let user = user.as_deref().map(exec::parse_user).transpose()?;
            let process = process.as_deref().map(exec::load_process).transpose()?;
            if process.is_some() && !command.is_empty() {
                bail!("exec: give the command in --process or on the command line, not both");
            }
            Ok(exec::exec(
                &root,
                &id,
                exec::ExecOptions {
                    process,
                    caps: cap,
                    args: command,
                    env,
                    cwd,
                    user,
                    additional_gids: None,
                    detach,
                    pid_file,
                    tty,
                    console_socket,
                },
            )?)
        }
        Command::List { format, quiet } => {
            let entries = container::list::list(&root)?;
            if quiet {
                for e in &entries {
                    println!("{}", e.id);
                }
            } else {
                match format {
                    ListFormat::Table => print!("{}", container::list::to_table(&entries)),
                    ListFormat::Json => println!(
                        "{}",
                        serde_json::to_string_pretty(&container::list::to_json(&entries))?
                    ),
                }
            }
            Ok(0)
        }
        Command::Spec { bundle } => {
            let path = bundle.join(hull_oci::spec::CONFIG);
            if path.exists() {
                bail!("{} already exists: remove it first", path.display());
            }
            let text = serde_json::to_string_pretty(&hull_oci::spec::default_config())?;
            std::fs::write(&path, text + "\n")
                .map_err(|e| anyhow!("write {}: {e}", path.display()))?;
            Ok(0)
        }
        Command::Features => {
            println!(
                "{}",
                serde_json::to_string_pretty(&container::features::features())?
            );
            Ok(0)
        }
    }
}
