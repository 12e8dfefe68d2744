//! The one support module of the conformance suite: every file in tests/ says `mod support;`.
//!
//! The suite drives the built binaries as a user would: `hullrt` (or any runc-compatible runtime
//! named by `$HULL_OCI_RUNTIME`) through [`Ctx`], and `hull` through [`Hull`]. Each file here
//! does one thing:
//! - [`bins`]: finding the binaries under test; root is required.
//! - [`command`]: running a command with its output in files (never pipes) and a time limit;
//!   exit codes, messages, polling, background processes.
//! - [`console`]: the client side of the console-socket protocol (a pty master received).
//! - [`files`], [`procs`], [`ipc`]: small observations of the host (directory entries, a
//!   process's state, SysV shared memory).
//! - [`mountinfo`]: the mount table, parsed by the `procfs` crate.
//! - [`cgroups`]: cgroup hierarchies, directories and the processes in them.
//! - [`bundle`]: OCI bundles (a busybox rootfs and a runc-`spec`-like config).
//! - [`ctx`]: one OCI-runtime test's context (its `--root`, ids, bundles and cgroup token).
//! - [`hull`]: one `hull` test's guard (its `HULL_ROOT` and scratch directory).
//! - [`podman`]: one podman test's guard (podman driving hullrt or runc, with storage, state,
//!   configuration and cgroups of its own).
//! - [`docker`]: a dockerd of one test's own (the reference of the differential suite), and
//!   [`differ`]: running a case in Docker and in hull and comparing what they did.
//! - [`leaks`]: what a test can leave behind, always scoped to what that test owns.
//! - [`netns`]: tests that run inside a network namespace of their own (the network module's
//!   tests), the "containers" and the "client" they use.
//! - [`sandbox`] and [`lab`]: the `hull` CLI end to end, networking included, re-executed
//!   inside a throwaway network + mount namespace.
//!
//! **Ownership, not quiet hosts.** Every resource a test creates is owned by a guard whose
//! `Drop` removes it, and every leak check looks only at what that test owns: its own `--root`
//! or `HULL_ROOT`, its own cgroup names (a per-test token or its containers' ids), mounts below
//! its own temporary directories, processes in its own cgroups or carrying its own `HULL_ROOT`.
//! Nothing counts host-wide, so tests run in parallel with each other and with another run of
//! the suite on the same machine, and no test needs a lock.
#![allow(dead_code, unused_imports, clippy::new_without_default)]

pub mod bins;
pub mod bundle;
pub mod cgroups;
pub mod command;
pub mod console;
pub mod ctx;
pub mod differ;
pub mod docker;
pub mod files;
pub mod hull;
pub mod ipc;
pub mod lab;
pub mod leaks;
pub mod mountinfo;
pub mod netns;
pub mod podman;
pub mod procs;
pub mod sandbox;

pub use bins::*;
pub use bundle::*;
pub use cgroups::*;
pub use command::*;
pub use ctx::*;
pub use docker::*;
pub use files::*;
pub use hull::*;
pub use ipc::*;
pub use leaks::*;
pub use mountinfo::*;
pub use podman::*;
pub use procs::*;
