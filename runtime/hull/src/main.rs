//! `hull`: the Docker-like front end learners type. Argument structs and a few lines per
//! command; the engine does the work. Exit codes follow Docker: 125 for hull's own errors,
//! 126/127 when the program cannot be executed or found, else the container's status.

use std::io::Write;
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use hull_engine::{format, ops, units, Engine, EngineError, RunArgs};

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
    #[arg(short, long = "env")]
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
        #[arg(short, long = "env")]
        env: Vec<String>,
        #[arg(short, long)]
        workdir: Option<String>,
        #[arg(short, long)]
        user: Option<String>,
        container: String,
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Stop containers: SIGTERM, then SIGKILL after the timeout.
    Stop {
        #[arg(short, long, default_value_t = 10)]
        time: u64,
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
    /// Image commands: ls, inspect, rm, history.
    #[command(subcommand)]
    Image(ImageCommand),
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
        /// Only print the image id.
        #[arg(short, long)]
        quiet: bool,
        context: std::path::PathBuf,
    },
    /// Load images from a `docker save` or OCI-layout tarball.
    Load {
        #[arg(short, long)]
        input: String,
    },
    /// Save an image as an OCI-layout tarball (docker load accepts it).
    Save {
        #[arg(short, long)]
        output: String,
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            let code = e
                .downcast_ref::<EngineError>()
                .map(EngineError::exit_code)
                .unwrap_or(125);
            eprintln!("hull: {e:#}");
            ExitCode::from(code as u8)
        }
    }
}

fn engine() -> anyhow::Result<Engine> {
    Ok(Engine::open_default()?)
}

fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Run(f) => run(*f),
        Command::Ps { all, quiet, format } => {
            let e = engine()?;
            let list: Vec<_> = e
                .list()?
                .into_iter()
                .filter(|r| all || r.state.running)
                .collect();
            if quiet {
                for r in &list {
                    println!("{}", r.short_id());
                }
                return Ok(0);
            }
            let values: Vec<serde_json::Value> = list.iter().map(ps_json).collect();
            match format.as_deref() {
                Some(f) => {
                    print_rows(&values, f)?;
                }
                None => {
                    let now = SystemTime::now();
                    let rows: Vec<Vec<String>> = list
                        .iter()
                        .map(|r| {
                            vec![
                                r.short_id().to_string(),
                                r.config.image.clone(),
                                format::command(r),
                                format!(
                                    "{} ago",
                                    format::human_duration(format::since(&r.created, now))
                                ),
                                format::status(r, now),
                                format::ports(r),
                                r.name.clone(),
                            ]
                        })
                        .collect();
                    print!(
                        "{}",
                        format::table(
                            &[
                                "CONTAINER ID",
                                "IMAGE",
                                "COMMAND",
                                "CREATED",
                                "STATUS",
                                "PORTS",
                                "NAMES"
                            ],
                            &rows
                        )
                    );
                }
            }
            Ok(0)
        }
        Command::Inspect {
            targets,
            format,
            kind,
        } => {
            let e = engine()?;
            let mut values = Vec::new();
            for t in &targets {
                if kind.as_deref() == Some("image") {
                    values.push(e.store.inspect_json(t)?);
                    continue;
                }
                match e.find(t) {
                    Ok(r) => values.push(serde_json::to_value(&r)?),
                    Err(err @ EngineError::NoSuchContainer(_)) if kind.is_some() => {
                        return Err(err.into())
                    }
                    Err(EngineError::NoSuchContainer(_)) => values.push(
                        e.store
                            .inspect_json(t)
                            .map_err(|_| EngineError::Invalid(format!("No such object: {t}")))?,
                    ),
                    Err(err) => return Err(err.into()),
                }
            }
            print_values(&values, format.as_deref())
        }
        Command::Logs { container, follow } => {
            let e = engine()?;
            let r = e.find(&container)?;
            ops::logs(&e, &r, follow)?;
            Ok(0)
        }
        Command::Exec {
            interactive: _,
            tty,
            detach,
            env,
            workdir,
            user,
            container,
            command,
        } => {
            if tty && !nix::unistd::isatty(std::io::stdin()).unwrap_or(false) {
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
                },
            )?)
        }
        Command::Stop { time, containers } => each(&containers, |e, r| ops::stop(e, r, time)),
        Command::Kill { signal, containers } => {
            let sig = hull_oci::signal::parse(&signal)?;
            each(&containers, |e, r| ops::kill(e, r, sig))
        }
        Command::Rm { force, containers } => each(&containers, |e, r| ops::remove(e, r, force)),
        Command::Top { container } => {
            let e = engine()?;
            let r = e.find(&container)?;
            let rows: Vec<Vec<String>> = ops::top(&e, &r)?
                .into_iter()
                .map(|(pid, uid, cmd)| vec![uid.to_string(), pid.to_string(), cmd])
                .collect();
            print!("{}", format::table(&["UID", "PID", "CMD"], &rows));
            Ok(0)
        }
        Command::Stats {
            no_stream: _,
            format,
            containers,
        } => {
            let e = engine()?;
            let list = if containers.is_empty() {
                e.list()?.into_iter().filter(|r| r.state.running).collect()
            } else {
                containers
                    .iter()
                    .map(|c| e.find(c))
                    .collect::<Result<Vec<_>, _>>()?
            };
            let mut rows = Vec::new();
            let mut values = Vec::new();
            for r in &list {
                let s = ops::stats(&e, r)?;
                let pct = if s.memory_limit > 0 && s.memory_limit < 1 << 60 {
                    100.0 * s.memory_usage as f64 / s.memory_limit as f64
                } else {
                    0.0
                };
                values.push(serde_json::json!({
                    "ID": r.short_id(), "Name": r.name, "MemUsage": s.memory_usage,
                    "MemLimit": s.memory_limit, "MemPerc": format!("{pct:.2}%"), "PIDs": s.pids,
                    "CPUUsageNs": s.cpu_usage_ns,
                }));
                rows.push(vec![
                    r.short_id().to_string(),
                    r.name.clone(),
                    format!("{} / {}", bytes(s.memory_usage), bytes(s.memory_limit)),
                    format!("{pct:.2}%"),
                    s.pids.to_string(),
                ]);
            }
            if format.is_some() {
                return print_values(&values, format.as_deref());
            }
            print!(
                "{}",
                format::table(
                    &["CONTAINER ID", "NAME", "MEM USAGE / LIMIT", "MEM %", "PIDS"],
                    &rows
                )
            );
            Ok(0)
        }
        Command::Diff { container } => {
            let e = engine()?;
            let r = e.find(&container)?;
            for (kind, path) in ops::diff(&e, &r)? {
                println!("{kind} {path}");
            }
            Ok(0)
        }
        Command::Images { all, quiet, format } => images(all, quiet, format),
        Command::Image(ImageCommand::Ls) => images(false, false, None),
        Command::Rmi { force, images } | Command::Image(ImageCommand::Rm { force, images }) => {
            let e = engine()?;
            for i in &images {
                // The store knows nothing of containers: an image a container was made from
                // stays unless forced, as Docker refuses it.
                let img = e.store.resolve(i)?;
                if !force {
                    if let Some(c) = e.list()?.iter().find(|c| c.image == img.id) {
                        anyhow::bail!(
                            "conflict: unable to remove image {i}: container {} is using it (remove the container first, or use -f)",
                            c.short_id()
                        );
                    }
                }
                for line in e.store.remove(i, force)? {
                    println!("{line}");
                }
            }
            Ok(0)
        }
        Command::History { image, no_trunc } => history(&image, no_trunc),
        Command::Image(ImageCommand::History { image }) => history(&image, false),
        Command::Image(ImageCommand::Inspect { images, format }) => {
            let e = engine()?;
            let values = images
                .iter()
                .map(|i| e.store.inspect_json(i))
                .collect::<Result<Vec<_>, _>>()?;
            print_values(&values, format.as_deref())
        }
        Command::Build {
            tag,
            file,
            build_arg,
            no_cache,
            quiet,
            context,
        } => {
            let e = engine()?;
            let mut build_args = Vec::new();
            for a in &build_arg {
                match a.split_once('=') {
                    Some((k, v)) => build_args.push((k.to_string(), v.to_string())),
                    None => match std::env::var(a) {
                        Ok(v) => build_args.push((a.clone(), v)),
                        Err(_) => continue,
                    },
                }
            }
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
                },
                out,
            )?;
            if quiet {
                println!("{}", image.id);
            }
            Ok(0)
        }
        Command::Load { input } => {
            let e = engine()?;
            for name in e.store.load(std::path::Path::new(&input))? {
                println!("Loaded image: {name}");
            }
            Ok(0)
        }
        Command::Save { output, image } => {
            let e = engine()?;
            e.store.save(&image, std::path::Path::new(&output))?;
            Ok(0)
        }
        Command::Tag { source, target } => {
            let e = engine()?;
            let img = e.store.resolve(&source)?;
            e.store.tag(&img, &target)?;
            Ok(0)
        }
        Command::Network(cmd) => network(cmd),
        Command::Port { container, port } => {
            let e = engine()?;
            let r = e.find(&container)?;
            let want = port.map(|p| {
                if p.contains('/') {
                    p
                } else {
                    format!("{p}/tcp")
                }
            });
            let mut found = false;
            for (key, binds) in &r.network_settings.ports {
                if want.as_deref().is_some_and(|w| w != key) {
                    continue;
                }
                for b in binds {
                    found = true;
                    if want.is_some() {
                        println!("{}:{}", b.host_ip, b.host_port);
                    } else {
                        println!("{key} -> {}:{}", b.host_ip, b.host_port);
                    }
                }
            }
            if let (Some(w), false) = (&want, found) {
                // Docker: an error message and status 1 (not a failure of hull itself).
                eprintln!("hull: no public port '{w}' published for {container}");
                return Ok(1);
            }
            Ok(0)
        }
    }
}

