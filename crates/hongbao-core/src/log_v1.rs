//! Version 1 of the log's entry format, as types of its own: the field names, tags and kind names
//! that are logged, written out once here, so that renaming or reordering anything in the domain
//! types (`Transfer`, `Event`, the kinds) can never change the bytes of an entry, old or new.
//! The domain reaches the format only through the exhaustive conversions below: a new transfer
//! kind, role or event does not compile until it is given its name in the format (a new event
//! is added as a new case; a changed meaning gets a new version, in a file of its own).
//!
//! Values keep their documented encodings (ids as prefixed strings, amounts as integer fen, times
//! as RFC 3339 UTC with milliseconds, salts as hex); `log::tests` pins the exact bytes.

use serde::{Deserialize, Serialize};

use crate::case::{CaseOutcome, Payment};
use crate::event::{Event, EventKind};
use crate::fairness::Salt;
use crate::id::{
    AccountId, CaseId, ClaimId, DocumentId, FreezeId, GroupId, KeyId, PacketId, ReportId, ReturnRequestId, SeizureId,
    TransferId, UserId,
};
use crate::ledger::{Phase, Transfer, TransferKind};
use crate::log::LogRecord;
use crate::money::Fen;
use crate::packet::PacketKind;
use crate::principal::Role;
use crate::risk::FreezeKind;
use crate::seizure::SeizureTarget;
use crate::time::Timestamp;
use crate::warning::WarningCode;

/// A fieldless domain enum and its names in the format, both ways.
macro_rules! names {
    ($v1:ident for $domain:ident { $($variant:ident),* $(,)? }) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub(crate) enum $v1 {
            $($variant),*
        }
        impl From<$domain> for $v1 {
            fn from(value: $domain) -> $v1 {
                match value {
                    $($domain::$variant => $v1::$variant),*
                }
            }
        }
        impl From<$v1> for $domain {
            fn from(value: $v1) -> $domain {
                match value {
                    $($v1::$variant => $domain::$variant),*
                }
            }
        }
    };
}

names!(TransferKindV1 for TransferKind {
    Deposit, Withdrawal, PacketSend, PacketClaim, PacketRefund, PacketRecall, ClaimRevoke, ClaimReturn, Transfer,
    Seizure, Return,
});
names!(PacketKindV1 for PacketKind { Normal, Lucky, Exclusive });
names!(RoleV1 for Role { Admin, RiskOfficer, LegalOfficer, Auditor });
names!(FreezeKindV1 for FreezeKind { Court, Police, EmergencyStop, Precautionary, Anomaly });
names!(CaseOutcomeV1 for CaseOutcome { Upheld, Dismissed });
names!(WarningCodeV1 for WarningCode {
    NoSharedGroup, NewAccount, LargeAmount, PayeeReported, PayeeUnderInvestigation, PayeeHeld,
});

/// Where seized money goes, as logged: a user id, or `"external"` (the domain type's own text).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct SeizureTargetV1(SeizureTarget);

impl From<SeizureTarget> for SeizureTargetV1 {
    fn from(value: SeizureTarget) -> SeizureTargetV1 {
        SeizureTargetV1(value)
    }
}

impl From<SeizureTargetV1> for SeizureTarget {
    fn from(value: SeizureTargetV1) -> SeizureTarget {
        value.0
    }
}

/// What a return request asks back, as logged: a transfer or claim id (the domain type's own
/// text).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct PaymentV1(Payment);

impl From<Payment> for PaymentV1 {
    fn from(value: Payment) -> PaymentV1 {
        PaymentV1(value)
    }
}

impl From<PaymentV1> for Payment {
    fn from(value: PaymentV1) -> Payment {
        value.0
    }
}

/// A record: `{"transfer":{…}}` or `{"event":{…}}` (the version is written before it).
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RecordV1 {
    Transfer(TransferV1),
    Event(EventV1),
}

#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TransferV1 {
    id: TransferId,
    debit: AccountId,
    credit: AccountId,
    amount: Fen,
    kind: TransferKindV1,
    phase: PhaseV1,
    packet_id: Option<PacketId>,
    claim_id: Option<ClaimId>,
    note: Option<String>,
    created_at: Timestamp,
}

#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
enum PhaseV1 {
    Posted,
    Pending { deadline: Timestamp },
    PostPending { pending_id: TransferId },
    VoidPending { pending_id: TransferId },
}

#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EventV1 {
    at: Timestamp,
    #[serde(flatten)]
    what: EventKindV1,
}

