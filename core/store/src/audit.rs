//! The audit log: an append-only, hash-chained tree.
//!
//! Record `n` stores the SHA-256 of record `n - 1` and its own hash over its
//! content plus that link. Changing a record breaks its own hash; deleting one
//! breaks the sequence; recomputing a hash breaks the next record's link. The
//! meta tree keeps the head (last sequence number and hash) so that cutting
//! records off the end is noticed as well.

use omnigate_domain::{AuditEvent, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sled::Transactional;
use sled::transaction::ConflictableTransactionError;

use crate::record::{self, Record, id_key, key_id};
use crate::{Store, StoreError};

const HEAD_KEY: &str = "audit_head";

/// A stored audit record (encoding version 1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// When.
    pub at_ms: i64,
    /// Who: the acting user's id, if a user acted.
    pub actor_user: Option<u64>,
    /// Who, readable: e-mail, `anonymous`, `cli` or `system`.
    pub actor: String,
    /// What: an [`omnigate_domain::AuditAction`] code.
    pub action: String,
    /// To what.
    pub target: Option<String>,
    /// From where.
    pub source: Option<String>,
    /// Details, a JSON object as text.
    pub detail: String,
    /// Hash of the previous record (zeros for the first).
    pub prev_hash: [u8; 32],
    /// Hash of this record's other fields.
    pub hash: [u8; 32],
}

impl Record for AuditEntry {
    const KIND: &'static str = "audit";
    const VERSION: u8 = 1;

    fn validate(&self) -> Result<(), String> {
        if self.seq == 0 {
            return Err("sequence numbers start at 1".into());
        }
        if self.action.is_empty() || self.actor.is_empty() {
            return Err("action and actor are required".into());
        }
        Ok(())
    }
}

impl AuditEntry {
    /// The hash this record should carry, computed from its content.
    #[must_use]
    pub fn computed_hash(&self) -> [u8; 32] {
        #[derive(Serialize)]
        struct Hashed<'a> {
            seq: u64,
            at_ms: i64,
            actor_user: Option<u64>,
            actor: &'a str,
            action: &'a str,
            target: Option<&'a str>,
            source: Option<&'a str>,
            detail: &'a str,
            prev_hash: [u8; 32],
        }
        let content = Hashed {
            seq: self.seq,
            at_ms: self.at_ms,
            actor_user: self.actor_user,
            actor: &self.actor,
            action: &self.action,
            target: self.target.as_deref(),
            source: self.source.as_deref(),
            detail: &self.detail,
            prev_hash: self.prev_hash,
        };
        // postcard of plain fields cannot fail; an empty input would still
        // give a hash that no longer matches, so verification stays sound.
        let bytes = postcard::to_allocvec(&content).unwrap_or_default();
        Sha256::digest(bytes).into()
    }
}

/// Which records to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only records with this action code, or whose code starts with it
    /// when it ends with `.` (e.g. `user.`).
    pub action: Option<String>,
    /// Only records by this actor label (e-mail, `cli`, ...).
    pub actor: Option<String>,
    /// Only records at or after this time.
    pub since: Option<Timestamp>,
    /// Only records before this time.
    pub until: Option<Timestamp>,
    /// Only records with a sequence number below this (paging backwards).
    pub before_seq: Option<u64>,
}

impl AuditFilter {
    fn matches(&self, entry: &AuditEntry) -> bool {
        let action_ok = match self.action.as_deref() {
            None => true,
            Some(prefix) if prefix.ends_with('.') => entry.action.starts_with(prefix),
            Some(code) => entry.action == code,
        };
        action_ok
            && self.actor.as_deref().is_none_or(|a| entry.actor == a)
            && self.since.is_none_or(|t| entry.at_ms >= t.0)
            && self.until.is_none_or(|t| entry.at_ms < t.0)
    }
}

/// The first place where the chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// The sequence number of the first broken record.
    pub seq: u64,
    /// What is wrong there.
    pub reason: String,
}

/// The result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Records that verified before the first break (or all of them).
    pub verified: u64,
    /// The first break, if any.
    pub broken: Option<ChainBreak>,
}

