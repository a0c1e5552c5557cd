//! Reports (举报) and cases: what risk and legal officers work on.
//!
//! A user who was defrauded reports the user they paid, citing the transfers and claims by which
//! the money went and the evidence files they uploaded. One open report per reporter and subject.
//! When enough different reporters with evidence report one subject within a window (the
//! `fraud_reports` rule of `[limits.risk]`: 3 in 7 days), the service opens a fraud case and
//! places a precautionary freeze of the reported amounts' sum; later reports join the open case.
//!
//! A case gathers everything about one subject of one kind — its reports, the freezes placed for
//! it, the rule hits — and keeps a timeline of who did what and why. At most one case of a kind is
//! open per subject. Closing it closes its reports; closing it `dismissed` also releases its
//! precautionary freezes that are still active (an anomaly freeze and a lock are their own
//! decisions, released by a risk officer: a dismissal does not lift them by itself).

use serde::{Deserialize, Serialize};

use crate::error::CoreError;
use crate::id::{CaseId, ClaimId, EvidenceId, FreezeId, KeyId, ReportId, TransferId, UserId};
use crate::money::Fen;
use crate::time::Timestamp;

/// The most transfers one report cites.
pub const REPORT_TRANSFERS_MAX: usize = 100;
/// The most evidence files one report cites.
pub const REPORT_EVIDENCE_MAX: usize = 20;
/// The longest description of a report, and the longest note on a case, in characters.
pub const CASE_TEXT_MAX: u32 = 2_000;
/// The most entries a case's timeline (and items) grow to: beyond, a case refuses more notes and
/// reports (open a new one by closing it).
pub const CASE_ENTRIES_MAX: usize = 1_000;

/// That `text` is 1 to [`CASE_TEXT_MAX`] characters, not blank, with no hidden characters but
/// line breaks (a description is prose).
///
/// # Errors
/// [`CoreError::InvalidRequest`] naming `field`.
pub fn check_prose(field: &str, text: &str) -> Result<(), CoreError> {
    let flat = text.replace("\r\n", " ").replace('\n', " ");
    crate::user::check_name(field, &flat, CASE_TEXT_MAX)
}

/// A payment a report cites: a transfer (`trf_…`), or a claim (`clm_…`) the subject made on the
/// reporter's packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Payment {
    Transfer(TransferId),
    Claim(ClaimId),
}

impl Payment {
    /// The id of the transfer or claim (distinct kinds never share one: ids are random).
    pub const fn uuid(self) -> uuid::Uuid {
        match self {
            Payment::Transfer(id) => id.uuid(),
            Payment::Claim(id) => id.uuid(),
        }
    }
}

impl std::fmt::Display for Payment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Payment::Transfer(id) => id.fmt(f),
            Payment::Claim(id) => id.fmt(f),
        }
    }
}

impl Serialize for Payment {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Payment::Transfer(id) => id.serialize(serializer),
            Payment::Claim(id) => id.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Payment {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        if let Ok(id) = text.parse::<TransferId>() {
            return Ok(Payment::Transfer(id));
        }
        text.parse::<ClaimId>()
            .map(Payment::Claim)
            .map_err(|_| serde::de::Error::custom("a cited payment is a transfer id (trf_…) or a claim id (clm_…)"))
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Payment {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("A transfer id (`trf_…`) or a claim id (`clm_…`)"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Payment {}

/// Where a report stands: open until its case closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ReportStatus {
    Open,
    Closed,
}

impl ReportStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Open => "open",
            ReportStatus::Closed => "closed",
        }
    }
}

/// A report. Its JSON form is what the API shows to officers and what the stores keep.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    #[serde(rename = "report_id")]
    pub id: ReportId,
    pub reporter: UserId,
    pub subject: UserId,
    pub status: ReportStatus,
    /// The transfers by which the reporter paid the subject (a claim is cited by its transfer).
    pub transfers: Vec<TransferId>,
    /// Their sum.
    pub amount: Fen,
    pub description: String,
    pub evidence: Vec<EvidenceId>,
    /// The case it joined, once one opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<CaseId>,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
}

impl Report {
    pub fn is_open(&self) -> bool {
        self.status == ReportStatus::Open
    }
}

