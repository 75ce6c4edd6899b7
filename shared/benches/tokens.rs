//! Token micro-benchmarks: `pi1` sign and verify of an invite token against
//! jsonwebtoken HS256 encode and decode of the same claims, and against the
//! floor, raw HMAC-SHA256 over the same signing input with a prepared key.
//!
//! `cargo bench -p partner-invites --bench tokens -- --warm-up-time 1 --measurement-time 3`
//!
//! After criterion has run, the medians it saved are read back and the
//! ratios printed, so one run gives every figure in `BENCHMARKS.md`.

use std::hint::black_box;
use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::Criterion;
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use partner_invites::token::{Claims, KeyRing, Purpose};
use sha2::Sha256;

const KEY: [u8; 32] = [7; 32];
const NOW: u64 = 1_795_305_600;
/// Far enough ahead that jsonwebtoken, which reads the real clock, accepts it.
const EXPIRES: u64 = 4_102_444_800;
const GROUP: &str = "token";

/// The same claims as a JWT body (registered names for the times).
#[derive(serde::Serialize, serde::Deserialize)]
struct JwtClaims {
    purpose: Purpose,
    record_id: String,
    partner_id: Option<String>,
    organization_id: Option<String>,
    subject: Option<String>,
    generation: u32,
    iat: u64,
    exp: u64,
}

fn invite() -> Claims {
    Claims {
        purpose: Purpose::Invite,
        record_id: "inv_01JD6Z8Q4R7T9V2X4Z6B8D0F2H".into(),
        partner_id: Some("acme-partners".into()),
        organization_id: None,
        subject: None,
        role: None,
        issued_at: NOW,
        expires_at: EXPIRES,
        generation: 1,
    }
}

fn benches(c: &mut Criterion) {
    let ring = KeyRing::parse(&format!("k1:{}", URL_SAFE_NO_PAD.encode(KEY))).expect("ring");
    let claims = invite();
    let token = ring.sign(&claims).expect("sign");
    assert_eq!(
        ring.verify(&token, Purpose::Invite, NOW),
        Ok(claims.clone())
    );

    let jwt_claims = JwtClaims {
        purpose: claims.purpose,
        record_id: claims.record_id.clone(),
        partner_id: claims.partner_id.clone(),
        organization_id: None,
        subject: None,
        generation: claims.generation,
        iat: claims.issued_at,
        exp: claims.expires_at,
    };
    let header = Header::new(Algorithm::HS256);
    let encoding = EncodingKey::from_secret(&KEY);
    let decoding = DecodingKey::from_secret(&KEY);
    let validation = Validation::new(Algorithm::HS256);
    let jwt = jsonwebtoken::encode(&header, &jwt_claims, &encoding).expect("jwt");
    jsonwebtoken::decode::<JwtClaims>(&jwt, &decoding, &validation).expect("jwt decodes");

    // The floor: what any HMAC token must do at least.
    let (signed, mac) = token.rsplit_once('.').expect("mac");
    let tag = URL_SAFE_NO_PAD.decode(mac).expect("tag");
    let prepared = Hmac::<Sha256>::new_from_slice(&KEY).expect("key");

    let mut g = c.benchmark_group(GROUP);
    g.bench_function("pi1_sign", |b| b.iter(|| ring.sign(black_box(&claims))));
    g.bench_function("pi1_verify", |b| {
        b.iter(|| ring.verify(black_box(&token), Purpose::Invite, NOW))
    });
    g.bench_function("jwt_hs256_encode", |b| {
        b.iter(|| jsonwebtoken::encode(&header, black_box(&jwt_claims), &encoding))
    });
    g.bench_function("jwt_hs256_decode", |b| {
        b.iter(|| jsonwebtoken::decode::<JwtClaims>(black_box(&jwt), &decoding, &validation))
    });
    g.bench_function("hmac_sha256_floor", |b| {
        b.iter(|| {
            let mut m = prepared.clone();
            m.update(black_box(signed).as_bytes());
            m.verify_slice(black_box(&tag))
        })
    });
    g.finish();
    println!(
        "token lengths: pi1 {} bytes, JWT {} bytes",
        token.len(),
        jwt.len()
    );
}

/// Where criterion keeps its results, found the way criterion finds it.
fn criterion_dir() -> PathBuf {
    std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|d| PathBuf::from(d).join("criterion"))
        })
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../criterion"))
}

/// The median of the last run of `id`, in nanoseconds.
fn median(id: &str) -> Option<f64> {
    let path = criterion_dir()
        .join(GROUP)
        .join(id)
        .join("new/estimates.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn print_ratios() {
    let ids = [
        "pi1_sign",
        "pi1_verify",
        "jwt_hs256_encode",
        "jwt_hs256_decode",
        "hmac_sha256_floor",
    ];
    println!("\nmedians (ns):");
    for id in ids {
        match median(id) {
            Some(ns) => println!("  {id:<20} {ns:>10.1}"),
            None => println!("  {id:<20} {:>10}", "n/a"),
        }
    }
    let ratio = |name: &str, num: &str, den: &str, target: &str| {
        if let (Some(a), Some(b)) = (median(num), median(den)) {
            println!("  {name:<44} {:>6.2}x   ({target})", a / b);
        }
    };
    println!("ratios:");
    ratio(
        "jwt decode / pi1 verify",
        "jwt_hs256_decode",
        "pi1_verify",
        "target >= 2",
    );
    ratio(
        "pi1 verify / HMAC floor",
        "pi1_verify",
        "hmac_sha256_floor",
        "target <= 1.5",
    );
    ratio(
        "jwt encode / pi1 sign",
        "jwt_hs256_encode",
        "pi1_sign",
        "for reference",
    );
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
    // Under `cargo test --benches` each bench runs once and saves nothing.
    if std::env::args().any(|a| a == "--bench") {
        print_ratios();
    }
}
