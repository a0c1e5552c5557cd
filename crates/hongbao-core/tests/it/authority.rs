//! Who may issue what, as a table: every command against every kind of caller, with the exact
//! refusal the API gives (`403 forbidden`, the same message the server always answered), and the
//! rules of who reads how much of the transparency log.

use hongbao_core::document::DocumentKind;
use hongbao_core::id::Uuid;
use hongbao_core::ops::{self, Actor, DocumentSpec, EntriesView, FreezeSpec, PacketLogReader};
use hongbao_core::principal::{Owner, Principal, Role, Secret};
use hongbao_core::risk::FreezeKind;
use hongbao_core::{
    ClaimId, Command, CoreError, DocumentId, Fen, FreezeId, GroupId, KeyId, PacketId, PacketSpec, Timestamp,
    TransferId, UserId,
};

const NOT_A_USER: &str = "this endpoint acts for a user; sign with a user's key";
const NOT_ADMIN: &str = "this endpoint needs an operator with the admin role";
const NOT_OFFICER: &str = "this endpoint needs an operator with the risk_officer or legal_officer role";
const NOT_LEGAL: &str = "this endpoint needs an operator with the legal_officer role";
const NOT_RISK: &str = "this endpoint needs an operator with the risk_officer role";
const NOT_IN_THEIR_NAME: &str = "an operator's key acts in that operator's own name only";
const NOT_THEM: &str = "a user's key acts for that user only";
const NOT_SYSTEM: &str = "only the service itself does work that falls due";

fn user(n: u128) -> UserId {
    UserId::from_uuid(Uuid::from_u128(n))
}

/// The key every operator of the table signs with.
fn officer_key() -> KeyId {
    KeyId::from_uuid(Uuid::from_u128(99))
}

fn operator(roles: &[Role]) -> Actor {
    Actor::Operator { key: officer_key(), roles: roles.to_vec() }
}

/// Who may issue a command, as the table below says it.
#[derive(Clone, Copy, Debug)]
enum May {
    /// The user it acts for (user 1).
    Own,
    Admin,
    /// A legal officer, in their own name.
    Legal,
    System,
    /// A risk officer, in their own name.
    Risk,
    /// A risk or legal officer, in their own name.
    Holds,
}

/// One command of every kind, each acting for user 1 where it acts for a user.
fn commands() -> Vec<(Command, May)> {
    let (me, other) = (user(1), user(2));
    let packet = PacketId::from_uuid(Uuid::from_u128(3));
    let claim = ClaimId::from_uuid(Uuid::from_u128(4));
    let transfer = TransferId::from_uuid(Uuid::from_u128(5));
    let group_id = GroupId::from_uuid(Uuid::from_u128(6));
    let amount = Fen::new(100);
    let document = DocumentId::from_uuid(Uuid::from_u128(7));
    vec![
        (Command::CreateUser { name: "alice".to_owned() }, May::Admin),
        (Command::CreateOperator { name: "desk".to_owned(), roles: vec![Role::Auditor] }, May::Admin),
        (Command::Deposit { user: me, amount }, May::Admin),
        (Command::CreateGroup { actor: me, name: "family".to_owned(), members: vec![other] }, May::Own),
        (Command::Withdraw { actor: me, amount }, May::Own),
        (
            Command::SendPacket {
                actor: me,
                spec: PacketSpec::Lucky { group_id, count: 2, total: amount },
                greeting: None,
                arrival_delay_s: 0,
                risk_confirmation: None,
            },
            May::Own,
        ),
        (Command::OpenPacket { actor: me, packet }, May::Own),
        (Command::ClaimPacket { actor: me, packet }, May::Own),
        (Command::RecallPacket { actor: me, packet }, May::Own),
        (Command::RevokeClaim { actor: me, claim }, May::Own),
        (Command::ReturnClaim { actor: me, claim }, May::Own),
        (
            Command::Transfer { actor: me, to: other, amount, note: None, arrival_delay_s: 0, risk_confirmation: None },
            May::Own,
        ),
        (Command::RevokeTransfer { actor: me, transfer }, May::Own),
        (Command::LockUser { officer: officer_key(), user: other, reason: "fraud".to_owned() }, May::Risk),
        (Command::UnlockUser { officer: officer_key(), user: other, reason: "cleared".to_owned() }, May::Risk),
        (Command::RegisterDocument { officer: officer_key(), spec: spec() }, May::Holds),
        (Command::RevealDocument { officer: officer_key(), document, reason: "court".to_owned() }, May::Holds),
        (Command::PlaceFreeze { officer: officer_key(), spec: freeze(FreezeKind::Precautionary) }, May::Risk),
        (Command::PlaceFreeze { officer: officer_key(), spec: freeze(FreezeKind::Court) }, May::Legal),
        (release(true), May::Legal),
        (release(false), May::Holds),
        (renew(true), May::Legal),
        (
            Command::ProposeSeizure {
                officer: officer_key(),
                freeze: FreezeId::from_uuid(Uuid::from_u128(8)),
                amount,
                to: hongbao_core::seizure::SeizureTarget::External,
                reason: "order".to_owned(),
                documents: Vec::new(),
            },
            May::Legal,
        ),
        (Command::ApproveSeizure { officer: officer_key(), seizure: seizure_id() }, May::Legal),
        (Command::RejectSeizure { officer: officer_key(), seizure: seizure_id(), reason: "no".to_owned() }, May::Legal),
        (Command::ExpireSeizure { seizure: seizure_id() }, May::System),
        (renew(false), May::Holds),
        (
            Command::ConvertFreeze {
                officer: officer_key(),
                freeze: FreezeId::from_uuid(Uuid::from_u128(8)),
                kind: FreezeKind::Court,
                reason: "ruling".to_owned(),
                documents: Vec::new(),
                expires_at: None,
            },
            May::Legal,
        ),
        (Command::ExpireFreeze { freeze: FreezeId::from_uuid(Uuid::from_u128(8)) }, May::System),
        (
            Command::FileReport {
                actor: me,
                subject: other,
                payments: vec![hongbao_core::case::Payment::Transfer(transfer)],
                description: "he took my money".to_owned(),
                evidence: Vec::new(),
            },
            May::Own,
        ),
        (Command::AddCaseNote { officer: officer_key(), case: case_id(), text: "called".to_owned() }, May::Holds),
        (
            Command::CloseCase {
                officer: officer_key(),
                case: case_id(),
                outcome: hongbao_core::case::CaseOutcome::Dismissed,
                reason: "no fraud".to_owned(),
            },
            May::Holds,
        ),
        (Command::ExpirePacket { packet }, May::System),
        (Command::SettlePending { transfer }, May::System),
        (
            Command::OpenReturnRequest {
                actor: me,
                target: hongbao_core::case::Payment::Transfer(transfer),
                amount: None,
                message: "sent by mistake".to_owned(),
                mediator: None,
            },
            May::Own,
        ),
        (Command::AcceptReturnRequest { actor: me, request: return_id() }, May::Own),
        (Command::DeclineReturnRequest { actor: me, request: return_id(), message: "no".to_owned() }, May::Own),
        (Command::WithdrawReturnRequest { actor: me, request: return_id() }, May::Own),
        (Command::AddReturnNote { actor: me, request: return_id(), text: "please".to_owned() }, May::Own),
        (Command::ExpireReturnRequest { request: return_id() }, May::System),
    ]
}

