//! Commands and the rules that decide them.
//!
//! [`execute`] reads a [`World`], checks every rule, and returns the [`Reply`] and the
//! [`Effects`] to apply — or refuses, changing nothing. It reads the clock and randomness only
//! from the [`Ctx`] it is given. Reads come first and writes last in every command, so a
//! command that stops for a [`Fail::Need`] can simply be run again once the entity is loaded.

use rand::CryptoRng;
use serde::{Deserialize, Serialize};

use crate::config::Limits;
use crate::error::{CoreError, RecallRefusal};
use crate::event::{Event, EventKind};
use crate::fairness::{self, Salt};
use crate::id::{AccountId, ClaimId, GroupId, KeyId, PacketId, TransferId, UserId};
use crate::ledger::{Account, AccountKind, PendingStatus, Resolution, TransferKind};
use crate::money::Fen;
use crate::packet::{
    Audience, Claim, ClaimReceipt, ClaimStatus, DEFAULT_GREETING, Packet, PacketKind, PacketStatus, PacketView,
};
use crate::principal::{Owner, Principal, Role, Secret, mint_credentials, normalise_roles};
use crate::split;
use crate::time::Timestamp;
use crate::user::{Group, GroupView, MeView, User, UserStatus, check_name};
use crate::world::{Draft, Effects, Fail, Key, Refs, World};

/// What a red packet is, as its sender asks for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PacketSpec {
    Normal { group_id: GroupId, count: u32, amount_each: Fen },
    Lucky { group_id: GroupId, count: u32, total: Fen },
    Exclusive { recipient: UserId, amount: Fen },
}

/// Everything the core can be asked to do. `actor` fields are the authenticated caller.
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
    },
    RevokeTransfer {
        actor: UserId,
        transfer: TransferId,
    },
    LockUser {
        user: UserId,
    },
    UnlockUser {
        user: UserId,
    },
    FreezeFunds {
        user: UserId,
        amount: Fen,
    },
    UnfreezeFunds {
        user: UserId,
        amount: Fen,
    },
    /// Background: refund an active packet whose expiry has passed. Does nothing otherwise.
    ExpirePacket {
        packet: PacketId,
    },
    /// Background: post a pending transfer whose deadline has passed. Does nothing otherwise.
    SettlePending {
        transfer: TransferId,
    },
}

impl Command {
    /// Whether this is background work rather than a person's request.
    pub fn is_job(&self) -> bool {
        matches!(self, Command::ExpirePacket { .. } | Command::SettlePending { .. })
    }
}

/// What creating a user answers: the only time the secret is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserCreated {
    pub user_id: UserId,
    pub name: String,
    pub key_id: KeyId,
    pub secret: Secret,
}

/// What creating an operator answers: the only time the secret is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OperatorCreated {
    pub name: String,
    pub roles: Vec<Role>,
    pub key_id: KeyId,
    pub secret: Secret,
}

/// What a deposit or withdrawal answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Moved {
    pub transfer_id: TransferId,
    pub balance: Fen,
}

/// What a recall answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recalled {
    pub packet_id: PacketId,
    pub refunded: Fen,
    pub status: PacketStatus,
}

/// A claim with its packet, as revoking or returning it answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClaimDetail {
    pub claim_id: ClaimId,
    pub packet_id: PacketId,
    pub user_id: UserId,
    pub amount: Fen,
    pub claimed_at: Timestamp,
    pub status: ClaimStatus,
    pub arrives_at: Timestamp,
}

impl ClaimDetail {
    fn new(claim: &Claim) -> ClaimDetail {
        ClaimDetail {
            claim_id: claim.id,
            packet_id: claim.packet_id,
            user_id: claim.user_id,
            amount: claim.amount,
            claimed_at: claim.claimed_at,
            status: claim.status,
            arrives_at: claim.arrives_at,
        }
    }
}

/// Where a user-to-user transfer stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TransferStatus {
    Arrived,
    Pending,
    Revoked,
}

impl TransferStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            TransferStatus::Arrived => "arrived",
            TransferStatus::Pending => "pending",
            TransferStatus::Revoked => "revoked",
        }
    }
}

