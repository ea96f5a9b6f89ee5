//! The inbound journal: how an inbound message becomes durable without
//! waiting for sled.
//!
//! A channel's webhook is answered only once its message is on disk. sled
//! makes a write durable by flushing its whole log (sealing buffers,
//! `sync_file_range`, `fsync`), and under load that flush set the pace of
//! inbound traffic. The journal is the usual write-ahead answer: a batch of
//! inbound messages is applied to sled (in memory), appended to a plain
//! file as one checksummed record and made durable with one `fdatasync`,
//! and only then acknowledged. sled writes its own pages in the background.
//!
//! Segments: the journal is a numbered series of files. When a segment is
//! large or old enough, the next record goes to a new one and the old one is
//! handed to the checkpointer, which flushes sled (every record of the old
//! segment was applied to sled before the new segment existed, so the flush
//! covers them) and then deletes it. At start, the segments still present
//! are replayed through the same apply function; a message already in sled
//! is recognised by its provider id and skipped, so replaying twice changes
//! nothing.
//!
//! Record format: `len: u32 LE | crc32(payload): u32 LE | payload`. A record
//! cut short or failing its checksum can only be the tail of the newest
//! segment (a crash during its write, before it was acknowledged): replay
//! stops there. Anywhere else it is damage, and start-up refuses with the
//! file and offset rather than silently dropping acknowledged messages.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::StoreError;

/// A segment this large is closed and checkpointed.
const SEGMENT_BYTES: u64 = 32 * 1024 * 1024;
/// A segment this old is closed and checkpointed at its next append, so
/// that replay after a crash stays short even under light traffic.
const SEGMENT_AGE: Duration = Duration::from_secs(2);
/// Length and checksum before each payload.
const HEADER: usize = 8;
/// No batch comes near this; a larger length is damage, not a record.
const MAX_RECORD: usize = 64 * 1024 * 1024;

/// The open journal: the segment being appended to.
pub(crate) struct Journal {
    dir: PathBuf,
    segment: u64,
    file: File,
    bytes: u64,
    opened: Instant,
    checkpoints: Option<mpsc::Sender<u64>>,
    checkpointer: Option<std::thread::JoinHandle<()>>,
    /// The first write, sync or checkpoint failure. Sticky, like the group
    /// commit's: after a failed sync the kernel may have dropped the pages.
    failure: Arc<OnceLock<String>>,
}

/// What [`recover`] found: every intact record, oldest first, and the
/// segments they came from (to delete once they are applied and flushed).
pub(crate) struct Recovered {
    pub(crate) records: Vec<Vec<u8>>,
    pub(crate) segments: Vec<u64>,
}

fn segment_path(dir: &Path, segment: u64) -> PathBuf {
    dir.join(format!("{segment:020}.log"))
}

fn io_error(context: String) -> impl FnOnce(std::io::Error) -> StoreError {
    move |source| StoreError::Io { context, source }
}

/// The journal's segments, oldest first.
fn segments(dir: &Path) -> Result<Vec<u64>, StoreError> {
    let mut found = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(error) => return Err(io_error(format!("reading {}", dir.display()))(error)),
    };
    for entry in entries {
        let entry = entry.map_err(io_error(format!("reading {}", dir.display())))?;
        let name = entry.file_name();
        if let Some(number) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".log"))
            .and_then(|n| n.parse::<u64>().ok())
        {
            found.push(number);
        }
    }
    found.sort_unstable();
    Ok(found)
}

