//! Development signing keys: generated once, kept in `.spin/dev-signing-keys`,
//! so `devhost up` and `devhost token` agree without anyone handling secrets.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use partner_invites::token::KeyRing;

/// The variable that holds the app's key ring.
pub const VARIABLE: &str = "signing_keys";

/// Where development keys are kept, beside the manifest.
pub fn path(manifest_dir: &Path) -> PathBuf {
    manifest_dir.join(".spin").join("dev-signing-keys")
}

/// The kept development ring, creating it if there is none. `true` when created now.
pub fn load_or_create(manifest_dir: &Path) -> Result<(String, bool)> {
    let path = path(manifest_dir);
    if let Ok(spec) = std::fs::read_to_string(&path) {
        let spec = spec.trim().to_string();
        KeyRing::parse(&spec)
            .with_context(|| format!("{} holds an invalid key ring", path.display()))?;
        return Ok((spec, false));
    }
    let spec = KeyRing::generate_spec();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    write_private(&path, &spec)?;
    Ok((spec, true))
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