/// What a case is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CaseKind {
    Fraud,
    Anomaly,
    Aml,
    Dispute,
}

impl CaseKind {
    pub const ALL: [CaseKind; 4] = [CaseKind::Fraud, CaseKind::Anomaly, CaseKind::Aml, CaseKind::Dispute];

    pub const fn as_str(self) -> &'static str {
        match self {
            CaseKind::Fraud => "fraud",
            CaseKind::Anomaly => "anomaly",
            CaseKind::Aml => "aml",
            CaseKind::Dispute => "dispute",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CaseStatus {
    Open,
    Closed,
}

impl CaseStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Open => "open",
            CaseStatus::Closed => "closed",
        }
    }
}

/// How a case ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CaseOutcome {
    /// The suspicion held: what the case holds stays held for the law to take over.
    Upheld,
    /// It did not: the case's precautionary freezes are released.
    Dismissed,
}

impl CaseOutcome {
    pub const fn as_str(self) -> &'static str {
        match self {
            CaseOutcome::Upheld => "upheld",
            CaseOutcome::Dismissed => "dismissed",
        }
    }
}

/// Something a case gathers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CaseItem {
    Report {
        report_id: ReportId,
    },
    Freeze {
        freeze_id: FreezeId,
    },
    /// A rule of `[limits.risk]` fired, at `at`, for the reason `detail` gives in numbers.
    RuleHit {
        rule: String,
        at: Timestamp,
        detail: String,
    },
}

/// One thing that happened to a case: `actor` is an officer's key id, or `system` for the
/// service applying a rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimelineEntry {
    pub at: Timestamp,
    pub actor: String,
    /// `opened`, `report_added`, `freeze_placed`, `freeze_released`, `note`, `closed`.
    pub action: String,
    pub reason: String,
}

impl TimelineEntry {
    /// What the service did, by a rule.
    pub fn system(at: Timestamp, action: &str, reason: String) -> TimelineEntry {
        TimelineEntry { at, actor: "system".to_owned(), action: action.to_owned(), reason }
    }

    /// What an officer did.
    pub fn by(at: Timestamp, officer: KeyId, action: &str, reason: &str) -> TimelineEntry {
        TimelineEntry { at, actor: officer.to_string(), action: action.to_owned(), reason: reason.to_owned() }
    }
}

/// A case. Its JSON form is what the API shows to officers and what the stores keep.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Case {
    #[serde(rename = "case_id")]
    pub id: CaseId,
    pub subject: UserId,
    pub kind: CaseKind,
    pub status: CaseStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<CaseOutcome>,
    pub items: Vec<CaseItem>,
    pub timeline: Vec<TimelineEntry>,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
}

impl Case {
    pub fn is_open(&self) -> bool {
        self.status == CaseStatus::Open
    }

    /// The reports it gathers.
    pub fn reports(&self) -> impl Iterator<Item = ReportId> + '_ {
        self.items.iter().filter_map(|item| match item {
            CaseItem::Report { report_id } => Some(*report_id),
            _ => None,
        })
    }

    /// The freezes placed for it.
    pub fn freezes(&self) -> impl Iterator<Item = FreezeId> + '_ {
        self.items.iter().filter_map(|item| match item {
            CaseItem::Freeze { freeze_id } => Some(*freeze_id),
            _ => None,
        })
    }

    /// That it has room for `more` items and timeline entries.
    ///
    /// # Errors
    /// [`CoreError::Conflict`] when it is full.
    pub fn room_for(&self, more: usize) -> Result<(), CoreError> {
        if self.items.len().max(self.timeline.len()) + more > CASE_ENTRIES_MAX {
            return Err(CoreError::conflict(format!(
                "case {} has {CASE_ENTRIES_MAX} entries, the most one case holds: close it and work on in a new one",
                self.id
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_may_break_lines_but_not_hide_characters() {
        assert!(check_prose("description", "he asked for money\nthen blocked me").is_ok());
        assert!(check_prose("description", " \n ").is_err());
        assert!(check_prose("description", "a\u{202e}b").is_err());
        assert!(check_prose("description", &"x".repeat(CASE_TEXT_MAX as usize + 1)).is_err());
    }
}