/// What a user-to-user transfer, or revoking one, answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransferReceipt {
    pub transfer_id: TransferId,
    pub status: TransferStatus,
    pub arrives_at: Timestamp,
}

/// The answer to a command that succeeded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    User(UserCreated),
    Operator(OperatorCreated),
    Group(GroupView),
    Moved(Moved),
    Packet(PacketView),
    Claimed(ClaimReceipt),
    Recalled(Recalled),
    Claim(ClaimDetail),
    Transfer(TransferReceipt),
    Me(MeView),
    /// Background work: whether anything was due.
    Settled {
        changed: bool,
    },
}

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
        Command::CreateUser { name } => create_user(&mut d, ctx, name)?,
        Command::CreateOperator { name, roles } => create_operator(&mut d, ctx, name, roles)?,
        Command::CreateGroup { actor, name, members } => create_group(&mut d, ctx, *actor, name, members)?,
        Command::Deposit { user, amount } => deposit(&mut d, ctx, *user, *amount)?,
        Command::Withdraw { actor, amount } => withdraw(&mut d, ctx, *actor, *amount)?,
        Command::SendPacket { actor, spec, greeting, arrival_delay_s } => {
            send_packet(&mut d, ctx, *actor, spec, greeting.as_deref(), *arrival_delay_s)?
        }
        Command::OpenPacket { actor, packet } => open_packet(&mut d, ctx, *actor, *packet)?,
        Command::ClaimPacket { actor, packet } => claim_packet(&mut d, ctx, *actor, *packet)?,
        Command::RecallPacket { actor, packet } => recall_packet(&mut d, ctx, *actor, *packet)?,
        Command::RevokeClaim { actor, claim } => revoke_claim(&mut d, ctx, *actor, *claim)?,
        Command::ReturnClaim { actor, claim } => return_claim(&mut d, ctx, *actor, *claim)?,
        Command::Transfer { actor, to, amount, note, arrival_delay_s } => {
            transfer(&mut d, ctx, *actor, *to, *amount, note.as_deref(), *arrival_delay_s)?
        }
        Command::RevokeTransfer { actor, transfer } => revoke_transfer(&mut d, ctx, *actor, *transfer)?,
        Command::LockUser { user } => set_status(&mut d, ctx, *user, UserStatus::Locked)?,
        Command::UnlockUser { user } => set_status(&mut d, ctx, *user, UserStatus::Active)?,
        Command::FreezeFunds { user, amount } => freeze(&mut d, ctx, *user, *amount, true)?,
        Command::UnfreezeFunds { user, amount } => freeze(&mut d, ctx, *user, *amount, false)?,
        Command::ExpirePacket { packet } => expire_packet(&mut d, ctx, *packet)?,
        Command::SettlePending { transfer } => settle_pending(&mut d, ctx, *transfer)?,
    };
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

fn positive(amount: Fen, what: &str) -> Result<Fen, Fail> {
    if amount.is_positive() {
        Ok(amount)
    } else {
        Err(CoreError::invalid(format!("{what} must be at least 1 fen")).into())
    }
}

fn user<'w>(d: &Draft<'w>, id: UserId) -> Result<&'w User, Fail> {
    Ok(d.world().user(id)?.ok_or_else(|| CoreError::not_found("user"))?)
}

fn packet<'w>(d: &Draft<'w>, id: PacketId) -> Result<&'w Packet, Fail> {
    Ok(d.world().packet(id)?.ok_or_else(|| CoreError::not_found("packet"))?)
}

/// The packet and its group, if `actor` may see it; otherwise "not found", never "forbidden",
/// so that packet ids cannot be probed.
pub(crate) fn visible_packet(world: &World, actor: UserId, id: PacketId) -> Result<(&Packet, Option<&Group>), Fail> {
    let packet = world.packet(id)?.ok_or_else(|| CoreError::not_found("packet"))?;
    let group = match packet.group() {
        Some(group) => world.group(group)?,
        None => None,
    };
    if !packet.visible_to(actor, group) {
        return Err(CoreError::not_found("packet").into());
    }
    Ok((packet, group))
}

