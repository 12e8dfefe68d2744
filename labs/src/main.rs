//! `hull-lab`: the labs of Hull. Argument structs, and one line per command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hull_lab::app::{self, App};
use hull_lab::vm;

const ENVIRONMENT: &str = "\
Environment:
  HULL_LAB_STATE_DIR  where your progress is kept (default: $XDG_STATE_HOME/hull-lab,
                      else ~/.local/state/hull-lab)
  TMPDIR              where sandboxes are made (a hull-lab.XXXX directory each: their
                      HULL_ROOT, lab directory and scratch; default /tmp)
  HULL_LAB_MEMORY     the memory a sandbox may use (default 768m)
  HULL_LAB_PIDS       the tasks a sandbox may run (default 1024)
  HULL_BIN            the hull binary the sandboxes use (default: beside hull-lab)";

#[derive(Parser)]
#[command(
    name = "hull-lab",
    version,
    about = "Hands-on container labs, graded by observing the real system",
    after_help = ENVIRONMENT
)]
struct Cli {
    /// Read scenarios from DIR (*.yaml) instead of the built-in ones.
    #[arg(long, global = true, value_name = "DIR")]
    scenarios: Option<PathBuf>,
    /// Print reports as JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The labs, with their status and progress.
    List,
    /// Open a lab in a fresh sandbox at your step, in a shell; `exit` leaves it.
    Start {
        /// The lab, as `hull-lab list` names it (namespaces, cgroups, overlay, ports, pid1).
        id: String,
        /// Keep the sandbox after the shell exits (`hull-lab check` still grades it;
        /// `hull-lab reset` removes it).
        #[arg(long)]
        keep: bool,
        /// In a fresh VM (QEMU) instead of a sandbox: the VM ends with the shell.
        #[arg(long, conflicts_with = "keep")]
        vm: bool,
    },
    /// Grade the current step; on a pass, move to the next one.
    Check {
        /// Grade every step of the lab (records nothing).
        #[arg(long)]
        all: bool,
    },
    /// Show the next hint of the current step.
    Hint,
    /// Forget a lab's progress and remove its sandbox (asks first).
    Reset {
        /// The lab (default: the open one).
        id: Option<String>,
        /// Do not ask first.
        #[arg(long)]
        yes: bool,
    },
    /// A second shell in the open lab's sandbox, for another terminal: same namespaces,
    /// HULL_ROOT, lab directory and prompt.
    Shell,
    /// How far you got, lab by lab.
    Progress,
    /// Show a solution: of a lab's current step (ID = lab), or of a step of the open lab.
    Solution {
        id: Option<String>,
        /// Do not ask first.
        #[arg(long)]
        yes: bool,
    },
    /// For authors and CI: prove each scenario fails untouched, rejects its wrong attempts
    /// and passes solved, in fresh sandboxes.
    Verify {
        ids: Vec<String>,
        #[arg(long, default_value_t = 1)]
        repeat: usize,
        /// Each scenario in a fresh VM (QEMU, cgroup v2 only) instead of a sandbox.
        #[arg(long, conflicts_with = "repeat")]
        vm: bool,
        /// With --vm: VMs at once (default: the number of cores).
        #[arg(long, requires = "vm", value_name = "N")]
        jobs: Option<usize>,
        /// With --vm: the hard limit per VM, boot to result.
        #[arg(long, requires = "vm", value_name = "SECONDS", default_value_t = 900)]
        timeout: u64,
    },
    /// Open a fresh sandbox fast-forwarded to STEP (its id or number).
    Goto {
        step: String,
        /// The lab (default: the open one).
        #[arg(long)]
        lab: Option<String>,
        /// Keep the sandbox after the shell exits (without a terminal: do not open a
        /// shell, print where the sandbox is and leave it for `check`).
        #[arg(long)]
        keep: bool,
    },
    /// Re-grade the current step as you work on it (keys: hint, check now, list, quit).
    Watch,
    /// Timed break-fix drills and interview question cards (--list, --quiz).
    Drill(hull_lab::drill::cli::Args),
    /// Build the lab manual (HTML, steps from the scenarios) and say where to open it.
    Book(hull_lab::book::Args),
    /// The VM backend: `vm build` prepares (and caches) the guest.
    Vm {
        #[command(subcommand)]
        command: VmCommand,
    },
}

#[derive(Subcommand)]
enum VmCommand {
    /// Prepare the guest once: the distribution's kernel, its modules, an initramfs with Hull.
    Build,
    /// Inside the VM only: run the job in DIR (what the guest's /init does).
    #[command(hide = true)]
    Guest { dir: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Vm {
        command: VmCommand::Guest { dir },
    } = &cli.command
    {
        hull_lab::vm::guest::main(dir);
    }
    let run = || -> anyhow::Result<u8> {
        let dir = cli.scenarios.as_deref();
        let app = App::new(dir, cli.json)?;
        match &cli.command {
            Command::List => app::list(&app),
            Command::Start { id, vm: true, .. } => vm::cmd::start(&app, dir, id),
            Command::Start { id, keep, .. } => app::start(&app, id, *keep),
            Command::Check { all } => app::check(&app, *all),
            Command::Hint => app::hint(&app),
            Command::Reset { id, yes } => app::reset(&app, id.as_deref(), *yes),
            Command::Shell => app::second_shell(&app),
            Command::Progress => app::progress(&app),
            Command::Solution { id, yes } => app::solution(&app, id.as_deref(), *yes),
            Command::Verify {
                ids,
                vm: true,
                jobs,
                timeout,
                ..
            } => vm::cmd::verify(&app, dir, ids, *jobs, *timeout),
            Command::Verify { ids, repeat, .. } => app::verify(&app, ids, *repeat),
            Command::Goto { step, lab, keep } => app::goto(&app, lab.as_deref(), step, *keep),
            Command::Watch => app::watch(&app),
            Command::Vm { .. } => vm::cmd::build(&app),
            Command::Drill(args) => hull_lab::drill::cli::run(&app, args),
            Command::Book(args) => hull_lab::book::run(&app, args),
        }
    };
    match run() {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("hull-lab: {e:#}");
            ExitCode::from(2)
        }
    }
}
