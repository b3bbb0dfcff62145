//! Private files, done once: directories 0700, files 0600, refusal of files others can read,
//! exclusive locks, and atomic replacement (temp file + fsync + rename + directory fsync).
//!
//! Everything tokenvault writes goes through [`atomic_write`], so a process killed mid-write or a full
//! disk leaves either the old file or the new one, never a torn one.

use crate::StoreError;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

#[cfg(unix)]
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};

/// Creates `dir` (and parents) with mode 0700, and tightens an existing one we own that is wider.
pub fn ensure_private_dir(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        if !dir.exists() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| StoreError::io("creating directory", dir, e))?;
        }
        let meta = fs::metadata(dir).map_err(|e| StoreError::io("reading", dir, e))?;
        if meta.permissions().mode() & 0o077 != 0 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| StoreError::io("restricting permissions of", dir, e))?;
        }
    }
    #[cfg(not(unix))]
    fs::create_dir_all(dir).map_err(|e| StoreError::io("creating directory", dir, e))?;
    Ok(())
}

/// Refuses a file that group or others can read or write. A missing file is fine.
pub fn check_private_file(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        match fs::metadata(path) {
            Ok(meta) => {
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(StoreError::InsecurePermissions {
                        path: path.to_owned(),
                        mode,
                    });
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io("reading", path, e)),
        }
    }
    let _ = path;
    Ok(())
}

/// Reads a private file: `Ok(None)` when it does not exist, an error when others can read it.
pub fn read_private(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    check_private_file(path)?;
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io("reading", path, e)),
    }
}

/// An exclusive advisory lock on a lock file beside the data; released on drop.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
    path: PathBuf,
}

impl FileLock {
    /// Blocks until the lock at `path` is ours. The lock file is created 0600 and never removed
    /// (removing it would let two processes lock two different files).
    pub fn exclusive(path: &Path) -> Result<FileLock, StoreError> {
        let file = open_lock_file(path)?;
        file.lock()
            .map_err(|e| StoreError::io("locking", path, e))?;
        Ok(FileLock {
            _file: file,
            path: path.to_owned(),
        })
    }

    /// A shared lock: readers exclude writers, not each other.
    pub fn shared(path: &Path) -> Result<FileLock, StoreError> {
        let file = open_lock_file(path)?;
        file.lock_shared()
            .map_err(|e| StoreError::io("locking", path, e))?;
        Ok(FileLock {
            _file: file,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn open_lock_file(path: &Path) -> Result<File, StoreError> {
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    opts.mode(0o600);
    opts.open(path)
        .map_err(|e| StoreError::io("opening lock file", path, e))
}

/// Replaces `path` with `bytes` atomically, mode 0600.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    atomic_write_with(path, |w| w.write_all(bytes))
}

/// Replaces `path` atomically with what `fill` writes. On any error — including a full disk while
/// writing or syncing — the temporary file is removed and `path` is untouched.
pub fn atomic_write_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), StoreError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let (tmp_path, file) = create_temp(dir, &name)?;
    let result = (|| -> io::Result<()> {
        let mut writer = io::BufWriter::new(&file);
        fill(&mut writer)?;
        writer.flush()?;
        drop(writer);
        file.sync_all()
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp_path);
        return Err(StoreError::io("writing", path, e));
    }
    drop(file);
    if let Err(e) = fs::rename(&tmp_path, path) {
        let _ = fs::remove_file(&tmp_path);
        return Err(StoreError::io("replacing", path, e));
    }
    sync_dir(dir);
    Ok(())
}

fn create_temp(dir: &Path, name: &str) -> Result<(PathBuf, File), StoreError> {
    for attempt in 0..100u32 {
        let mut rnd = [0u8; 6];
        getrandom::getrandom(&mut rnd).map_err(|e| StoreError::Backend {
            backend: "file",
            message: format!("no randomness for a temporary name: {e}"),
        })?;
        let suffix: String = rnd.iter().map(|b| format!("{b:02x}")).collect();
        let tmp = dir.join(format!(".{name}.{suffix}.tmp"));
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        opts.mode(0o600).custom_flags(libc::O_NOFOLLOW);
        match opts.open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 99 => continue,
            Err(e) => return Err(StoreError::io("creating temporary file in", dir, e)),
        }
    }
    Err(StoreError::io(
        "creating temporary file in",
        dir,
        io::Error::other("too many name collisions"),
    ))
}

/// Removes temporary files that writers of `path` left behind when they were killed. Call it only
/// while holding the lock that every writer of `path` takes: then no live writer owns one.
pub fn remove_stale_temps(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            let n = e.file_name();
            let n = n.to_string_lossy();
            if n.starts_with(&prefix) && n.ends_with(".tmp") {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}

/// Makes the rename durable. Best effort: some filesystems cannot fsync a directory.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_creates_0600_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        atomic_write(&p, b"one").unwrap();
        atomic_write(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        #[cfg(unix)]
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[test]
    fn failing_writer_leaves_previous_content_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("vault");
        atomic_write(&p, b"previous").unwrap();
        let err = atomic_write_with(&p, |w| {
            w.write_all(b"half")?;
            Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "No space left on device",
            ))
        })
        .unwrap_err();
        assert!(err.to_string().contains("No space left"), "{err}");
        assert_eq!(fs::read(&p).unwrap(), b"previous");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn stale_temps_of_killed_writers_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("vault.age");
        atomic_write(&p, b"v").unwrap();
        fs::write(dir.path().join(".vault.age.0123456789ab.tmp"), b"half").unwrap();
        fs::write(dir.path().join(".index.json.0123456789ab.tmp"), b"other").unwrap();
        remove_stale_temps(&p);
        let mut names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [".index.json.0123456789ab.tmp", "vault.age"]);
    }

    #[cfg(unix)]
    #[test]
    fn world_readable_file_is_refused_with_fix() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("index.json");
        fs::write(&p, "{}").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        let e = read_private(&p).unwrap_err();
        assert!(matches!(
            e,
            StoreError::InsecurePermissions { mode: 0o644, .. }
        ));
        assert!(e.hint().unwrap().contains("chmod 600"));
        assert!(read_private(&dir.path().join("missing")).unwrap().is_none());
    }

    #[cfg(unix)]
    #[test]
    fn private_dir_is_0700() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("a/b");
        ensure_private_dir(&d).unwrap();
        assert_eq!(
            fs::metadata(&d).unwrap().permissions().mode() & 0o777,
            0o700
        );
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
        ensure_private_dir(&d).unwrap();
        assert_eq!(
            fs::metadata(&d).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }
}