fn check_text(field: &str, text: &str, limits: &Limits) -> Result<(), Fail> {
    let max = limits.greeting_chars_max;
    if text.chars().count() > max as usize {
        return Err(CoreError::invalid(format!("{field} must be at most {max} characters")).into());
    }
    if let Some(hidden) = crate::text::first_hidden(text) {
        return Err(CoreError::invalid(format!(
            "{field} must not contain control, invisible or bidirectional-override characters ({hidden})"
        ))
        .into());
    }
    Ok(())
}

fn check_delay(delay_s: u32, limits: &Limits) -> Result<(), Fail> {
    if !limits.arrival_delays_s.contains(&delay_s) {
        let allowed: Vec<String> = limits.arrival_delays_s.iter().map(u32::to_string).collect();
        return Err(CoreError::invalid(format!("arrival_delay_seconds must be one of {}", allowed.join(", "))).into());
    }
    Ok(())
}

fn wallet_balance(d: &mut Draft<'_>, user: UserId) -> Result<Fen, Fail> {
    Ok(d.account(AccountId::wallet(user))?.balance()?)
}

fn create_user<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, name: &str) -> Result<Reply, Fail> {
    check_name("name", name, ctx.limits.name_chars_max)?;
    let id = UserId::mint(ctx.mint_at, ctx.rng);
    d.put_user(User { id, name: name.to_owned(), status: UserStatus::Active, created_at: ctx.now });
    d.open_account(Account::open(AccountId::wallet(id), AccountKind::Wallet));
    let (key_id, secret) = mint_credentials(ctx.mint_at, ctx.rng);
    let owner = Owner::User { user_id: id };
    d.put_principal(Principal { key_id, secret: secret.clone(), owner, created_at: ctx.now });
    d.emit(Event { at: ctx.now, what: EventKind::UserCreated { user_id: id } });
    Ok(Reply::User(UserCreated { user_id: id, name: name.to_owned(), key_id, secret }))
}

fn create_operator<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    name: &str,
    roles: &[Role],
) -> Result<Reply, Fail> {
    check_name("name", name, ctx.limits.name_chars_max)?;
    let roles = normalise_roles(roles)?;
    let (key_id, secret) = mint_credentials(ctx.mint_at, ctx.rng);
    let owner = Owner::Operator { name: name.to_owned(), roles: roles.clone() };
    d.put_principal(Principal { key_id, secret: secret.clone(), owner, created_at: ctx.now });
    let what = EventKind::OperatorCreated { key_id, name: name.to_owned(), roles: roles.clone() };
    d.emit(Event { at: ctx.now, what });
    Ok(Reply::Operator(OperatorCreated { name: name.to_owned(), roles, key_id, secret }))
}

fn create_group<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    actor: UserId,
    name: &str,
    members: &[UserId],
) -> Result<Reply, Fail> {
    check_name("name", name, ctx.limits.name_chars_max)?;
    let mut all: Vec<UserId> = members.iter().copied().chain([actor]).collect();
    all.sort_unstable();
    all.dedup();
    let max = ctx.limits.group_members_max;
    if all.len() > max as usize {
        return Err(CoreError::invalid(format!("a group has at most {max} members, the caller included")).into());
    }
    user(d, actor)?;
    // Ask for every unknown member at once rather than one per rerun.
    let world = d.world();
    let missing: Vec<Key> = all.iter().map(|&m| Key::User(m)).filter(|&k| !world.knows(k)).collect();
    if !missing.is_empty() {
        return Err(Fail::Need(missing));
    }
    for &member in &all {
        if world.user(member)?.is_none() {
            return Err(CoreError::invalid(format!("unknown user {member}")).into());
        }
    }
    let group = Group {
        id: GroupId::mint(ctx.mint_at, ctx.rng),
        name: name.to_owned(),
        owner: actor,
        members: all,
        created_at: ctx.now,
    };
    d.emit(Event {
        at: ctx.now,
        what: EventKind::GroupCreated { group_id: group.id, owner: actor, members: group.size() },
    });
    let view = GroupView::from(&group);
    d.put_group(group);
    Ok(Reply::Group(view))
}

