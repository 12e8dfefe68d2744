//! `hull`: the Docker-like front end learners type. Argument structs and a few lines per
//! command; the engine does the work. Exit codes follow Docker: `run` exits 125 when hull
//! itself fails, 126/127 when the program cannot be executed or found, else with the
//! container's status; every other command exits 1 when it fails (`exec`: 126/127 too); a
//! mistake on the command line is 125 (a flag) or 1 (the arguments), worded as Docker's
//! (see [`usage`]).

mod usage;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::SystemTime;

use clap::{Args, CommandFactory, Parser, Subcommand};
use hull_engine::{ops, units, views, Engine, EngineError, RunArgs};

#[derive(Parser)]
#[command(
    name = "hull",
    version,
    about = "Run containers the way Docker does — and see how it works"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct RunFlags {
    /// Run in the background and print the container id.
    #[arg(short, long)]
    detach: bool,
    /// Keep stdin open.
    #[arg(short, long)]
    interactive: bool,
    /// Allocate a terminal (the program uses hull's own terminal).
    #[arg(short, long)]
    tty: bool,
    #[arg(long)]
    name: Option<String>,
    /// Remove the container when it exits.
    #[arg(long)]
    rm: bool,
    /// Memory limit, e.g. 32m.
    #[arg(short, long)]
    memory: Option<String>,
    /// Memory plus swap limit (-1: unlimited).
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    memory_swap: Option<String>,
    /// Number of CPUs, e.g. 0.5.
    #[arg(long)]
    cpus: Option<String>,
    #[arg(long = "pids-limit")]
    pids_limit: Option<i64>,
    /// KEY=value, or KEY to take it from hull's environment.
    #[arg(short, long = "env", value_parser = env_flag)]
    env: Vec<String>,
    #[arg(long = "env-file")]
    env_file: Vec<String>,
    /// HOST:CONTAINER[:ro]
    #[arg(short, long = "volume")]
    volume: Vec<String>,
    /// PATH[:OPTIONS]
    #[arg(long)]
    tmpfs: Vec<String>,
    #[arg(short, long)]
    workdir: Option<String>,
    /// USER[:GROUP] (names or ids)
    #[arg(short, long)]
    user: Option<String>,
    /// Replace the image's ENTRYPOINT (and drop its CMD); "" clears it.
    #[arg(long)]
    entrypoint: Option<String>,
    #[arg(long)]
    hostname: Option<String>,
    /// Mount the container's root filesystem read-only.
    #[arg(long = "read-only")]
    read_only: bool,
    /// Run a signal-forwarding init as PID 1.
    #[arg(long)]
    init: bool,
    /// Publish a port: [IP:]HOSTPORT:CTRPORT[/tcp|udp].
    #[arg(short, long = "publish")]
    publish: Vec<String>,
    /// Publish every EXPOSEd port to a random host port.
    #[arg(short = 'P', long = "publish-all")]
    publish_all: bool,
    #[arg(long)]
    network: Option<String>,
    /// Add a Linux capability (e.g. NET_ADMIN, or ALL).
    #[arg(long = "cap-add")]
    cap_add: Vec<String>,
    /// Drop a Linux capability (e.g. CHOWN, or ALL).
    #[arg(long = "cap-drop")]
    cap_drop: Vec<String>,
    /// Every capability, every host device, no seccomp filter, no masked paths.
    #[arg(long)]
    privileged: bool,
    /// seccomp=unconfined|PROFILE.json, no-new-privileges.
    #[arg(long = "security-opt")]
    security_opt: Vec<String>,
    /// Signal `stop` sends first (default: the image's STOPSIGNAL, else SIGTERM).
    #[arg(long = "stop-signal")]
    stop_signal: Option<String>,
    /// Seconds `stop` waits before SIGKILL (default 10).
    #[arg(long = "stop-timeout", allow_hyphen_values = true)]
    stop_timeout: Option<i64>,
    image: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a command in a new container.
    Run(Box<RunFlags>),
    /// List containers.
    Ps {
        #[arg(short, long)]
        all: bool,
        #[arg(short, long)]
        quiet: bool,
        /// json, or a template like '{{.Names}}'.
        #[arg(long)]
        format: Option<String>,
    },
    /// Show a container's (or image's) details.
    Inspect {
        #[arg(required = true)]
        targets: Vec<String>,
        /// json, or a template like '{{.State.ExitCode}}'.
        #[arg(short, long)]
        format: Option<String>,
        /// Only look for this kind of object: container or image.
        #[arg(long = "type", value_parser = ["container", "image"])]
        kind: Option<String>,
    },
    /// Show a container's output.
    Logs {
        container: String,
        #[arg(short, long)]
        follow: bool,
    },
    /// Run a command in a running container.
    Exec {
        #[arg(short, long)]
        interactive: bool,
        #[arg(short, long)]
        tty: bool,
        #[arg(short, long)]
        detach: bool,
        #[arg(short, long = "env", value_parser = env_flag)]
        env: Vec<String>,
        #[arg(short, long)]
        workdir: Option<String>,
        #[arg(short, long)]
        user: Option<String>,
        container: String,
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Stop containers: their stop signal (SIGTERM unless set), then SIGKILL after the timeout.
    Stop {
        /// Seconds to wait before SIGKILL (default: the container's --stop-timeout, else 10).
        #[arg(short, long, allow_hyphen_values = true)]
        time: Option<i64>,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Send a signal (default KILL) to containers.
    Kill {
        #[arg(short, long, default_value = "KILL")]
        signal: String,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Remove containers.
    Rm {
        #[arg(short, long)]
        force: bool,
        /// Remove the container's anonymous volumes too.
        #[arg(short, long)]
        volumes: bool,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Show the processes of a container.
    Top { container: String },
    /// Show a container's resource usage (from its cgroup).
    Stats {
        #[arg(long = "no-stream")]
        no_stream: bool,
        #[arg(long)]
        format: Option<String>,
        containers: Vec<String>,
    },
    /// Show what a container changed in its filesystem (A added, C changed, D deleted).
    Diff { container: String },
    /// List images (-a: also the untagged intermediate images a build leaves).
    Images {
        #[arg(short, long)]
        all: bool,
        #[arg(short, long)]
        quiet: bool,
        #[arg(long)]
        format: Option<String>,
    },
    /// Remove images.
    Rmi {
        #[arg(short, long)]
        force: bool,
        #[arg(required = true)]
        images: Vec<String>,
    },
    /// Show how an image was built, layer by layer.
    History {
        image: String,
        #[arg(long = "no-trunc")]
        no_trunc: bool,
    },
    /// Image commands: ls, inspect, rm, history, prune.
    #[command(subcommand)]
    Image(ImageCommand),
    /// Container commands: prune.
    #[command(subcommand)]
    Container(ContainerCommand),
    /// Build an image from a Dockerfile.
    Build {
        /// Name (and optionally tag) for the image.
        #[arg(short, long)]
        tag: Option<String>,
        /// Dockerfile path (default: CONTEXT/Dockerfile).
        #[arg(short, long)]
        file: Option<std::path::PathBuf>,
        /// KEY=value for an ARG.
        #[arg(long = "build-arg")]
        build_arg: Vec<String>,
        #[arg(long = "no-cache")]
        no_cache: bool,
        /// Build up to the end of this stage (FROM … AS NAME), which becomes the image.
        #[arg(long)]
        target: Option<String>,
        /// Only print the image id.
        #[arg(short, long)]
        quiet: bool,
        context: std::path::PathBuf,
    },
    /// Load images from a `docker save` or OCI-layout tarball (standard input without -i),
    /// or an OCI image-layout directory.
    Load {
        #[arg(short, long)]
        input: Option<String>,
    },
    /// Save an image as an OCI-layout tarball (docker load accepts it); standard output
    /// without -o.
    Save {
        #[arg(short, long)]
        output: Option<String>,
        image: String,
    },
    /// Give an image another name.
    Tag { source: String, target: String },
    /// Networks: create, ls, inspect, rm.
    #[command(subcommand)]
    Network(NetworkCommand),
    /// Show a container's published ports (optionally only PORT[/PROTO]).
    Port {
        container: String,
        port: Option<String>,
    },
    /// Volumes: create, ls, inspect, rm.
    #[command(subcommand)]
    Volume(VolumeCommand),
    /// System: df.
    #[command(subcommand)]
    System(SystemCommand),
}

#[derive(Subcommand)]
enum VolumeCommand {
    /// Create a volume (a random name when none is given).
    Create {
        /// Only "local" is supported.
        #[arg(short, long, default_value = "local")]
        driver: String,
        name: Option<String>,
    },
    /// List volumes.
    #[command(alias = "list")]
    Ls {
        #[arg(short, long)]
        quiet: bool,
        #[arg(long)]
        format: Option<String>,
    },
    /// Show volumes' details.
    Inspect {
        #[arg(required = true)]
        volumes: Vec<String>,
        #[arg(short, long)]
        format: Option<String>,
    },
    /// Remove volumes (refused while a container uses them).
    #[command(alias = "remove")]
    Rm {
        /// Do not complain about volumes that do not exist.
        #[arg(short, long)]
        force: bool,
        #[arg(required = true)]
        volumes: Vec<String>,
    },
}

#[derive(Subcommand)]
enum SystemCommand {
    /// Show the disk space images, containers and volumes take.
    Df {
        #[arg(long)]
        format: Option<String>,
    },
}

#[derive(Subcommand)]
enum NetworkCommand {
    /// Create a bridge network.
    Create {
        #[arg(long)]
        subnet: Option<String>,
        /// Only "bridge" is supported.
        #[arg(short, long, default_value = "bridge")]
        driver: String,
        name: String,
    },
    /// List networks.
    #[command(alias = "list")]
    Ls {
        #[arg(short, long)]
        quiet: bool,
        #[arg(long)]
        format: Option<String>,
    },
    /// Show a network's details and its containers.
    Inspect {
        #[arg(required = true)]
        networks: Vec<String>,
        #[arg(short, long)]
        format: Option<String>,
    },
    /// Remove networks (refused while containers use them).
    #[command(alias = "remove")]
    Rm {
        #[arg(required = true)]
        networks: Vec<String>,
    },
}

#[derive(Subcommand)]
enum ImageCommand {
    Ls,
    Inspect {
        images: Vec<String>,
        #[arg(short, long)]
        format: Option<String>,
    },
    Rm {
        #[arg(short, long)]
        force: bool,
        images: Vec<String>,
    },
    History {
        image: String,
    },
    /// Remove dangling images (-a: every image no container uses).
    Prune {
        #[arg(short, long)]
        all: bool,
        /// Do not ask for confirmation.
        #[arg(short, long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum ContainerCommand {
    /// Remove every stopped container.
    Prune {
        /// Do not ask for confirmation.
        #[arg(short, long)]
        force: bool,
    },
}

/// `-e`'s value: `KEY=value` or `KEY`, never without a key (Docker's `ValidateEnv`).
fn env_flag(text: &str) -> Result<String, String> {
    match text.split('=').next() {
        Some("") => Err(format!("invalid environment variable: {text}")),
        _ => Ok(text.to_string()),
    }
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return command_line_mistake(&e, &args),
    };
    // `run` and `build` report hull's own failures as 125; the others exit 1, as Docker's do.
    let is_run = matches!(cli.command, Command::Run(_));
    let is_build = matches!(cli.command, Command::Build { .. });
    if !matches!(
        cli.command,
        Command::Run(_) | Command::Exec { .. } | Command::Build { .. }
    ) {
        // A reader that goes away ends a listing as it ends Docker's: killed by SIGPIPE, with
        // nothing said (`hull ps --format json | head -1`). `run`, `exec` and `build` relay a
        // container's output and handle their own pipes.
        reset_sigpipe();
    }
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            let engine_error = e.downcast_ref::<EngineError>();
            let code = match engine_error.map(EngineError::exit_code) {
                Some(code) if is_run => code,
                None if is_run => 125,
                // build: a failed RUN step's own status, else 1 (as Docker's).
                Some(code) if is_build && code != 125 => code,
                // exec: the program could not be executed (126) or found (127).
                Some(code @ (126 | 127)) => code,
                _ => 1,
            };
            // Our errors name their cause in their own message: the chain would repeat it.
            let message = engine_error.map_or_else(|| e.to_string(), EngineError::message);
            eprintln!("hull: {message}");
            ExitCode::from(code as u8)
        }
    }
}

/// A command-line mistake, as Docker reports it (see [`usage`]); `--help` and `--version`
/// print what they print.
fn command_line_mistake(e: &clap::Error, args: &[OsString]) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        // `hull` or `hull network` alone: the help, as `docker` alone prints it.
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let mut cmd = Cli::command();
            for a in args.iter().skip(1).filter_map(|a| a.to_str()) {
                match cmd.find_subcommand(a) {
                    Some(sub) => cmd = sub.clone().bin_name(format!("hull {a}")),
                    None => break,
                }
            }
            let _ = cmd.print_help();
            ExitCode::SUCCESS
        }
        _ => {
            let m = usage::mistake(&Cli::command(), e, args);
            eprintln!("{}", m.text);
            ExitCode::from(m.status)
        }
    }
}

