//! Private files, done once: directories 0700, files 0600, refusal of files others can read,
//! exclusive locks, and atomic replacement (temp file + fsync + rename + directory fsync).
//!
//! Everything tokenvault writes goes through [`atomic_write`], so a process killed mid-write or a full
//! disk leaves either the old file or the new one, never a torn one.
//!
//! Temporary files: on Linux the new content is written into an anonymous file (`O_TMPFILE`), which
//! has no name until it is complete and synced, so a writer killed while writing leaves nothing
//! behind. Only then does it get a temporary name (for `rename` over the old file); that name carries
//! the writer's pid, and [`remove_orphan_temps`] removes names whose writer is dead. Files that hold
//! values for other programs (`export -o`, `inject -o`) use [`replace_without_temp_name`], which never
//! gives the content a second name at all.

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
    replace_atomically(path, None, true, fill)
}

/// [`atomic_write`] without fsync: a killed process still leaves the old file or the new one, but
/// a machine crash may lose the change. For the audit head, which follows a log that is not synced
/// either (syncing the head alone would make a crash look like a log cut short), and which `get`
/// and `run` write on every call: two fsyncs were most of their time.
pub fn atomic_write_unsynced(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    replace_atomically(path, None, false, |w| w.write_all(bytes))
}

/// [`atomic_write`] of a file that is not tokenvault's (a dotenv file, a client config): the new
/// file gets `permissions` (those of the file it replaces) before it takes the name, so a writer
/// killed at any point leaves the old file or the new one with its mode, never one left 0600.
pub fn atomic_write_with_permissions(
    path: &Path,
    bytes: &[u8],
    permissions: fs::Permissions,
) -> Result<(), StoreError> {
    replace_atomically(path, Some(permissions), true, |w| w.write_all(bytes))
}

fn replace_atomically(
    path: &Path,
    permissions: Option<fs::Permissions>,
    durable: bool,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), StoreError> {
    let (dir, name) = dir_and_name(path);
    remove_orphan_temps(path);
    let (tmp_path, file) = match open_anonymous(dir) {
        Some(file) => (None, file),
        None => {
            let (p, f) = create_temp(dir, &name)?;
            (Some(p), f)
        }
    };
    let filled = match permissions {
        // Before the sync, which makes the mode durable with the content.
        Some(p) => file.set_permissions(p),
        None => Ok(()),
    }
    .and_then(|()| fill_and_sync(&file, durable, fill));
    if let Err(e) = filled {
        if let Some(p) = &tmp_path {
            let _ = fs::remove_file(p);
        }
        return Err(StoreError::io("writing", path, e));
    }
    let tmp_path = match tmp_path {
        Some(p) => p,
        None => name_anonymous(&file, dir, &name)?,
    };
    drop(file);
    if let Err(e) = fs::rename(&tmp_path, path) {
        let _ = fs::remove_file(&tmp_path);
        return Err(StoreError::io("replacing", path, e));
    }
    if durable {
        sync_dir(dir);
    }
    Ok(())
}

/// Writes `bytes` to `path` (mode 0600) so that the content never has a second name, not even for a
/// moment: on Linux an anonymous file is filled and synced, the old `path` removed, and the new file
/// linked in its place. A writer killed at any point leaves the old file, no file, or the new one,
/// and never a temporary copy beside it. For files that hold values (`export -o`, `inject -o`);
/// elsewhere, or where the file system has no anonymous files, this is [`atomic_write`].
pub fn replace_without_temp_name(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let (dir, _) = dir_and_name(path);
    let Some(file) = open_anonymous(dir) else {
        return atomic_write(path, bytes);
    };
    fill_and_sync(&file, true, |w| w.write_all(bytes))
        .map_err(|e| StoreError::io("writing", path, e))?;
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(StoreError::io("replacing", path, e)),
    }
    link_anonymous(&file, path).map_err(|e| StoreError::io("linking", path, e))?;
    sync_dir(dir);
    Ok(())
}

fn dir_and_name(path: &Path) -> (&Path, String) {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    (dir, name)
}

fn fill_and_sync(
    file: &File,
    durable: bool,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let mut writer = io::BufWriter::new(file);
    fill(&mut writer)?;
    writer.flush()?;
    drop(writer);
    if durable {
        file.sync_all()
    } else {
        Ok(())
    }
}

/// An unnamed file in `dir`, mode 0600 (Linux `O_TMPFILE`); `None` where that is not supported.
#[cfg(target_os = "linux")]
fn open_anonymous(dir: &Path) -> Option<File> {
    let mut opts = OpenOptions::new();
    opts.write(true).mode(0o600).custom_flags(libc::O_TMPFILE);
    let file = opts.open(dir).ok()?;
    // The mode is subject to the umask; make sure it is exactly 0600.
    file.set_permissions(fs::Permissions::from_mode(0o600))
        .ok()?;
    Some(file)
}

