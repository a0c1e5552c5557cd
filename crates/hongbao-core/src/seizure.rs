//! Forced transfers (划转) with four eyes: a legal officer proposes moving frozen money of a
//! court or police freeze under a document ordering it; a *different* legal officer approves,
//! and only then, re-checking everything, is the money moved, in one transfer, with both
//! officers named in one log entry. A proposal not decided within 72 hours expires by itself.
//! Only money a freeze holds is ever moved.

use serde::{Deserialize, Serialize};

use crate::freeze::CitedDocument;
use crate::id::{DocumentId, FreezeId, KeyId, SeizureId, TransferId, UserId};
use crate::money::Fen;
use crate::time::Timestamp;

/// How long a proposal waits for its approval: 72 hours.
pub const SEIZURE_APPROVAL_S: u32 = 72 * 3_600;

/// Where seized money goes: a user's wallet (a victim's), or out of the system (`"external"`, to
/// an account the order names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SeizureTarget {
    User(UserId),
    External,
}

impl Serialize for SeizureTarget {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            SeizureTarget::User(user) => user.serialize(serializer),
            SeizureTarget::External => serializer.serialize_str("external"),
        }
    }
}

impl<'de> Deserialize<'de> for SeizureTarget {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        if text == "external" {
            return Ok(SeizureTarget::External);
        }
        text.parse::<UserId>()
            .map(SeizureTarget::User)
            .map_err(|_| serde::de::Error::custom("`to` is a user id (usr_…) or \"external\""))
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for SeizureTarget {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("A user id (`usr_…`), or `external`"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for SeizureTarget {}

/// Where a proposal stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SeizureStatus {
    AwaitingApproval,
    Executed,
    Rejected,
    Expired,
}

impl SeizureStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            SeizureStatus::AwaitingApproval => "awaiting_approval",
            SeizureStatus::Executed => "executed",
            SeizureStatus::Rejected => "rejected",
            SeizureStatus::Expired => "expired",
        }
    }
}

/// A proposed forced transfer. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seizure {
    pub id: SeizureId,
    pub freeze_id: FreezeId,
    /// Whose frozen money.
    pub user_id: UserId,
    pub amount: Fen,
    pub to: SeizureTarget,
    pub reason: String,
    pub documents: Vec<DocumentId>,
    pub status: SeizureStatus,
    pub proposed_by: KeyId,
    pub proposed_at: Timestamp,
    /// After this, it can no longer be approved.
    pub expires_at: Timestamp,
    /// Who approved or rejected it.
    pub decided_by: Option<KeyId>,
    pub decided_at: Option<Timestamp>,
    /// The transfer that moved the money, once executed.
    pub transfer_id: Option<TransferId>,
    /// Why it was rejected.
    pub rejection: Option<String>,
}

impl Seizure {
    /// Whether it still awaits a decision at `now`.
    pub fn is_open_at(&self, now: Timestamp) -> bool {
        self.status == SeizureStatus::AwaitingApproval && now < self.expires_at
    }
}

/// A proposal as officers see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeizureView {
    pub seizure_id: SeizureId,
    pub freeze_id: FreezeId,
    pub user_id: UserId,
    pub amount: Fen,
    pub to: SeizureTarget,
    pub status: SeizureStatus,
    pub reason: String,
    pub documents: Vec<CitedDocument>,
    pub proposed_by: KeyId,
    pub proposed_at: Timestamp,
    pub expires_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<KeyId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected_by: Option<KeyId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_id: Option<TransferId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<String>,
}

impl SeizureView {
    pub fn new(s: &Seizure, documents: &[&crate::document::Document]) -> SeizureView {
        let (approved_by, rejected_by) = match s.status {
            SeizureStatus::Executed => (s.decided_by, None),
            SeizureStatus::Rejected => (None, s.decided_by),
            _ => (None, None),
        };
        SeizureView {
            seizure_id: s.id,
            freeze_id: s.freeze_id,
            user_id: s.user_id,
            amount: s.amount,
            to: s.to,
            status: s.status,
            reason: s.reason.clone(),
            documents: documents.iter().map(|d| CitedDocument::new(d, true)).collect(),
            proposed_by: s.proposed_by,
            proposed_at: s.proposed_at,
            expires_at: s.expires_at,
            approved_by,
            rejected_by,
            decided_at: s.decided_at,
            transfer_id: s.transfer_id,
            rejection: s.rejection.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_is_a_user_id_or_external_both_ways() {
        let user: UserId = "usr_0190f0a0b0c0d0e0f000000000000001".parse().unwrap();
        for target in [SeizureTarget::User(user), SeizureTarget::External] {
            let json = serde_json::to_value(target).unwrap();
            assert_eq!(serde_json::from_value::<SeizureTarget>(json).unwrap(), target);
        }
        assert_eq!(serde_json::to_value(SeizureTarget::External).unwrap(), "external");
        assert!(serde_json::from_value::<SeizureTarget>(serde_json::json!("bank")).is_err());
    }
}
