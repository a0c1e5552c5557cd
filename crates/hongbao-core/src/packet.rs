//! Red packets and claims: the records, who may see and claim them, and their views.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::Limits;
use crate::fairness::Salt;
use crate::id::{ClaimId, GroupId, PacketId, TransferId, UserId};
use crate::money::{Fen, MoneyError};
use crate::time::Timestamp;
use crate::user::Group;

/// WeChat's default greeting, used when the sender writes none.
pub const DEFAULT_GREETING: &str = "恭喜发财，大吉大利";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PacketKind {
    /// 普通红包: every share the same.
    Normal,
    /// 拼手气红包: random shares.
    Lucky,
    /// 专属红包: one named recipient.
    Exclusive,
}

impl PacketKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            PacketKind::Normal => "normal",
            PacketKind::Lucky => "lucky",
            PacketKind::Exclusive => "exclusive",
        }
    }
}

/// Who the packet is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Group(GroupId),
    Recipient(UserId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PacketStatus {
    Active,
    /// Every share claimed.
    Exhausted,
    /// Past `expires_at`; the remainder went back to the sender.
    Expired,
    /// Taken back by the sender before anyone touched it.
    Recalled,
    /// Voided in bulk (an enterprise campaign ended).
    Voided,
}

impl PacketStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            PacketStatus::Active => "active",
            PacketStatus::Exhausted => "exhausted",
            PacketStatus::Expired => "expired",
            PacketStatus::Recalled => "recalled",
            PacketStatus::Voided => "voided",
        }
    }
}

/// A red packet. Its shares are drawn at send time, in claim order, and never change.
///
/// Once sent, only its state changes — `status`, `claimed_count`, `claimed_amount` and
/// `touched` — and the stores write only those when they update a packet (a claim on a packet
/// of 10 000 shares does not write the shares again); [`Packet::same_terms`] is the rest.
///
/// **Invariant** (checked by [`crate::invariants`]): `shares` sum to `total`; `claimed_count`
/// claims exist for it, from distinct people, taking `shares[0..claimed_count]` in order;
/// `claimed_amount` is their sum; the escrow account holds `total − claimed_amount` plus the
/// pending claims while active, and only the pending claims once closed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Packet {
    pub id: PacketId,
    pub kind: PacketKind,
    pub sender: UserId,
    pub audience: Audience,
    pub total: Fen,
    pub shares: Arc<[Fen]>,
    pub greeting: String,
    pub arrival_delay_s: u32,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub status: PacketStatus,
    pub claimed_count: u32,
    pub claimed_amount: Fen,
    /// A recipient has opened it (the sender opening it does not count).
    pub touched: bool,
    /// A lucky packet's secret salt, committed to at send and revealed at close
    /// (see [`crate::fairness`]). `None` for other kinds.
    pub salt: Option<Salt>,
}

impl Packet {
    /// Whether `other` is the same packet with the same terms: every field but the state that
    /// claims, recalls and expiry change.
    pub fn same_terms(&self, other: &Packet) -> bool {
        // Destructured so that a new field must be placed on one side or the other.
        let Packet {
            id,
            kind,
            sender,
            audience,
            total,
            shares,
            greeting,
            arrival_delay_s,
            created_at,
            expires_at,
            salt,
            status: _,
            claimed_count: _,
            claimed_amount: _,
            touched: _,
        } = self;
        *id == other.id
            && *kind == other.kind
            && *sender == other.sender
            && *audience == other.audience
            && *total == other.total
            && (Arc::ptr_eq(shares, &other.shares) || *shares == other.shares)
            && *greeting == other.greeting
            && *arrival_delay_s == other.arrival_delay_s
            && *created_at == other.created_at
            && *expires_at == other.expires_at
            && *salt == other.salt
    }

    pub fn count(&self) -> u32 {
        u32::try_from(self.shares.len()).unwrap_or(u32::MAX)
    }

    pub fn group(&self) -> Option<GroupId> {
        match self.audience {
            Audience::Group(group) => Some(group),
            Audience::Recipient(_) => None,
        }
    }

