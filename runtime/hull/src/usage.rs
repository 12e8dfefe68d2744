//! Command-line mistakes reported as Docker's CLI reports them: a flag it does not know or one
//! without its value, `See 'hull run --help'.`, status 125; a command with too few or too many
//! arguments, the usage and what the command does, status 1; an unknown command, status 1.

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};

/// Docker's words for each command: how many arguments it takes (as its message says it),
/// its usage line, and what it does.
const USAGES: &[(&str, &str, &str, &str)] = &[
    (
        "run",
        "requires at least 1 argument",
        "[OPTIONS] IMAGE [COMMAND] [ARG...]",
        "Run a command in a new container",
    ),
    ("ps", "accepts no arguments", "[OPTIONS]", "List containers"),
    (
        "inspect",
        "requires at least 1 argument",
        "[OPTIONS] NAME|ID [NAME|ID...]",
        "Return low-level information on hull objects",
    ),
    (
        "logs",
        "requires exactly 1 argument",
        "[OPTIONS] CONTAINER",
        "Fetch the logs of a container",
    ),
    (
        "exec",
        "requires at least 2 arguments",
        "[OPTIONS] CONTAINER COMMAND [ARG...]",
        "Run a command in a running container",
    ),
    (
        "stop",
        "requires at least 1 argument",
        "[OPTIONS] CONTAINER [CONTAINER...]",
        "Stop one or more running containers",
    ),
    (
        "kill",
        "requires at least 1 argument",
        "[OPTIONS] CONTAINER [CONTAINER...]",
        "Kill one or more running containers",
    ),
    (
        "rm",
        "requires at least 1 argument",
        "[OPTIONS] CONTAINER [CONTAINER...]",
        "Remove one or more containers",
    ),
    (
        "top",
        "requires at least 1 argument",
        "CONTAINER [ps OPTIONS]",
        "Display the running processes of a container",
    ),
    (
        "stats",
        "accepts no arguments",
        "[OPTIONS] [CONTAINER...]",
        "Display a live stream of container(s) resource usage statistics",
    ),
    (
        "diff",
        "requires exactly 1 argument",
        "CONTAINER",
        "Inspect changes to files or directories on a container's filesystem",
    ),
    (
        "images",
        "requires at most 1 argument",
        "[OPTIONS] [REPOSITORY[:TAG]]",
        "List images",
    ),
    (
        "rmi",
        "requires at least 1 argument",
        "[OPTIONS] IMAGE [IMAGE...]",
        "Remove one or more images",
    ),
    (
        "history",
        "requires exactly 1 argument",
        "[OPTIONS] IMAGE",
        "Show the history of an image",
    ),
    (
        "image ls",
        "requires at most 1 argument",
        "[OPTIONS] [REPOSITORY[:TAG]]",
        "List images",
    ),
    (
        "image inspect",
        "requires at least 1 argument",
        "[OPTIONS] IMAGE [IMAGE...]",
        "Display detailed information on one or more images",
    ),
    (
        "image rm",
        "requires at least 1 argument",
        "[OPTIONS] IMAGE [IMAGE...]",
        "Remove one or more images",
    ),
    (
        "image history",
        "requires exactly 1 argument",
        "[OPTIONS] IMAGE",
        "Show the history of an image",
    ),
    (
        "build",
        "requires exactly 1 argument",
        "[OPTIONS] PATH | URL | -",
        "Build an image from a Dockerfile",
    ),
    (
        "load",
        "accepts no arguments",
        "[OPTIONS]",
        "Load an image from a tar archive or STDIN",
    ),
    (
        "save",
        "requires at least 1 argument",
        "[OPTIONS] IMAGE [IMAGE...]",
        "Save one or more images to a tar archive (streamed to STDOUT by default)",
    ),
    (
        "tag",
        "requires exactly 2 arguments",
        "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
        "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
    ),
    (
        "image prune",
        "accepts no arguments",
        "[OPTIONS]",
        "Remove unused images",
    ),
    (
        "container prune",
        "accepts no arguments",
        "[OPTIONS]",
        "Remove all stopped containers",
    ),
    (
        "system df",
        "accepts no arguments",
        "[OPTIONS]",
        "Show hull disk usage",
    ),
    (
        "volume create",
        "requires at most 1 argument",
        "[OPTIONS] [VOLUME]",
        "Create a volume",
    ),
    (
        "volume inspect",
        "requires at least 1 argument",
        "[OPTIONS] VOLUME [VOLUME...]",
        "Display detailed information on one or more volumes",
    ),
    (
        "volume ls",
        "accepts no arguments",
        "[OPTIONS]",
        "List volumes",
    ),
    (
        "volume rm",
        "requires at least 1 argument",
        "[OPTIONS] VOLUME [VOLUME...]",
        "Remove one or more volumes",
    ),
    (
        "network create",
        "requires exactly 1 argument",
        "[OPTIONS] NETWORK",
        "Create a network",
    ),
    (
        "network ls",
        "accepts no arguments",
        "[OPTIONS]",
        "List networks",
    ),
    (
        "network inspect",
        "requires at least 1 argument",
        "[OPTIONS] NETWORK [NETWORK...]",
        "Display detailed information on one or more networks",
    ),
    (
        "network rm",
        "requires at least 1 argument",
        "NETWORK [NETWORK...]",
        "Remove one or more networks",
    ),
    (
        "port",
        "requires at least 1 and at most 2 arguments",
        "CONTAINER [PRIVATE_PORT[/PROTO]]",
        "List port mappings or a specific mapping for the container",
    ),
];

/// What to print for a command-line mistake, and the status to exit with.
pub struct Mistake {
    pub text: String,
    pub status: u8,
}

