//! Freezes (冻结): holds on the money of one user's wallet, by kind, with their legal terms.
//!
//! A freeze holds `min(amount, available)` when placed, and money that arrives later (a claim
//! or a transfer posted, a pending one when it arrives, a deposit, a refund) is held too until
//! `held` reaches `amount`; a whole-wallet freeze (`amount: None`) holds everything that arrives.
//! Several freezes on one wallet fill in the order they were placed. The wallet keeps the sum
//! of their `held` as its `frozen` total, and a flag, `holding`, set while one of them is short
//! of its target: then nothing of the wallet is available, and whatever arrives is held (the
//! top-up runs at the end of every command that changed such a wallet, so a wallet without a
//! short freeze costs nothing more on the claim path).
//!
//! A freeze never moves money: it ends released (by an officer, under a release document for a
//! court or police freeze), expired (at `expires_at`, by a job, exactly once), seized (when all it
//! held was transferred under four eyes) or converted (into a court or police freeze that holds
//! the same money). Its [`FreezeTally`] accounts for every fen it ever held.

use serde::{Deserialize, Serialize};

use crate::document::{Document, DocumentKind};
use crate::id::{DocumentId, FreezeId, KeyId, UserId};
use crate::money::Fen;
use crate::risk::FreezeKind;
use crate::time::Timestamp;

/// The most documents one freeze cites.
pub const FREEZE_DOCUMENTS_MAX: usize = 16;

/// Where a freeze stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum FreezeStatus {
    Active,
    Released,
    Expired,
    Seized,
    Converted,
}

impl FreezeStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            FreezeStatus::Active => "active",
            FreezeStatus::Released => "released",
            FreezeStatus::Expired => "expired",
            FreezeStatus::Seized => "seized",
            FreezeStatus::Converted => "converted",
        }
    }
}

/// Every fen a freeze ever held, and where it went: `ever_held = held + released + expired +
/// seized + converted` at all times (invariant 7).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FreezeTally {
    pub ever_held: Fen,
    pub released: Fen,
    pub expired: Fen,
    pub seized: Fen,
    /// Handed to the freeze it was converted into.
    pub converted: Fen,
}

/// A freeze. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Freeze {
    pub id: FreezeId,
    pub user_id: UserId,
    /// Its place among the freezes of the wallet: 0 for the first placed, and so on.
    pub seq: u32,
    pub kind: FreezeKind,
    /// The most it holds; `None`: everything in the wallet and everything that arrives.
    pub amount: Option<Fen>,
    pub held: Fen,
    pub status: FreezeStatus,
    /// Every document it cited: when placed, renewed and released, in that order.
    pub documents: Vec<DocumentId>,
    /// Why it was placed (never shown to the user).
    pub reason: String,
    pub major_case: bool,
    /// The officer who placed it; `None`: a rule of the service.
    pub created_by: Option<KeyId>,
    pub created_at: Timestamp,
    /// When it expires by itself; `None`: only a release ends it (an anomaly freeze).
    pub expires_at: Option<Timestamp>,
    pub renewals: u32,
    /// When it stopped being active.
    pub ended_at: Option<Timestamp>,
    pub tally: FreezeTally,
}

impl Freeze {
    pub fn is_active(&self) -> bool {
        self.status == FreezeStatus::Active
    }

    /// How much more it would hold now: `None` for a whole-wallet freeze (everything), zero when
    /// it is not active or holds its amount.
    pub fn wants(&self) -> Option<Fen> {
        if !self.is_active() {
            return Some(Fen::ZERO);
        }
        self.amount.map(|amount| amount.checked_sub(self.held).unwrap_or(Fen::ZERO).max(Fen::ZERO))
    }

    /// Whether it is active and holds less than it would.
    pub fn is_short(&self) -> bool {
        self.wants() != Some(Fen::ZERO)
    }

    /// Whether the tally adds up.
    pub fn tally_adds_up(&self) -> bool {
        let t = self.tally;
        [self.held, t.released, t.expired, t.seized, t.converted]
            .into_iter()
            .try_fold(Fen::ZERO, |sum, part| sum.checked_add(part).ok())
            == Some(t.ever_held)
    }
}

/// The documents a kind of freeze must cite when placed, each kind at least once.
pub const fn required_documents(kind: FreezeKind) -> &'static [DocumentKind] {
    match kind {
        FreezeKind::Court => &[DocumentKind::CourtRuling, DocumentKind::AssistanceNotice],
        FreezeKind::Police => &[DocumentKind::AssistanceNotice],
        FreezeKind::EmergencyStop => &[DocumentKind::StopPaymentOrder],
        FreezeKind::Precautionary | FreezeKind::Anomaly => &[],
    }
}

