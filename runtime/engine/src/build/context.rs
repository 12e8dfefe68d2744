//! The build context as COPY reads it.
//!
//! A source is resolved below the context's root with openat2 `RESOLVE_BENEATH`: `..` or a
//! symlink that would leave the context is refused (Docker's "outside the build context"), a
//! symlink that stays inside is followed — for the source named in the Dockerfile only. Below
//! it, the tree is walked through descriptors: a symlink is reported as a link (its target
//! text), never followed; a file is opened `O_PATH|O_NOFOLLOW`, examined, and only then reopened
//! for reading, so a FIFO never blocks the build and a device node is never opened.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use hull_image::rootfs::{kind_name, Root, Scope};
use nix::fcntl::{openat, readlinkat, OFlag};
use nix::sys::stat::Mode;

/// What is wrong with a COPY source.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("COPY source {src:?} is outside the build context")]
    Outside { src: String },
    #[error("COPY source {src:?}: {what} {}: {source}", path.display())]
    Io {
        src: String,
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("COPY source {src:?}: {} is {kind}: hull build copies no device nodes", path.display())]
    Device {
        src: String,
        path: PathBuf,
        kind: &'static str,
    },
    #[error(transparent)]
    Open(#[from] hull_image::ImageError),
}

/// What one entry of a walked source is.
pub enum Node<'a> {
    Dir,
    /// A regular file, open for reading, and its size when examined.
    File(&'a mut File, u64),
    /// A symlink and its target, as written.
    Symlink(PathBuf),
    Fifo,
}

/// One entry of a walked source: its path relative to the source (empty for the source
/// itself), permission bits and modification time.
pub struct Entry<'a> {
    pub rel: &'a Path,
    pub mode: u32,
    pub mtime: i64,
    pub node: Node<'a>,
}

/// The build context, held open (or, for `COPY --from`, a stage's filesystem).
pub struct Context {
    root: Root,
    /// How a source named in the Dockerfile is resolved: `Beneath` for the build context
    /// (leaving it is an error), `InRoot` for a stage's filesystem (its symlinks resolve inside
    /// it, as the stage's own container would see them).
    scope: Scope,
    /// How messages name the root: the context's host path, or `/` inside a stage.
    shown: PathBuf,
}

impl Context {
    pub fn open(dir: &Path) -> Result<Context, ContextError> {
        Ok(Context {
            root: Root::open(dir, "the build context")?,
            scope: Scope::Beneath,
            shown: dir.to_path_buf(),
        })
    }

    /// A stage's (or an image's) filesystem mounted at `dir`, as `COPY --from` reads it.
    pub fn open_stage(dir: &Path) -> Result<Context, ContextError> {
        Ok(Context {
            root: Root::open(dir, "the stage's filesystem")?,
            scope: Scope::InRoot,
            shown: PathBuf::from("/"),
        })
    }

    /// Calls `visit` for the source `src` and, when it is a directory, everything below it,
    /// parents before their content, names in byte order. Sockets are skipped (as Docker
    /// does); device nodes are refused. An error of `visit` ends the walk as
    /// [`ContextError::Io`] (what: "copying").
    pub fn walk(
        &self,
        src: &str,
        visit: &mut dyn FnMut(Entry) -> io::Result<()>,
    ) -> Result<(), ContextError> {
        let fd = self
            .root
            .open_at(Path::new(src), OFlag::O_PATH, self.scope)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::EXDEV) => ContextError::Outside { src: src.into() },
                _ => ContextError::Io {
                    src: src.into(),
                    what: "open",
                    path: self.shown.join(src.trim_start_matches('/')),
                    source: e,
                },
            })?;
        let walker = Walker {
            src,
            shown: self.shown.join(src.trim_start_matches('/')),
        };
        walker.node(fd, Path::new(""), visit)
    }
}

struct Walker<'s> {
    src: &'s str,
    /// The source as the host names it, for messages.
    shown: PathBuf,
}