    pub fn recipient(&self) -> Option<UserId> {
        match self.audience {
            Audience::Recipient(user) => Some(user),
            Audience::Group(_) => None,
        }
    }

    /// The status at `now`: an active packet past its expiry is expired even before the
    /// background job has refunded it.
    pub fn status_at(&self, now: Timestamp) -> PacketStatus {
        if self.status == PacketStatus::Active && now >= self.expires_at { PacketStatus::Expired } else { self.status }
    }

    /// Money not yet claimed: still in escrow while active, refunded once closed.
    ///
    /// # Errors
    /// Overflow only.
    pub fn unclaimed(&self) -> Result<Fen, MoneyError> {
        self.total.checked_sub(self.claimed_amount)
    }

    /// Whether `user` may claim a share. `group` must be the packet's group, when it has one.
    pub fn may_claim(&self, user: UserId, group: Option<&Group>, limits: &Limits) -> bool {
        match self.audience {
            Audience::Recipient(recipient) => user == recipient,
            Audience::Group(_) => {
                group.is_some_and(|g| g.has_member(user)) && (user != self.sender || limits.sender_may_claim)
            }
        }
    }

    /// Whether `user` may see the packet: the sender, and whoever may claim it or could if the
    /// sender were allowed to.
    pub fn visible_to(&self, user: UserId, group: Option<&Group>) -> bool {
        user == self.sender
            || match self.audience {
                Audience::Recipient(recipient) => user == recipient,
                Audience::Group(_) => group.is_some_and(|g| g.has_member(user)),
            }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ClaimStatus {
    /// The money is the claimant's.
    Arrived,
    /// Delayed arrival: the money arrives at `arrives_at` unless the sender revokes it.
    Pending,
    /// The sender revoked it before it arrived.
    Revoked,
    /// The claimant gave it back.
    Returned,
}

impl ClaimStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::Arrived => "arrived",
            ClaimStatus::Pending => "pending",
            ClaimStatus::Revoked => "revoked",
            ClaimStatus::Returned => "returned",
        }
    }
}

/// One share taken by one person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub id: ClaimId,
    pub packet_id: PacketId,
    pub user_id: UserId,
    /// Index of the share taken: the n-th claim takes `shares[n]`.
    pub seq: u32,
    pub amount: Fen,
    pub claimed_at: Timestamp,
    pub status: ClaimStatus,
    /// When the money arrives (equal to `claimed_at` without delay).
    pub arrives_at: Timestamp,
    /// The transfer escrow → claimant (pending when delayed).
    pub transfer_id: TransferId,
}

impl Claim {
    /// The status at `now`: a pending claim past `arrives_at` has arrived even before the
    /// background job has posted it.
    pub fn status_at(&self, now: Timestamp) -> ClaimStatus {
        if self.status == ClaimStatus::Pending && now >= self.arrives_at { ClaimStatus::Arrived } else { self.status }
    }
}

/// A claim as shown inside a packet view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClaimView {
    pub claim_id: ClaimId,
    pub user_id: UserId,
    pub amount: Fen,
    pub claimed_at: Timestamp,
    pub status: ClaimStatus,
    pub arrives_at: Timestamp,
}

/// What claiming answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClaimReceipt {
    pub claim_id: ClaimId,
    pub packet_id: PacketId,
    pub amount: Fen,
    pub status: ClaimStatus,
    pub arrives_at: Timestamp,
}

impl ClaimReceipt {
    pub fn new(claim: &Claim, now: Timestamp) -> ClaimReceipt {
        ClaimReceipt {
            claim_id: claim.id,
            packet_id: claim.packet_id,
            amount: claim.amount,
            status: claim.status_at(now),
            arrives_at: claim.arrives_at,
        }
    }
}

/// The packet as the API shows it to its sender and to those who may claim it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PacketView {
    pub packet_id: PacketId,
    pub kind: PacketKind,
    pub sender: UserId,
    pub group_id: Option<GroupId>,
    pub recipient: Option<UserId>,
    pub count: u32,
    pub total: Fen,
    pub greeting: String,
    pub status: PacketStatus,
    pub remaining_count: u32,
    pub remaining_amount: Fen,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub arrival_delay_seconds: u32,
    pub touched: bool,
    pub claims: Vec<ClaimView>,
    /// 手气最佳: the largest share of a lucky packet once every share is claimed (the earliest
    /// claimant wins a tie).
    pub best_luck: Option<UserId>,
    /// On the answer that sent an exclusive packet only: the recipient rating's notices (and,
    /// when confirmed, what was confirmed); left out when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<crate::warning::Warning>,
}