fn deposit<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, to: UserId, amount: Fen) -> Result<Reply, Fail> {
    positive(amount, "amount")?;
    let max = ctx.limits.deposit_max_fen;
    if amount.get() > max {
        return Err(CoreError::invalid(format!("a deposit may be at most {max} fen")).into());
    }
    user(d, to)?;
    let id = TransferId::mint(ctx.mint_at, ctx.rng);
    d.post(id, AccountId::EXTERNAL, AccountId::wallet(to), amount, TransferKind::Deposit, Refs::default(), ctx.now)?;
    Ok(Reply::Moved(Moved { transfer_id: id, balance: wallet_balance(d, to)? }))
}

fn withdraw<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, actor: UserId, amount: Fen) -> Result<Reply, Fail> {
    positive(amount, "amount")?;
    user(d, actor)?.ensure_may_pay()?;
    let id = TransferId::mint(ctx.mint_at, ctx.rng);
    let from = AccountId::wallet(actor);
    d.post(id, from, AccountId::EXTERNAL, amount, TransferKind::Withdrawal, Refs::default(), ctx.now)?;
    Ok(Reply::Moved(Moved { transfer_id: id, balance: wallet_balance(d, actor)? }))
}

/// A group the actor belongs to, or "not found".
fn member_group<'w>(d: &Draft<'w>, actor: UserId, id: GroupId) -> Result<&'w Group, Fail> {
    match d.world().group(id)? {
        Some(group) if group.has_member(actor) => Ok(group),
        _ => Err(CoreError::not_found("group").into()),
    }
}

fn check_group_count(group: &Group, count: u32) -> Result<(), Fail> {
    if count > group.size() {
        return Err(
            CoreError::invalid(format!("count ({count}) may not exceed the group's {} members", group.size())).into()
        );
    }
    Ok(())
}

fn send_packet<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    actor: UserId,
    spec: &PacketSpec,
    greeting: Option<&str>,
    arrival_delay_s: u32,
) -> Result<Reply, Fail> {
    let limits = ctx.limits;
    // Input first, so that bad input is reported as such whatever the state.
    match *spec {
        PacketSpec::Normal { count, amount_each, .. } => {
            split::split_normal(amount_each, count, limits)?;
        }
        PacketSpec::Lucky { count, total, .. } => split::check_lucky(total, count, limits)?,
        PacketSpec::Exclusive { recipient, amount } => {
            split::check_share(amount, limits)?;
            if recipient == actor {
                return Err(CoreError::invalid("an exclusive packet is for someone else, not its sender").into());
            }
        }
    }
    if let Some(greeting) = greeting {
        check_text("greeting", greeting, limits)?;
    }
    check_delay(arrival_delay_s, limits)?;

    user(d, actor)?.ensure_may_pay()?;
    let (audience, kind) = match *spec {
        PacketSpec::Normal { group_id, count, .. } => {
            check_group_count(member_group(d, actor, group_id)?, count)?;
            (Audience::Group(group_id), PacketKind::Normal)
        }
        PacketSpec::Lucky { group_id, count, .. } => {
            check_group_count(member_group(d, actor, group_id)?, count)?;
            (Audience::Group(group_id), PacketKind::Lucky)
        }
        PacketSpec::Exclusive { recipient, .. } => {
            if d.world().user(recipient)?.is_none() {
                return Err(CoreError::invalid(format!("unknown recipient {recipient}")).into());
            }
            (Audience::Recipient(recipient), PacketKind::Exclusive)
        }
    };
    // Every read is done: from here on the command only writes.
    let shares = match *spec {
        PacketSpec::Normal { count, amount_each, .. } => split::split_normal(amount_each, count, limits)?,
        PacketSpec::Lucky { count, total, .. } => split::split_lucky(total, count, limits, ctx.rng)?,
        PacketSpec::Exclusive { amount, .. } => vec![amount],
    };
    let total = Fen::checked_sum(shares.iter().copied())?;
    let salt = (kind == PacketKind::Lucky).then(|| Salt::draw(ctx.rng));
    let packet_id = PacketId::mint(ctx.mint_at, ctx.rng);
    let escrow = AccountId::escrow(packet_id);
    d.open_account(Account::open(escrow, AccountKind::Escrow));
    let transfer_id = TransferId::mint(ctx.mint_at, ctx.rng);
    let from = AccountId::wallet(actor);
    d.post(transfer_id, from, escrow, total, TransferKind::PacketSend, Refs::packet(packet_id), ctx.now)?;
    let packet = Packet {
        id: packet_id,
        kind,
        sender: actor,
        audience,
        total,
        shares: shares.into(),
        greeting: greeting.unwrap_or(DEFAULT_GREETING).to_owned(),
        arrival_delay_s,
        created_at: ctx.now,
        expires_at: ctx.now.plus_seconds(limits.expiry_s),
        status: PacketStatus::Active,
        claimed_count: 0,
        claimed_amount: Fen::ZERO,
        touched: false,
        salt,
    };
    d.emit(Event {
        at: ctx.now,
        what: EventKind::PacketSent {
            packet_id,
            sender: actor,
            kind,
            count: packet.count(),
            total,
            commitment: salt.map(|salt| fairness::commitment(&salt, &packet.shares)),
        },
    });
    let view = PacketView::new(&packet, &[], ctx.now)?;
    d.put_packet(packet);
    Ok(Reply::Packet(view))
}