/// SIGPIPE back to its default action (Rust's runtime ignores it, so a write to a closed pipe
/// would fail with EPIPE, and `print!` panic).
fn reset_sigpipe() {
    // SAFETY: setting a signal's disposition to the default has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn engine() -> anyhow::Result<Engine> {
    Ok(Engine::open_default()?)
}

/// Print a listing for `-q`, `--format` or as a table.
fn print_listing(
    listing: &views::Listing,
    quiet: bool,
    format: Option<&str>,
) -> anyhow::Result<i32> {
    if quiet {
        print!("{}", listing.quiet());
    } else {
        print!("{}", listing.render(format).map_err(EngineError::from)?);
    }
    Ok(0)
}

/// `inspect` (of containers, images or networks): what was found, then an error for each
/// target that was not (or that the template does not fit), status 1 if there was one; a
/// template that does not parse is refused with Docker's status, 64.
fn print_inspected(
    found: Vec<Result<serde_json::Value, EngineError>>,
    format: Option<&str>,
) -> anyhow::Result<i32> {
    let found: Vec<Result<serde_json::Value, String>> = found
        .into_iter()
        .map(|r| r.map_err(|e| e.message()))
        .collect();
    let out = match views::inspect(&found, format) {
        Ok(out) => out,
        Err(e) => {
            eprintln!("hull: {e}");
            return Ok(e.status);
        }
    };
    print!("{}", out.stdout);
    for e in &out.errors {
        eprintln!("hull: {e}");
    }
    Ok(if out.errors.is_empty() { 0 } else { 1 })
}

fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    let now = SystemTime::now();
    // Commands whose processes enter a container (the runtime library runs in this process)
    // continue from a binary no container can write (CVE-2019-5736).
    if matches!(
        cli.command,
        Command::Run(_) | Command::Exec { .. } | Command::Build { .. }
    ) {
        hull_engine::ops::run_from_protected_binary()?;
    }
    match cli.command {
        Command::Run(f) => run(*f),
        Command::Ps { all, quiet, format } => {
            let list = ops::containers(&engine()?, all)?;
            print_listing(&views::containers::ps(&list, now), quiet, format.as_deref())
        }
        Command::Inspect {
            targets,
            format,
            kind,
        } => {
            let kind = kind.map(|k| match k.as_str() {
                "image" => ops::ObjectKind::Image,
                _ => ops::ObjectKind::Container,
            });
            print_inspected(ops::inspect(&engine()?, &targets, kind), format.as_deref())
        }
        Command::Logs { container, follow } => {
            let e = engine()?;
            let r = e.find(&container)?;
            ops::logs(&e, &r, follow)?;
            Ok(0)
        }
        Command::Exec {
            interactive,
            tty,
            detach,
            env,
            workdir,
            user,
            container,
            command,
        } => {
            // As Docker: a terminal is needed only to read from it (-i with -t).
            if tty && interactive && !std::io::stdin().is_terminal() {
                anyhow::bail!("the input device is not a TTY");
            }
            let e = engine()?;
            let r = e.find(&container)?;
            let env = env
                .iter()
                .filter_map(|v| units::expand_env_flag(v))
                .collect();
            Ok(ops::exec(
                &e,
                &r,
                ops::ExecArgs {
                    args: command,
                    env,
                    workdir,
                    user,
                    detach,
                    tty,
                },
            )?)
        }
        Command::Stop { time, containers } => each(&containers, |e, r| ops::stop(e, r, time)),
        Command::Kill { signal, containers } => {
            let sig = ops::parse_signal(&signal)?;
            each(&containers, |e, r| ops::kill(e, r, sig))
        }
        Command::Rm {
            force,
            volumes,
            containers,
        } => each_but(&containers, force, |e, r| ops::remove(e, r, force, volumes)),
        Command::Top { container } => {
            let e = engine()?;
            let r = e.find(&container)?;
            print_listing(&views::containers::top(&ops::top(&e, &r)?), false, None)
        }
        Command::Stats {
            no_stream: _,
            format,
            containers,
        } => {
            let list = ops::stats_of(&engine()?, &containers)?;
            print_listing(&views::containers::stats(&list), false, format.as_deref())
        }
        Command::Diff { container } => {
            let e = engine()?;
            let r = e.find(&container)?;
            for (kind, path) in ops::diff(&e, &r)? {
                println!("{kind} {path}");
            }
            Ok(0)
        }
        Command::Images { all, quiet, format } => {
            let list = engine()?.store.list().map_err(EngineError::from)?;
            print_listing(
                &views::images::images(&list, all, now),
                quiet,
                format.as_deref(),
            )
        }
        Command::Image(ImageCommand::Ls) => {
            let list = engine()?.store.list().map_err(EngineError::from)?;
            print_listing(&views::images::images(&list, false, now), false, None)
        }
        Command::Rmi { force, images } | Command::Image(ImageCommand::Rm { force, images }) => {
            let e = engine()?;
            for i in &images {
                for line in ops::remove_image(&e, i, force)? {
                    println!("{line}");
                }
            }
            Ok(0)
        }
        Command::Image(ImageCommand::Prune { all, force }) => {
            let warning = if all {
                "WARNING! This will remove all images without at least one container associated to them."
            } else {
                "WARNING! This will remove all dangling images."
            };
            let pruned = if force || confirm(warning)? {
                hull_engine::prune::images(&engine()?, all)?
            } else {
                Default::default()
            };
            print!("{}", pruned.report("Deleted Images:"));
            Ok(0)
        }
        Command::Container(ContainerCommand::Prune { force }) => {
            let pruned = if force || confirm("WARNING! This will remove all stopped containers.")? {
                hull_engine::prune::containers(&engine()?)?
            } else {
                Default::default()
            };
            print!("{}", pruned.report("Deleted Containers:"));
            Ok(0)
        }
        Command::History { image, no_trunc } => history(&image, no_trunc, now),
        Command::Image(ImageCommand::History { image }) => history(&image, false, now),
        Command::Image(ImageCommand::Inspect { images, format }) => {
            let e = engine()?;
            let found = images.iter().map(|i| ops::inspect_image(&e, i)).collect();
            print_inspected(found, format.as_deref())
        }
        Command::Build {
            tag,
            file,
            build_arg,
            no_cache,
            target,
            quiet,
            context,
        } => {
            let e = engine()?;
            let build_args = build_arg
                .iter()
                .filter_map(|a| units::expand_build_arg(a))
                .collect();
            let mut sink = std::io::sink();
            let mut stdout = std::io::stdout();
            let out: &mut dyn Write = if quiet { &mut sink } else { &mut stdout };
            let image = hull_engine::build::build(
                &e,
                &hull_engine::build::BuildArgs {
                    context,
                    dockerfile: file,
                    tag,
                    build_args,
                    no_cache,
                    target,
                },
                out,
            )?;
            if quiet {
                println!("{}", image.id);
            }
            Ok(0)
        }
        Command::Load { input } => {
            let store = engine()?.store;
            let names = match input.as_deref().map(Path::new) {
                Some(p) if p.is_dir() => store.load_dir(p).map_err(EngineError::from)?,
                Some(p) => store.load(p).map_err(EngineError::from)?,
                None if std::io::stdin().is_terminal() => {
                    anyhow::bail!("requested load from stdin, but stdin is empty")
                }
                None => store
                    .load_from_reader(std::io::stdin().lock(), Path::new("(standard input)"))
                    .map_err(EngineError::from)?,
            };
            for name in names {
                println!("Loaded image: {name}");
            }
            Ok(0)
        }
        Command::Save { output, image } => {
            let store = engine()?.store;
            match output {
                Some(o) => store
                    .save(&image, Path::new(&o))
                    .map_err(EngineError::from)?,
                None if std::io::stdout().is_terminal() => anyhow::bail!(
                    "cowardly refusing to save to a terminal. Use the -o flag or redirect"
                ),
                None => {
                    let mut out = Stdout::default();
                    let saved = store.save_to_writer(&image, &mut out).map(drop);
                    let flushed = out.flush();
                    // A write that failed is said as Docker says it.
                    if let Some(e) = out.failure.take() {
                        anyhow::bail!("write /dev/stdout: {}", go_error_text(&e));
                    }
                    saved.map_err(EngineError::from)?;
                    flushed?;
                }
            }
            Ok(0)
        }
        Command::Tag { source, target } => {
            let e = engine()?;
            let img = e.store.resolve(&source).map_err(EngineError::from)?;
            e.store.tag(&img, &target).map_err(EngineError::from)?;
            Ok(0)
        }
        Command::Network(cmd) => network(cmd),
        Command::Volume(cmd) => volume(cmd),
        Command::System(SystemCommand::Df { format }) => {
            let usage = hull_engine::disk_usage::disk_usage(&engine()?)?;
            let (table, listing) = views::system::df(&usage);
            match format {
                None => print!("{table}"),
                Some(f) => print!("{}", listing.render(Some(&f)).map_err(EngineError::from)?),
            }
            Ok(0)
        }
        Command::Port { container, port } => {
            let r = engine()?.find(&container)?;
            match views::containers::ports(&r, port.as_deref()) {
                Some(lines) => {
                    for l in lines {
                        println!("{l}");
                    }
                    Ok(0)
                }
                None => {
                    // Docker: an error message and status 1 (not a failure of hull itself).
                    let port = views::containers::port_key(&port.unwrap_or_default());
                    eprintln!("hull: No public port '{port}' published for {container}");
                    Ok(1)
                }
            }
        }
    }
}