impl PacketView {
    /// The view at `now`; `claims` are all claims of the packet, in any order.
    ///
    /// # Errors
    /// Overflow only.
    pub fn new(packet: &Packet, claims: &[Claim], now: Timestamp) -> Result<PacketView, MoneyError> {
        let mut claims: Vec<&Claim> = claims.iter().filter(|c| c.packet_id == packet.id).collect();
        claims.sort_by_key(|c| c.seq);
        let best_luck = (packet.kind == PacketKind::Lucky && packet.claimed_count == packet.count())
            .then(|| claims.iter().max_by_key(|c| (c.amount, std::cmp::Reverse(c.seq))).map(|c| c.user_id))
            .flatten();
        Ok(PacketView {
            packet_id: packet.id,
            kind: packet.kind,
            sender: packet.sender,
            group_id: packet.group(),
            recipient: packet.recipient(),
            count: packet.count(),
            total: packet.total,
            greeting: packet.greeting.clone(),
            status: packet.status_at(now),
            remaining_count: packet.count().saturating_sub(packet.claimed_count),
            remaining_amount: packet.unclaimed()?,
            created_at: packet.created_at,
            expires_at: packet.expires_at,
            arrival_delay_seconds: packet.arrival_delay_s,
            touched: packet.touched,
            claims: claims
                .into_iter()
                .map(|c| ClaimView {
                    claim_id: c.id,
                    user_id: c.user_id,
                    amount: c.amount,
                    claimed_at: c.claimed_at,
                    status: c.status_at(now),
                    arrives_at: c.arrives_at,
                })
                .collect(),
            best_luck,
            warnings: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{GroupId, PacketId, UserId, Uuid};

    fn packet() -> Packet {
        Packet {
            id: PacketId::from_uuid(Uuid::from_u128(1)),
            kind: PacketKind::Lucky,
            sender: UserId::from_uuid(Uuid::from_u128(2)),
            audience: Audience::Group(GroupId::from_uuid(Uuid::from_u128(3))),
            total: Fen::new(300),
            shares: vec![Fen::new(100), Fen::new(200)].into(),
            greeting: "恭喜发财".to_owned(),
            arrival_delay_s: 0,
            created_at: Timestamp::from_millis(1_000),
            expires_at: Timestamp::from_millis(86_401_000),
            status: PacketStatus::Active,
            claimed_count: 0,
            claimed_amount: Fen::ZERO,
            touched: false,
            salt: None,
        }
    }

    #[test]
    fn a_packet_keeps_its_terms_through_its_state_changes_and_not_through_others() {
        let sent = packet();
        let mut claimed = sent.clone();
        (claimed.status, claimed.claimed_count, claimed.claimed_amount, claimed.touched) =
            (PacketStatus::Exhausted, 2, Fen::new(300), true);
        assert!(sent.same_terms(&claimed));
        let mut equal_shares = sent.clone();
        equal_shares.shares = vec![Fen::new(100), Fen::new(200)].into();
        assert!(sent.same_terms(&equal_shares), "equal shares in another allocation");

        let changes: [fn(&mut Packet); 6] = [
            |p| p.shares = vec![Fen::new(200), Fen::new(100)].into(),
            |p| p.total = Fen::new(301),
            |p| p.greeting.push('!'),
            |p| p.expires_at = p.expires_at.plus_seconds(1),
            |p| p.salt = Some(crate::fairness::Salt([1; 32])),
            |p| p.sender = UserId::from_uuid(Uuid::from_u128(4)),
        ];
        for (i, change) in changes.iter().enumerate() {
            let mut changed = sent.clone();
            change(&mut changed);
            assert!(!sent.same_terms(&changed), "change {i} is a change of terms");
        }
    }
}
