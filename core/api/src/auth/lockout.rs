//! Applies the domain's login throttle to accounts and client addresses.
//!
//! Every password check is an *attempt* admitted beforehand against both
//! keys, so simultaneous guesses cannot slip past the limit, and ended by the
//! [`Attempt`] guard (a dropped request releases its slot). Kept in memory: a
//! restart forgets failures, which only helps someone who can restart the
//! server, and they need no password.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use omnigate_domain::{LoginThrottle, Refusal, ThrottlePolicy, Timestamp};

use crate::state::AppState;

/// Keys tracked per map before stale ones are dropped.
const PRUNE_ABOVE: usize = 10_000;
/// Hard cap per map; past it only locked keys are kept, so a spray of random
/// names or addresses cannot grow memory without bound.
const HARD_CAP: usize = 100_000;

type Throttles = Mutex<HashMap<String, LoginThrottle>>;

fn with_key<T>(map: &Throttles, key: &str, f: impl FnOnce(&mut LoginThrottle) -> T) -> T {
    let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
    match map.get_mut(key) {
        Some(throttle) => f(throttle),
        None => f(map.entry(key.to_owned()).or_default()),
    }
}

fn prune(map: &Throttles, policy: ThrottlePolicy, now: Timestamp) {
    let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
    if map.len() > PRUNE_ABOVE {
        map.retain(|_, t| !t.is_stale(policy, now));
    }
    if map.len() > HARD_CAP {
        map.retain(|_, t| t.check(now).is_err());
    }
}

/// One admitted password check. End it with [`Attempt::failed`] or
/// [`Attempt::succeeded`]; dropping it releases the slot without a verdict.
pub(crate) struct Attempt {
    state: AppState,
    account: String,
    address: String,
    open: bool,
}

impl Attempt {
    /// Counts the failure against both keys; returns when a lockout this
    /// failure started ends.
    pub(crate) fn failed(mut self, now: Timestamp) -> Option<Timestamp> {
        self.open = false;
        let inner = &self.state.inner;
        let config = &inner.config;
        let by_account = with_key(&inner.account_throttles, &self.account, |t| {
            t.fail(config.account_throttle, now)
        });
        let by_address = with_key(&inner.address_throttles, &self.address, |t| {
            t.fail(config.address_throttle, now)
        });
        by_account.max(by_address)
    }

    /// The password was right: the account's failures are forgotten, the
    /// address keeps its count (one good login must not reset a spray).
    pub(crate) fn succeeded(mut self) {
        self.open = false;
        let inner = &self.state.inner;
        with_key(&inner.account_throttles, &self.account, |t| t.succeed(true));
        with_key(&inner.address_throttles, &self.address, |t| {
            t.succeed(false)
        });
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if self.open {
            let inner = &self.state.inner;
            with_key(
                &inner.account_throttles,
                &self.account,
                LoginThrottle::abandon,
            );
            with_key(
                &inner.address_throttles,
                &self.address,
                LoginThrottle::abandon,
            );
        }
    }
}

impl AppState {
    /// Admits a password check for `account` from `address`, or says why not.
    pub(crate) fn begin_attempt(
        &self,
        account: &str,
        address: &str,
        now: Timestamp,
    ) -> Result<Attempt, Refusal> {
        let inner = &self.inner;
        let config = &inner.config;
        prune(&inner.account_throttles, config.account_throttle, now);
        prune(&inner.address_throttles, config.address_throttle, now);
        with_key(&inner.account_throttles, account, |t| {
            t.begin(config.account_throttle, now)
        })?;
        if let Err(refusal) = with_key(&inner.address_throttles, address, |t| {
            t.begin(config.address_throttle, now)
        }) {
            with_key(&inner.account_throttles, account, LoginThrottle::abandon);
            return Err(refusal);
        }
        Ok(Attempt {
            state: self.clone(),
            account: account.to_owned(),
            address: address.to_owned(),
            open: true,
        })
    }
}