/// Reads every record the journal holds (see the module docs for what a
/// damaged record means where).
pub(crate) fn recover(dir: &Path) -> Result<Recovered, StoreError> {
    let segments = segments(dir)?;
    let mut records = Vec::new();
    for (index, &segment) in segments.iter().enumerate() {
        let path = segment_path(dir, segment);
        let mut bytes = Vec::new();
        File::open(&path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(io_error(format!("reading {}", path.display())))?;
        let newest = index + 1 == segments.len();
        let mut at = 0;
        while at < bytes.len() {
            match record_at(&bytes, at) {
                Some((payload, next)) => {
                    records.push(payload.to_vec());
                    at = next;
                }
                None if newest => {
                    tracing::warn!(
                        file = %path.display(),
                        offset = at,
                        "the journal ends in a record cut short by a crash; it was never acknowledged and is dropped"
                    );
                    break;
                }
                None => {
                    return Err(StoreError::InvalidRecord {
                        kind: "journal",
                        reason: format!(
                            "{} is damaged at byte {at}: it holds acknowledged inbound messages, so omnigate will not start without them; restore the file from a backup, or move it out of the directory to start without the messages it holds",
                            path.display()
                        ),
                    });
                }
            }
        }
    }
    Ok(Recovered { records, segments })
}

/// The record starting at `at`, and where the next one starts; `None` when
/// it is cut short or fails its checksum.
fn record_at(bytes: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let header = bytes.get(at..at.checked_add(HEADER)?)?;
    let len = usize::try_from(u32::from_le_bytes(header[..4].try_into().ok()?)).ok()?;
    let crc = u32::from_le_bytes(header[4..].try_into().ok()?);
    if len > MAX_RECORD {
        return None;
    }
    let start = at + HEADER;
    let payload = bytes.get(start..start.checked_add(len)?)?;
    (crc32fast::hash(payload) == crc).then_some((payload, start + len))
}

impl Journal {
    /// Opens a new segment after `after` (the newest one replayed, if any)
    /// and starts the checkpointer, which flushes `db` before deleting a
    /// closed segment.
    pub(crate) fn open(dir: &Path, after: u64, db: sled::Db) -> Result<Journal, StoreError> {
        crate::create_private_dir(dir)?;
        let segment = after.saturating_add(1);
        let file = create_segment(dir, segment)?;
        let failure = Arc::new(OnceLock::new());
        let (checkpoints, closed) = mpsc::channel::<u64>();
        let checkpointer = {
            let dir = dir.to_path_buf();
            let failure = Arc::clone(&failure);
            std::thread::Builder::new()
                .name("omnigate-checkpoint".into())
                .spawn(move || run_checkpointer(&dir, &db, &closed, &failure))
                .map_err(io_error("starting the journal checkpointer".into()))?
        };
        Ok(Journal {
            dir: dir.to_path_buf(),
            segment,
            file,
            bytes: 0,
            opened: Instant::now(),
            checkpoints: Some(checkpoints),
            checkpointer: Some(checkpointer),
            failure,
        })
    }

    /// The sticky failure, for readiness checks that must not wait for an
    /// append in progress.
    pub(crate) fn failure_handle(&self) -> Arc<OnceLock<String>> {
        Arc::clone(&self.failure)
    }

    /// Refuses once anything failed: the caller must not apply a batch it
    /// cannot journal.
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        match self.failure.get() {
            Some(failure) => Err(StoreError::Flush(failure.clone())),
            None => Ok(()),
        }
    }

    /// Records a failure (sticky, see [`Journal::append`]) and returns it.
    pub(crate) fn fail(&self, message: String) -> StoreError {
        tracing::error!(%message, "refusing further inbound writes until restart");
        let _ = self.failure.set(message.clone());
        StoreError::Flush(message)
    }

    /// Appends one record and waits until it is on disk.
    ///
    /// Any failure is sticky: the batch is in sled's memory already, and a
    /// redelivery would find it there and be answered as a duplicate
    /// without it being durable, so nothing more is accepted until a
    /// restart replays what did reach the journal.
    pub(crate) fn append(&mut self, payload: &[u8]) -> Result<(), StoreError> {
        self.check()?;
        if payload.len() > MAX_RECORD {
            let message = format!("a journal record of {} bytes is too large", payload.len());
            let _ = self.failure.set(message.clone());
            return Err(StoreError::Flush(message));
        }
        let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        let mut record = Vec::with_capacity(HEADER + payload.len());
        record.extend_from_slice(&len.to_le_bytes());
        record.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
        record.extend_from_slice(payload);
        let written = self
            .file
            .write_all(&record)
            .and_then(|()| self.file.sync_data());
        if let Err(error) = written {
            let message = format!(
                "writing the journal {}: {error}",
                segment_path(&self.dir, self.segment).display()
            );
            tracing::error!(%message, "refusing further inbound writes until restart");
            let _ = self.failure.set(message.clone());
            return Err(StoreError::Flush(message));
        }
        self.bytes += record.len() as u64;
        if self.bytes >= SEGMENT_BYTES || self.opened.elapsed() >= SEGMENT_AGE {
            self.rotate()?;
        }
        Ok(())
    }

    /// Starts a new segment and hands the closed one to the checkpointer.
    fn rotate(&mut self) -> Result<(), StoreError> {
        let next = self.segment.saturating_add(1);
        // The record just appended is on disk and will be acknowledged;
        // failing to open the next segment refuses what comes after.
        let file = match create_segment(&self.dir, next) {
            Ok(file) => file,
            Err(error) => {
                tracing::error!(%error, "opening the next journal segment failed; refusing further inbound writes until restart");
                let _ = self.failure.set(error.to_string());
                return Ok(());
            }
        };
        let closed = std::mem::replace(&mut self.segment, next);
        self.file = file;
        self.bytes = 0;
        self.opened = Instant::now();
        if let Some(checkpoints) = &self.checkpoints {
            // The checkpointer gone means shutdown; the segment is then
            // replayed at the next start, which is harmless.
            let _ = checkpoints.send(closed);
        }
        Ok(())
    }

    /// After a final flush of sled at shutdown: every segment is covered.
    pub(crate) fn close_flushed(mut self) {
        self.stop_checkpointer();
        if self.failure.get().is_some() {
            return;
        }
        match segments(&self.dir) {
            Ok(all) => {
                for segment in all {
                    let _ = std::fs::remove_file(segment_path(&self.dir, segment));
                }
            }
            Err(error) => tracing::warn!(%error, "listing the journal at shutdown"),
        }
    }

    fn stop_checkpointer(&mut self) {
        self.checkpoints = None;
        if let Some(handle) = self.checkpointer.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.stop_checkpointer();
    }
}

