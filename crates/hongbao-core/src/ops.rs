//! Commands and the rules that decide them, one room per area.
//!
//! [`execute`] reads a [`World`], checks every rule, and returns the [`Reply`] and the
//! [`Effects`] to apply — or refuses, changing nothing. It reads the clock and randomness only
//! from the [`Ctx`] it is given. Reads come first and writes last in every command, so a
//! command that stops for a [`Fail::Need`] can simply be run again once the entity is loaded.
//!
//! - `command.rs` — [`Command`] and [`PacketSpec`]; `reply.rs` — [`Reply`] and the answer types.
//! - `authority.rs` — [`Actor`] and who may issue each command ([`authorize`]), and who may read
//!   the transparency log.
//! - `people.rs` — users, operators and their keys, groups.
//! - `money.rs` — deposits, withdrawals, transfers and revoking one.
//! - `packets.rs` — sending, opening and recalling a packet ([`recall_refusal`]).
//! - `claims.rs` — claiming a share, revoking and returning a claim.
//! - `holds.rs` — locks and freezes.
//! - `documents.rs` — legal documents: registering and revealing them.
//! - `freezes.rs` — freezes: placing, releasing, expiring, and holding what arrives later.
//! - `seizures.rs` — forced transfers of frozen money under four eyes.
//! - `reports.rs` — users' fraud reports; `cases.rs` — officers' notes and closing a case;
//!   `rules.rs` — the rules that fire by themselves (`fraud_reports`, …) and the signals the
//!   anomaly rule reads.
//! - `jobs.rs` — due work: expiry and arrivals.
//! - `warnings.rs` — the payee rating before a transfer or an exclusive packet (分级预警).
//! - `shared.rs` — the look-ups and input checks several areas use.
//!
//! Rules still to come have their rooms reserved: return requests and disputes go in
//! `disputes.rs`, enterprises (fund pools, campaigns, clawback) in `enterprise.rs`; each adds its
//! commands to `command.rs`, its answers to `reply.rs` and its authority to `authority.rs`.

use rand::CryptoRng;

use crate::config::Limits;
use crate::time::Timestamp;
use crate::user::UserStatus;
use crate::world::{Draft, Effects, Fail, World};

mod authority;
mod cases;
mod claims;
mod command;
mod documents;
mod freezes;
mod holds;
mod jobs;
mod money;
mod packets;
mod people;
mod reply;
mod reports;
mod returns;
mod rules;
mod seizures;
mod shared;
mod warnings;

pub use authority::{
    Actor, Authority, EntriesView, PacketLogReader, authorize, entries_view, packet_log_reader, require_any_role,
    require_role, require_user,
};
pub use command::{Command, PacketSpec};
pub use documents::DocumentSpec;
pub use freezes::FreezeSpec;
pub use packets::recall_refusal;
pub use reply::{
    ClaimDetail, DocumentRegistered, DocumentRevealed, Moved, OperatorCreated, Recalled, Reply, SignalAccepted,
    TransferReceipt, TransferStatus, UserCreated,
};
pub(crate) use shared::visible_packet;

/// What a rule decides: the answer, or why not.
type Decision = Result<Reply, Fail>;

/// The time, limits and random source a command may use: nothing else from outside.
#[derive(Debug)]
pub struct Ctx<'a, R> {
    pub now: Timestamp,
    /// The time new ids carry: `now`, or later when a caller must have the ids of each call
    /// sort after those of the call before it within the same millisecond (the engine's
    /// batches: a user's history lists transfers in id order).
    pub mint_at: Timestamp,
    pub limits: &'a Limits,
    pub rng: &'a mut R,
}

