//! COPY (and ADD of local files): the sources, read from the build context, become one tar
//! stream that the image layer's own unpacker writes into the new layer.
//!
//! Why a tar stream: the unpacker already does what writing into a layer must — every parent
//! a real directory of the layer (never a symlink, not even one this very COPY made), files
//! created `O_EXCL|O_NOFOLLOW` after removing what was there, no chmod/chown through a link.
//! Writing with it, a first source cannot plant a symlink that a second writes through (`COPY
//! a b /out/` with `a/evil -> /host/file` and a file `b/evil`: the file replaces the link, as in
//! Docker). One discipline, one piece of code, for layers loaded and layers built.

use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use tar::{EntryType, Header};

use super::context::{Context, ContextError, Entry, Node};

/// Why a COPY failed: the source side, or the layer side (the unpacker's refusal, naming the
/// entry).
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(transparent)]
    Source(#[from] ContextError),
    #[error(transparent)]
    Layer(#[from] hull_image::ImageError),
    #[error("--chown={0}: use numeric UID[:GID]")]
    Chown(String),
    #[error("copying into the layer: {0}")]
    Stream(io::Error),
}

/// What one COPY instruction asks for.
pub struct CopyArgs<'a> {
    pub srcs: &'a [String],
    pub dest: &'a str,
    /// The image's WORKDIR, for a relative `dest`.
    pub workdir: &'a str,
    pub chown: Option<&'a str>,
}

/// `--chown=UID[:GID]` (numeric only); a lone UID is also the GID, as Docker takes it.
pub fn parse_chown(c: &str) -> Result<(u32, u32), CopyError> {
    let (u, g) = c.split_once(':').unwrap_or((c, c));
    match (u.parse(), g.parse()) {
        (Ok(u), Ok(g)) => Ok((u, g)),
        _ => Err(CopyError::Chown(c.into())),
    }
}

