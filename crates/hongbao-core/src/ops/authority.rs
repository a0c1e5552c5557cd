//! Who may ask for what: the [`Actor`] behind a command, the [`Authority`] each command needs,
//! and the rules of who may read the transparency log.
//!
//! The shell only says who the caller is (the key that signed a request, or the service itself
//! for due work); the core decides whether that caller may do it. Every refusal is
//! [`CoreError::Forbidden`] with the message the API gives for it.

use crate::error::CoreError;
use crate::id::{KeyId, UserId};
use crate::principal::{Owner, Principal, Role};

use super::command::Command;

/// Who issues a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A user, with their own key: acts for themselves only.
    User(UserId),
    /// An operator: a key with roles, and no wallet.
    Operator { key: KeyId, roles: Vec<Role> },
    /// The service itself: due work, and the first operator at start. Never a request's signer.
    System,
}

impl Actor {
    /// The actor a signing key stands for.
    pub fn of(principal: &Principal) -> Actor {
        match &principal.owner {
            Owner::User { user_id } => Actor::User(*user_id),
            Owner::Operator { roles, .. } => Actor::Operator { key: principal.key_id, roles: roles.clone() },
        }
    }

    /// Whether this is an operator holding `role`.
    pub fn has_role(&self, role: Role) -> bool {
        matches!(self, Actor::Operator { roles, .. } if roles.contains(&role))
    }
}