/// Decides `command` against `world`. See the module documentation.
///
/// # Errors
/// [`Fail::Need`] when the world lacks an entity; [`Fail::Refused`] when a rule says no.
pub fn execute<R: CryptoRng>(world: &World, ctx: &mut Ctx<'_, R>, command: &Command) -> Result<(Reply, Effects), Fail> {
    let mut d = Draft::new(world);
    let reply = match command {
        Command::CreateUser { name } => people::create_user(&mut d, ctx, name)?,
        Command::CreateOperator { name, roles } => people::create_operator(&mut d, ctx, name, roles)?,
        Command::CreateGroup { actor, name, members } => people::create_group(&mut d, ctx, *actor, name, members)?,
        Command::Deposit { user, amount } => money::deposit(&mut d, ctx, *user, *amount)?,
        Command::Withdraw { actor, amount } => money::withdraw(&mut d, ctx, *actor, *amount)?,
        Command::SendPacket { actor, spec, greeting, arrival_delay_s, risk_confirmation } => {
            let options = packets::SendOptions {
                greeting: greeting.as_deref(),
                arrival_delay_s: *arrival_delay_s,
                confirmation: *risk_confirmation,
            };
            packets::send_packet(&mut d, ctx, *actor, spec, &options)?
        }
        Command::OpenPacket { actor, packet } => packets::open_packet(&mut d, ctx, *actor, *packet)?,
        Command::ClaimPacket { actor, packet } => claims::claim_packet(&mut d, ctx, *actor, *packet)?,
        Command::RecallPacket { actor, packet } => packets::recall_packet(&mut d, ctx, *actor, *packet)?,
        Command::RevokeClaim { actor, claim } => claims::revoke_claim(&mut d, ctx, *actor, *claim)?,
        Command::ReturnClaim { actor, claim } => claims::return_claim(&mut d, ctx, *actor, *claim)?,
        Command::Transfer { actor, to, amount, note, arrival_delay_s, risk_confirmation } => {
            let ask = money::TransferAsk {
                actor: *actor,
                to: *to,
                amount: *amount,
                note: note.as_deref(),
                arrival_delay_s: *arrival_delay_s,
                confirmation: *risk_confirmation,
            };
            money::transfer(&mut d, ctx, &ask)?
        }
        Command::RevokeTransfer { actor, transfer } => money::revoke_transfer(&mut d, ctx, *actor, *transfer)?,
        Command::LockUser { officer, user, reason } => {
            holds::set_status(&mut d, ctx, (*officer, reason), *user, UserStatus::Locked)?
        }
        Command::UnlockUser { officer, user, reason } => {
            holds::set_status(&mut d, ctx, (*officer, reason), *user, UserStatus::Active)?
        }
        Command::RegisterDocument { officer, spec } => documents::register(&mut d, ctx, *officer, spec)?,
        Command::RevealDocument { officer, document, reason } => {
            documents::reveal(&mut d, ctx, (*officer, reason), *document)?
        }
        Command::PlaceFreeze { officer, spec } => freezes::place(&mut d, ctx, *officer, spec)?,
        Command::ReleaseFreeze { officer, legal, freeze, reason, amount, documents } => {
            let ask = freezes::Release { officer: *officer, legal: *legal, reason, amount: *amount, documents };
            freezes::release(&mut d, ctx, *freeze, &ask)?
        }
        Command::RenewFreeze { officer, legal, freeze, reason, documents, expires_at } => {
            let ask = freezes::Renew { officer: *officer, legal: *legal, reason, documents, expires_at: *expires_at };
            freezes::renew(&mut d, ctx, *freeze, &ask)?
        }
        Command::ConvertFreeze { officer, freeze, kind, reason, documents, expires_at } => {
            let ask = freezes::Convert { officer: *officer, kind: *kind, reason, documents, expires_at: *expires_at };
            freezes::convert(&mut d, ctx, *freeze, &ask)?
        }
        Command::ExpireFreeze { freeze } => freezes::expire(&mut d, ctx, *freeze)?,
        Command::ProposeSeizure { officer, freeze, amount, to, reason, documents } => {
            let ask = seizures::Proposal { officer: *officer, amount: *amount, to: *to, reason, documents };
            seizures::propose(&mut d, ctx, *freeze, &ask)?
        }
        Command::ApproveSeizure { officer, seizure } => seizures::approve(&mut d, ctx, *officer, *seizure)?,
        Command::RejectSeizure { officer, seizure, reason } => {
            seizures::reject(&mut d, ctx, (*officer, reason), *seizure)?
        }
        Command::FileReport { actor, subject, payments, description, evidence } => {
            let filing = reports::Filing { reporter: *actor, subject: *subject, payments, description, evidence };
            reports::file(&mut d, ctx, &filing)?
        }
        Command::RecordSignal { user, signal } => rules::record_signal(&mut d, ctx, *user, signal)?,
        Command::AddCaseNote { officer, case, text } => cases::note(&mut d, ctx, *officer, *case, text)?,
        Command::CloseCase { officer, case, outcome, reason } => {
            cases::close(&mut d, ctx, (*officer, reason), *case, *outcome)?
        }
        Command::ExpireSeizure { seizure } => seizures::expire(&mut d, ctx, *seizure)?,
        Command::ExpirePacket { packet } => jobs::expire_packet(&mut d, ctx, *packet)?,
        Command::SettlePending { transfer } => jobs::settle_pending(&mut d, ctx, *transfer)?,
        Command::OpenReturnRequest { actor, target, amount, message, mediator } => {
            let ask = returns::Asking { payer: *actor, target: *target, amount: *amount, message, mediator: *mediator };
            returns::open(&mut d, ctx, &ask)?
        }
        Command::AcceptReturnRequest { actor, request } => returns::accept(&mut d, ctx, *actor, *request)?,
        Command::DeclineReturnRequest { actor, request, message } => {
            returns::decline(&mut d, ctx, *actor, *request, message)?
        }
        Command::WithdrawReturnRequest { actor, request } => returns::withdraw(&mut d, ctx, *actor, *request)?,
        Command::AddReturnNote { actor, request, text } => returns::note(&mut d, ctx, *actor, *request, text)?,
        Command::ExpireReturnRequest { request } => returns::expire(&mut d, ctx, *request)?,
    };
    freezes::top_up(&mut d, ctx)?;
    Ok((reply, d.into_effects()))
}

/// [`execute`], then apply the effects to `world` when the command succeeded.
///
/// # Errors
/// As [`execute`]; the world is unchanged on error.
pub fn run<R: CryptoRng>(world: &mut World, ctx: &mut Ctx<'_, R>, command: &Command) -> Result<Reply, Fail> {
    let (reply, effects) = execute(world, ctx, command)?;
    world.apply(effects);
    Ok(reply)
}