#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum EventKindV1 {
    UserCreated {
        user_id: UserId,
    },
    OperatorCreated {
        key_id: KeyId,
        name: String,
        roles: Vec<RoleV1>,
    },
    GroupCreated {
        group_id: GroupId,
        owner: UserId,
        members: u32,
    },
    PacketSent {
        packet_id: PacketId,
        sender: UserId,
        kind: PacketKindV1,
        count: u32,
        total: Fen,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        commitment: Option<String>,
    },
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
        kind: FreezeKindV1,
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
        to: SeizureTargetV1,
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
    DocumentRegistered {
        document_id: DocumentId,
        commitment: String,
        actor: KeyId,
    },
    DocumentRevealed {
        document_id: DocumentId,
        salt: Salt,
        sha256: String,
        actor: KeyId,
        reason: String,
    },
    ReportFiled {
        report_id: ReportId,
        reporter: UserId,
        subject: UserId,
        amount: Fen,
        evidence: u32,
    },
    RuleFired {
        rule: String,
        user_id: UserId,
        case_id: CaseId,
        detail: String,
    },
    /// A payer asked the payee to give back `amount` of `target` (a transfer or a claimed share),
    /// a common friend mediating if `mediator` is set. The message never enters the log.
    ReturnRequested {
        request_id: ReturnRequestId,
        target: PaymentV1,
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
    RiskConfirmed {
        payer: UserId,
        payee: UserId,
        amount: Fen,
        id: uuid::Uuid,
        warnings: Vec<WarningCodeV1>,
    },
    CaseClosed {
        case_id: CaseId,
        outcome: CaseOutcomeV1,
        actor: KeyId,
        reason: String,
    },
}

impl From<&LogRecord> for RecordV1 {
    fn from(record: &LogRecord) -> RecordV1 {
        match record {
            LogRecord::Transfer(t) => RecordV1::Transfer(TransferV1::from(t)),
            LogRecord::Event(e) => RecordV1::Event(EventV1 { at: e.at, what: EventKindV1::from(&e.what) }),
        }
    }
}

impl From<RecordV1> for LogRecord {
    fn from(record: RecordV1) -> LogRecord {
        match record {
            RecordV1::Transfer(t) => LogRecord::Transfer(Transfer::from(t)),
            RecordV1::Event(e) => LogRecord::Event(Event { at: e.at, what: EventKind::from(e.what) }),
        }
    }
}

impl From<&Transfer> for TransferV1 {
    fn from(t: &Transfer) -> TransferV1 {
        let phase = match t.phase {
            Phase::Posted => PhaseV1::Posted,
            Phase::Pending { deadline } => PhaseV1::Pending { deadline },
            Phase::PostPending { pending_id } => PhaseV1::PostPending { pending_id },
            Phase::VoidPending { pending_id } => PhaseV1::VoidPending { pending_id },
        };
        TransferV1 {
            id: t.id,
            debit: t.debit,
            credit: t.credit,
            amount: t.amount,
            kind: t.kind.into(),
            phase,
            packet_id: t.packet_id,
            claim_id: t.claim_id,
            note: t.note.clone(),
            created_at: t.created_at,
        }
    }
}

impl From<TransferV1> for Transfer {
    fn from(t: TransferV1) -> Transfer {
        let phase = match t.phase {
            PhaseV1::Posted => Phase::Posted,
            PhaseV1::Pending { deadline } => Phase::Pending { deadline },
            PhaseV1::PostPending { pending_id } => Phase::PostPending { pending_id },
            PhaseV1::VoidPending { pending_id } => Phase::VoidPending { pending_id },
        };
        Transfer {
            id: t.id,
            debit: t.debit,
            credit: t.credit,
            amount: t.amount,
            kind: t.kind.into(),
            phase,
            packet_id: t.packet_id,
            claim_id: t.claim_id,
            note: t.note,
            created_at: t.created_at,
        }
    }
}

/// The event cases, spelled once for both directions: each arm's fields move across unchanged
/// but for those named after `=>`, which convert with `From`.
macro_rules! event_cases {
    ($from:ident => $to:ident, $value:expr, {
        $($case:ident { $($field:ident),* } $(=> $($conv:ident: $conv_fn:expr),*)?;)*
    }) => {
        match $value {
            $($from::$case { $($field,)* $($($conv,)*)? } => $to::$case {
                $($field,)*
                $($($conv: $conv_fn($conv),)*)?
            },)*
        }
    };
}