fn return_id() -> hongbao_core::ReturnRequestId {
    hongbao_core::ReturnRequestId::from_uuid(Uuid::from_u128(11))
}

fn case_id() -> hongbao_core::CaseId {
    hongbao_core::CaseId::from_uuid(Uuid::from_u128(10))
}

fn freeze(kind: FreezeKind) -> FreezeSpec {
    FreezeSpec {
        user: user(2),
        kind,
        amount: None,
        reason: "reports".to_owned(),
        documents: Vec::new(),
        expires_at: None,
        major_case: false,
    }
}

fn release(legal: bool) -> Command {
    let freeze = FreezeId::from_uuid(Uuid::from_u128(8));
    Command::ReleaseFreeze {
        officer: officer_key(),
        legal,
        freeze,
        reason: "r".to_owned(),
        amount: None,
        documents: Vec::new(),
    }
}

fn seizure_id() -> hongbao_core::SeizureId {
    hongbao_core::SeizureId::from_uuid(Uuid::from_u128(9))
}

fn renew(legal: bool) -> Command {
    let freeze = FreezeId::from_uuid(Uuid::from_u128(8));
    let expires_at = Timestamp::from_millis(1);
    Command::RenewFreeze {
        officer: officer_key(),
        legal,
        freeze,
        reason: "r".to_owned(),
        documents: Vec::new(),
        expires_at,
    }
}

fn spec() -> DocumentSpec {
    DocumentSpec {
        kind: DocumentKind::CourtRuling,
        authority: "court".to_owned(),
        reference: "(2026) 1".to_owned(),
        issued_at: Timestamp::from_millis(0),
        sha256: [0; 32],
        evidence_id: None,
        confidential: true,
    }
}

