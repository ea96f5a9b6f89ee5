//! The one place this crate uses `unsafe`: loading a precompiled component.
//!
//! `Component::deserialize_file` is unsafe because wasmtime runs the native
//! code inside the file without verifying it: whoever can write the file
//! can run code in omnigate. That is acceptable here because the cache files
//! are written only by [`super::ArtifactCache::load`] (from a `.wasm` this
//! process compiled itself), into the data directory that omnigate owns and
//! locks, with owner-only permissions (0600 files in a 0700 directory), and
//! the file name binds the `.wasm`'s SHA-256 and the engine's compatibility
//! hash, so a stale or foreign artifact is never picked up by name.
//! wasmtime additionally checks the artifact's header against the engine
//! and refuses a mismatch.

#![allow(unsafe_code)]

use std::path::Path;

use wasmtime::Engine;
use wasmtime::component::Component;

/// Loads a cache file written by this crate.
pub(super) fn deserialize(engine: &Engine, path: &Path) -> Result<Component, String> {
    // SAFETY: see the module documentation: the file was produced by
    // `Engine::precompile_component` in this process or a previous run of
    // it, and only this process's user can write the directory.
    unsafe { Component::deserialize_file(engine, path) }.map_err(|e| format!("{e:#}"))
}