/// Standard output for `save`, remembering why a write failed (the store only says that it
/// did).
#[derive(Default)]
struct Stdout {
    failure: Option<std::io::Error>,
}

impl Stdout {
    fn note<T>(&mut self, r: std::io::Result<T>) -> std::io::Result<T> {
        if let (Err(e), None) = (&r, &self.failure) {
            self.failure = Some(match e.raw_os_error() {
                Some(n) => std::io::Error::from_raw_os_error(n),
                None => std::io::Error::new(e.kind(), e.to_string()),
            });
        }
        r
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let r = std::io::stdout().lock().write(buf);
        self.note(r)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let r = std::io::stdout().lock().flush();
        self.note(r)
    }
}

/// An I/O error as Go prints it (Docker's words): the system's text, lower-cased, without
/// Rust's ` (os error N)`.
fn go_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.rfind(" (os error ") {
        Some(i) => &text[..i],
        None => &text,
    };
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_lowercase().chain(chars).collect::<String>()
    })
}

/// A command over several containers (stop, kill, rm): each name printed when done, each
/// failure reported, status 1 if any failed.
fn each(
    targets: &[String],
    f: impl Fn(&Engine, &hull_engine::record::Record) -> hull_engine::Result<()>,
) -> anyhow::Result<i32> {
    each_but(targets, false, f)
}

