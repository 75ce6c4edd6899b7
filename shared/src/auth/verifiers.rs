//! The signature checks behind [`jsonwebtoken`]: a [`CryptoProvider`] with
//! exactly the four verifiers the app uses (RS256, ES256, EdDSA over
//! Ed25519, HS256), on the RustCrypto crates, and no signers.
//!
//! jsonwebtoken's own `rust_crypto` provider works on wasm32-wasip2, but it
//! links every algorithm and every signer whatever the app calls: RSA
//! signing draws on `rand`'s thread RNG, whose `getrandom` 0.2 brings the
//! WASI preview 1 adapter into each component. Measured on the five release
//! components, JWT verification costs 188 to 199 KB each with this provider
//! (RS256 55 KB of it, ES256 27 KB, EdDSA 28 KB) and 514 to 525 KB with that
//! one.

use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result, new_error};
use jsonwebtoken::signature::{Error, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey};

/// Verifies, never signs.
pub(super) static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: no_signer,
    verifier_factory: verifier,
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes [`PROVIDER`] jsonwebtoken's provider for this instance, once.
pub(super) fn install() {
    // Already installed (by an earlier request of this instance) is fine.
    let _ = PROVIDER.install_default();
}

fn no_signer(_: &Algorithm, _: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    Err(new_error(ErrorKind::UnsupportedAlgorithm))
}

fn verifier(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    match (alg, key.family(), key.kind()) {
        (Algorithm::RS256, AlgorithmFamily::Rsa, DecodingKeyKind::RsaModulusExponent { n, e }) => {
            let key = rsa::RsaPublicKey::new(
                rsa::BigUint::from_bytes_be(n),
                rsa::BigUint::from_bytes_be(e),
            )
            .map_err(|e| new_error(ErrorKind::InvalidRsaKey(e.to_string())))?;
            Ok(Box::new(Rs256(key)))
        }
        (Algorithm::ES256, AlgorithmFamily::Ec, DecodingKeyKind::SecretOrDer(point)) => {
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map_err(|_| new_error(ErrorKind::InvalidEcdsaKey))?;
            Ok(Box::new(Es256(key)))
        }
        (Algorithm::EdDSA, AlgorithmFamily::Ed, DecodingKeyKind::SecretOrDer(x)) => {
            let x: &[u8; 32] = x
                .as_slice()
                .try_into()
                .map_err(|_| new_error(ErrorKind::InvalidEddsaKey))?;
            let key = ed25519_dalek::VerifyingKey::from_bytes(x)
                .map_err(|_| new_error(ErrorKind::InvalidEddsaKey))?;
            Ok(Box::new(Ed25519(key)))
        }
        (Algorithm::HS256, AlgorithmFamily::Hmac, DecodingKeyKind::SecretOrDer(secret)) => {
            let mac = Hmac::<sha2::Sha256>::new_from_slice(secret)
                .map_err(|_| new_error(ErrorKind::InvalidKeyFormat))?;
            Ok(Box::new(Hs256(mac)))
        }
        _ => Err(new_error(ErrorKind::InvalidAlgorithm)),
    }
}

struct Rs256(rsa::RsaPublicKey);

impl Verifier<Vec<u8>> for Rs256 {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> std::result::Result<(), Error> {
        use rsa::sha2::{Digest, Sha256};
        let digest = Sha256::digest(msg);
        self.0
            .verify(rsa::Pkcs1v15Sign::new::<Sha256>(), &digest, signature)
            .map_err(|_| Error::new())
    }
}

impl JwtVerifier for Rs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}

struct Es256(p256::ecdsa::VerifyingKey);

impl Verifier<Vec<u8>> for Es256 {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> std::result::Result<(), Error> {
        // JWS carries r || s (64 bytes), not DER.
        let signature = p256::ecdsa::Signature::from_slice(signature)?;
        self.0.verify(msg, &signature)
    }
}

impl JwtVerifier for Es256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }
}

struct Ed25519(ed25519_dalek::VerifyingKey);

impl Verifier<Vec<u8>> for Ed25519 {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> std::result::Result<(), Error> {
        let signature = ed25519_dalek::Signature::from_slice(signature)?;
        // Strict: no malleable or small-order encodings.
        self.0.verify_strict(msg, &signature)
    }
}

impl JwtVerifier for Ed25519 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

struct Hs256(Hmac<sha2::Sha256>);

impl Verifier<Vec<u8>> for Hs256 {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> std::result::Result<(), Error> {
        let mut mac = self.0.clone();
        mac.update(msg);
        // Constant time.
        mac.verify_slice(signature).map_err(|_| Error::new())
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}