fn open_packet<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    actor: UserId,
    id: PacketId,
) -> Result<Reply, Fail> {
    let (packet, _) = visible_packet(d.world(), actor, id)?;
    let claims: Vec<Claim> = d.world().claims_of(id)?.into_iter().cloned().collect();
    let mut packet = packet.clone();
    if actor != packet.sender && !packet.touched {
        packet.touched = true;
        d.emit(Event { at: ctx.now, what: EventKind::PacketOpened { packet_id: id, user_id: actor } });
        d.put_packet(packet.clone());
    }
    Ok(Reply::Packet(PacketView::new(&packet, &claims, ctx.now)?))
}

/// Publishes a closed lucky packet's salt and shares, so its commitment can be checked.
fn reveal(d: &mut Draft<'_>, packet: &Packet, now: Timestamp) {
    if let Some(salt) = packet.salt {
        let what = EventKind::LuckySharesRevealed { packet_id: packet.id, salt, shares: packet.shares.to_vec() };
        d.emit(Event { at: now, what });
    }
}

fn claim_packet<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    actor: UserId,
    id: PacketId,
) -> Result<Reply, Fail> {
    let (packet, group) = visible_packet(d.world(), actor, id)?;
    if !packet.may_claim(actor, group, ctx.limits) {
        return Err(CoreError::forbidden("the sender may not claim a share of this packet").into());
    }
    if d.world().claim_of(id, actor)?.is_some() {
        return Err(CoreError::AlreadyClaimed.into());
    }
    match packet.status_at(ctx.now) {
        PacketStatus::Active => {}
        PacketStatus::Exhausted => return Err(CoreError::PacketExhausted.into()),
        PacketStatus::Expired => return Err(CoreError::PacketExpired.into()),
        PacketStatus::Recalled => return Err(CoreError::PacketRecalled.into()),
        PacketStatus::Voided => return Err(CoreError::PacketVoided.into()),
    }
    user(d, actor)?.ensure_may_pay()?;
    let seq = packet.claimed_count;
    let amount = *packet.shares.get(seq as usize).ok_or(CoreError::PacketExhausted)?;
    let claim_id = ClaimId::mint(ctx.mint_at, ctx.rng);
    let transfer_id = TransferId::mint(ctx.mint_at, ctx.rng);
    let (escrow, wallet) = (AccountId::escrow(id), AccountId::wallet(actor));
    let refs = Refs::claim(id, claim_id);
    let (status, arrives_at) = if packet.arrival_delay_s == 0 {
        d.post(transfer_id, escrow, wallet, amount, TransferKind::PacketClaim, refs, ctx.now)?;
        (ClaimStatus::Arrived, ctx.now)
    } else {
        let deadline = ctx.now.plus_seconds(packet.arrival_delay_s);
        d.pend(transfer_id, escrow, wallet, amount, TransferKind::PacketClaim, refs, ctx.now, deadline)?;
        (ClaimStatus::Pending, deadline)
    };
    let mut packet = packet.clone();
    packet.claimed_count += 1;
    packet.claimed_amount = packet.claimed_amount.checked_add(amount)?;
    let exhausted = packet.claimed_count == packet.count();
    if exhausted {
        packet.status = PacketStatus::Exhausted;
    }
    // Claiming means opening: a recipient who claimed has touched the packet.
    packet.touched |= actor != packet.sender;
    let claim = Claim {
        id: claim_id,
        packet_id: id,
        user_id: actor,
        seq,
        amount,
        claimed_at: ctx.now,
        status,
        arrives_at,
        transfer_id,
    };
    d.emit(Event { at: ctx.now, what: EventKind::PacketClaimed { packet_id: id, claim_id, user_id: actor, amount } });
    if exhausted {
        // After the last claim, so the log reads: commitment, every claim, then the reveal.
        reveal(d, &packet, ctx.now);
    }
    let receipt = ClaimReceipt::new(&claim, ctx.now);
    d.put_packet(packet);
    d.put_claim(claim);
    Ok(Reply::Claimed(receipt))
}