#[cfg(not(target_os = "linux"))]
fn open_anonymous(_dir: &Path) -> Option<File> {
    None
}

/// Gives an anonymous file the name `target` (which must not exist).
#[cfg(target_os = "linux")]
fn link_anonymous(file: &File, target: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let from = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))?;
    let to = CString::new(target.as_os_str().as_bytes())?;
    // SAFETY: both paths are valid NUL-terminated strings that outlive the call; linkat reads them
    // and touches no memory of ours. AT_SYMLINK_FOLLOW resolves the /proc magic link to the file.
    let rc = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn link_anonymous(_file: &File, _target: &Path) -> io::Result<()> {
    Err(io::Error::other("anonymous files are not supported here"))
}

/// Names a complete anonymous file with a fresh temporary name in `dir`.
fn name_anonymous(file: &File, dir: &Path, name: &str) -> Result<PathBuf, StoreError> {
    for _ in 0..100u32 {
        let tmp = temp_name(dir, name)?;
        match link_anonymous(file, &tmp) {
            Ok(()) => return Ok(tmp),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(StoreError::io("naming the temporary file in", dir, e)),
        }
    }
    Err(StoreError::io(
        "naming the temporary file in",
        dir,
        io::Error::other("too many name collisions"),
    ))
}

/// `.NAME.PID-RANDOM.tmp` in `dir`: the pid tells [`remove_orphan_temps`] whose it is.
fn temp_name(dir: &Path, name: &str) -> Result<PathBuf, StoreError> {
    let mut rnd = [0u8; 6];
    getrandom::getrandom(&mut rnd).map_err(|e| StoreError::Backend {
        backend: "file",
        message: format!("no randomness for a temporary name: {e}"),
    })?;
    let suffix: String = rnd.iter().map(|b| format!("{b:02x}")).collect();
    Ok(dir.join(format!(".{name}.{}-{suffix}.tmp", std::process::id())))
}

fn create_temp(dir: &Path, name: &str) -> Result<(PathBuf, File), StoreError> {
    for attempt in 0..100u32 {
        let tmp = temp_name(dir, name)?;
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

/// Removes the temporary files of writers of `path` that died before renaming them (their pid, in
/// the name, is no longer running). Safe without a lock: a live writer's pid is running.
pub fn remove_orphan_temps(path: &Path) {
    let (dir, name) = dir_and_name(path);
    let prefix = format!(".{name}.");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let n = e.file_name();
        let n = n.to_string_lossy();
        let Some(middle) = n.strip_prefix(&prefix).and_then(|r| r.strip_suffix(".tmp")) else {
            continue;
        };
        let Some(pid) = middle
            .split_once('-')
            .and_then(|(p, _)| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !process_alive(pid) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Whether a process with this pid exists (Unix: signal 0). Elsewhere, assume it does.
fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return true;
        };
        // SAFETY: kill with signal 0 sends nothing; it only checks that the process exists.
        let rc = unsafe { libc::kill(pid, 0) };
        rc == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
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

    /// `write` of "one" then "two" to `name` in a fresh directory: the file holds "two", is 0600,
    /// and is the directory's only entry (no temp file left).
    fn check_creates_0600_and_replaces(
        name: &str,
        write: fn(&Path, &[u8]) -> Result<(), StoreError>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        write(&p, b"one").unwrap();
        write(&p, b"two").unwrap();
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
    fn atomic_write_creates_0600_and_replaces() {
        check_creates_0600_and_replaces("f", atomic_write);
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

    #[cfg(unix)]
    #[test]
    fn a_replaced_file_keeps_the_permissions_it_is_given() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("app.env");
        fs::write(&p, b"old").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        let before = fs::metadata(&p).unwrap().permissions();
        atomic_write_with_permissions(&p, b"new", before).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o640
        );
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

    #[test]
    fn temps_of_dead_writers_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.env");
        let dead = dir.path().join(".out.env.999999999-0123456789ab.tmp");
        let live = dir
            .path()
            .join(format!(".out.env.{}-0123456789ab.tmp", std::process::id()));
        fs::write(&dead, b"x").unwrap();
        fs::write(&live, b"y").unwrap();
        remove_orphan_temps(&p);
        assert!(!dead.exists());
        assert!(live.exists());
    }

    #[test]
    fn replace_without_temp_name_creates_and_replaces_0600() {
        check_creates_0600_and_replaces("out.env", replace_without_temp_name);
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