impl Walker<'_> {
    fn io(&self, what: &'static str, rel: &Path, source: io::Error) -> ContextError {
        ContextError::Io {
            src: self.src.into(),
            what,
            path: self.shown.join(rel),
            source,
        }
    }

    /// `fd` is an O_PATH descriptor of the entry at `rel` (a symlink itself, when it is one).
    fn node(
        &self,
        fd: OwnedFd,
        rel: &Path,
        visit: &mut dyn FnMut(Entry) -> io::Result<()>,
    ) -> Result<(), ContextError> {
        let meta = File::from(fd.try_clone().map_err(|e| self.io("stat", rel, e))?)
            .metadata()
            .map_err(|e| self.io("stat", rel, e))?;
        let kind = meta.file_type();
        let mode = meta.mode() & 0o7777;
        let mtime = meta.mtime();
        let entry = |node| Entry {
            rel,
            mode,
            mtime,
            node,
        };
        let copying = |e| self.io("copying", rel, e);
        if kind.is_symlink() {
            let target = readlinkat(&fd, "").map_err(|e| self.io("read link", rel, e.into()))?;
            visit(entry(Node::Symlink(target.into()))).map_err(copying)
        } else if kind.is_file() {
            // The very file examined, opened for reading through its descriptor.
            let mut file = File::open(format!("/proc/self/fd/{}", fd.as_raw_fd()))
                .map_err(|e| self.io("open", rel, e))?;
            visit(entry(Node::File(&mut file, meta.len()))).map_err(copying)
        } else if kind.is_fifo() {
            visit(entry(Node::Fifo)).map_err(copying)
        } else if kind.is_socket() {
            Ok(())
        } else if kind.is_dir() {
            visit(entry(Node::Dir)).map_err(copying)?;
            self.children(&fd, rel, visit)
        } else {
            Err(ContextError::Device {
                src: self.src.into(),
                path: self.shown.join(rel),
                kind: kind_name(&kind),
            })
        }
    }

    fn children(
        &self,
        dir: &OwnedFd,
        rel: &Path,
        visit: &mut dyn FnMut(Entry) -> io::Result<()>,
    ) -> Result<(), ContextError> {
        let list = |e: nix::Error| self.io("list", rel, e.into());
        let mut d = nix::dir::Dir::openat(
            dir.as_fd(),
            ".",
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(list)?;
        let mut names = Vec::new();
        for e in d.iter() {
            let name = e.map_err(list)?.file_name().to_bytes().to_vec();
            if name != b"." && name != b".." {
                names.push(name);
            }
        }
        names.sort();
        for name in names {
            let name = std::ffi::OsStr::from_bytes(&name);
            let child = rel.join(name);
            let fd = openat(
                dir.as_fd(),
                name,
                OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| self.io("open", &child, e.into()))?;
            self.node(fd, &child, visit)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::fs::symlink;

    /// Every entry as (rel, kind, content or target).
    fn listing(ctx: &Context, src: &str) -> Result<Vec<(String, String)>, ContextError> {
        let mut out = Vec::new();
        ctx.walk(src, &mut |e| {
            let what = match e.node {
                Node::Dir => "dir".to_string(),
                Node::File(f, _) => {
                    let mut s = String::new();
                    f.read_to_string(&mut s)?;
                    format!("file {s}")
                }
                Node::Symlink(t) => format!("link {}", t.display()),
                Node::Fifo => "fifo".into(),
            };
            out.push((e.rel.display().to_string(), what));
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn links_below_a_source_are_reported_not_followed() {
        let t = tempfile::tempdir().unwrap();
        let ctx = t.path().join("ctx");
        std::fs::create_dir_all(ctx.join("src/sub")).unwrap();
        std::fs::write(ctx.join("src/sub/f"), "data").unwrap();
        symlink("/etc", ctx.join("src/etc")).unwrap();
        nix::unistd::mkfifo(&ctx.join("src/pipe"), Mode::from_bits_truncate(0o644)).unwrap();
        let c = Context::open(&ctx).unwrap();
        assert_eq!(
            listing(&c, "src").unwrap(),
            [
                ("", "dir"),
                ("etc", "link /etc"),
                ("pipe", "fifo"),
                ("sub", "dir"),
                ("sub/f", "file data"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
    }

    #[test]
    fn sources_outside_the_context_are_refused() {
        let t = tempfile::tempdir().unwrap();
        let ctx = t.path().join("ctx");
        std::fs::create_dir_all(&ctx).unwrap();
        std::fs::write(t.path().join("secret"), "s").unwrap();
        symlink(t.path().join("secret"), ctx.join("abs")).unwrap();
        symlink("../secret", ctx.join("rel")).unwrap();
        std::fs::write(ctx.join("inside"), "i").unwrap();
        symlink("inside", ctx.join("ok")).unwrap();
        let c = Context::open(&ctx).unwrap();
        for src in ["../secret", "abs", "rel", "/../secret"] {
            let e = listing(&c, src).unwrap_err().to_string();
            assert_eq!(
                e,
                format!("COPY source {src:?} is outside the build context")
            );
        }
        // A named source that links inside the context is followed, as Docker does.
        assert_eq!(
            listing(&c, "ok").unwrap(),
            [("".to_string(), "file i".to_string())]
        );
        let e = listing(&c, "missing").unwrap_err().to_string();
        assert!(
            e.contains("\"missing\"") && e.contains("No such file"),
            "{e}"
        );
    }
}