/// The first reason of the recall policy that applies at `now`, if any.
pub fn recall_refusal(packet: &Packet, now: Timestamp) -> Option<RecallRefusal> {
    if packet.status_at(now) != PacketStatus::Active {
        Some(RecallRefusal::NotActive)
    } else if packet.kind == PacketKind::Lucky {
        Some(RecallRefusal::LuckyPacket)
    } else if packet.claimed_count > 0 {
        Some(RecallRefusal::Claimed)
    } else if packet.touched {
        Some(RecallRefusal::Touched)
    } else {
        None
    }
}

fn recall_packet<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    actor: UserId,
    id: PacketId,
) -> Result<Reply, Fail> {
    let (packet, _) = visible_packet(d.world(), actor, id)?;
    if actor != packet.sender {
        return Err(CoreError::forbidden("only the sender may recall a packet").into());
    }
    if let Some(reason) = recall_refusal(packet, ctx.now) {
        return Err(CoreError::RecallNotAllowed { reason }.into());
    }
    let refunded = packet.unclaimed()?;
    let transfer_id = TransferId::mint(ctx.mint_at, ctx.rng);
    let to = AccountId::wallet(packet.sender);
    d.post(transfer_id, AccountId::escrow(id), to, refunded, TransferKind::PacketRecall, Refs::packet(id), ctx.now)?;
    let mut packet = packet.clone();
    packet.status = PacketStatus::Recalled;
    d.emit(Event { at: ctx.now, what: EventKind::PacketRecalled { packet_id: id, refunded } });
    d.put_packet(packet);
    Ok(Reply::Recalled(Recalled { packet_id: id, refunded, status: PacketStatus::Recalled }))
}

/// A claim and its packet, if `actor` is the one allowed to act on it; "forbidden" for the
/// other party of the claim and "not found" for everyone else.
fn claim_for<'w>(d: &Draft<'w>, actor: UserId, id: ClaimId, by_sender: bool) -> Result<(&'w Claim, &'w Packet), Fail> {
    let claim = d.world().claim(id)?.ok_or_else(|| CoreError::not_found("claim"))?;
    let packet = packet(d, claim.packet_id)?;
    let (allowed, other) = if by_sender { (packet.sender, claim.user_id) } else { (claim.user_id, packet.sender) };
    if actor == allowed {
        Ok((claim, packet))
    } else if actor == other {
        let who = if by_sender { "the packet's sender" } else { "the claimant" };
        Err(CoreError::forbidden(format!("only {who} may do this")).into())
    } else {
        Err(CoreError::not_found("claim").into())
    }
}

fn revoke_claim<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    actor: UserId,
    id: ClaimId,
) -> Result<Reply, Fail> {
    let (claim, packet) = claim_for(d, actor, id, true)?;
    if claim.status_at(ctx.now) != ClaimStatus::Pending {
        return Err(CoreError::NotPending.into());
    }
    let pending = d.world().pending(claim.transfer_id)?.ok_or(CoreError::NotPending)?;
    let void_id = TransferId::mint(ctx.mint_at, ctx.rng);
    d.resolve(void_id, pending, Resolution::Void, ctx.now)?;
    let refund_id = TransferId::mint(ctx.mint_at, ctx.rng);
    let (escrow, to) = (AccountId::escrow(packet.id), AccountId::wallet(packet.sender));
    d.post(refund_id, escrow, to, claim.amount, TransferKind::ClaimRevoke, Refs::claim(packet.id, id), ctx.now)?;
    let mut claim = claim.clone();
    claim.status = ClaimStatus::Revoked;
    d.emit(Event { at: ctx.now, what: EventKind::ClaimRevoked { claim_id: id, amount: claim.amount } });
    let detail = ClaimDetail::new(&claim);
    d.put_claim(claim);
    Ok(Reply::Claim(detail))
}