/// Every kind of caller, and what each is refused for each kind of command (`None`: allowed).
fn callers() -> Vec<(&'static str, Actor, [Option<&'static str>; 6])> {
    // Columns: Own, Admin, Legal, System, Risk, Holds.
    let other_key = Actor::Operator { key: KeyId::from_uuid(Uuid::from_u128(98)), roles: Role::ALL.to_vec() };
    vec![
        (
            "the user it acts for",
            Actor::User(user(1)),
            [None, Some(NOT_ADMIN), Some(NOT_LEGAL), Some(NOT_SYSTEM), Some(NOT_RISK), Some(NOT_OFFICER)],
        ),
        (
            "another user",
            Actor::User(user(2)),
            [Some(NOT_THEM), Some(NOT_ADMIN), Some(NOT_LEGAL), Some(NOT_SYSTEM), Some(NOT_RISK), Some(NOT_OFFICER)],
        ),
        (
            "an admin",
            operator(&[Role::Admin]),
            [Some(NOT_A_USER), None, Some(NOT_LEGAL), Some(NOT_SYSTEM), Some(NOT_RISK), Some(NOT_OFFICER)],
        ),
        (
            "a risk officer",
            operator(&[Role::RiskOfficer]),
            [Some(NOT_A_USER), Some(NOT_ADMIN), Some(NOT_LEGAL), Some(NOT_SYSTEM), None, None],
        ),
        (
            "a legal officer",
            operator(&[Role::LegalOfficer]),
            [Some(NOT_A_USER), Some(NOT_ADMIN), None, Some(NOT_SYSTEM), Some(NOT_RISK), None],
        ),
        (
            "an auditor",
            operator(&[Role::Auditor]),
            [Some(NOT_A_USER), Some(NOT_ADMIN), Some(NOT_LEGAL), Some(NOT_SYSTEM), Some(NOT_RISK), Some(NOT_OFFICER)],
        ),
        ("root (every role)", operator(&Role::ALL), [Some(NOT_A_USER), None, None, Some(NOT_SYSTEM), None, None]),
        (
            "another operator with every role, naming the table's officer",
            other_key,
            [
                Some(NOT_A_USER),
                None,
                Some(NOT_IN_THEIR_NAME),
                Some(NOT_SYSTEM),
                Some(NOT_IN_THEIR_NAME),
                Some(NOT_IN_THEIR_NAME),
            ],
        ),
        ("the service itself", Actor::System, [Some(NOT_A_USER), None, None, None, None, None]),
    ]
}

#[test]
fn every_command_is_allowed_exactly_to_those_the_table_names_and_refused_to_others_as_the_api_says() {
    let mut checked = 0;
    for (name, actor, refusals) in callers() {
        for (command, may) in commands() {
            let expected = refusals[may as usize].map(|message| CoreError::Forbidden { message: message.to_owned() });
            let got = ops::authorize(&actor, &command).err();
            assert_eq!(got, expected, "{name} issuing {command:?}");
            if let Some(err) = got {
                assert_eq!(err.code(), "forbidden");
            }
            checked += 1;
        }
    }
    // Every kind of command is in the table: a new one must say who may issue it.
    assert_eq!(checked, 9 * 40);
}

#[test]
fn only_due_work_is_a_job() {
    for (command, may) in commands() {
        assert_eq!(command.is_job(), matches!(may, May::System), "{command:?}");
    }
}

#[test]
fn an_actor_is_the_user_or_the_operator_its_key_belongs_to() {
    let key = KeyId::from_uuid(Uuid::from_u128(7));
    let principal = |owner| Principal {
        key_id: key,
        secret: Secret::from_stored(String::new()),
        owner,
        created_at: Timestamp::from_millis(0),
    };
    assert_eq!(Actor::of(&principal(Owner::User { user_id: user(1) })), Actor::User(user(1)));
    let desk = Owner::Operator { name: "desk".to_owned(), roles: vec![Role::Auditor] };
    assert_eq!(Actor::of(&principal(desk)), Actor::Operator { key, roles: vec![Role::Auditor] });
}

#[test]
fn endpoints_for_users_and_for_admins_refuse_everyone_else_with_the_api_messages() {
    assert_eq!(ops::require_user(&Actor::User(user(1))), Ok(user(1)));
    for actor in [operator(&Role::ALL), Actor::System] {
        assert_eq!(ops::require_user(&actor), Err(CoreError::forbidden(NOT_A_USER)));
    }
    assert_eq!(ops::require_role(&operator(&[Role::Admin, Role::Auditor]), Role::Admin), Ok(()));
    for actor in [Actor::User(user(1)), operator(&[Role::Auditor])] {
        assert_eq!(ops::require_role(&actor, Role::Admin), Err(CoreError::forbidden(NOT_ADMIN)));
    }
}

#[test]
fn the_log_shows_leaf_hashes_to_anyone_unsigned_and_entries_in_full_to_auditors_only() {
    let full_refused = "the log's entries in full are for auditors; unsigned, this endpoint shows their leaf hashes";
    assert_eq!(ops::entries_view(None), Ok(EntriesView::LeafHashes));
    assert_eq!(ops::entries_view(Some(&operator(&[Role::Auditor]))), Ok(EntriesView::Full));
    for actor in [Actor::User(user(1)), operator(&[Role::Admin])] {
        assert_eq!(ops::entries_view(Some(&actor)), Err(CoreError::forbidden(full_refused)));
    }
}

#[test]
fn a_packets_log_is_for_those_who_may_see_the_packet_and_for_auditors() {
    assert_eq!(ops::packet_log_reader(&Actor::User(user(1))), Ok(PacketLogReader::Viewer(user(1))));
    assert_eq!(ops::packet_log_reader(&operator(&[Role::Auditor])), Ok(PacketLogReader::Auditor));
    let refused = CoreError::forbidden("an operator needs the auditor role to read a packet's log");
    assert_eq!(ops::packet_log_reader(&operator(&[Role::Admin])), Err(refused));
}
