//! Files only the service's own user may read: the data directory (0700),
//! the SQLite database with its WAL and shared-memory files, and the
//! development JWT secret (0600). The database holds password hashes and
//! the audit log; the secret signs every token.

use std::io;
use std::path::Path;

/// Creates `dir` and its missing parents; those it creates are 0700.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Makes the files this process creates from now on private (umask 077),
/// so SQLite's database, WAL and shared-memory files are 0600 from their
/// first byte.
pub fn private_from_now_on() {
    // SAFETY: umask only swaps the process's file-creation mask; it cannot
    // fail and touches no memory.
    #[cfg(unix)]
    unsafe {
        libc::umask(0o077);
    }
}

/// Narrows an existing database file (and its `-wal` and `-shm`) to 0600:
/// files made by an earlier version, under a looser umask.
pub fn restrict_database(file: &Path) -> io::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        restrict_file(Path::new(&name))?;
    }
    Ok(())
}

/// Narrows `path`, if it exists and others may read it, to 0600.
pub fn restrict_file(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(path) {
            Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
                tracing::info!(file = %path.display(), "narrowed to owner-only (0600)");
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