fn return_claim<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    actor: UserId,
    id: ClaimId,
) -> Result<Reply, Fail> {
    let (claim, packet) = claim_for(d, actor, id, false)?;
    if packet.sender == actor {
        return Err(CoreError::conflict("this share came from your own packet: there is nobody to return it to").into());
    }
    match claim.status_at(ctx.now) {
        ClaimStatus::Arrived => {}
        ClaimStatus::Pending => {
            return Err(CoreError::conflict(
                "this claim has not arrived yet; until then only its sender can revoke it",
            )
            .into());
        }
        ClaimStatus::Revoked | ClaimStatus::Returned => {
            return Err(CoreError::conflict(format!("this claim was already {}", claim.status.as_str())).into());
        }
    }
    user(d, actor)?.ensure_may_pay()?;
    let mut claim = claim.clone();
    if claim.status == ClaimStatus::Pending {
        // Due but not yet posted by the background job: post it first, as the job would.
        let pending = d.world().pending(claim.transfer_id)?.ok_or(CoreError::NotPending)?;
        let post_id = TransferId::mint(ctx.mint_at, ctx.rng);
        d.resolve(post_id, pending, Resolution::Post, ctx.now)?;
        d.emit(Event { at: ctx.now, what: EventKind::ClaimArrived { claim_id: id } });
    }
    let transfer_id = TransferId::mint(ctx.mint_at, ctx.rng);
    let (from, to) = (AccountId::wallet(actor), AccountId::wallet(packet.sender));
    d.post(transfer_id, from, to, claim.amount, TransferKind::ClaimReturn, Refs::claim(packet.id, id), ctx.now)?;
    claim.status = ClaimStatus::Returned;
    d.emit(Event { at: ctx.now, what: EventKind::ClaimReturned { claim_id: id, amount: claim.amount } });
    let detail = ClaimDetail::new(&claim);
    d.put_claim(claim);
    Ok(Reply::Claim(detail))
}

fn transfer<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    actor: UserId,
    to: UserId,
    amount: Fen,
    note: Option<&str>,
    arrival_delay_s: u32,
) -> Result<Reply, Fail> {
    positive(amount, "amount")?;
    if to == actor {
        return Err(CoreError::invalid("you cannot transfer money to yourself").into());
    }
    if let Some(note) = note {
        check_text("note", note, ctx.limits)?;
    }
    check_delay(arrival_delay_s, ctx.limits)?;
    user(d, actor)?.ensure_may_pay()?;
    if d.world().user(to)?.is_none() {
        return Err(CoreError::invalid(format!("unknown recipient {to}")).into());
    }
    let id = TransferId::mint(ctx.mint_at, ctx.rng);
    let (from, to) = (AccountId::wallet(actor), AccountId::wallet(to));
    let refs = Refs { note: note.map(str::to_owned), ..Refs::default() };
    let (status, arrives_at) = if arrival_delay_s == 0 {
        d.post(id, from, to, amount, TransferKind::Transfer, refs, ctx.now)?;
        (TransferStatus::Arrived, ctx.now)
    } else {
        let deadline = ctx.now.plus_seconds(arrival_delay_s);
        d.pend(id, from, to, amount, TransferKind::Transfer, refs, ctx.now, deadline)?;
        (TransferStatus::Pending, deadline)
    };
    Ok(Reply::Transfer(TransferReceipt { transfer_id: id, status, arrives_at }))
}