/// The kinds in `required` that `cited` lacks.
pub fn missing_documents(required: &[DocumentKind], cited: &[&Document]) -> Vec<DocumentKind> {
    required.iter().copied().filter(|kind| !cited.iter().any(|d| d.kind == *kind)).collect()
}

/// A document as a freeze shows it: to officers whole; to the user concerned without the
/// authority and reference of a confidential one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CitedDocument {
    pub document_id: DocumentId,
    pub kind: DocumentKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub issued_at: Timestamp,
    pub confidential: bool,
}

impl CitedDocument {
    /// `document` as `for_officer` or the user concerned sees it.
    pub fn new(document: &Document, for_officer: bool) -> CitedDocument {
        let shown = for_officer || !document.confidential;
        CitedDocument {
            document_id: document.id,
            kind: document.kind,
            authority: shown.then(|| document.authority.clone()),
            reference: shown.then(|| document.reference.clone()),
            issued_at: document.issued_at,
            confidential: document.confidential,
        }
    }
}

/// A freeze as officers see it (`GET /v1/freezes/{id}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FreezeView {
    pub freeze_id: FreezeId,
    pub user_id: UserId,
    pub kind: FreezeKind,
    /// `null`: the whole wallet.
    pub amount: Option<Fen>,
    pub held: Fen,
    pub status: FreezeStatus,
    pub documents: Vec<CitedDocument>,
    pub reason: String,
    pub major_case: bool,
    /// The officer's key; `null`: a rule.
    pub created_by: Option<KeyId>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub renewals: u32,
    /// When it was released (or otherwise stopped being active).
    pub released_at: Option<Timestamp>,
    pub tally: FreezeTally,
}

impl FreezeView {
    /// `freeze` with its documents, as officers see them.
    pub fn new(freeze: &Freeze, documents: &[&Document]) -> FreezeView {
        FreezeView {
            freeze_id: freeze.id,
            user_id: freeze.user_id,
            kind: freeze.kind,
            amount: freeze.amount,
            held: freeze.held,
            status: freeze.status,
            documents: documents.iter().map(|d| CitedDocument::new(d, true)).collect(),
            reason: freeze.reason.clone(),
            major_case: freeze.major_case,
            created_by: freeze.created_by,
            created_at: freeze.created_at,
            expires_at: freeze.expires_at,
            renewals: freeze.renewals,
            released_at: freeze.ended_at,
            tally: freeze.tally,
        }
    }
}

/// A freeze as the user whose money it holds sees it (`GET /v1/me/holds`): no reason, no
/// officer, and a confidential document's authority and reference withheld.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HoldView {
    pub freeze_id: FreezeId,
    pub kind: FreezeKind,
    pub amount: Option<Fen>,
    pub held: Fen,
    pub status: FreezeStatus,
    pub documents: Vec<CitedDocument>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

impl HoldView {
    pub fn new(freeze: &Freeze, documents: &[&Document]) -> HoldView {
        HoldView {
            freeze_id: freeze.id,
            kind: freeze.kind,
            amount: freeze.amount,
            held: freeze.held,
            status: freeze.status,
            documents: documents.iter().map(|d| CitedDocument::new(d, false)).collect(),
            created_at: freeze.created_at,
            expires_at: freeze.expires_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn freeze(amount: Option<i64>, held: i64) -> Freeze {
        Freeze {
            id: FreezeId::from_uuid(uuid::Uuid::from_u128(1)),
            user_id: UserId::from_uuid(uuid::Uuid::from_u128(2)),
            seq: 0,
            kind: FreezeKind::Court,
            amount: amount.map(Fen::new),
            held: Fen::new(held),
            status: FreezeStatus::Active,
            documents: Vec::new(),
            reason: "r".to_owned(),
            major_case: false,
            created_by: None,
            created_at: Timestamp::from_millis(0),
            expires_at: None,
            renewals: 0,
            ended_at: None,
            tally: FreezeTally { ever_held: Fen::new(held), ..FreezeTally::default() },
        }
    }

    #[test]
    fn a_freeze_wants_what_it_lacks_of_its_amount_and_a_whole_wallet_one_everything() {
        assert_eq!(freeze(Some(500), 200).wants(), Some(Fen::new(300)));
        assert!(freeze(Some(500), 200).is_short());
        assert_eq!(freeze(Some(500), 500).wants(), Some(Fen::ZERO));
        assert!(!freeze(Some(500), 500).is_short());
        assert_eq!(freeze(None, 500).wants(), None);
        let ended = Freeze { status: FreezeStatus::Released, ..freeze(None, 0) };
        assert!(!ended.is_short());
        assert!(freeze(Some(500), 200).tally_adds_up());
        let off = Freeze { held: Fen::new(201), ..freeze(Some(500), 200) };
        assert!(!off.tally_adds_up());
    }
}