impl Store {
    /// Appends an event at `at`, chained to the current head.
    ///
    /// Await [`Store::durable`] before telling anyone it happened.
    pub fn append_audit(
        &self,
        event: &AuditEvent,
        at: Timestamp,
    ) -> Result<AuditEntry, StoreError> {
        let _guard = self
            .audit_append
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (last_seq, prev_hash) = self.audit_head()?;
        let mut entry = AuditEntry {
            seq: last_seq + 1,
            at_ms: at.0,
            actor_user: event.actor.user_id().map(|id| id.0),
            actor: event.actor.label(),
            action: event.action.code().to_owned(),
            target: event.target.clone(),
            source: event.source.clone(),
            detail: event.detail.clone(),
            prev_hash,
            hash: [0; 32],
        };
        entry.hash = entry.computed_hash();
        let bytes = record::encode(&entry)?;
        let mut head = Vec::with_capacity(40);
        head.extend_from_slice(&entry.seq.to_be_bytes());
        head.extend_from_slice(&entry.hash);
        // One transaction: a flush can never persist the record without the
        // head (which `verify` would report as tampering after a crash).
        (&self.trees.audit, &self.trees.meta).transaction(|(audit, meta)| {
            audit.insert(&id_key(entry.seq), bytes.as_slice())?;
            meta.insert(HEAD_KEY, head.as_slice())?;
            Ok::<_, ConflictableTransactionError<StoreError>>(())
        })?;
        Ok(entry)
    }

    /// Records matching `filter`, newest first, at most `limit`.
    pub fn audit_entries(
        &self,
        filter: &AuditFilter,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let upper = filter.before_seq.unwrap_or(u64::MAX);
        let mut found = Vec::new();
        for item in self.trees.audit.range(..id_key(upper)).rev() {
            let (_, value) = item?;
            // No early stop at `since`: the wall clock can step backwards, so
            // sequence order is not strictly time order.
            let entry: AuditEntry = record::decode(&value)?;
            if filter.matches(&entry) {
                found.push(entry);
                if found.len() >= limit {
                    break;
                }
            }
        }
        Ok(found)
    }

    /// Walks the whole chain and reports the first broken record.
    pub fn verify_audit_chain(&self) -> Result<ChainReport, StoreError> {
        let mut expected_seq = 1;
        let mut prev_hash = [0u8; 32];
        let broken = |seq, reason: &str| ChainBreak {
            seq,
            reason: reason.to_owned(),
        };
        for item in self.trees.audit.iter() {
            let (key, value) = item?;
            let report = |b| {
                Ok(ChainReport {
                    verified: expected_seq - 1,
                    broken: Some(b),
                })
            };
            let Ok(seq) = key_id(&key) else {
                return report(broken(
                    expected_seq,
                    "a record is stored under a malformed key",
                ));
            };
            if seq != expected_seq {
                return report(broken(
                    expected_seq,
                    &format!("record is missing (next stored record is {seq})"),
                ));
            }
            let entry = match record::decode::<AuditEntry>(&value) {
                Ok(entry) => entry,
                Err(error) => return report(broken(seq, &format!("unreadable: {error}"))),
            };
            if entry.seq != seq {
                return report(broken(seq, "stored under the wrong sequence number"));
            }
            if entry.prev_hash != prev_hash {
                return report(broken(seq, "does not link to the previous record's hash"));
            }
            if entry.computed_hash() != entry.hash {
                return report(broken(
                    seq,
                    "content does not match its hash (record was altered)",
                ));
            }
            prev_hash = entry.hash;
            expected_seq += 1;
        }
        let last = expected_seq - 1;
        let head = match self.trees.meta.get(HEAD_KEY)? {
            None if last > 0 => {
                return Ok(ChainReport {
                    verified: last,
                    broken: Some(broken(last, "the log's head record is missing")),
                });
            }
            _ => self.audit_head()?,
        };
        if head != (last, prev_hash) {
            return Ok(ChainReport {
                verified: last,
                broken: Some(broken(
                    last + 1,
                    &format!(
                        "the log ends at record {last} but its head says {}: records were removed from the end",
                        head.0
                    ),
                )),
            });
        }
        Ok(ChainReport {
            verified: last,
            broken: None,
        })
    }

    /// Overwrites the stored bytes of record `seq`. Exists so that tests (and
    /// only tests) can prove that tampering is detected.
    #[doc(hidden)]
    pub fn tamper_with_audit_record(
        &self,
        seq: u64,
        edit: impl FnOnce(&mut AuditEntry),
    ) -> Result<(), StoreError> {
        let key = id_key(seq);
        let bytes = self
            .trees
            .audit
            .get(key)?
            .ok_or_else(|| StoreError::NotFound(format!("audit record {seq}")))?;
        let mut entry: AuditEntry = record::decode(&bytes)?;
        edit(&mut entry);
        self.trees.audit.insert(key, record::encode(&entry)?)?;
        self.flush_blocking()
    }