fn revoke_transfer<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    actor: UserId,
    id: TransferId,
) -> Result<Reply, Fail> {
    let world = d.world();
    let original = world.transfer(id)?.filter(|t| t.kind == TransferKind::Transfer && t.phase.is_original());
    let Some(original) = original else {
        return Err(CoreError::not_found("transfer").into());
    };
    if original.debit != AccountId::wallet(actor) {
        if original.credit == AccountId::wallet(actor) {
            return Err(CoreError::forbidden("only the sender may revoke a transfer").into());
        }
        return Err(CoreError::not_found("transfer").into());
    }
    let pending = world.pending(id)?.filter(|p| p.is_open_at(ctx.now)).ok_or(CoreError::NotPending)?;
    let void_id = TransferId::mint(ctx.mint_at, ctx.rng);
    d.resolve(void_id, pending, Resolution::Void, ctx.now)?;
    d.emit(Event { at: ctx.now, what: EventKind::TransferRevoked { transfer_id: id } });
    Ok(Reply::Transfer(TransferReceipt {
        transfer_id: id,
        status: TransferStatus::Revoked,
        arrives_at: pending.deadline(),
    }))
}

fn me(d: &mut Draft<'_>, user: &User) -> Result<Reply, Fail> {
    let wallet = d.account(AccountId::wallet(user.id))?;
    Ok(Reply::Me(MeView::new(user, wallet)?))
}

fn set_status<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    id: UserId,
    status: UserStatus,
) -> Result<Reply, Fail> {
    let mut person = user(d, id)?.clone();
    if person.status != status {
        person.status = status;
        let what = match status {
            UserStatus::Locked => EventKind::UserLocked { user_id: id },
            UserStatus::Active => EventKind::UserUnlocked { user_id: id },
        };
        d.emit(Event { at: ctx.now, what });
        d.put_user(person.clone());
    }
    me(d, &person)
}

fn freeze<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    id: UserId,
    amount: Fen,
    hold: bool,
) -> Result<Reply, Fail> {
    positive(amount, "amount")?;
    let person = user(d, id)?;
    let wallet = d.account(AccountId::wallet(id))?;
    let what = if hold {
        wallet.freeze(amount)?;
        EventKind::FundsFrozen { user_id: id, amount }
    } else {
        wallet.unfreeze(amount)?;
        EventKind::FundsUnfrozen { user_id: id, amount }
    };
    d.emit(Event { at: ctx.now, what });
    me(d, person)
}

fn expire_packet<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, id: PacketId) -> Result<Reply, Fail> {
    let Some(packet) = d.world().packet(id)? else {
        return Ok(Reply::Settled { changed: false });
    };
    if packet.status != PacketStatus::Active || ctx.now < packet.expires_at {
        return Ok(Reply::Settled { changed: false });
    }
    let refunded = packet.unclaimed()?;
    if refunded.is_positive() {
        let transfer_id = TransferId::mint(ctx.mint_at, ctx.rng);
        let to = AccountId::wallet(packet.sender);
        d.post(
            transfer_id,
            AccountId::escrow(id),
            to,
            refunded,
            TransferKind::PacketRefund,
            Refs::packet(id),
            ctx.now,
        )?;
    }
    let mut packet = packet.clone();
    packet.status = PacketStatus::Expired;
    d.emit(Event { at: ctx.now, what: EventKind::PacketExpired { packet_id: id, refunded } });
    reveal(d, &packet, ctx.now);
    d.put_packet(packet);
    Ok(Reply::Settled { changed: true })
}

fn settle_pending<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, id: TransferId) -> Result<Reply, Fail> {
    let world = d.world();
    let Some(pending) = world.pending(id)? else {
        return Ok(Reply::Settled { changed: false });
    };
    if pending.status != PendingStatus::Pending || ctx.now < pending.deadline() {
        return Ok(Reply::Settled { changed: false });
    }
    let claim = match pending.transfer.claim_id {
        Some(claim_id) => Some(world.claim(claim_id)?.ok_or_else(|| CoreError::not_found("claim"))?),
        None => None,
    };
    let post_id = TransferId::mint(ctx.mint_at, ctx.rng);
    d.resolve(post_id, pending, Resolution::Post, ctx.now)?;
    match claim {
        Some(claim) => {
            let mut claim: Claim = claim.clone();
            claim.status = ClaimStatus::Arrived;
            d.emit(Event { at: ctx.now, what: EventKind::ClaimArrived { claim_id: claim.id } });
            d.put_claim(claim);
        }
        None => d.emit(Event { at: ctx.now, what: EventKind::TransferArrived { transfer_id: id } }),
    }
    Ok(Reply::Settled { changed: true })
}
