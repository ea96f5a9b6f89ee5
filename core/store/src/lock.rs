//! One process per data directory.
//!
//! sled would refuse a second opener too, but with an OS error that does not say
//! what to do; this lock gives the clear message and names the holder's pid.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::StoreError;

/// Held for the lifetime of the [`crate::Store`]; the OS releases it on exit,
/// even after `kill -9`.
pub(crate) struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    pub(crate) fn acquire(dir: &Path) -> Result<DataDirLock, StoreError> {
        let path = dir.join("omnigate.lock");
        let io = |context: &str| {
            let context = format!("{context} {}", path.display());
            move |source| StoreError::Io { context, source }
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io("opening lock file"))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(StoreError::Locked {
                    dir: dir.to_path_buf(),
                    pid: holder.trim().parse().ok(),
                });
            }
            Err(TryLockError::Error(source)) => {
                return Err(StoreError::Io {
                    context: format!("locking {}", path.display()),
                    source,
                });
            }
        }
        file.set_len(0).map_err(io("truncating lock file"))?;
        file.seek(SeekFrom::Start(0))
            .map_err(io("writing lock file"))?;
        writeln!(file, "{}", std::process::id()).map_err(io("writing lock file"))?;
        Ok(DataDirLock { _file: file })
    }
}
