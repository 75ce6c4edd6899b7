//! Standard Webhooks signatures: `v1,<base64 HMAC-SHA256 of id.timestamp.body>`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::random::Entropy;

/// The prefix of endpoint secrets.
pub const SECRET_PREFIX: &str = "whsec_";

/// A fresh endpoint secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret(random: &dyn Entropy) -> String {
    let mut key = [0u8; 32];
    random.fill(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

fn mac(secret: &str, id: &str, timestamp: u64, body: &[u8]) -> Option<Hmac<Sha256>> {
    let key = STANDARD.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(mac)
}

/// The `webhook-signature` header value, or `None` for a malformed secret.
pub fn sign(secret: &str, id: &str, timestamp: u64, body: &[u8]) -> Option<String> {
    let tag = mac(secret, id, timestamp, body)?.finalize().into_bytes();
    Some(format!("v1,{}", STANDARD.encode(tag)))
}

/// Whether any `v1,` signature in a (space-separated) header matches; constant time per signature.
pub fn verify(secret: &str, id: &str, timestamp: u64, body: &[u8], header: &str) -> bool {
    header
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|sig| {
            let (Some(mac), Ok(sig)) = (mac(secret, id, timestamp, body), STANDARD.decode(sig))
            else {
                return false;
            };
            mac.verify_slice(&sig).is_ok()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example from the Standard Webhooks specification.
    #[test]
    fn standard_webhooks_vector() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let sig =
            sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body).expect("secret");
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(verify(
            secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            body,
            &format!("v1,bogus= {sig}")
        ));
        assert!(!verify(secret, "msg_other", 1_614_265_330, body, &sig));
    }
}
