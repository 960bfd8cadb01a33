//! Reading the files a user points at: every source, spec, incidents file
//! and import input goes through [`read`], which reads only regular files
//! and never more than a cap.
//!
//! A path may name a FIFO (opening it blocks until a writer appears), a
//! device (`/dev/zero` never ends), or a file far larger than any source.
//! [`read`] checks the type before opening, opens without blocking, checks
//! the type again on the opened handle (the path may have been swapped in
//! between), and reads at most `limit + 1` bytes to tell "exactly the
//! limit" from "over it".

use crate::error::Error;
use std::io::Read;
use std::path::Path;

/// The most one source or spec file may hold (8 MiB): ten times the
/// largest real-world input we know of, and small enough that reading,
/// parsing and reporting stay fast and bounded.
pub(crate) const MAX_FILE_BYTES: u64 = 8 << 20;

/// Why a file was not read.
#[derive(Debug)]
pub enum ReadError {
    /// Not a regular file: `kind` is "a directory", "a FIFO", …
    NotAFile {
        kind: &'static str,
    },
    /// More than `limit` bytes.
    TooLarge {
        limit: u64,
    },
    Io(std::io::Error),
}

impl ReadError {
    /// A short reason for a sentence about `path` (also used in import diagnostics).
    pub(crate) fn reason(&self) -> String {
        match self {
            ReadError::NotAFile { kind } => format!("it is {kind}, not a regular file"),
            ReadError::TooLarge { limit } => {
                format!("it is larger than {}, the limit for one input file", size(*limit))
            }
            ReadError::Io(e) => e.to_string(),
        }
    }

    /// The stable code of this problem.
    pub fn code(&self) -> &'static str {
        match self {
            ReadError::NotAFile { .. } => NOT_A_FILE,
            ReadError::TooLarge { .. } => TOO_LARGE,
            ReadError::Io(_) => "slo::io",
        }
    }

    /// An exit-2 error about a path the user named (`what` says what the
    /// file is for, e.g. "--incidents: " or "").
    pub(crate) fn into_io_error(self, what: &str, path: &Path) -> Error {
        let message = format!("{what}cannot read {}: {}", path.display(), self.reason());
        match self {
            ReadError::NotAFile { .. } => {
                Error::coded(NOT_A_FILE, message, "name a regular file; slo does not read FIFOs, sockets or devices")
            }
            ReadError::TooLarge { .. } => Error::coded(
                TOO_LARGE,
                message,
                "split the file into several smaller ones (.slo files can import each other)",
            ),
            ReadError::Io(_) => Error::new(message),
        }
    }
}

pub(crate) const NOT_A_FILE: &str = "slo::input::not_a_file";
pub(crate) const TOO_LARGE: &str = "slo::input::too_large";

/// `8 MiB`, `512 KiB`, `100 bytes`.
pub fn size(n: u64) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

/// What one file or directory is, whatever it is called: (device, inode).
/// Walks track it to visit a directory once however many links lead to it.
pub fn identity(meta: &std::fs::Metadata, _path: &Path) -> (u64, u64) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (meta.dev(), meta.ino())
    }
    #[cfg(not(unix))]
    {
        use std::hash::{Hash, Hasher};
        let _ = meta;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        std::fs::canonicalize(_path).unwrap_or_else(|_| _path.to_path_buf()).hash(&mut h);
        (0, h.finish())
    }
}

/// What kind of file this is, for messages.
pub fn kind(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
    }
    if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// Reads the regular file at `path` (symlinks followed) if it holds at most
/// `limit` bytes.
pub fn read(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let (file, len) = open(path)?;
    if len > limit {
        return Err(ReadError::TooLarge { limit });
    }
    // The size may change while reading: never read more than limit + 1.
    let mut buf = Vec::with_capacity(len as usize + 1);
    file.take(limit + 1).read_to_end(&mut buf).map_err(ReadError::Io)?;
    if buf.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(buf)
}

/// Opens the regular file at `path` (symlinks followed) for reading, with
/// its length, without ever blocking on a FIFO or opening a device: for
/// inputs read by other means (Parquet footers) and streamed, uncapped ones.
pub fn open(path: &Path) -> Result<(std::fs::File, u64), ReadError> {
    // Before opening: opening a FIFO for reading waits for a writer, and
    // opening a device may have effects of its own.
    let meta = std::fs::metadata(path).map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotAFile { kind: kind(&meta.file_type()) });
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        // If the path became a FIFO since, the open returns at once and the
        // handle's metadata below refuses it.
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options.open(path).map_err(ReadError::Io)?;
    // The metadata of what was opened, not of the path.
    let meta = file.metadata().map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotAFile { kind: kind(&meta.file_type()) });
    }
    Ok((file, meta.len()))
}

/// [`open`] as a plain `std::io` result (a FIFO or device is an error of
/// kind `InvalidInput`), for readers that speak `std::io`.
pub(crate) fn open_io(path: &Path) -> std::io::Result<std::fs::File> {
    match open(path) {
        Ok((f, _)) => Ok(f),
        Err(ReadError::Io(e)) => Err(e),
        Err(e) => Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, e.reason())),
    }
}

/// The whole regular file at `path`, uncapped (files slo wrote itself),
/// never blocking on a FIFO: [`open_io`] then read.
pub(crate) fn read_io(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    open_io(path)?.read_to_end(&mut buf)?;
    Ok(buf)
}

/// [`read`] with the default cap, for a path named on the command line:
/// failures are exit-2 errors that say what the file was for.
pub fn read_named(what: &str, path: &Path) -> Result<Vec<u8>, Error> {
    read(path, MAX_FILE_BYTES).map_err(|e| e.into_io_error(what, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_regular_files_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.slo");
        std::fs::write(&p, b"0123456789").unwrap();
        assert_eq!(read(&p, 10).unwrap(), b"0123456789");
        assert!(matches!(read(&p, 9), Err(ReadError::TooLarge { limit: 9 })));
        assert!(matches!(read(dir.path(), 10), Err(ReadError::NotAFile { kind: "a directory" })));
        #[cfg(unix)]
        assert!(matches!(read(Path::new("/dev/zero"), 10), Err(ReadError::NotAFile { kind: "a character device" })));
        assert_eq!(size(8 << 20), "8 MiB");
        assert_eq!(size(100), "100 bytes");
    }
}
