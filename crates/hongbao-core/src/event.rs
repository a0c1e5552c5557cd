//! State changes that matter legally, recorded next to the transfers they explain.
//!
//! Events are append-only and written in the same transaction as the change they record: as
//! entries of the transparency log while it is on, as rows of the `events` table while it is
//! off. Their JSON form is versioned by the `type` tag: a new field is added as optional, a
//! changed meaning gets a new type.

use serde::{Deserialize, Serialize};

use crate::case::{CaseOutcome, Payment};
use crate::fairness::Salt;
use crate::id::{
    CaseId, ClaimId, DocumentId, FreezeId, GroupId, KeyId, PacketId, ReportId, ReturnRequestId, SeizureId, TransferId,
    UserId,
};
use crate::money::Fen;
use crate::packet::PacketKind;
use crate::principal::Role;
use crate::risk::FreezeKind;
use crate::seizure::SeizureTarget;
use crate::time::Timestamp;
use crate::warning::WarningCode;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub at: Timestamp,
    #[serde(flatten)]
    pub what: EventKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    UserCreated {
        user_id: UserId,
    },
    OperatorCreated {
        key_id: KeyId,
        name: String,
        roles: Vec<Role>,
    },
    GroupCreated {
        group_id: GroupId,
        owner: UserId,
        members: u32,
    },
    PacketSent {
        packet_id: PacketId,
        sender: UserId,
        kind: PacketKind,
        count: u32,
        total: Fen,
        /// A lucky packet's commitment to its shares (see `fairness`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        commitment: Option<String>,
    },
    /// A lucky packet closed (exhausted or expired): the salt and the shares of its commitment.
    LuckySharesRevealed {
        packet_id: PacketId,
        salt: Salt,
        shares: Vec<Fen>,
    },
    PacketOpened {
        packet_id: PacketId,
        user_id: UserId,
    },
    PacketClaimed {
        packet_id: PacketId,
        claim_id: ClaimId,
        user_id: UserId,
        amount: Fen,
    },
    PacketRecalled {
        packet_id: PacketId,
        refunded: Fen,
    },
    PacketExpired {
        packet_id: PacketId,
        refunded: Fen,
    },
    ClaimArrived {
        claim_id: ClaimId,
    },
    ClaimRevoked {
        claim_id: ClaimId,
        amount: Fen,
    },
    ClaimReturned {
        claim_id: ClaimId,
        amount: Fen,
    },
    TransferArrived {
        transfer_id: TransferId,
    },
    TransferRevoked {
        transfer_id: TransferId,
    },
    /// Risk control locked a user. `actor` is the operator's key (none: the service itself, by a
    /// rule); both fields are absent from entries written before operators could lock.
    UserLocked {
        user_id: UserId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        actor: Option<KeyId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    UserUnlocked {
        user_id: UserId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        actor: Option<KeyId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A freeze was placed. `documents`: the commitments of the documents it cites (see
    /// `document`), never their content; `actor`: the officer (none: a rule of the service).
    FreezePlaced {
        freeze_id: FreezeId,
        user_id: UserId,
        kind: FreezeKind,
        amount: Option<Fen>,
        held: Fen,
        documents: Vec<String>,
        actor: Option<KeyId>,
    },
    /// A short freeze held `amount` more of what arrived or became available.
    FreezeHeld {
        freeze_id: FreezeId,
        amount: Fen,
    },
    /// An officer released `amount` of a freeze (all it held, or part), citing `documents`.
    FreezeReleased {
        freeze_id: FreezeId,
        amount: Fen,
        documents: Vec<String>,
        actor: Option<KeyId>,
        reason: Option<String>,
    },
    /// A freeze reached its end: what it held, `amount`, is available again.
    FreezeExpired {
        freeze_id: FreezeId,
        amount: Fen,
    },
    /// An officer extended a freeze to `expires_at`, citing `documents`.
    FreezeRenewed {
        freeze_id: FreezeId,
        expires_at: Timestamp,
        documents: Vec<String>,
        actor: Option<KeyId>,
        reason: Option<String>,
    },
    /// A freeze became the freeze `into` (placed in the same entry), which holds its `amount`.
    FreezeConverted {
        freeze_id: FreezeId,
        into: FreezeId,
        amount: Fen,
    },
    /// A legal officer proposed moving `amount` of a freeze to `to`, citing `documents`.
    SeizureProposed {
        seizure_id: SeizureId,
        freeze_id: FreezeId,
        amount: Fen,
        to: SeizureTarget,
        documents: Vec<String>,
        actor: KeyId,
    },
    /// The money moved, in `transfer_id`: both officers in one entry.
    SeizureExecuted {
        seizure_id: SeizureId,
        freeze_id: FreezeId,
        amount: Fen,
        transfer_id: TransferId,
        proposed_by: KeyId,
        approved_by: KeyId,
    },
    SeizureRejected {
        seizure_id: SeizureId,
        actor: KeyId,
        reason: String,
    },
    /// Undecided within its window.
    SeizureExpired {
        seizure_id: SeizureId,
    },
    /// An officer registered a legal document: only its commitment (see `document`), never its
    /// authority, reference or file.
    DocumentRegistered {
        document_id: DocumentId,
        commitment: String,
        actor: KeyId,
    },
    /// An officer revealed a document's salt and file hash, so anyone can recompute its
    /// commitment.
    DocumentRevealed {
        document_id: DocumentId,
        salt: Salt,
        sha256: String,
        actor: KeyId,
        reason: String,
    },
    /// A user reported another for fraud: `amount` is the sum of the transfers cited, `evidence`
    /// how many evidence files back it (their content never enters the log).
    ReportFiled {
        report_id: ReportId,
        reporter: UserId,
        subject: UserId,
        amount: Fen,
        evidence: u32,
    },
    /// A rule of `[limits.risk]` fired about `user_id`, opening or adding to `case_id`; `detail`
    /// says why in numbers. What it did (a freeze, a lock) is logged in the same entry.
    RuleFired {
        rule: String,
        user_id: UserId,
        case_id: CaseId,
        detail: String,
    },
    /// A payer was warned before paying (`confirm`) and went on: the transfer or exclusive packet
    /// `id` is the payment, `warnings` what they were shown.
    RiskConfirmed {
        payer: UserId,
        payee: UserId,
        amount: Fen,
        id: uuid::Uuid,
        warnings: Vec<WarningCode>,
    },
    /// A payer asked the payee to give back `amount` of `target` (a transfer or a claimed share),
    /// a common friend mediating if `mediator` is set. The message never enters the log.
    ReturnRequested {
        request_id: ReturnRequestId,
        target: Payment,
        payer: UserId,
        payee: UserId,
        amount: Fen,
        mediator: Option<UserId>,
    },
    /// The payee gave `amount` back to the payer, in `transfer_id`.
    ReturnAccepted {
        request_id: ReturnRequestId,
        amount: Fen,
        transfer_id: TransferId,
    },
    ReturnDeclined {
        request_id: ReturnRequestId,
    },
    ReturnWithdrawn {
        request_id: ReturnRequestId,
    },
    /// Nobody answered within its window.
    ReturnExpired {
        request_id: ReturnRequestId,
    },
    /// A party added a note (its text never enters the log).
    ReturnNoted {
        request_id: ReturnRequestId,
        by: UserId,
    },
    /// An officer closed a case.
    CaseClosed {
        case_id: CaseId,
        outcome: CaseOutcome,
        actor: KeyId,
        reason: String,
    },
}

impl EventKind {
    /// The `type` tag, for indexing.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::UserCreated { .. } => "user_created",
            EventKind::OperatorCreated { .. } => "operator_created",
            EventKind::GroupCreated { .. } => "group_created",
            EventKind::PacketSent { .. } => "packet_sent",
            EventKind::LuckySharesRevealed { .. } => "lucky_shares_revealed",
            EventKind::PacketOpened { .. } => "packet_opened",
            EventKind::PacketClaimed { .. } => "packet_claimed",
            EventKind::PacketRecalled { .. } => "packet_recalled",
            EventKind::PacketExpired { .. } => "packet_expired",
            EventKind::ClaimArrived { .. } => "claim_arrived",
            EventKind::ClaimRevoked { .. } => "claim_revoked",
            EventKind::ClaimReturned { .. } => "claim_returned",
            EventKind::TransferArrived { .. } => "transfer_arrived",
            EventKind::TransferRevoked { .. } => "transfer_revoked",
            EventKind::UserLocked { .. } => "user_locked",
            EventKind::UserUnlocked { .. } => "user_unlocked",
            EventKind::FreezePlaced { .. } => "freeze_placed",
            EventKind::FreezeHeld { .. } => "freeze_held",
            EventKind::FreezeReleased { .. } => "freeze_released",
            EventKind::FreezeExpired { .. } => "freeze_expired",
            EventKind::FreezeRenewed { .. } => "freeze_renewed",
            EventKind::FreezeConverted { .. } => "freeze_converted",
            EventKind::SeizureProposed { .. } => "seizure_proposed",
            EventKind::SeizureExecuted { .. } => "seizure_executed",
            EventKind::SeizureRejected { .. } => "seizure_rejected",
            EventKind::SeizureExpired { .. } => "seizure_expired",
            EventKind::DocumentRegistered { .. } => "document_registered",
            EventKind::DocumentRevealed { .. } => "document_revealed",
            EventKind::ReportFiled { .. } => "report_filed",
            EventKind::RuleFired { .. } => "rule_fired",
            EventKind::CaseClosed { .. } => "case_closed",
            EventKind::RiskConfirmed { .. } => "risk_confirmed",
            EventKind::ReturnRequested { .. } => "return_requested",
            EventKind::ReturnAccepted { .. } => "return_accepted",
            EventKind::ReturnDeclined { .. } => "return_declined",
            EventKind::ReturnWithdrawn { .. } => "return_withdrawn",
            EventKind::ReturnExpired { .. } => "return_expired",
            EventKind::ReturnNoted { .. } => "return_noted",
        }
    }
}
