//! Applies the domain's login throttle to accounts and client addresses.
//!
//! Kept in memory: a restart forgets failures, which only helps an attacker
//! who can restart the server, and such an attacker needs no password.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use omnigate_domain::{LoginThrottle, ThrottlePolicy, Timestamp};

use crate::state::AppState;

fn locked(
    map: &Mutex<HashMap<String, LoginThrottle>>,
    key: &str,
    now: Timestamp,
) -> Result<(), Timestamp> {
    let map = map.lock().unwrap_or_else(PoisonError::into_inner);
    map.get(key).map_or(Ok(()), |t| t.check(now))
}

fn fail(
    map: &Mutex<HashMap<String, LoginThrottle>>,
    key: &str,
    policy: ThrottlePolicy,
    now: Timestamp,
) -> Option<Timestamp> {
    let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
    map.entry(key.to_owned())
        .or_default()
        .record_failure(policy, now)
}

impl AppState {
    /// `Err(until)` when either the account or the address is locked out.
    pub(crate) fn check_login_throttles(
        &self,
        account: &str,
        address: &str,
        now: Timestamp,
    ) -> Result<(), Timestamp> {
        locked(&self.inner.account_throttles, account, now)?;
        locked(&self.inner.address_throttles, address, now)
    }

    /// Counts a failed login against both keys; returns when a lockout that
    /// this failure started ends.
    pub(crate) fn record_login_failure(
        &self,
        account: &str,
        address: &str,
        now: Timestamp,
    ) -> Option<Timestamp> {
        self.prune_throttles();
        let config = self.config();
        let by_account = fail(
            &self.inner.account_throttles,
            account,
            config.account_throttle,
            now,
        );
        let by_address = fail(
            &self.inner.address_throttles,
            address,
            config.address_throttle,
            now,
        );
        by_account.max(by_address)
    }

    /// Forgets an account's failures after a successful login. The address
    /// keeps its count: one success must not reset a spray across accounts.
    pub(crate) fn clear_account_throttle(&self, account: &str) {
        self.inner
            .account_throttles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(account);
    }
}
