//! `devhost build`: each component's `[component.x.build]` command, as `spin build` runs it.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::manifest::Manifest;

/// Runs every build command, in manifest order, in its `workdir`.
pub fn build_all(manifest: &Manifest) -> Result<()> {
    for (id, component) in &manifest.components {
        let Some(build) = &component.build else {
            continue;
        };
        let dir = manifest.dir.join(build.workdir.as_deref().unwrap_or("."));
        eprintln!(
            "devhost: building {id}: {} (in {})",
            build.command,
            dir.display()
        );
        // `source` paths in the manifest assume Cargo's default target
        // directory, so a `CARGO_TARGET_DIR` of the caller must not move the
        // `.wasm` files elsewhere.
        let status = Command::new("sh")
            .arg("-c")
            .arg(&build.command)
            .current_dir(&dir)
            .env_remove("CARGO_TARGET_DIR")
            .status()
            .with_context(|| format!("component {id}: cannot run the build command"))?;
        if !status.success() {
            bail!("component {id}: build command failed ({status})");
        }
    }
    Ok(())
}
