//! Between the desk's [`Status`] and the stored [`StatusRecord`].

use omnigate_domain::routing::{Presence, Status};
use omnigate_domain::{Timestamp, UserId};
use omnigate_store::StatusRecord;

/// The stored form of a desk status.
pub(crate) fn to_record(status: &Status) -> StatusRecord {
    match status.clone() {
        Status::InFlow { flow } => StatusRecord::InFlow { flow },
        Status::Queued { since } => StatusRecord::Queued { since_ms: since.0 },
        Status::Assigned { agent } => StatusRecord::Assigned { agent: agent.0 },
        Status::TransferPending {
            from,
            to,
            note,
            requested_at,
        } => StatusRecord::TransferPending {
            from: from.0,
            to: to.0,
            note,
            requested_at_ms: requested_at.0,
        },
        Status::Ended { reason, at } => StatusRecord::Ended {
            reason,
            at_ms: at.0,
        },
    }
}

/// The desk status of a stored one.
pub(crate) fn from_record(record: &StatusRecord) -> Status {
    match record.clone() {
        StatusRecord::InFlow { flow } => Status::InFlow { flow },
        StatusRecord::Queued { since_ms } => Status::Queued {
            since: Timestamp(since_ms),
        },
        StatusRecord::Assigned { agent } => Status::Assigned {
            agent: UserId(agent),
        },
        StatusRecord::TransferPending {
            from,
            to,
            note,
            requested_at_ms,
        } => Status::TransferPending {
            from: UserId(from),
            to: UserId(to),
            note,
            requested_at: Timestamp(requested_at_ms),
        },
        StatusRecord::Ended { reason, at_ms } => Status::Ended {
            reason,
            at: Timestamp(at_ms),
        },
    }
}

/// Presence code on disk.
pub(crate) fn presence_code(presence: Presence) -> u8 {
    match presence {
        Presence::Online => 0,
        Presence::Break => 1,
        Presence::Offline => 2,
    }
}

/// Presence from its code; unknown codes (validated away on read) are offline.
pub(crate) fn presence_from_code(code: u8) -> Presence {
    match code {
        0 => Presence::Online,
        1 => Presence::Break,
        _ => Presence::Offline,
    }
}

/// The API's name of a stored status.
#[must_use]
pub fn status_name(record: &StatusRecord) -> &'static str {
    match record {
        StatusRecord::InFlow { .. } => "in_flow",
        StatusRecord::Queued { .. } => "queued",
        StatusRecord::Assigned { .. } => "assigned",
        StatusRecord::TransferPending { .. } => "transfer_pending",
        StatusRecord::Ended { .. } => "ended",
    }
}
