//! Stores for native tests (feature `testing`): an in-memory [`KeyValue`]
//! with call counters; [`FaultyStore`], which fails or stops an operation at
//! a chosen write, as a crash, a trap or a timeout would; and
//! [`OvertakenStore`], on which another request runs between a swap and its
//! read-back.
//!
//! | file | what it holds |
//! |---|---|
//! | `memory.rs` | the in-memory store, its call counters and trace |
//! | `spin_like.rs` | the memory store answering as Spin 4.1's stores do |
//! | `faulty.rs` | the store that fails or stops at a chosen write |
//! | `overtaken.rs` | the store on which another request runs after a swap |

mod faulty;
mod memory;
mod overtaken;
mod spin_like;

pub use faulty::{Fault, FaultyStore};
pub use memory::{CallCounts, MemoryCas, MemoryStore};
pub use overtaken::{Others, OvertakenStore};
pub use spin_like::{SpinLike, SpinLikeStore};
