//! Whiteouts both ways through save/load with Docker 20.10 (issue 12): an image whose later
//! layer deletes a file and replaces a directory, built by Docker and loaded into hull, and
//! built by hull and loaded into Docker, keeps the deleted files deleted and the replaced
//! directory showing only its new content.
//!
//! Needs Debian's `docker.io` (`/usr/sbin/dockerd`, `/usr/bin/docker`): the test starts its own
//! `dockerd --iptables=false --ip-forward=false --bridge=none` with data and exec roots and a
//! socket in its own temporary directory, and stops it by its PID. Without docker.io it fails
//! saying so.
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use support::*;

const DOCKERD: &str = "/usr/sbin/dockerd";
const DOCKER: &str = "/usr/bin/docker";

/// The second RUN deletes a file the first made and replaces a directory.
const WHITEOUTS: &str = "FROM busybox
RUN echo one > /f && mkdir /d && echo old > /d/old
RUN rm /f && rm -rf /d && mkdir /d && echo new > /d/new
";

/// What a container of the image shows: whether /f exists, and what /d holds.
const PROBE: &str = "test -e /f && echo f-is-back; ls -A /d; cat /d/*";

/// A dockerd of this test's own; dropping it stops it (by PID) and removes its directories.
struct Dockerd {
    dir: tempfile::TempDir,
    child: std::process::Child,
}

impl Dockerd {
    fn start() -> Dockerd {
        require_root();
        assert!(
            Path::new(DOCKERD).exists() && Path::new(DOCKER).exists(),
            "this test needs Debian's docker.io ({DOCKERD}, {DOCKER}): apt-get install -y docker.io"
        );
        let dir = tempfile::Builder::new()
            .prefix("hull-dk-")
            .tempdir_in("/tmp")
            .expect("a temp dir for dockerd");
        let p = dir.path();
        let log = std::fs::File::create(p.join("log")).expect("dockerd log");
        let child = Command::new(DOCKERD)
            .args(["--iptables=false", "--ip-forward=false", "--bridge=none"])
            .arg(format!("--data-root={}", p.join("d").display()))
            .arg(format!("--exec-root={}", p.join("e").display()))
            .arg(format!("--pidfile={}", p.join("pid").display()))
            .arg(format!("--host=unix://{}", p.join("sock").display()))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start dockerd");
        let d = Dockerd { dir, child };
        poll(Duration::from_secs(60), "dockerd to answer", || {
            let out = d.docker(&["version"]);
            out.status.success().then_some(())
        });
        d
    }

    fn docker(&self, args: &[&str]) -> Output {
        let mut c = Command::new(DOCKER);
        c.arg("-H")
            .arg(format!("unix://{}", self.dir.path().join("sock").display()))
            .args(args)
            .env("DOCKER_BUILDKIT", "0");
        capture(c, Duration::from_secs(120))
    }

    fn ok(&self, args: &[&str]) -> String {
        stdout(&must(&format!("docker {args:?}"), self.docker(args)))
    }

    /// `docker import` of a busybox rootfs (the host's busybox, as hull's own busybox image).
    fn import_busybox(&self) {
        let root = self.dir.path().join("bb");
        std::fs::create_dir_all(root.join("bin")).unwrap();
        let busybox = ["/bin/busybox", "/usr/bin/busybox"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("the host's busybox");
        std::fs::copy(busybox, root.join("bin/busybox")).unwrap();
        for applet in ["sh", "ls", "cat", "echo", "rm", "mkdir", "test"] {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
        }
        let tar = self.dir.path().join("bb.tar");
        run_ok("tar", &["-C", path_str(&root), "-cf", path_str(&tar), "."]);
        self.ok(&["import", path_str(&tar), "busybox:latest"]);
    }

    fn build(&self, tag: &str, dockerfile: &str) {
        let ctx = self.dir.path().join(format!("ctx-{tag}"));
        std::fs::create_dir_all(&ctx).unwrap();
        std::fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
        self.ok(&["build", "-q", "-t", tag, path_str(&ctx)]);
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while matches!(self.child.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Anything dockerd left mounted below its roots.
        for m in mounts_under(self.dir.path()).into_iter().rev() {
            let _ = nix::mount::umount2(&m, nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

#[test]
fn whiteouts_survive_docker_save_into_hull_load() {
    let d = Dockerd::start();
    d.import_busybox();
    d.build("wh-docker", WHITEOUTS);
    assert_eq!(
        d.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "wh-docker",
            "sh",
            "-c",
            PROBE
        ]),
        "new\nnew\n",
        "Docker's own view"
    );
    let tar = d.path("wh-docker.tar");
    d.ok(&["save", "-o", path_str(&tar), "wh-docker"]);

    let h = Hull::new();
    let out = h.ok(&["load", "-i", path_str(&tar)]);
    assert_eq!(out, "Loaded image: wh-docker:latest\n");
    assert_eq!(
        h.ok(&["run", "--rm", "wh-docker", "sh", "-c", PROBE]),
        "new\nnew\n",
        "hull shows what Docker shows"
    );
}

#[test]
fn whiteouts_survive_hull_save_into_docker_load() {
    let h = Hull::new();
    h.build("wh-hull", WHITEOUTS, &[]);
    assert_eq!(
        h.ok(&["run", "--rm", "wh-hull", "sh", "-c", PROBE]),
        "new\nnew\n"
    );
    let tar = h.dir("save").join("wh-hull.tar");
    h.ok(&["save", "-o", path_str(&tar), "wh-hull"]);

    let d = Dockerd::start();
    let out = d.ok(&["load", "-i", path_str(&tar)]);
    assert!(out.contains("wh-hull:latest"), "{out}");
    assert_eq!(
        d.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "wh-hull",
            "sh",
            "-c",
            PROBE
        ]),
        "new\nnew\n",
        "Docker shows what hull shows"
    );
}
