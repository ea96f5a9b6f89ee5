//! The on-disk schema version and the migrations between versions.
//!
//! At open, the stored version is compared with [`CURRENT`]: an empty
//! database is stamped with it, an older one runs every migration in order
//! (each in its own flush, so a crash mid-way resumes at the right step), a
//! newer one is refused rather than misread.

use crate::StoreError;

/// The schema this binary writes.
pub(crate) const CURRENT: u32 = 1;

const KEY: &str = "schema_version";

/// One step from `to - 1` to `to`.
struct Migration {
    to: u32,
    run: fn(&sled::Db) -> Result<(), StoreError>,
}

/// Version 1 is the first layout; its trees are created by opening them, so
/// there is nothing to rewrite. Later versions append their steps here.
const MIGRATIONS: &[Migration] = &[Migration {
    to: 1,
    run: |_| Ok(()),
}];

pub(crate) fn migrate(db: &sled::Db, meta: &sled::Tree) -> Result<(), StoreError> {
    let found = match meta.get(KEY)? {
        None => 0,
        Some(bytes) => {
            let raw: [u8; 4] =
                bytes
                    .as_ref()
                    .try_into()
                    .map_err(|_| StoreError::InvalidRecord {
                        kind: "schema version",
                        reason: format!("expected 4 bytes, found {}", bytes.len()),
                    })?;
            u32::from_be_bytes(raw)
        }
    };
    if found > CURRENT {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: CURRENT,
        });
    }
    for step in MIGRATIONS.iter().filter(|m| m.to > found) {
        tracing::info!(from = step.to - 1, to = step.to, "migrating data directory");
        (step.run)(db)?;
        meta.insert(KEY, &step.to.to_be_bytes())?;
        db.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_contiguous_and_end_at_current() {
        for (i, step) in MIGRATIONS.iter().enumerate() {
            assert_eq!(step.to as usize, i + 1);
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.to), Some(CURRENT));
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let meta = db.open_tree("meta").unwrap();
        meta.insert(KEY, &(CURRENT + 1).to_be_bytes()).unwrap();
        let err = migrate(&db, &meta).unwrap_err();
        assert!(matches!(err, StoreError::SchemaTooNew { found, .. } if found == CURRENT + 1));
    }

    #[test]
    fn an_empty_database_is_stamped_with_the_current_version() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let meta = db.open_tree("meta").unwrap();
        migrate(&db, &meta).unwrap();
        assert_eq!(
            meta.get(KEY).unwrap().map(|v| v.to_vec()),
            Some(CURRENT.to_be_bytes().to_vec())
        );
    }
}