    fn audit_head(&self) -> Result<(u64, [u8; 32]), StoreError> {
        let Some(head) = self.trees.meta.get(HEAD_KEY)? else {
            return Ok((0, [0; 32]));
        };
        let invalid = || StoreError::InvalidRecord {
            kind: "audit head",
            reason: format!("expected 40 bytes, found {}", head.len()),
        };
        let seq = head.get(..8).ok_or_else(invalid)?;
        let hash = head.get(8..40).ok_or_else(invalid)?;
        Ok((key_id(seq)?, hash.try_into().map_err(|_| invalid())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::temp_store;
    use omnigate_domain::{Actor, AuditAction};

    fn fill(store: &Store, n: i64) {
        for i in 0..n {
            let event =
                AuditEvent::new(Actor::System, AuditAction::ConfigChanged).target(format!("t{i}"));
            store.append_audit(&event, Timestamp(i * 1000)).unwrap();
        }
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let (_dir, store) = temp_store();
        fill(&store, 5);
        let report = store.verify_audit_chain().unwrap();
        assert_eq!(
            report,
            ChainReport {
                verified: 5,
                broken: None
            }
        );
    }

    #[test]
    fn an_altered_record_is_named() {
        let (_dir, store) = temp_store();
        fill(&store, 5);
        store
            .tamper_with_audit_record(3, |e| e.actor = "mallory".into())
            .unwrap();
        let report = store.verify_audit_chain().unwrap();
        assert_eq!(report.verified, 2);
        assert_eq!(report.broken.map(|b| b.seq), Some(3));
    }

    #[test]
    fn a_rehashed_record_breaks_the_next_link() {
        let (_dir, store) = temp_store();
        fill(&store, 5);
        store
            .tamper_with_audit_record(2, |e| {
                e.actor = "mallory".into();
                e.hash = e.computed_hash();
            })
            .unwrap();
        let broken = store.verify_audit_chain().unwrap().broken.unwrap();
        assert_eq!(broken.seq, 3);
        assert!(
            broken.reason.contains("previous record"),
            "{}",
            broken.reason
        );
    }

    #[test]
    fn deleted_records_are_noticed_in_the_middle_and_at_the_end() {
        let (_dir, store) = temp_store();
        fill(&store, 5);
        store.trees.audit.remove(id_key(5)).unwrap();
        assert_eq!(
            store.verify_audit_chain().unwrap().broken.map(|b| b.seq),
            Some(5)
        );
        store.trees.audit.remove(id_key(2)).unwrap();
        assert_eq!(
            store.verify_audit_chain().unwrap().broken.map(|b| b.seq),
            Some(2)
        );
    }

    #[test]
    fn a_missing_head_or_a_malformed_key_is_a_break_not_an_error() {
        let (_dir, store) = temp_store();
        fill(&store, 3);
        store.trees.meta.remove(HEAD_KEY).unwrap();
        let broken = store.verify_audit_chain().unwrap().broken.unwrap();
        assert!(broken.reason.contains("head"), "{}", broken.reason);

        let (_dir, store) = temp_store();
        fill(&store, 3);
        store.trees.audit.insert(b"bad", b"x".as_slice()).unwrap();
        let report = store.verify_audit_chain().unwrap();
        assert!(report.broken.is_some());
    }

    #[test]
    fn records_written_with_a_clock_that_stepped_back_are_still_found() {
        let (_dir, store) = temp_store();
        let event = AuditEvent::new(Actor::System, AuditAction::ConfigChanged);
        store.append_audit(&event, Timestamp(2000)).unwrap();
        store.append_audit(&event, Timestamp(1000)).unwrap();
        let since = AuditFilter {
            since: Some(Timestamp(2000)),
            ..AuditFilter::default()
        };
        assert_eq!(store.audit_entries(&since, 10).unwrap().len(), 1);
    }

    #[test]
    fn filters_page_backwards_newest_first() {
        let (_dir, store) = temp_store();
        fill(&store, 10);
        let page = store.audit_entries(&AuditFilter::default(), 3).unwrap();
        assert_eq!(
            page.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![10, 9, 8]
        );
        let next = AuditFilter {
            before_seq: Some(8),
            ..AuditFilter::default()
        };
        let page = store.audit_entries(&next, 3).unwrap();
        assert_eq!(
            page.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![7, 6, 5]
        );
        let window = AuditFilter {
            since: Some(Timestamp(2000)),
            until: Some(Timestamp(4000)),
            action: Some("config.".into()),
            ..AuditFilter::default()
        };
        let page = store.audit_entries(&window, 100).unwrap();
        assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![4, 3]);
    }
}
