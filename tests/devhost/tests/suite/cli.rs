//! The `devhost` binary: `up` creates and keeps development signing keys when
//! none are given, and `token` signs access tokens with the same ring.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use devhost::testing::{build_components, workspace_root};
use partner_invites::token::{KeyRing, Purpose, Role};

fn devhost(manifest: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_devhost"))
        .arg("--manifest")
        .arg(manifest)
        .args(args)
        .env_remove("SPIN_VARIABLE_SIGNING_KEYS")
        .output()
        .expect("devhost runs")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// The fixture's manifest, with the app's `signing_keys` variable and an absolute source.
fn manifest_with_signing_keys(dir: &Path) -> std::path::PathBuf {
    let fixture = workspace_root().join("tests/fixture/spin.toml");
    let wasm = workspace_root().join("target/wasm32-wasip2/release/devhost_fixture.wasm");
    let text = std::fs::read_to_string(fixture)
        .expect("fixture manifest")
        .replace(
            "[variables]\n",
            "[variables]\nsigning_keys = { required = true, secret = true }\n",
        )
        .replace(
            "../../target/wasm32-wasip2/release/devhost_fixture.wasm",
            &wasm.to_string_lossy(),
        );
    let path = dir.join("spin.toml");
    std::fs::write(&path, text).expect("write manifest");
    path
}

#[test]
fn token_signs_with_the_given_ring() {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = dir.path().join("spin.toml");
    let spec = KeyRing::generate_spec();
    let variable = format!("signing_keys={spec}");
    let out = devhost(
        &manifest,
        &[
            "token",
            "--role",
            "partner",
            "--partner-id",
            "p_1",
            "--variable",
            &variable,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(token.lines().count(), 1, "only the token is printed");
    let ring = KeyRing::parse(&spec).expect("ring");
    let claims = ring
        .verify(token.trim(), Purpose::Access, now())
        .expect("valid");
    assert_eq!(claims.role, Some(Role::Partner));
    assert_eq!(claims.partner_id.as_deref(), Some("p_1"));
    assert_eq!(claims.subject.as_deref(), Some("dev-user"));
    assert!(claims.record_id.starts_with("at_"));
    assert_eq!(claims.expires_at - claims.issued_at, 3600);

    let out = devhost(
        &manifest,
        &["token", "--role", "partner", "--variable", &variable],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--partner-id"));

    let out = devhost(&manifest, &["token", "--role", "operator"]);
    assert!(!out.status.success(), "no keys anywhere");
    assert!(String::from_utf8_lossy(&out.stderr).contains("devhost up"));
}

#[test]
fn up_creates_development_keys_that_token_uses() {
    build_components("tests/fixture/spin.toml").expect("fixture builds");
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = manifest_with_signing_keys(dir.path());
    let mut up = Command::new(env!("CARGO_BIN_EXE_devhost"))
        .arg("--manifest")
        .arg(&manifest)
        .args(["up", "--listen", "127.0.0.1:0", "--kv", "memory"])
        .args(["--variable", "secret_thing=x"])
        .env_remove("SPIN_VARIABLE_SIGNING_KEYS")
        .stderr(Stdio::null())
        .spawn()
        .expect("devhost up");
    let keys = dir.path().join(".spin/dev-signing-keys");
    let created = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        keys.exists()
    });
    let _ = up.kill();
    let _ = up.wait();
    assert!(created, "up writes {}", keys.display());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&keys).expect("keys").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let spec = std::fs::read_to_string(&keys).expect("keys");
    let out = devhost(
        &manifest,
        &[
            "token",
            "--role",
            "customer_admin",
            "--organization-id",
            "org_1",
            "--ttl",
            "60",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).expect("utf-8");
    let claims = KeyRing::parse(spec.trim())
        .expect("ring")
        .verify(token.trim(), Purpose::Access, now())
        .expect("signed with the kept development keys");
    assert_eq!(claims.role, Some(Role::CustomerAdmin));
    assert_eq!(claims.organization_id.as_deref(), Some("org_1"));
    assert_eq!(claims.expires_at - claims.issued_at, 60);
}

#[test]
fn up_documents_kv_semantics_and_refuses_unknown_modes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = dir.path().join("spin.toml");
    let help = devhost(&manifest, &["up", "--help"]);
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for expected in [
        "--kv-semantics",
        "spin-next",
        "correct",
        "DEVHOST_KV_SEMANTICS",
        "[default: spin]",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
    let bad = devhost(&manifest, &["up", "--kv-semantics", "kind"]);
    assert_eq!(bad.status.code(), Some(2));
    let message = String::from_utf8_lossy(&bad.stderr);
    assert!(
        message.contains("kind") && message.contains("spin-next"),
        "{message}"
    );
}
