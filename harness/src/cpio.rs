//! A newc ("070701") cpio writer: the format of Linux's initramfs.
//!
//! The benchmark guest's initramfs (see [`crate::go`]) holds a few
//! directories, two device nodes, `/init` and Go's test binaries. Writing the
//! archive ourselves keeps the harness free of a `cpio` tool and makes the
//! archive reproducible: every timestamp and owner is zero, and inode numbers
//! count up from 1 in the order entries are written.
//!
//! The format, as the kernel reads it (`init/initramfs.c`):
//!
//! 1. Each entry is a 110-byte ASCII header: the magic `070701`, then 13
//!    fields of 8 hexadecimal digits: ino, mode, uid, gid, nlink, mtime,
//!    filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check.
//!    `mode` carries the file type (`S_IFDIR`, `S_IFREG`, `S_IFCHR`) and the
//!    permission bits; `rdevmajor`/`rdevminor` are a device node's numbers;
//!    `namesize` counts the name's terminating NUL; `check` is 0 for newc.
//! 2. The header is followed by the name and its NUL, then zero bytes up to
//!    the next multiple of 4 (counted from the start of the archive).
//! 3. Then the file's data, again zero-padded to a multiple of 4.
//! 4. The archive ends with an entry named `TRAILER!!!` (mode 0, nlink 1,
//!    no data).
//!
//! Invariants: every header starts at an offset that is a multiple of 4, and
//! so does the end of the archive; names are relative paths (`dev/console`,
//! not `/dev/console`) without NUL bytes, and a directory is written before
//! anything inside it (the kernel creates entries in archive order).
//! Hard links are never written: every `nlink` is 1, except 2 for a
//! directory, so the kernel's hard-link table is never consulted.
//!
//! What could go wrong: the fields are 32 bits, so a file of 4 GiB or more
//! cannot be stored; [`Writer::file`] refuses it (and a bad name, or
//! permission bits beyond `0o7777`) with `InvalidInput` rather than writing a
//! corrupt archive. The archive is uncompressed, which Linux accepts as is.
use std::io::{self, Write};

/// The newc magic that starts every header.
const MAGIC: &str = "070701";

/// The name of the entry that ends an archive.
pub const TRAILER: &str = "TRAILER!!!";

/// File types, as in `<sys/stat.h>`.
const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFCHR: u32 = 0o020000;

/// The length of a header: the magic and 13 eight-digit fields.
const HEADER_LEN: usize = 6 + 13 * 8;

/// Writes a newc archive entry by entry to `out`; [`Writer::finish`] adds
/// the trailer.
pub struct Writer<W: Write> {
    out: W,
    /// Bytes written so far: the padding is counted from the archive's start.
    offset: u64,
    /// The inode number of the next entry.
    next_ino: u32,
}

/// The fields of one header that vary between entries.
struct Header {
    ino: u32,
    mode: u32,
    nlink: u32,
    filesize: u32,
    rdev: (u32, u32),
}

impl<W: Write> Writer<W> {
    pub fn new(out: W) -> Self {
        Writer { out, offset: 0, next_ino: 1 }
    }

    /// Adds a directory with permission bits `perm` (e.g. `0o755`).
    pub fn dir(&mut self, name: &str, perm: u32) -> io::Result<()> {
        self.entry(name, S_IFDIR, perm, 2, (0, 0), &[])
    }

    /// Adds a regular file holding `data`.
    pub fn file(&mut self, name: &str, perm: u32, data: &[u8]) -> io::Result<()> {
        self.entry(name, S_IFREG, perm, 1, (0, 0), data)
    }

    /// Adds a character device node `major:minor` (`/dev/console` is 5:1).
    pub fn char_device(&mut self, name: &str, perm: u32, major: u32, minor: u32) -> io::Result<()> {
        self.entry(name, S_IFCHR, perm, 1, (major, minor), &[])
    }

    /// Writes the trailer and returns the output, flushed.
    pub fn finish(mut self) -> io::Result<W> {
        let header = Header { ino: 0, mode: 0, nlink: 1, filesize: 0, rdev: (0, 0) };
        self.write_entry(&header, TRAILER, &[])?;
        self.out.flush()?;
        Ok(self.out)
    }

