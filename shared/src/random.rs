//! Randomness for ids and secrets, injected so tests are repeatable.

#[cfg(any(test, feature = "testing"))]
use std::sync::atomic::{AtomicU64, Ordering};

/// A source of random bytes.
pub trait Entropy {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);

    /// A random number.
    fn u64(&self) -> u64 {
        let mut bytes = [0u8; 8];
        self.fill(&mut bytes);
        u64::from_le_bytes(bytes)
    }

    /// `n` random bytes as lowercase hex.
    fn hex(&self, n: usize) -> String {
        let mut bytes = vec![0u8; n];
        self.fill(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The operating system's generator (WASI `random` inside a component).
#[derive(Debug, Default, Clone, Copy)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&self, buf: &mut [u8]) {
        // A platform without randomness cannot issue ids or secrets safely:
        // failing loudly is the only correct answer.
        #[allow(clippy::expect_used)]
        getrandom::fill(buf).expect("the platform provides no randomness");
    }
}

#[cfg(any(test, feature = "testing"))]
/// Deterministic bytes for tests: a counter run through SplitMix64.
#[derive(Debug, Default)]
pub struct CountingEntropy(AtomicU64);

#[cfg(any(test, feature = "testing"))]
impl Entropy for CountingEntropy {
    fn fill(&self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let mut z = self.0.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::SeqCst);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    }
}

impl<E: Entropy + ?Sized> Entropy for std::sync::Arc<E> {
    fn fill(&self, buf: &mut [u8]) {
        (**self).fill(buf)
    }
}
