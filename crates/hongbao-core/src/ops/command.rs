//! What the core can be asked to do: [`Command`] and the [`PacketSpec`] of a packet to send.
//! Who may ask for each is decided in `authority.rs`.

use serde::{Deserialize, Serialize};

use crate::case::{CaseOutcome, Payment};
use crate::id::{
    CaseId, ClaimId, DocumentId, EvidenceId, FreezeId, GroupId, KeyId, PacketId, ReturnRequestId, SeizureId,
    TransferId, UserId,
};
use crate::money::Fen;
use crate::principal::Role;
use crate::risk::FreezeKind;
use crate::seizure::SeizureTarget;
use crate::signal::Signal;
use crate::time::Timestamp;
use crate::warning::RiskConfirmation;

use super::documents::DocumentSpec;
use super::freezes::FreezeSpec;

/// What a red packet is, as its sender asks for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PacketSpec {
    Normal { group_id: GroupId, count: u32, amount_each: Fen },
    Lucky { group_id: GroupId, count: u32, total: Fen },
    Exclusive { recipient: UserId, amount: Fen },
}

/// Everything the core can be asked to do. An `actor` field is the user the command acts for;
/// who may issue each command is [`Command::authority`](super::Authority).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// A user and their first signing key.
    CreateUser {
        name: String,
    },
    /// An operator (a key with roles).
    CreateOperator {
        name: String,
        roles: Vec<Role>,
    },
    CreateGroup {
        actor: UserId,
        name: String,
        members: Vec<UserId>,
    },
    Deposit {
        user: UserId,
        amount: Fen,
    },
    Withdraw {
        actor: UserId,
        amount: Fen,
    },
    SendPacket {
        actor: UserId,
        spec: PacketSpec,
        greeting: Option<String>,
        arrival_delay_s: u32,
        /// The payer went on after a warning (an exclusive packet whose recipient is rated
        /// `confirm`): the id the packet takes, from the shell's checked token.
        #[serde(default)]
        risk_confirmation: Option<RiskConfirmation>,
    },
    OpenPacket {
        actor: UserId,
        packet: PacketId,
    },
    ClaimPacket {
        actor: UserId,
        packet: PacketId,
    },
    RecallPacket {
        actor: UserId,
        packet: PacketId,
    },
    RevokeClaim {
        actor: UserId,
        claim: ClaimId,
    },
    ReturnClaim {
        actor: UserId,
        claim: ClaimId,
    },
    Transfer {
        actor: UserId,
        to: UserId,
        amount: Fen,
        note: Option<String>,
        arrival_delay_s: u32,
        /// The payer went on after a warning (a payee rated `confirm`): the id the transfer
        /// takes, from the shell's checked token.
        #[serde(default)]
        risk_confirmation: Option<RiskConfirmation>,
    },
    RevokeTransfer {
        actor: UserId,
        transfer: TransferId,
    },
    /// Risk control stops a user paying or claiming; money still arrives. `officer` is the key
    /// of the operator who acts (the log names them), `reason` why.
    LockUser {
        officer: KeyId,
        user: UserId,
        reason: String,
    },
    UnlockUser {
        officer: KeyId,
        user: UserId,
        reason: String,
    },
    /// An officer registers a legal document (see `document`); the log records its commitment.
    RegisterDocument {
        officer: KeyId,
        spec: DocumentSpec,
    },
    /// An officer reveals a document's salt, so anyone can recompute its commitment.
    RevealDocument {
        officer: KeyId,
        document: DocumentId,
        reason: String,
    },
    /// An officer freezes a user's money: a court, police or emergency freeze by a legal
    /// officer, a precautionary one by a risk officer (anomaly freezes are the anomaly rule's).
    PlaceFreeze {
        officer: KeyId,
        spec: FreezeSpec,
    },
    /// An officer releases a freeze, or `amount` of what it holds. `legal`: the officer holds
    /// `legal_officer` (a court, police or emergency freeze is released by one only).
    ReleaseFreeze {
        officer: KeyId,
        legal: bool,
        freeze: FreezeId,
        reason: String,
        amount: Option<Fen>,
        documents: Vec<DocumentId>,
    },
    /// Background: refund an active packet whose expiry has passed. Does nothing otherwise.
    ExpirePacket {
        packet: PacketId,
    },
    /// An officer extends an active freeze to `expires_at`, citing a new document for a court,
    /// police or emergency freeze (a precautionary one is renewed by another risk officer).
    RenewFreeze {
        officer: KeyId,
        legal: bool,
        freeze: FreezeId,
        reason: String,
        documents: Vec<DocumentId>,
        expires_at: Timestamp,
    },
    /// A legal officer turns a precautionary or emergency freeze into a court or police one
    /// holding the same money.
    ConvertFreeze {
        officer: KeyId,
        freeze: FreezeId,
        kind: FreezeKind,
        reason: String,
        documents: Vec<DocumentId>,
        expires_at: Option<Timestamp>,
    },
    /// A legal officer proposes moving `amount` of what a court or police freeze holds to `to`,
    /// under a document ordering it; nothing moves until another legal officer approves.
    ProposeSeizure {
        officer: KeyId,
        freeze: FreezeId,
        amount: Fen,
        to: SeizureTarget,
        reason: String,
        documents: Vec<DocumentId>,
    },
    /// A legal officer other than the proposer approves: everything is checked again, then the
    /// money moves in one transfer.
    ApproveSeizure {
        officer: KeyId,
        seizure: SeizureId,
    },
    RejectSeizure {
        officer: KeyId,
        seizure: SeizureId,
        reason: String,
    },
    /// Background: an undecided proposal past its window expires. Does nothing otherwise.
    ExpireSeizure {
        seizure: SeizureId,
    },
    /// A user reports `subject` for fraud, citing the payments by which the money went and the
    /// evidence files they uploaded (the shell checks the files are theirs). The `fraud_reports`
    /// rule runs at once.
    FileReport {
        actor: UserId,
        subject: UserId,
        payments: Vec<Payment>,
        description: String,
        evidence: Vec<EvidenceId>,
    },
    /// The app tells risk control something about a user (a login from a region); the
    /// `anomaly_receipts_new_region` rule runs at once.
    RecordSignal {
        user: UserId,
        signal: Signal,
    },
    /// An officer writes on a case's timeline.
    AddCaseNote {
        officer: KeyId,
        case: CaseId,
        text: String,
    },
    /// An officer closes a case: its reports close; `dismissed` releases its precautionary
    /// freezes still active.
    CloseCase {
        officer: KeyId,
        case: CaseId,
        outcome: CaseOutcome,
        reason: String,
    },
    /// A payer asks the payee to give back `amount` (all that has not come back, if absent) of
    /// a transfer or a claimed share, with a common friend as `mediator` if they like.
    OpenReturnRequest {
        actor: UserId,
        target: Payment,
        amount: Option<Fen>,
        message: String,
        mediator: Option<UserId>,
    },
    /// The payee gives the money back, at once, to the original payer.
    AcceptReturnRequest {
        actor: UserId,
        request: ReturnRequestId,
    },
    DeclineReturnRequest {
        actor: UserId,
        request: ReturnRequestId,
        message: String,
    },
    /// The payer takes the request back.
    WithdrawReturnRequest {
        actor: UserId,
        request: ReturnRequestId,
    },
    /// The payer, the payee or the mediator writes on an open request.
    AddReturnNote {
        actor: UserId,
        request: ReturnRequestId,
        text: String,
    },
    /// Background: an open request past its window expires. Does nothing otherwise.
    ExpireReturnRequest {
        request: ReturnRequestId,
    },
    /// Background: post a pending transfer whose deadline has passed. Does nothing otherwise.
    SettlePending {
        transfer: TransferId,
    },
    /// Background: release what an active freeze past its end holds. Does nothing otherwise.
    ExpireFreeze {
        freeze: FreezeId,
    },
}

