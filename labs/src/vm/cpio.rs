//! The newc ("SVR4 with no CRC") cpio format, as the kernel's initramfs unpacker reads it
//! (Documentation/driver-api/early-userspace/buffer-format.rst): a 110-byte ASCII header,
//! the NUL-terminated name, padding to 4, the data, padding to 4; `TRAILER!!!` ends it.

use std::io::{self, Write};

/// Writes entries one after another; [`Writer::finish`] writes the trailer.
pub struct Writer<W: Write> {
    out: W,
    ino: u32,
    written: u64,
}

/// The kind of an entry and what it holds.
pub enum Entry<'a> {
    Dir,
    File(&'a [u8]),
    Symlink(&'a str),
    /// A character device node (major, minor).
    CharDev(u32, u32),
}

impl<W: Write> Writer<W> {
    pub fn new(out: W) -> Self {
        Writer {
            out,
            ino: 1,
            written: 0,
        }
    }

    /// One entry named `name` (relative, no leading `/`), with permission bits `perm`.
    pub fn add(&mut self, name: &str, perm: u32, entry: Entry<'_>) -> io::Result<()> {
        let (kind, data, rdev): (u32, &[u8], _) = match entry {
            Entry::Dir => (0o040000, &[], (0, 0)),
            Entry::File(d) => (0o100000, d, (0, 0)),
            Entry::Symlink(t) => (0o120000, t.as_bytes(), (0, 0)),
            Entry::CharDev(maj, min) => (0o020000, &[], (maj, min)),
        };
        let name = name.trim_start_matches('/');
        self.header(name, kind | (perm & 0o7777), data.len(), rdev)?;
        self.put(data)?;
        self.pad()
    }

    fn header(&mut self, name: &str, mode: u32, size: usize, rdev: (u32, u32)) -> io::Result<()> {
        let nlink = if mode & 0o170000 == 0o040000 { 2 } else { 1 };
        let size = u32::try_from(size)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "newc: a file over 4 GiB"))?;
        let ino = self.ino;
        self.ino += 1;
        let head = format!(
            "070701{ino:08x}{mode:08x}{uid:08x}{gid:08x}{nlink:08x}{mtime:08x}{size:08x}\
             {maj:08x}{min:08x}{rmaj:08x}{rmin:08x}{namesize:08x}{check:08x}",
            uid = 0,
            gid = 0,
            mtime = 0,
            maj = 0,
            min = 0,
            rmaj = rdev.0,
            rmin = rdev.1,
            namesize = name.len() + 1,
            check = 0,
        );
        self.put(head.as_bytes())?;
        self.put(name.as_bytes())?;
        self.put(&[0])?;
        self.pad()
    }

    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.out.write_all(b)?;
        self.written += b.len() as u64;
        Ok(())
    }

    fn pad(&mut self) -> io::Result<()> {
        let n = (4 - (self.written % 4) as usize) % 4;
        self.put(&[0; 3][..n])
    }

    /// Writes the trailer and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.header("TRAILER!!!", 0, 0, (0, 0))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_aligned_and_end_with_the_trailer() {
        let mut w = Writer::new(Vec::new());
        w.add("bin", 0o755, Entry::Dir).unwrap();
        w.add("bin/hello", 0o644, Entry::File(b"hi\n")).unwrap();
        w.add("sh", 0o777, Entry::Symlink("bin/busybox")).unwrap();
        let out = w.finish().unwrap();
        assert_eq!(out.len() % 4, 0);
        assert!(out.starts_with(b"070701"));
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("bin/hello\0"));
        assert!(text.contains("hi\n"));
        assert!(text.contains("TRAILER!!!\0"));
        // The second header starts on a 4-byte boundary.
        let second = text
            .find("070701")
            .map(|_| text[6..].find("070701").unwrap() + 6);
        assert_eq!(second.unwrap() % 4, 0);
    }

    #[test]
    fn the_kernel_format_is_readable_by_cpio() {
        // busybox cpio (busybox-static, which the VM carries anyway) lists what we wrote.
        let mut w = Writer::new(Vec::new());
        w.add("a", 0o755, Entry::Dir).unwrap();
        w.add("a/b", 0o600, Entry::File(b"12345")).unwrap();
        let out = w.finish().unwrap();
        let mut child = std::process::Command::new("busybox")
            .args(["cpio", "-t"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("busybox (busybox-static) is installed");
        child.stdin.take().unwrap().write_all(&out).unwrap();
        let listed = child.wait_with_output().unwrap();
        assert_eq!(String::from_utf8_lossy(&listed.stdout), "a\na/b\n");
    }
}