fn bytes(n: u64) -> String {
    // cgroup v1 spells "no limit" as a page-rounded i64::MAX.
    if n >= 1 << 60 {
        return "unlimited".into();
    }
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < units.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    format!("{v:.1}{}", units[i])
}

/// Listings with `--format`: one JSON object per line for `json` (as `docker ps --format json`),
/// else the template applied to each row.
fn print_rows(values: &[serde_json::Value], format: &str) -> anyhow::Result<i32> {
    for v in values {
        if format == "json" {
            println!("{v}");
        } else {
            println!(
                "{}",
                format::template(format, v).map_err(anyhow::Error::msg)?
            );
        }
    }
    Ok(0)
}

fn print_values(values: &[serde_json::Value], format: Option<&str>) -> anyhow::Result<i32> {
    match format {
        None | Some("json") => println!("{}", serde_json::to_string_pretty(values)?),
        Some(t) => {
            for v in values {
                println!("{}", format::template(t, v).map_err(anyhow::Error::msg)?);
            }
        }
    }
    Ok(0)
}

fn ps_json(r: &hull_engine::record::Record) -> serde_json::Value {
    let now = SystemTime::now();
    serde_json::json!({
        "ID": r.short_id(),
        "Image": r.config.image,
        "Command": format::command(r),
        "CreatedAt": r.created,
        "Status": format::status(r, now),
        "State": r.state.status,
        "ExitCode": r.state.exit_code,
        "Names": r.name,
        "Ports": format::ports(r),
        "Networks": r.host_config.network_mode,
    })
}

fn each(
    targets: &[String],
    f: impl Fn(&Engine, &hull_engine::record::Record) -> hull_engine::Result<()>,
) -> anyhow::Result<i32> {
    let e = engine()?;
    let mut failed = false;
    for t in targets {
        match e.find(t).and_then(|r| f(&e, &r)) {
            Ok(()) => println!("{t}"),
            Err(err) => {
                eprintln!("hull: {err}");
                failed = true;
            }
        }
    }
    Ok(if failed { 1 } else { 0 })
}

fn images(all: bool, quiet: bool, format: Option<String>) -> anyhow::Result<i32> {
    let e = engine()?;
    // Docker hides the untagged images a build leaves behind unless asked with -a.
    let list: Vec<_> = e
        .store
        .list()?
        .into_iter()
        .filter(|i| all || i.repository != "<none>")
        .collect();
    if quiet {
        for i in &list {
            println!("{}", short(&i.id));
        }
        return Ok(0);
    }
    if let Some(f) = format {
        let values: Vec<_> = list
            .iter()
            .map(|i| serde_json::json!({"Repository": i.repository, "Tag": i.tag, "ID": short(&i.id), "CreatedAt": i.created, "Size": i.size}))
            .collect();
        return print_rows(&values, &f);
    }
    let now = SystemTime::now();
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|i| {
            vec![
                i.repository.clone(),
                i.tag.clone(),
                short(&i.id).to_string(),
                i.created
                    .as_deref()
                    .map(|c| format!("{} ago", format::human_duration(format::since(c, now))))
                    .unwrap_or_else(|| "N/A".into()),
                bytes(i.size),
            ]
        })
        .collect();
    print!(
        "{}",
        format::table(&["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], &rows)
    );
    Ok(0)
}

fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..12.min(hex.len())]
}