impl From<&EventKind> for EventKindV1 {
    fn from(what: &EventKind) -> EventKindV1 {
        event_cases!(EventKind => EventKindV1, what.clone(), {
            UserCreated { user_id };
            OperatorCreated { key_id, name } => roles: |roles: Vec<Role>| roles.into_iter().map(RoleV1::from).collect();
            GroupCreated { group_id, owner, members };
            PacketSent { packet_id, sender, count, total, commitment } => kind: PacketKindV1::from;
            LuckySharesRevealed { packet_id, salt, shares };
            PacketOpened { packet_id, user_id };
            PacketClaimed { packet_id, claim_id, user_id, amount };
            PacketRecalled { packet_id, refunded };
            PacketExpired { packet_id, refunded };
            ClaimArrived { claim_id };
            ClaimRevoked { claim_id, amount };
            ClaimReturned { claim_id, amount };
            TransferArrived { transfer_id };
            TransferRevoked { transfer_id };
            UserLocked { user_id, actor, reason };
            UserUnlocked { user_id, actor, reason };
            FreezePlaced { freeze_id, user_id, amount, held, documents, actor } => kind: FreezeKindV1::from;
            FreezeHeld { freeze_id, amount };
            FreezeReleased { freeze_id, amount, documents, actor, reason };
            FreezeExpired { freeze_id, amount };
            FreezeRenewed { freeze_id, expires_at, documents, actor, reason };
            FreezeConverted { freeze_id, into, amount };
            SeizureProposed { seizure_id, freeze_id, amount, documents, actor } => to: SeizureTargetV1::from;
            SeizureExecuted { seizure_id, freeze_id, amount, transfer_id, proposed_by, approved_by };
            SeizureRejected { seizure_id, actor, reason };
            SeizureExpired { seizure_id };
            DocumentRegistered { document_id, commitment, actor };
            DocumentRevealed { document_id, salt, sha256, actor, reason };
            ReportFiled { report_id, reporter, subject, amount, evidence };
            RuleFired { rule, user_id, case_id, detail };
            CaseClosed { case_id, actor, reason } => outcome: CaseOutcomeV1::from;
            RiskConfirmed { payer, payee, amount, id } => warnings: |w: Vec<WarningCode>| w.into_iter().map(WarningCodeV1::from).collect();
            ReturnRequested { request_id, payer, payee, amount, mediator } => target: PaymentV1::from;
            ReturnAccepted { request_id, amount, transfer_id };
            ReturnDeclined { request_id };
            ReturnWithdrawn { request_id };
            ReturnExpired { request_id };
            ReturnNoted { request_id, by };
        })
    }
}

impl From<EventKindV1> for EventKind {
    fn from(what: EventKindV1) -> EventKind {
        event_cases!(EventKindV1 => EventKind, what, {
            UserCreated { user_id };
            OperatorCreated { key_id, name } => roles: |roles: Vec<RoleV1>| roles.into_iter().map(Role::from).collect();
            GroupCreated { group_id, owner, members };
            PacketSent { packet_id, sender, count, total, commitment } => kind: PacketKind::from;
            LuckySharesRevealed { packet_id, salt, shares };
            PacketOpened { packet_id, user_id };
            PacketClaimed { packet_id, claim_id, user_id, amount };
            PacketRecalled { packet_id, refunded };
            PacketExpired { packet_id, refunded };
            ClaimArrived { claim_id };
            ClaimRevoked { claim_id, amount };
            ClaimReturned { claim_id, amount };
            TransferArrived { transfer_id };
            TransferRevoked { transfer_id };
            UserLocked { user_id, actor, reason };
            UserUnlocked { user_id, actor, reason };
            FreezePlaced { freeze_id, user_id, amount, held, documents, actor } => kind: FreezeKind::from;
            FreezeHeld { freeze_id, amount };
            FreezeReleased { freeze_id, amount, documents, actor, reason };
            FreezeExpired { freeze_id, amount };
            FreezeRenewed { freeze_id, expires_at, documents, actor, reason };
            FreezeConverted { freeze_id, into, amount };
            SeizureProposed { seizure_id, freeze_id, amount, documents, actor } => to: SeizureTarget::from;
            SeizureExecuted { seizure_id, freeze_id, amount, transfer_id, proposed_by, approved_by };
            SeizureRejected { seizure_id, actor, reason };
            SeizureExpired { seizure_id };
            DocumentRegistered { document_id, commitment, actor };
            DocumentRevealed { document_id, salt, sha256, actor, reason };
            ReportFiled { report_id, reporter, subject, amount, evidence };
            RuleFired { rule, user_id, case_id, detail };
            CaseClosed { case_id, actor, reason } => outcome: CaseOutcome::from;
            RiskConfirmed { payer, payee, amount, id } => warnings: |w: Vec<WarningCodeV1>| w.into_iter().map(WarningCode::from).collect();
            ReturnRequested { request_id, payer, payee, amount, mediator } => target: Payment::from;
            ReturnAccepted { request_id, amount, transfer_id };
            ReturnDeclined { request_id };
            ReturnWithdrawn { request_id };
            ReturnExpired { request_id };
            ReturnNoted { request_id, by };
        })
    }
}