fn create_segment(dir: &Path, segment: u64) -> Result<File, StoreError> {
    let path = segment_path(dir, segment);
    let mut options = OpenOptions::new();
    options.create_new(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(&path)
        .map_err(io_error(format!("creating {}", path.display())))?;
    // The new name must survive a crash before its first record counts.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(format!("syncing {}", dir.display())))?;
    Ok(file)
}

/// Deletes closed segments once a sled flush, started after they closed,
/// has completed.
fn run_checkpointer(
    dir: &Path,
    db: &sled::Db,
    closed: &mpsc::Receiver<u64>,
    failure: &OnceLock<String>,
) {
    while let Ok(mut upto) = closed.recv() {
        // Several closed meanwhile: one flush covers them all.
        while let Ok(later) = closed.try_recv() {
            upto = upto.max(later);
        }
        if let Err(error) = db.flush() {
            let message = format!("flushing the database for a journal checkpoint: {error}");
            tracing::error!(%message, "refusing further inbound writes until restart");
            let _ = failure.set(message);
            return;
        }
        match segments(dir) {
            Ok(all) => {
                for segment in all.into_iter().filter(|&s| s <= upto) {
                    let path = segment_path(dir, segment);
                    if let Err(error) = std::fs::remove_file(&path) {
                        tracing::warn!(%error, file = %path.display(), "removing a checkpointed journal segment");
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "listing the journal for a checkpoint"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_db(dir: &Path) -> sled::Db {
        sled::Config::new()
            .path(dir.join("db"))
            .open()
            .expect("sled opens")
    }

    #[test]
    fn records_come_back_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let journal_dir = dir.path().join("journal");
        let db = open_db(dir.path());
        let mut journal = Journal::open(&journal_dir, 0, db).expect("opens");
        journal.append(b"one").expect("append");
        journal.append(b"two").expect("append");
        drop(journal);
        let recovered = recover(&journal_dir).expect("recovers");
        assert_eq!(recovered.records, vec![b"one".to_vec(), b"two".to_vec()]);
        assert_eq!(recovered.segments, vec![1]);
    }

    #[test]
    fn a_torn_tail_of_the_newest_segment_is_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let journal_dir = dir.path().join("journal");
        let mut journal = Journal::open(&journal_dir, 0, open_db(dir.path())).expect("opens");
        journal.append(b"kept").expect("append");
        drop(journal);
        let path = segment_path(&journal_dir, 1);
        let mut file = OpenOptions::new().append(true).open(&path).expect("open");
        file.write_all(&[200, 0, 0, 0, 1, 2]).expect("write");
        drop(file);
        let recovered = recover(&journal_dir).expect("recovers");
        assert_eq!(recovered.records, vec![b"kept".to_vec()]);
    }

    #[test]
    fn damage_in_an_older_segment_refuses_with_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let journal_dir = dir.path().join("journal");
        let mut journal = Journal::open(&journal_dir, 0, open_db(dir.path())).expect("opens");
        journal.append(b"first").expect("append");
        journal.rotate().expect("rotate");
        journal.append(b"second").expect("append");
        drop(journal);
        // The checkpointer may have deleted segment 1 already; write a
        // damaged one in its place.
        std::fs::write(segment_path(&journal_dir, 1), [5, 0, 0, 0, 9, 9, 9, 9, 1]).expect("write");
        let error = recover(&journal_dir).err().expect("refused");
        let text = error.to_string();
        assert!(text.contains("00000000000000000001.log"), "{text}");
        assert!(text.contains("damaged at byte 0"), "{text}");
    }

    #[test]
    fn a_checkpoint_removes_closed_segments_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let journal_dir = dir.path().join("journal");
        let mut journal = Journal::open(&journal_dir, 0, open_db(dir.path())).expect("opens");
        journal.append(b"a").expect("append");
        journal.rotate().expect("rotate");
        journal.append(b"b").expect("append");
        journal.stop_checkpointer();
        assert_eq!(segments(&journal_dir).expect("lists"), vec![2]);
        let recovered = recover(&journal_dir).expect("recovers");
        assert_eq!(recovered.records, vec![b"b".to_vec()]);
    }
}