fn history(image: &str, no_trunc: bool) -> anyhow::Result<i32> {
    let e = engine()?;
    let now = SystemTime::now();
    let rows: Vec<Vec<String>> = e
        .store
        .history(image)?
        .iter()
        .map(|h| {
            let by = if no_trunc || h.created_by.chars().count() <= 45 {
                h.created_by.clone()
            } else {
                format!("{}…", h.created_by.chars().take(44).collect::<String>())
            };
            vec![
                h.created
                    .as_deref()
                    .map(|c| format!("{} ago", format::human_duration(format::since(c, now))))
                    .unwrap_or_else(|| "N/A".into()),
                by,
                bytes(h.size),
                h.comment.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        format::table(&["CREATED", "CREATED BY", "SIZE", "COMMENT"], &rows)
    );
    Ok(0)
}

fn run(f: RunFlags) -> anyhow::Result<i32> {
    let publish = f
        .publish
        .iter()
        .map(|p| units::parse_port(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let mut env = Vec::new();
    for file in &f.env_file {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("read env file {file}"))?;
        env.extend(units::parse_env_file(&text, file).map_err(anyhow::Error::msg)?);
    }
    env.extend(f.env.iter().filter_map(|v| units::expand_env_flag(v)));
    let args = RunArgs {
        image: f.image,
        args: f.args,
        name: f.name,
        detach: f.detach,
        interactive: f.interactive,
        tty: f.tty,
        rm: f.rm,
        memory: f
            .memory
            .as_deref()
            .map(units::parse_memory)
            .transpose()
            .map_err(anyhow::Error::msg)?,
        memory_swap: match f.memory_swap.as_deref() {
            Some("-1") => Some(-1),
            Some(s) => Some(units::parse_size(s).map_err(anyhow::Error::msg)?),
            None => None,
        },
        nano_cpus: f
            .cpus
            .as_deref()
            .map(units::parse_cpus)
            .transpose()
            .map_err(anyhow::Error::msg)?,
        pids_limit: f.pids_limit,
        env,
        volumes: f
            .volume
            .iter()
            .map(|v| units::parse_volume(v))
            .collect::<Result<_, _>>()
            .map_err(anyhow::Error::msg)?,
        tmpfs: f.tmpfs,
        workdir: f.workdir,
        user: f.user,
        entrypoint: f.entrypoint,
        hostname: f.hostname,
        read_only: f.read_only,
        init: f.init,
        network: f.network,
        publish,
        publish_all: f.publish_all,
    };
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

fn network(cmd: NetworkCommand) -> anyhow::Result<i32> {
    let e = engine()?;
    let nets = e.networks()?;
    match cmd {
        NetworkCommand::Create {
            subnet,
            driver,
            name,
        } => {
            if driver != "bridge" {
                anyhow::bail!(
                    "network driver {driver:?} is not supported: hull makes bridge networks"
                );
            }
            let n = nets.create(&name, subnet.as_deref())?;
            println!("{}", n.id);
        }
        NetworkCommand::Ls { quiet, format } => {
            let list = nets.list()?;
            let short = |id: &str| id[..12.min(id.len())].to_string();
            if quiet {
                for n in &list {
                    println!("{}", short(&n.id));
                }
                return Ok(0);
            }
            if let Some(f) = format {
                let values: Vec<_> = list
                    .iter()
                    .map(|n| serde_json::json!({"ID": short(&n.id), "Name": n.name, "Driver": n.driver, "Scope": n.scope, "Subnet": n.subnet}))
                    .collect();
                return print_rows(&values, &f);
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|n| {
                    vec![
                        short(&n.id),
                        n.name.clone(),
                        n.driver.clone(),
                        n.scope.clone(),
                    ]
                })
                .collect();
            print!(
                "{}",
                format::table(&["NETWORK ID", "NAME", "DRIVER", "SCOPE"], &rows)
            );
        }
        NetworkCommand::Inspect { networks, format } => {
            let values = networks
                .iter()
                .map(|n| nets.inspect(n))
                .collect::<Result<Vec<_>, _>>()?;
            return print_values(&values, format.as_deref());
        }
        NetworkCommand::Rm { networks } => {
            let mut failed = false;
            for n in &networks {
                match nets.remove(n) {
                    Ok(()) => println!("{n}"),
                    Err(err) => {
                        eprintln!("hull: {err}");
                        failed = true;
                    }
                }
            }
            return Ok(if failed { 1 } else { 0 });
        }
    }
    Ok(0)
}