/// [`each`]; with `missing_is_fine` (`rm -f`) a container that does not exist is reported but
/// is no failure, as Docker's `rm -f` has it.
fn each_but(
    targets: &[String],
    missing_is_fine: bool,
    f: impl Fn(&Engine, &hull_engine::record::Record) -> hull_engine::Result<()>,
) -> anyhow::Result<i32> {
    let e = engine()?;
    let mut failed = false;
    for t in targets {
        match e.find(t).and_then(|r| f(&e, &r)) {
            Ok(()) => println!("{t}"),
            Err(err) => {
                eprintln!("hull: {err}");
                failed |= !(missing_is_fine && matches!(err, EngineError::NoSuchContainer(_)));
            }
        }
    }
    Ok(if failed { 1 } else { 0 })
}

/// Docker's prune prompt: `warning`, then "Are you sure you want to continue? [y/N] "; only
/// `y`/`yes` goes on.
fn confirm(warning: &str) -> anyhow::Result<bool> {
    print!("{warning}\nAre you sure you want to continue? [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

fn history(image: &str, no_trunc: bool, now: SystemTime) -> anyhow::Result<i32> {
    let steps = engine()?.store.history(image).map_err(EngineError::from)?;
    print_listing(&views::images::history(&steps, no_trunc, now), false, None)
}

fn run(f: RunFlags) -> anyhow::Result<i32> {
    // As Docker (and as `exec`): -it reads a terminal, so stdin must be one; status 1.
    if f.tty && f.interactive && !std::io::stdin().is_terminal() {
        eprintln!("hull: the input device is not a TTY");
        return Ok(1);
    }
    let mut env = units::read_env_files(&f.env_file).map_err(EngineError::from)?;
    env.extend(f.env.iter().filter_map(|v| units::expand_env_flag(v)));
    let args = RunArgs {
        image: f.image,
        args: f.args,
        name: f.name,
        detach: f.detach,
        interactive: f.interactive,
        tty: f.tty,
        rm: f.rm,
        memory: f.memory.as_deref().map(units::parse_memory).transpose()?,
        memory_swap: match f.memory_swap.as_deref() {
            Some("-1") => Some(-1),
            Some(s) => Some(units::parse_size(s)?),
            None => None,
        },
        nano_cpus: f.cpus.as_deref().map(units::parse_cpus).transpose()?,
        pids_limit: f.pids_limit,
        env,
        volumes: f
            .volume
            .iter()
            .map(|v| units::parse_volume(v))
            .collect::<Result<_, _>>()?,
        tmpfs: f.tmpfs,
        workdir: f.workdir,
        user: f.user,
        entrypoint: f.entrypoint,
        hostname: f.hostname,
        read_only: f.read_only,
        init: f.init,
        network: f.network,
        publish: f
            .publish
            .iter()
            .map(|p| units::parse_port(p))
            .collect::<Result<_, _>>()?,
        publish_all: f.publish_all,
        cap_add: f.cap_add,
        cap_drop: f.cap_drop,
        privileged: f.privileged,
        security_opt: f.security_opt,
        stop_signal: f.stop_signal,
        stop_timeout: f.stop_timeout,
    };
    warn_of_discarded_ports(&args);
    let e = engine()?;
    let mut r = hull_engine::monitor::create(&e, &args)?;
    if args.detach {
        hull_engine::monitor::run_detached(&e, &mut r)?;
        println!("{}", r.id);
        let _ = std::io::stdout().flush();
        return Ok(0);
    }
    Ok(hull_engine::monitor::run_foreground(
        &e,
        &mut r,
        args.interactive,
    )?)
}

/// `hull volume …`: Docker's outputs; a failure is reported and gives status 1, as Docker's.
fn volume(cmd: VolumeCommand) -> anyhow::Result<i32> {
    let e = engine()?;
    let vols = e.volumes();
    let failed = |err: &dyn std::fmt::Display| {
        eprintln!("hull: {err}");
        Ok(1)
    };
    match cmd {
        VolumeCommand::Create { driver, name } => {
            if driver != hull_engine::volume::DRIVER {
                let err = hull_engine::volume::VolumeError::Driver {
                    name: name.unwrap_or_default(),
                    driver,
                };
                return failed(&err);
            }
            let made = vols
                .lock()
                .and_then(|lock| vols.create(name.as_deref(), true, &lock));
            match made {
                Ok((v, _)) => {
                    println!("{}", v.name);
                    Ok(0)
                }
                Err(err) => failed(&err),
            }
        }
        VolumeCommand::Ls { quiet, format } => {
            let (table, listing) = views::system::volumes(&vols.list()?);
            match (quiet, format) {
                (true, _) => print!("{}", listing.quiet()),
                (false, Some(f)) => {
                    print!("{}", listing.render(Some(&f)).map_err(EngineError::from)?)
                }
                (false, None) => print!("{table}"),
            }
            Ok(0)
        }
        VolumeCommand::Inspect { volumes, format } => {
            let found = volumes
                .iter()
                .map(|n| vols.get(n).map(|v| v.inspect()).map_err(EngineError::from))
                .collect();
            print_inspected(found, format.as_deref())
        }
        VolumeCommand::Rm { force, volumes } => {
            let mut code = 0;
            for n in &volumes {
                match e.remove_volume(n) {
                    Ok(()) => println!("{n}"),
                    Err(EngineError::Volume(hull_engine::volume::VolumeError::NoSuchVolume(_)))
                        if force => {}
                    Err(err) => code = failed(&err)?,
                }
            }
            Ok(code)
        }
    }
}

/// As Docker: ports are published only on a network of the container's own; with
/// `--network none` or `host` they are kept in the record (inspect's
/// `HostConfig.PortBindings`) and not published, for the host's with Docker's warning.
fn warn_of_discarded_ports(args: &RunArgs) {
    if args.network.as_deref() == Some("host") && (!args.publish.is_empty() || args.publish_all) {
        eprintln!("WARNING: Published ports are discarded when using host network mode");
    }
}

/// `network inspect` and `network rm` of a network that does not exist say it as Docker's do.
fn no_such_network(name: &str, e: hull_engine::network::NetworkError) -> EngineError {
    match e {
        hull_engine::network::NetworkError::NotFound(_) => {
            EngineError::NoSuchNetwork(name.to_string())
        }
        e => EngineError::Network(e),
    }
}

fn network(cmd: NetworkCommand) -> anyhow::Result<i32> {
    let e = engine()?;
    match cmd {
        NetworkCommand::Create {
            subnet,
            driver,
            name,
        } => {
            let n = ops::create_network(&e, &name, &driver, subnet.as_deref())?;
            println!("{}", n.id);
            Ok(0)
        }
        NetworkCommand::Ls { quiet, format } => {
            let list = e.networks()?.list()?;
            print_listing(&views::networks::networks(&list), quiet, format.as_deref())
        }
        NetworkCommand::Inspect { networks, format } => {
            let nets = e.networks()?;
            let found = networks
                .iter()
                .map(|n| nets.inspect(n).map_err(|e| no_such_network(n, e)))
                .collect();
            print_inspected(found, format.as_deref())
        }
        NetworkCommand::Rm { networks } => {
            let nets = e.networks()?;
            let mut failed = false;
            for n in &networks {
                match nets.remove(n) {
                    Ok(()) => println!("{n}"),
                    Err(err) => {
                        eprintln!("hull: {}", no_such_network(n, err).message());
                        failed = true;
                    }
                }
            }
            Ok(if failed { 1 } else { 0 })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command (`run`, `network create`…) and only those.
    fn commands(cmd: &clap::Command, prefix: &str, out: &mut Vec<String>) {
        for sub in cmd.get_subcommands() {
            let name = format!("{prefix}{}", sub.get_name());
            if sub.has_subcommands() {
                commands(sub, &format!("{name} "), out);
            } else {
                out.push(name);
            }
        }
    }

    #[test]
    fn every_command_has_dockers_words_for_its_mistakes() {
        let mut have = Vec::new();
        commands(&Cli::command(), "", &mut have);
        have.retain(|c| !c.ends_with("help"));
        have.sort();
        let mut described: Vec<String> = usage::described().map(String::from).collect();
        described.sort();
        assert_eq!(described, have);
    }

    fn mistake(line: &[&str]) -> (String, u8) {
        let args: Vec<OsString> = std::iter::once("hull")
            .chain(line.iter().copied())
            .map(OsString::from)
            .collect();
        let e = match Cli::try_parse_from(&args) {
            Err(e) => e,
            Ok(_) => panic!("{line:?} parsed"),
        };
        let m = usage::mistake(&Cli::command(), &e, &args);
        (m.text, m.status)
    }

    #[test]
    fn command_line_mistakes_read_as_dockers() {
        let see = "See 'hull run --help'.";
        assert_eq!(
            mistake(&["run", "--x", "busybox"]),
            (format!("unknown flag: --x\n{see}"), 125)
        );
        assert_eq!(
            mistake(&["run", "--x=1", "busybox"]),
            (format!("unknown flag: --x\n{see}"), 125)
        );
        assert_eq!(
            mistake(&["run", "-z", "busybox"]),
            (format!("unknown shorthand flag: 'z' in -z\n{see}"), 125)
        );
        assert_eq!(
            mistake(&["run", "--name"]),
            (format!("flag needs an argument: --name\n{see}"), 125)
        );
        assert_eq!(
            mistake(&["run", "-e"]),
            (format!("flag needs an argument: 'e' in -e\n{see}"), 125)
        );
        assert_eq!(
            mistake(&["run", "-e", "=x", "busybox"]),
            (
                format!("invalid argument \"=x\" for \"-e, --env\" flag: invalid environment variable: =x\n{see}"),
                125
            )
        );
        assert_eq!(
            mistake(&["run"]),
            (
                "\"hull run\" requires at least 1 argument.\nSee 'hull run --help'.\n\n\
                 Usage:  hull run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun a command in a new container"
                    .to_string(),
                1
            )
        );
        let (text, status) = mistake(&["tag", "a", "b", "c"]);
        assert!(
            text.starts_with("\"hull tag\" requires exactly 2 arguments."),
            "{text}"
        );
        assert_eq!(status, 1);
        assert_eq!(
            mistake(&["nosuchcmd"]),
            (
                "hull: 'nosuchcmd' is not a hull command.\nSee 'hull --help'".to_string(),
                1
            )
        );
        let (text, status) = mistake(&["network", "create"]);
        assert!(text.starts_with("\"hull network create\" requires exactly 1 argument.\nSee 'hull network create --help'."), "{text}");
        assert_eq!(status, 1);
    }

    #[test]
    fn env_flags_need_a_name() {
        assert_eq!(env_flag("A=b"), Ok("A=b".into()));
        assert_eq!(env_flag("A"), Ok("A".into()));
        assert_eq!(env_flag("A="), Ok("A=".into()));
        assert!(env_flag("=x").unwrap_err().contains("=x"));
    }
}