    /// Checks an entry's name and bits, then writes it with the next inode number.
    fn entry(&mut self, name: &str, kind: u32, perm: u32, nlink: u32, rdev: (u32, u32), data: &[u8]) -> io::Result<()> {
        if name.is_empty() || name.starts_with('/') || name.contains('\0') || name == TRAILER {
            return Err(invalid(format!("cpio: bad entry name {name:?}: want a relative path")));
        }
        if perm & !0o7777 != 0 {
            return Err(invalid(format!("cpio: {name}: permission bits {perm:o} beyond 0o7777")));
        }
        let filesize = u32::try_from(data.len())
            .map_err(|_| invalid(format!("cpio: {name}: {} bytes do not fit newc's 32-bit size", data.len())))?;
        let header = Header { ino: self.next_ino, mode: kind | perm, nlink, filesize, rdev };
        self.next_ino += 1;
        self.write_entry(&header, name, data)
    }

    /// Writes header, name, data and the padding after each (steps 1 to 3).
    fn write_entry(&mut self, header: &Header, name: &str, data: &[u8]) -> io::Result<()> {
        let fields = [
            header.ino,
            header.mode,
            0, // uid
            0, // gid
            header.nlink,
            0, // mtime
            header.filesize,
            0, // devmajor
            0, // devminor
            header.rdev.0,
            header.rdev.1,
            name.len() as u32 + 1,
            0, // check
        ];
        let mut text = String::with_capacity(HEADER_LEN + name.len() + 1);
        text.push_str(MAGIC);
        for field in fields {
            text.push_str(&format!("{field:08X}"));
        }
        text.push_str(name);
        text.push('\0');
        self.write(text.as_bytes())?;
        self.pad()?;
        self.write(data)?;
        self.pad()
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    /// Zero bytes up to the next multiple of 4.
    fn pad(&mut self) -> io::Result<()> {
        let zeros = [0u8; 3];
        let len = (4 - self.offset % 4) % 4;
        self.write(&zeros[..len as usize])
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::process::{Command, Stdio};

    /// One entry as read back: name, mode, nlink, rdev, data.
    #[derive(Debug, PartialEq)]
    struct Parsed {
        name: String,
        mode: u32,
        nlink: u32,
        rdev: (u32, u32),
        data: Vec<u8>,
    }

    /// Reads an archive back, checking the magic and the alignment of every
    /// header, name and data on the way; stops after the trailer.
    fn parse(archive: &[u8]) -> Vec<Parsed> {
        let mut entries = Vec::new();
        let mut at = 0;
        loop {
            assert_eq!(at % 4, 0, "header at {at} is not 4-aligned");
            assert_eq!(&archive[at..at + 6], MAGIC.as_bytes());
            let field = |i: usize| {
                let digits = std::str::from_utf8(&archive[at + 6 + i * 8..at + 14 + i * 8]).unwrap();
                u32::from_str_radix(digits, 16).unwrap()
            };
            let (namesize, filesize) = (field(11) as usize, field(6) as usize);
            let name_start = at + HEADER_LEN;
            let name_end = name_start + namesize;
            assert_eq!(archive[name_end - 1], 0, "name is NUL-terminated");
            let name = String::from_utf8(archive[name_start..name_end - 1].to_vec()).unwrap();
            let data_start = name_end.next_multiple_of(4);
            let data_end = data_start + filesize;
            let next = data_end.next_multiple_of(4);
            assert!(archive[name_end..data_start].iter().all(|&b| b == 0), "name padding is zero");
            assert!(archive[data_end..next].iter().all(|&b| b == 0), "data padding is zero");
            let entry = Parsed {
                name,
                mode: field(1),
                nlink: field(4),
                rdev: (field(9), field(10)),
                data: archive[data_start..data_end].to_vec(),
            };
            let done = entry.name == TRAILER;
            entries.push(entry);
            at = next;
            if done {
                assert_eq!(at, archive.len(), "nothing after the trailer");
                return entries;
            }
        }
    }

    fn sample() -> Vec<u8> {
        let mut w = Writer::new(Vec::new());
        w.dir("dev", 0o755).unwrap();
        w.char_device("dev/console", 0o600, 5, 1).unwrap();
        w.file("init", 0o755, b"#!").unwrap();
        w.file("abcde", 0o644, b"hello").unwrap();
        w.file("empty", 0o644, b"").unwrap();
        w.finish().unwrap()
    }

    #[test]
    fn header_bytes_are_exact() {
        let mut w = Writer::new(Vec::new());
        w.file("a", 0o644, b"hi").unwrap();
        let archive = w.finish().unwrap();
        let expected = concat!(
            "070701", "00000001", // ino
            "000081A4", // mode: S_IFREG | 0o644
            "00000000", "00000000", // uid, gid
            "00000001", // nlink
            "00000000", // mtime
            "00000002", // filesize
            "00000000", "00000000", "00000000", "00000000", // devmajor/minor, rdevmajor/minor
            "00000002", // namesize: "a" and its NUL
            "00000000", // check
        );
        assert_eq!(&archive[..HEADER_LEN], expected.as_bytes());
        // 110 + 2 = 112 is aligned: no name padding; "hi" takes two bytes of padding.
        assert_eq!(&archive[HEADER_LEN..HEADER_LEN + 6], b"a\0hi\0\0");
    }

    #[test]
    fn device_numbers_and_types_are_in_the_header() {
        let entries = parse(&sample());
        assert_eq!(entries[0].mode, S_IFDIR | 0o755);
        assert_eq!(entries[0].nlink, 2);
        assert_eq!(entries[1].mode, S_IFCHR | 0o600);
        assert_eq!(entries[1].rdev, (5, 1));
        assert_eq!(entries[2].mode, S_IFREG | 0o755);
        assert_eq!(entries[2].data, b"#!");
    }

    #[test]
    fn every_header_and_the_end_are_aligned() {
        // `parse` asserts the alignment of each header, the zero padding and the end.
        let archive = sample();
        assert_eq!(archive.len() % 4, 0);
        let names: Vec<String> = parse(&archive).into_iter().map(|e| e.name).collect();
        assert_eq!(names, ["dev", "dev/console", "init", "abcde", "empty", TRAILER]);
        // Every name length from 1 to 8 against every data length from 0 to 8.
        for name_len in 1..=8 {
            let mut w = Writer::new(Vec::new());
            for data_len in 0..=8 {
                let name = format!("{}{data_len}", "n".repeat(name_len));
                w.file(&name, 0o644, &vec![0xaa; data_len]).unwrap();
            }
            let archive = w.finish().unwrap();
            let data: Vec<usize> = parse(&archive).iter().map(|e| e.data.len()).collect();
            assert_eq!(data, [0, 1, 2, 3, 4, 5, 6, 7, 8, 0]);
        }
    }

    #[test]
    fn trailer_ends_the_archive() {
        let archive = Writer::new(Vec::new()).finish().unwrap();
        let mut expected = String::from("070701");
        for field in [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 11, 0] {
            expected.push_str(&format!("{field:08X}"));
        }
        expected.push_str("TRAILER!!!\0");
        // 110 + 11 = 121 bytes, padded to 124.
        assert_eq!(archive, [expected.as_bytes(), &[0, 0, 0]].concat());
    }

    #[test]
    fn bad_entries_are_refused() {
        let mut w = Writer::new(Vec::new());
        for name in ["", "/init", "a\0b", TRAILER] {
            assert_eq!(w.file(name, 0o644, b"").unwrap_err().kind(), io::ErrorKind::InvalidInput, "{name:?}");
        }
        assert!(w.dir("d", 0o10755).is_err());
        // Nothing was written by the refused entries.
        assert_eq!(w.finish().unwrap().len(), 124);
    }

    /// Round trip through GNU cpio, when it is installed (`apt-get install cpio`).
    #[test]
    fn gnu_cpio_lists_the_archive() {
        let child =
            Command::new("cpio").arg("-itv").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn();
        let Ok(mut child) = child else {
            eprintln!("cpio not installed: skipping the round trip");
            return;
        };
        child.stdin.take().unwrap().write_all(&sample()).unwrap();
        let mut listing = String::new();
        child.stdout.take().unwrap().read_to_string(&mut listing).unwrap();
        assert!(child.wait().unwrap().success(), "cpio -itv failed:\n{listing}");
        let lines: Vec<&str> = listing.lines().collect();
        assert_eq!(lines.len(), 5, "{listing}");
        assert!(lines[0].starts_with("drwxr-xr-x") && lines[0].ends_with(" dev"), "{listing}");
        assert!(lines[1].starts_with("crw-------") && lines[1].contains("5,") && lines[1].ends_with(" dev/console"));
        assert!(lines[3].starts_with("-rw-r--r--") && lines[3].contains(" 5 ") && lines[3].ends_with(" abcde"));
    }
}