impl Command {
    /// The command's name (`claim_packet`, `send_lucky`, …): for messages, and for the
    /// simulations' tallies of what they exercised.
    pub const fn kind(&self) -> &'static str {
        match self {
            Command::CreateUser { .. } => "create_user",
            Command::CreateOperator { .. } => "create_operator",
            Command::CreateGroup { .. } => "create_group",
            Command::Deposit { .. } => "deposit",
            Command::Withdraw { .. } => "withdraw",
            Command::SendPacket { spec: PacketSpec::Normal { .. }, .. } => "send_normal",
            Command::SendPacket { spec: PacketSpec::Lucky { .. }, .. } => "send_lucky",
            Command::SendPacket { spec: PacketSpec::Exclusive { .. }, .. } => "send_exclusive",
            Command::OpenPacket { .. } => "open_packet",
            Command::ClaimPacket { .. } => "claim_packet",
            Command::RecallPacket { .. } => "recall_packet",
            Command::RevokeClaim { .. } => "revoke_claim",
            Command::ReturnClaim { .. } => "return_claim",
            Command::Transfer { .. } => "transfer",
            Command::RevokeTransfer { .. } => "revoke_transfer",
            Command::LockUser { .. } => "lock_user",
            Command::UnlockUser { .. } => "unlock_user",
            Command::PlaceFreeze { .. } => "place_freeze",
            Command::ReleaseFreeze { .. } => "release_freeze",
            Command::ExpireFreeze { .. } => "expire_freeze",
            Command::RenewFreeze { .. } => "renew_freeze",
            Command::ConvertFreeze { .. } => "convert_freeze",
            Command::ProposeSeizure { .. } => "propose_seizure",
            Command::ApproveSeizure { .. } => "approve_seizure",
            Command::RejectSeizure { .. } => "reject_seizure",
            Command::ExpireSeizure { .. } => "expire_seizure",
            Command::RegisterDocument { .. } => "register_document",
            Command::RevealDocument { .. } => "reveal_document",
            Command::FileReport { .. } => "file_report",
            Command::RecordSignal { .. } => "record_signal",
            Command::AddCaseNote { .. } => "add_case_note",
            Command::CloseCase { .. } => "close_case",
            Command::ExpirePacket { .. } => "expire_packet",
            Command::SettlePending { .. } => "settle_pending",
            Command::OpenReturnRequest { .. } => "open_return_request",
            Command::AcceptReturnRequest { .. } => "accept_return_request",
            Command::DeclineReturnRequest { .. } => "decline_return_request",
            Command::WithdrawReturnRequest { .. } => "withdraw_return_request",
            Command::AddReturnNote { .. } => "add_return_note",
            Command::ExpireReturnRequest { .. } => "expire_return_request",
        }
    }
}