/// Who may issue a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Authority {
    /// The user the command acts for, with their own key.
    User(UserId),
    /// An operator holding at least one of these roles, or the service itself doing an
    /// operator's work (at start it creates the root operator).
    AnyRole(&'static [Role]),
    /// The operator with this key, holding one of these roles, acting in their own name (the
    /// command records them), or the service itself applying a rule.
    Officer { key: KeyId, roles: &'static [Role] },
    /// Only the service itself: work that falls due.
    System,
}

/// Creating users and operators, deposits (money arriving from a bank card), and what the app
/// tells risk control (signals).
const ADMIN: &[Role] = &[Role::Admin];
/// Locks: risk control.
const RISK: &[Role] = &[Role::RiskOfficer];
/// Documents, cases, and releasing a precautionary or anomaly freeze: risk control and legal
/// holds.
const HOLDS: &[Role] = &[Role::RiskOfficer, Role::LegalOfficer];
/// Court, police and emergency freezes.
const LEGAL: &[Role] = &[Role::LegalOfficer];

impl Command {
    /// Who may issue this command: the table of docs/API.md, "Who calls".
    pub fn authority(&self) -> Authority {
        match *self {
            Command::CreateUser { .. }
            | Command::CreateOperator { .. }
            | Command::Deposit { .. }
            | Command::RecordSignal { .. } => Authority::AnyRole(ADMIN),
            Command::CreateGroup { actor, .. }
            | Command::Withdraw { actor, .. }
            | Command::SendPacket { actor, .. }
            | Command::OpenPacket { actor, .. }
            | Command::ClaimPacket { actor, .. }
            | Command::RecallPacket { actor, .. }
            | Command::RevokeClaim { actor, .. }
            | Command::ReturnClaim { actor, .. }
            | Command::Transfer { actor, .. }
            | Command::RevokeTransfer { actor, .. }
            | Command::FileReport { actor, .. }
            | Command::OpenReturnRequest { actor, .. }
            | Command::AcceptReturnRequest { actor, .. }
            | Command::DeclineReturnRequest { actor, .. }
            | Command::WithdrawReturnRequest { actor, .. }
            | Command::AddReturnNote { actor, .. } => Authority::User(actor),
            Command::LockUser { officer, .. } | Command::UnlockUser { officer, .. } => {
                Authority::Officer { key: officer, roles: RISK }
            }
            Command::RegisterDocument { officer, .. }
            | Command::RevealDocument { officer, .. }
            | Command::AddCaseNote { officer, .. }
            | Command::CloseCase { officer, .. } => Authority::Officer { key: officer, roles: HOLDS },
            Command::PlaceFreeze { officer, ref spec } => {
                let roles = if spec.kind.needs_document() { LEGAL } else { RISK };
                Authority::Officer { key: officer, roles }
            }
            Command::ConvertFreeze { officer, .. }
            | Command::ProposeSeizure { officer, .. }
            | Command::ApproveSeizure { officer, .. }
            | Command::RejectSeizure { officer, .. } => Authority::Officer { key: officer, roles: LEGAL },
            Command::ReleaseFreeze { officer, legal, .. } | Command::RenewFreeze { officer, legal, .. } => {
                Authority::Officer { key: officer, roles: if legal { LEGAL } else { HOLDS } }
            }
            Command::ExpirePacket { .. }
            | Command::SettlePending { .. }
            | Command::ExpireFreeze { .. }
            | Command::ExpireSeizure { .. }
            | Command::ExpireReturnRequest { .. } => Authority::System,
        }
    }

    /// Whether this is background work rather than a person's request.
    pub fn is_job(&self) -> bool {
        self.authority() == Authority::System
    }
}

/// Whether `actor` may issue `command`.
///
/// # Errors
/// [`CoreError::Forbidden`], saying who may.
pub fn authorize(actor: &Actor, command: &Command) -> Result<(), CoreError> {
    match command.authority() {
        Authority::User(user) => {
            if require_user(actor)? == user {
                Ok(())
            } else {
                Err(CoreError::forbidden("a user's key acts for that user only"))
            }
        }
        Authority::AnyRole(roles) => require_any_role(actor, roles),
        Authority::Officer { key, roles } => {
            require_any_role(actor, roles)?;
            match actor {
                Actor::Operator { key: signer, .. } if *signer != key => {
                    Err(CoreError::forbidden("an operator's key acts in that operator's own name only"))
                }
                _ => Ok(()),
            }
        }
        Authority::System if *actor == Actor::System => Ok(()),
        Authority::System => Err(CoreError::forbidden("only the service itself does work that falls due")),
    }
}

/// The user an endpoint that acts for a user acts for.
///
/// # Errors
/// [`CoreError::Forbidden`] for anyone but a user.
pub fn require_user(actor: &Actor) -> Result<UserId, CoreError> {
    match actor {
        Actor::User(user) => Ok(*user),
        Actor::Operator { .. } | Actor::System => {
            Err(CoreError::forbidden("this endpoint acts for a user; sign with a user's key"))
        }
    }
}

/// That `actor` is an operator with `role` (or the service itself).
///
/// # Errors
/// [`CoreError::Forbidden`] for a user or an operator without it.
pub fn require_role(actor: &Actor, role: Role) -> Result<(), CoreError> {
    require_any_role(actor, std::slice::from_ref(&role))
}

/// That `actor` is an operator with one of `roles` (or the service itself).
///
/// # Errors
/// [`CoreError::Forbidden`] naming the roles.
pub fn require_any_role(actor: &Actor, roles: &[Role]) -> Result<(), CoreError> {
    if *actor == Actor::System || roles.iter().any(|&role| actor.has_role(role)) {
        return Ok(());
    }
    let names: Vec<&str> = roles.iter().map(|role| role.as_str()).collect();
    Err(CoreError::forbidden(format!("this endpoint needs an operator with the {} role", names.join(" or "))))
}

/// How much of the transparency log's entries a reader sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntriesView {
    /// Each entry's index and leaf hash: enough to check every proof, nothing about money.
    LeafHashes,
    /// The entries' bytes too.
    Full,
}

/// What `reader` (`None`: an unsigned request) may see of the log's entries.
///
/// # Errors
/// [`CoreError::Forbidden`] for a signed reader who is not an auditor.
pub fn entries_view(reader: Option<&Actor>) -> Result<EntriesView, CoreError> {
    match reader {
        None => Ok(EntriesView::LeafHashes),
        Some(actor) if actor.has_role(Role::Auditor) => Ok(EntriesView::Full),
        Some(_) => Err(CoreError::forbidden(
            "the log's entries in full are for auditors; unsigned, this endpoint shows their leaf hashes",
        )),
    }
}

/// On what terms someone reads a packet's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketLogReader {
    /// A user, who sees the log of a packet only if they may see the packet itself.
    Viewer(UserId),
    /// An auditor, who sees every packet's log.
    Auditor,
}

/// Who `reader` reads a packet's log as.
///
/// # Errors
/// [`CoreError::Forbidden`] for an operator who is not an auditor.
pub fn packet_log_reader(reader: &Actor) -> Result<PacketLogReader, CoreError> {
    match reader {
        Actor::User(user) => Ok(PacketLogReader::Viewer(*user)),
        actor if actor.has_role(Role::Auditor) => Ok(PacketLogReader::Auditor),
        _ => Err(CoreError::forbidden("an operator needs the auditor role to read a packet's log")),
    }
}
