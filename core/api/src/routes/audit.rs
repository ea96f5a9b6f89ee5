//! Reading the audit log.

use axum::Json as ResponseJson;
use axum::extract::State;
use omnigate_domain::Timestamp;
use omnigate_store::AuditFilter;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;
use crate::views::{AuditPage, AuditView};

/// Filters and paging of the audit log.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// An action code, or a prefix ending in `.` such as `user.`.
    action: Option<String>,
    /// Actor label: an e-mail, `anonymous`, `cli` or `system`.
    actor: Option<String>,
    /// RFC 3339; records at or after.
    #[param(format = DateTime)]
    since: Option<String>,
    /// RFC 3339; records before.
    #[param(format = DateTime)]
    until: Option<String>,
    /// Paging: records with a sequence number below this.
    before: Option<u64>,
    /// At most this many (default 100, at most 1000).
    limit: Option<usize>,
}

fn time_param(name: &'static str, raw: Option<&str>) -> Result<Option<Timestamp>, ApiError> {
    raw.map(|text| {
        Timestamp::parse_rfc3339(text).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_request",
                format!("{name}: `{text}` is not an RFC 3339 time such as 2026-11-25T09:00:00Z"),
            )
        })
    })
    .transpose()
}

/// Read the audit log.
///
/// Newest first; `next_before` pages further back.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    operation_id = "list_audit",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of records.", body = AuditPage),
    ),
    security(("session" = []), ("api_token" = []))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Query(query): Query<AuditQuery>,
) -> Result<ResponseJson<AuditPage>, ApiError> {
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let filter = AuditFilter {
        action: query.action,
        actor: query.actor,
        since: time_param("since", query.since.as_deref())?,
        until: time_param("until", query.until.as_deref())?,
        before_seq: query.before,
    };
    let entries = state.inner.store.audit_entries(&filter, limit)?;
    let next_before = (entries.len() == limit)
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    let entries: Vec<AuditView> = entries.iter().map(AuditView::from).collect();
    Ok(ResponseJson(AuditPage {
        entries,
        next_before,
    }))
}