/// The command a command line names (`run`, `network create`): the leading words that are
/// subcommands.
fn command_path(cli: &clap::Command, args: &[OsString]) -> Vec<String> {
    let mut path = Vec::new();
    let mut cmd = cli.clone();
    for a in args.iter().skip(1) {
        let Some(a) = a.to_str() else { break };
        if a.starts_with('-') {
            break;
        }
        match cmd.find_subcommand(a) {
            Some(sub) => {
                path.push(sub.get_name().to_string());
                cmd = sub.clone();
            }
            None => break,
        }
    }
    path
}

fn context(e: &clap::Error, kind: ContextKind) -> String {
    match e.get(kind) {
        Some(ContextValue::String(s)) => s.clone(),
        Some(ContextValue::Strings(v)) => v.join(" "),
        _ => String::new(),
    }
}

/// How a flag is written in Docker's messages: `-e, --env`, `--pids-limit`.
fn flag_names(cli: &clap::Command, path: &[String], id: &str) -> String {
    let mut cmd = cli;
    for p in path {
        match cmd.find_subcommand(p) {
            Some(sub) => cmd = sub,
            None => break,
        }
    }
    let arg = cmd
        .get_arguments()
        .find(|a| a.get_id() == id || a.get_long() == Some(id.trim_start_matches('-')));
    match arg.map(|a| (a.get_short(), a.get_long())) {
        Some((Some(s), Some(l))) => format!("-{s}, --{l}"),
        Some((None, Some(l))) => format!("--{l}"),
        Some((Some(s), None)) => format!("-{s}"),
        _ => id.to_string(),
    }
}

/// The line that points at a command's help.
fn see_help(path: &str) -> String {
    format!("See 'hull {path} --help'.")
}

/// A command-line mistake as Docker's CLI reports it.
pub fn mistake(cli: &clap::Command, e: &clap::Error, args: &[OsString]) -> Mistake {
    let path = command_path(cli, args);
    let name = path.join(" ");
    let flag_error = |text: String| Mistake {
        text: format!("{text}\n{}", see_help(&name)),
        status: 125,
    };
    match e.kind() {
        ErrorKind::InvalidSubcommand => {
            let bad = context(e, ContextKind::InvalidSubcommand);
            let help = if name.is_empty() {
                "hull --help".to_string()
            } else {
                format!("hull {name} --help")
            };
            Mistake {
                text: format!("hull: '{bad}' is not a hull command.\nSee '{help}'"),
                status: 1,
            }
        }
        ErrorKind::UnknownArgument => {
            let bad = context(e, ContextKind::InvalidArg);
            if let Some(long) = bad.strip_prefix("--") {
                let long = long.split('=').next().unwrap_or(long);
                flag_error(format!("unknown flag: --{long}"))
            } else if let Some(short) = bad.strip_prefix('-').and_then(|s| s.chars().next()) {
                flag_error(format!("unknown shorthand flag: '{short}' in {bad}"))
            } else {
                arity(&name)
            }
        }
        // A flag hull requires where Docker reads stdin or writes stdout (`load -i`).
        ErrorKind::MissingRequiredArgument
            if context(e, ContextKind::InvalidArg).starts_with("--") =>
        {
            let flag = context(e, ContextKind::InvalidArg);
            let long = flag
                .trim_start_matches("--")
                .split(' ')
                .next()
                .unwrap_or_default();
            Mistake {
                text: format!("required flag(s) \"{long}\" not set\n{}", see_help(&name)),
                status: 1,
            }
        }
        ErrorKind::MissingRequiredArgument
        | ErrorKind::TooFewValues
        | ErrorKind::WrongNumberOfValues
        | ErrorKind::TooManyValues => arity(&name),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let arg = context(e, ContextKind::InvalidArg);
            let id = arg.split([' ', '=']).next().unwrap_or(&arg).to_string();
            let value = context(e, ContextKind::InvalidValue);
            let flags = flag_names(cli, &path, &id);
            if value.is_empty() && e.kind() == ErrorKind::InvalidValue {
                // The flag is the last word: pflag names it as it was written.
                let last = args.last().and_then(|a| a.to_str()).unwrap_or_default();
                let written = match last.strip_prefix('-') {
                    Some(short) if !short.starts_with('-') => {
                        format!("'{}' in {last}", short.chars().last().unwrap_or('?'))
                    }
                    _ => shortest(&flags),
                };
                return flag_error(format!("flag needs an argument: {written}"));
            }
            let reason = std::error::Error::source(e)
                .map(|s| s.to_string())
                .unwrap_or_else(|| first_line(e));
            flag_error(format!(
                "invalid argument \"{value}\" for \"{flags}\" flag: {reason}"
            ))
        }
        _ => flag_error(first_line(e)),
    }
}

/// `--name` of `-n, --name`: how pflag names a flag that lacks its value.
fn shortest(flags: &str) -> String {
    flags.rsplit(", ").next().unwrap_or(flags).to_string()
}

fn first_line(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let line = rendered.lines().next().unwrap_or_default();
    line.trim_start_matches("error: ").to_string()
}

/// `"hull tag" requires exactly 2 arguments.` with the usage, as Docker says it: status 1.
fn arity(name: &str) -> Mistake {
    let (needs, usage, about) = USAGES
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|(_, needs, usage, about)| (*needs, *usage, *about))
        .unwrap_or(("was given the wrong arguments", "[OPTIONS]", ""));
    Mistake {
        text: format!(
            "\"hull {name}\" {needs}.\n{}\n\nUsage:  hull {name} {usage}\n\n{about}",
            see_help(name)
        ),
        status: 1,
    }
}

/// The commands [`USAGES`] describes (for the test that every command has its words).
#[cfg(test)]
pub fn described() -> impl Iterator<Item = &'static str> {
    USAGES.iter().map(|u| u.0)
}
