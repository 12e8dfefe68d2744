//! `hull-lab`: the labs of Hull. Argument structs, and one line per command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hull_lab::app::{self, App};
use hull_lab::vm;

#[derive(Parser)]
#[command(
    name = "hull-lab",
    version,
    about = "Hands-on container labs, graded by observing the real system"
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
        id: String,
        /// Keep the sandbox after the shell exits.
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
    /// Forget a lab's progress and remove its sandbox.
    Reset { id: Option<String> },
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
        #[arg(long)]
        keep: bool,
    },
    /// Re-grade the current step every 2 seconds.
    Watch,
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
            Command::Reset { id } => app::reset(&app, id.as_deref()),
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
