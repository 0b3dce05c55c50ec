//! The JWT signing secret: from `AIAPI_JWT_SECRET`, or in development a
//! random one generated once into `<data dir>/jwt-secret` (mode 0600) so
//! restarts do not log everyone out.

use std::io::Write;
use std::path::Path;

use rand::RngExt;

use crate::config::Secret;

/// Reads the development secret file, creating it if missing.
pub fn load_or_create(data_dir: &Path) -> std::io::Result<Secret> {
    let path = data_dir.join("jwt-secret");
    match std::fs::read_to_string(&path) {
        Ok(existing) if existing.trim().len() >= 32 => {
            // An earlier version may have written it under a looser umask.
            crate::private_files::restrict_file(&path)?;
            return Ok(Secret::new(existing.trim()));
        }
        Ok(_) => {
            return Err(std::io::Error::other(format!(
                "{} is shorter than 32 bytes; delete it to generate a new one",
                path.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    crate::private_files::create_dir(data_dir)?;
    let mut bytes = [0u8; 48];
    rand::rng().fill(&mut bytes[..]);
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(&path) {
        Ok(mut file) => {
            file.write_all(secret.as_bytes())?;
            file.sync_all()?;
            Ok(Secret::new(secret))
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create(data_dir),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        let second = load_or_create(dir.path()).unwrap();
        assert_eq!(first, second);
        assert!(first.expose().len() >= 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("jwt-secret"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