/// The destination as a path relative to the layer root, cleaned lexically (`..` stops at
/// the root, as it does inside the container).
pub fn dest_in_layer(dest: &str, workdir: &str) -> PathBuf {
    let abs = Path::new(workdir).join(dest);
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// COPY's rules: a directory source copies its contents into the destination; several
/// sources or a destination ending in `/` mean a directory; a relative destination is below
/// WORKDIR. Files are owned by 0:0 (or `--chown`) and keep their mode and mtime. `layer` is
/// the new, empty layer directory.
pub fn copy_into(ctx: &Context, a: &CopyArgs, layer: &Path) -> Result<(), CopyError> {
    let owner = a.chown.map(parse_chown).transpose()?.unwrap_or((0, 0));
    let target = dest_in_layer(a.dest, a.workdir);
    let as_dir = a.dest.ends_with('/') || a.srcs.len() > 1;
    let (reader, writer) = io::pipe().map_err(CopyError::Stream)?;
    std::thread::scope(|s| {
        let producer = s.spawn(move || write_tar(ctx, a, &target, as_dir, owner, writer));
        let unpacked = hull_image::unpack_layer(reader, layer, "of this COPY");
        let produced = producer.join().unwrap_or_else(|_| {
            Err(CopyError::Stream(io::Error::other(
                "the thread reading the build context panicked",
            )))
        });
        // The reader gives up first when the unpacker refuses an entry; the writer then only
        // sees a broken pipe, and the unpacker's error is the one that says why.
        match (produced, unpacked) {
            (Err(CopyError::Stream(e)), Err(layer)) if e.kind() == io::ErrorKind::BrokenPipe => {
                Err(layer.into())
            }
            (Err(e), _) => Err(e),
            (Ok(()), Err(e)) => Err(e.into()),
            (Ok(()), Ok(())) => Ok(()),
        }
    })
}

fn write_tar(
    ctx: &Context,
    a: &CopyArgs,
    target: &Path,
    as_dir: bool,
    owner: (u32, u32),
    out: impl Write,
) -> Result<(), CopyError> {
    let mut tar = tar::Builder::new(out);
    for src in a.srcs {
        // A directory source's content goes into the destination; anything else becomes the
        // destination, or a file in it named as the Dockerfile names the source.
        let name = Path::new(src).file_name().unwrap_or_default().to_owned();
        ctx.walk(src, &mut |e: Entry| {
            let path = if !e.rel.as_os_str().is_empty() || matches!(e.node, Node::Dir) {
                target.join(e.rel)
            } else if as_dir {
                target.join(&name)
            } else {
                target.to_path_buf()
            };
            append(&mut tar, &path, e, owner)
        })?;
    }
    tar.into_inner()
        .and_then(|mut w| w.flush())
        .map_err(CopyError::Stream)
}

fn append(
    tar: &mut tar::Builder<impl Write>,
    path: &Path,
    e: Entry,
    (uid, gid): (u32, u32),
) -> io::Result<()> {
    // The layer root itself is `.` in a tar.
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    let mut h = Header::new_gnu();
    h.set_mode(e.mode);
    h.set_uid(uid.into());
    h.set_gid(gid.into());
    h.set_mtime(e.mtime.max(0) as u64);
    h.set_size(0);
    match e.node {
        Node::Dir => {
            h.set_entry_type(EntryType::Directory);
            tar.append_data(&mut h, path, io::empty())
        }
        Node::Fifo => {
            h.set_entry_type(EntryType::Fifo);
            tar.append_data(&mut h, path, io::empty())
        }
        Node::Symlink(target) => {
            h.set_entry_type(EntryType::Symlink);
            tar.append_link(&mut h, path, target)
        }
        Node::File(file, size) => {
            h.set_entry_type(EntryType::Regular);
            h.set_size(size);
            tar.append_data(
                &mut h,
                path,
                Exactly {
                    inner: file,
                    left: size,
                },
            )
        }
    }
}

/// Exactly `left` bytes of a file whose size was taken when it was examined: one that shrank
/// meanwhile is an error, not a tar with a short entry (which would shift every later entry).
struct Exactly<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exactly<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(self.left as usize);
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file shrank while being copied",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_stay_below_the_layer_root() {
        assert_eq!(dest_in_layer("/out/", "/"), Path::new("out"));
        assert_eq!(dest_in_layer("x", "/app"), Path::new("app/x"));
        assert_eq!(dest_in_layer("../../../etc", "/app"), Path::new("etc"));
        assert_eq!(dest_in_layer("/a/../b/./c", "/"), Path::new("b/c"));
        assert_eq!(dest_in_layer("/", "/"), Path::new(""));
    }

    fn copy(ctx: &Path, srcs: &[&str], dest: &str, layer: &Path) -> Result<(), CopyError> {
        let srcs: Vec<String> = srcs.iter().map(|s| s.to_string()).collect();
        let args = CopyArgs {
            srcs: &srcs,
            dest,
            workdir: "/",
            chown: None,
        };
        copy_into(&Context::open(ctx).unwrap(), &args, layer)
    }

    #[test]
    fn a_later_source_replaces_an_earlier_link_never_writes_through_it() {
        use std::os::unix::fs::symlink;
        let t = tempfile::tempdir().unwrap();
        let (ctx, layer, host) = (
            t.path().join("ctx"),
            t.path().join("layer"),
            t.path().join("host"),
        );
        for d in [ctx.join("a"), ctx.join("b/d"), layer.clone(), host.clone()] {
            std::fs::create_dir_all(d).unwrap();
        }
        symlink(host.join("PWNED"), ctx.join("a/evil")).unwrap();
        symlink(&host, ctx.join("a/d")).unwrap();
        std::fs::write(ctx.join("b/evil"), "b").unwrap();
        std::fs::write(ctx.join("b/d/f"), "f").unwrap();
        copy(&ctx, &["a", "b"], "/out/", &layer).unwrap();
        assert_eq!(std::fs::read_dir(&host).unwrap().count(), 0);
        assert_eq!(
            std::fs::read_to_string(layer.join("out/evil")).unwrap(),
            "b"
        );
        assert_eq!(std::fs::read_to_string(layer.join("out/d/f")).unwrap(), "f");
    }

    #[test]
    fn refusals_name_the_entry() {
        let t = tempfile::tempdir().unwrap();
        let (ctx, layer) = (t.path().join("ctx"), t.path().join("layer"));
        std::fs::create_dir_all(ctx.join("a")).unwrap();
        std::fs::create_dir_all(&layer).unwrap();
        std::os::unix::fs::symlink("../../../etc", ctx.join("a/up")).unwrap();
        let e = copy(&ctx, &["a"], "/out/", &layer).unwrap_err().to_string();
        assert!(
            e.contains("\"out/up\"") && e.contains("climbs above"),
            "{e}"
        );
        let e = copy(&ctx, &["nope"], "/out/", &layer)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("COPY source \"nope\""), "{e}");
    }

    #[test]
    fn chown_is_numeric() {
        assert_eq!(parse_chown("1000").unwrap(), (1000, 1000));
        assert_eq!(parse_chown("1:2").unwrap(), (1, 2));
        assert_eq!(
            parse_chown("user").unwrap_err().to_string(),
            "--chown=user: use numeric UID[:GID]"
        );
    }
}
