//! The compiled-artifact cache: a component compiled once is kept in the
//! data directory, keyed by the SHA-256 of the `.wasm` and by the engine's
//! precompile compatibility hash (wasmtime version, target, settings), so a
//! restart loads in a fraction of a millisecond instead of recompiling,
//! and an upgraded omnigate never loads an artifact it cannot run.

mod artifact;

use std::hash::Hasher;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::error::LoadError;

/// The cache directory and the engine's compatibility key.
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: PathBuf,
    engine_key: String,
}

impl ArtifactCache {
    /// Uses (and creates, owner-only) `dir`.
    pub fn open(dir: &Path, engine: &Engine) -> Result<ArtifactCache, LoadError> {
        create_private_dir(dir)
            .map_err(|e| LoadError::Cache(format!("cannot create {}: {e}", dir.display())))?;
        let mut hasher = Sha256Hasher::default();
        std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
        let engine_key = hex::encode(&hasher.0.finalize()[..8]);
        Ok(ArtifactCache {
            dir: dir.to_owned(),
            engine_key,
        })
    }

    /// The component for `wasm`, from the cache when present (`true`), else
    /// compiled and stored (`false`). A damaged or unreadable entry is
    /// recompiled and replaced, never trusted.
    pub fn load(&self, engine: &Engine, wasm: &[u8]) -> Result<(Component, bool), LoadError> {
        let path = self.path_for(wasm);
        if path.exists() {
            match artifact::deserialize(engine, &path) {
                Ok(component) => return Ok((component, true)),
                Err(e) => tracing::warn!(
                    path = %path.display(),
                    error = %e,
                    "cached plugin artifact unusable; recompiling"
                ),
            }
        }
        let compiled = engine
            .precompile_component(wasm)
            .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        write_private(&path, &compiled)
            .map_err(|e| LoadError::Cache(format!("cannot write {}: {e}", path.display())))?;
        let component = artifact::deserialize(engine, &path)
            .map_err(|e| LoadError::Cache(format!("reading back {}: {e}", path.display())))?;
        Ok((component, false))
    }

    fn path_for(&self, wasm: &[u8]) -> PathBuf {
        let digest = hex::encode(Sha256::digest(wasm));
        self.dir.join(format!("{digest}-{}.cwasm", self.engine_key))
    }
}

/// Feeds `Hash` output into SHA-256, so the key does not depend on std's
/// unspecified `DefaultHasher`.
#[derive(Default)]
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_le_bytes(first)
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Writes `bytes` to a fresh owner-only temporary file, syncs it, and
/// renames it over `path`: a reader sees the old file or the whole new one.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
