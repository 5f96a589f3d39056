//! [`StepIdentity`]: what makes a step's token what it is, in an explicit,
//! versioned encoding, hashed. Stores key entries by it.

use std::fmt;

use sha2::{Digest, Sha256};

/// What makes a step's token what it is, hashed: the input of its [`StoreKey`](crate::StoreKey).
///
/// A step adds each part in [`TokenFetcher::identify`](crate::TokenFetcher::identify),
/// labelled with [`field`](StepIdentity::field) or bare with
/// [`add`](StepIdentity::add); the engine then adds its base URL and, for each
/// dependency, its name and its own key, so that a step's key changes whenever
/// anything upstream of it changes (a Merkle key). Parts may be secret: only their
/// digest is kept.
///
/// The encoding is explicit and versioned, never a `Debug` output: SHA-256 over
/// the marker `tokenfetch-identity/2`, then every part as its length (8 bytes,
/// little-endian) followed by its bytes; a labelled part is its label then its
/// value. The same configuration gives the same key in every process and every
/// release that keeps the marker; a release that changes the encoding changes the
/// marker, and so every key.
///
/// A step whose request the library cannot know, such as one with a request hook
/// that did not say what it adds, calls [`not_shareable`](StepIdentity::not_shareable):
/// its tokens, and those of every step depending on it, are then never shared
/// through a store.
pub struct StepIdentity {
    digest: Sha256,
    shareable: bool,
}

/// The marker every identity starts with; see [`StepIdentity`].
const IDENTITY_VERSION: &[u8] = b"tokenfetch-identity/2";

impl StepIdentity {
    /// An empty identity.
    pub fn new() -> Self {
        let mut identity = StepIdentity {
            digest: Sha256::new(),
            shareable: true,
        };
        identity.add(IDENTITY_VERSION);
        identity
    }

    /// Adds a part. Parts are length-prefixed, so `("ab", "c")` and `("a", "bc")`
    /// differ.
    pub fn add(&mut self, part: impl AsRef<[u8]>) -> &mut Self {
        let part = part.as_ref();
        self.digest.update((part.len() as u64).to_le_bytes());
        self.digest.update(part);
        self
    }

    /// Adds a labelled part: `label`, then `value`.
    pub fn field(&mut self, label: &str, value: impl AsRef<[u8]>) -> &mut Self {
        self.add(label).add(value)
    }

    /// Says that something shapes this step's request that the identity cannot
    /// cover: the step's tokens are then kept in the engine's memory only, never
    /// in a store, and so are those of the steps that depend on it.
    pub fn not_shareable(&mut self) -> &mut Self {
        self.shareable = false;
        self
    }

    /// Whether the step's tokens may be shared through a store.
    pub fn is_shareable(&self) -> bool {
        self.shareable
    }

    /// The digest's first 16 bytes, in hex: what a store key is made of.
    pub(crate) fn hex(self) -> String {
        use std::fmt::Write;
        self.digest
            .finalize()
            .iter()
            .take(16)
            .fold(String::with_capacity(32), |mut text, byte| {
                let _ = write!(text, "{byte:02x}");
                text
            })
    }
}

impl Default for StepIdentity {
    fn default() -> Self {
        StepIdentity::new()
    }
}

impl fmt::Debug for StepIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StepIdentity")
            .field("shareable", &self.shareable)
            .finish_non_exhaustive()
    }
}
