//! What each scenario does, decided before anything runs: who exists, who is in which group,
//! which packets are sent in the setup, and which claims the measured phase makes. Every run of
//! a scenario (hongbao, naive, ceiling) realises the same [`Shape`] on its own database and
//! follows the same [`Claims`], so their figures compare like for like.

use clap::ValueEnum;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

/// The workloads of issue 6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// One lucky packet with many shares, claimed by many clients at once.
    Hot,
    /// Many packets with few shares each, all claimed at once.
    Spread,
    /// Sends, claims, transfers, recalls and expiry refunds together, for a fixed time.
    Mixed,
}

impl Scenario {
    pub const fn as_str(self) -> &'static str {
        match self {
            Scenario::Hot => "hot",
            Scenario::Spread => "spread",
            Scenario::Mixed => "mixed",
        }
    }

    /// The refusals the rules give in this scenario by design: a claim on a packet that others
    /// emptied, a recall of a packet someone opened, and so on. Anything else is unexpected.
    pub fn expected_errors(self) -> &'static [&'static str] {
        match self {
            Scenario::Hot | Scenario::Spread => &[],
            Scenario::Mixed => {
                &["already_claimed", "packet_exhausted", "packet_expired", "packet_recalled", "recall_not_allowed"]
            }
        }
    }
}

/// How big a run is: `tiny` for the CI smoke run (seconds), `full` for docs/BENCHMARKS.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Size {
    Tiny,
    Small,
    Full,
}

/// Every count and bound of a size.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// Shares of the hot packet (one claimer each).
    pub hot_shares: u32,
    /// Hot packets claimed one after the other (each by the whole group), so that a run lasts
    /// long enough to measure.
    pub hot_packets: u32,
    pub spread_users: u32,
    pub spread_group_size: u32,
    pub spread_packets: u32,
    pub spread_shares: u32,
    pub mixed_users: u32,
    pub mixed_group_size: u32,
    /// Packets already in the database when the mixed run starts.
    pub mixed_seeded_packets: u32,
    /// How long the mixed run lasts; its packets expire after a third of it.
    pub mixed_seconds: u64,
    /// Concurrent clients of hongbao's runs, in process and over HTTP.
    pub clients_engine: usize,
    pub clients_http: usize,
    /// The longest one measured run may take before it stops where it is.
    pub max_seconds: u64,
}

impl Size {
    pub const fn params(self) -> Params {
        match self {
            Size::Tiny => Params {
                hot_shares: 200,
                hot_packets: 2,
                spread_users: 50,
                spread_group_size: 10,
                spread_packets: 100,
                spread_shares: 5,
                mixed_users: 60,
                mixed_group_size: 10,
                mixed_seeded_packets: 200,
                mixed_seconds: 3,
                clients_engine: 64,
                clients_http: 16,
                max_seconds: 60,
            },
            Size::Small => Params {
                hot_shares: 2_000,
                hot_packets: 2,
                spread_users: 300,
                spread_group_size: 30,
                spread_packets: 1_000,
                spread_shares: 10,
                mixed_users: 500,
                mixed_group_size: 20,
                mixed_seeded_packets: 10_000,
                mixed_seconds: 10,
                clients_engine: 512,
                clients_http: 64,
                max_seconds: 120,
            },
            Size::Full => Params {
                hot_shares: 10_000,
                hot_packets: 5,
                spread_users: 1_000,
                spread_group_size: 100,
                spread_packets: 10_000,
                spread_shares: 10,
                mixed_users: 2_000,
                mixed_group_size: 20,
                mixed_seeded_packets: 100_000,
                mixed_seconds: 30,
                clients_engine: 1_000,
                clients_http: 64,
                max_seconds: 300,
            },
        }
    }
}

/// A lucky packet splits `fen` at random; a normal packet gives `fen` to each share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Lucky,
    Normal,
}

/// One packet of the setup.
#[derive(Clone, Copy, Debug)]
pub struct PacketPlan {
    pub sender: u32,
    pub group: u32,
    pub kind: Kind,
    pub count: u32,
    /// The total of a lucky packet, each share of a normal one.
    pub fen: i64,
}

impl PacketPlan {
    pub fn total(&self) -> i64 {
        match self.kind {
            Kind::Lucky => self.fen,
            Kind::Normal => self.fen * i64::from(self.count),
        }
    }
}

/// Who exists before the measured phase: users (by index), groups, deposits and packets.
#[derive(Clone, Debug, Default)]
pub struct Shape {
    pub users: u32,
    /// Each group's members, its owner first.
    pub groups: Vec<Vec<u32>>,
    /// Money each user starts with, in fen.
    pub deposits: Vec<(u32, i64)>,
    pub packets: Vec<PacketPlan>,
}

impl Shape {
    /// The largest group, which `group_members_max` must allow.
    pub fn largest_group(&self) -> u32 {
        self.groups.iter().map(|g| u32::try_from(g.len()).unwrap_or(u32::MAX)).max().unwrap_or(1)
    }

    /// The most shares of one packet, which `count_max` must allow.
    pub fn most_shares(&self) -> u32 {
        self.packets.iter().map(|p| p.count).max().unwrap_or(1)
    }

    /// Each user's group (the first one they are in), for the mixed run's sends.
    pub fn group_of(&self) -> Vec<u32> {
        let mut of = vec![0; self.users as usize];
        for (g, members) in self.groups.iter().enumerate().rev() {
            for &m in members {
                of[m as usize] = u32::try_from(g).unwrap_or(0);
            }
        }
        of
    }
}

/// The claims of the measured phase, `(user, packet)` by index, in the order clients take them.
pub type Claims = Vec<(u32, u32)>;

/// Fen per share in the hot and spread packets (1 yuan): well inside the share limits.
const SHARE_FEN: i64 = 100;

/// Every user of the mixed scenario starts with ¥100 000: nobody runs out during a run.
const MIXED_DEPOSIT_FEN: i64 = 10_000_000;

/// Shares of each packet sent in the mixed scenario.
pub const MIXED_COUNT: u32 = 5;

/// `hot_packets` lucky packets of `hot_shares` shares each to a group of everyone, claimed one
/// packet after the other; each packet is claimed once by every member but the sender, in a
/// random order. Every claim of a batch lands on the same packet (but where one packet ends and
/// the next begins).
pub fn hot(params: &Params, seed: u64) -> (Shape, Claims) {
    let mut rng = StdRng::seed_from_u64(seed);
    let shares = params.hot_shares;
    let users = shares + 1;
    let packet =
        PacketPlan { sender: 0, group: 0, kind: Kind::Lucky, count: shares, fen: SHARE_FEN * i64::from(shares) };
    let packets = vec![packet; params.hot_packets.max(1) as usize];
    let shape = Shape {
        users,
        groups: vec![(0..users).collect()],
        deposits: vec![(0, packets.iter().map(PacketPlan::total).sum())],
        packets,
    };
    let mut claims = Claims::with_capacity(shares as usize * shape.packets.len());
    for p in 0..params.hot_packets.max(1) {
        let mut round: Claims = (1..users).map(|user| (user, p)).collect();
        round.shuffle(&mut rng);
        claims.extend(round);
    }
    (shape, claims)
}

/// Groups of `spread_group_size`, each owner sending an equal part of the packets to their
/// group; every share of every packet is claimed by a distinct member, all in one shuffled
/// stream, so that the claims of a batch land on many packets.
pub fn spread(params: &Params, seed: u64) -> (Shape, Claims) {
    let mut rng = StdRng::seed_from_u64(seed);
    let size = params.spread_group_size.max(params.spread_shares);
    let groups_n = (params.spread_users / size).max(1);
    let groups: Vec<Vec<u32>> = (0..groups_n).map(|g| (g * size..(g + 1) * size).collect()).collect();
    let users = groups_n * size;
    let per_packet = SHARE_FEN * i64::from(params.spread_shares);
    let packets: Vec<PacketPlan> = (0..params.spread_packets)
        .map(|p| {
            let group = p % groups_n;
            PacketPlan {
                sender: groups[group as usize][0],
                group,
                kind: Kind::Lucky,
                count: params.spread_shares,
                fen: per_packet,
            }
        })
        .collect();
    let mut deposits = vec![0i64; users as usize];
    for packet in &packets {
        deposits[packet.sender as usize] += packet.total();
    }
    let deposits = deposits.into_iter().enumerate().filter(|(_, fen)| *fen > 0);
    let deposits = deposits.map(|(u, fen)| (u32::try_from(u).unwrap_or(0), fen)).collect();
    let mut claims = Vec::with_capacity(packets.len() * params.spread_shares as usize);
    for (p, packet) in packets.iter().enumerate() {
        let mut members = groups[packet.group as usize].clone();
        members.shuffle(&mut rng);
        let p = u32::try_from(p).unwrap_or(u32::MAX);
        claims.extend(members.into_iter().take(packet.count as usize).map(|user| (user, p)));
    }
    claims.shuffle(&mut rng);
    (Shape { users, groups, deposits, packets }, claims)
}

/// Groups of `mixed_group_size`; everyone has money; `mixed_seeded_packets` packets (lucky
/// and normal) are already sent, by random members to their own group. The measured phase
/// decides its operations as it goes (see [`MixedOp::draw`]).
pub fn mixed(params: &Params, seed: u64) -> Shape {
    let mut rng = StdRng::seed_from_u64(seed);
    let size = params.mixed_group_size.max(MIXED_COUNT);
    let groups_n = (params.mixed_users / size).max(1);
    let groups: Vec<Vec<u32>> = (0..groups_n).map(|g| (g * size..(g + 1) * size).collect()).collect();
    let users = groups_n * size;
    let deposits = (0..users).map(|u| (u, MIXED_DEPOSIT_FEN)).collect();
    let packets = (0..params.mixed_seeded_packets)
        .map(|_| {
            let group = rng.random_range(0..groups_n);
            let sender = groups[group as usize][rng.random_range(0..size) as usize];
            mixed_packet(&mut rng, sender, group)
        })
        .collect();
    Shape { users, groups, deposits, packets }
}

/// A packet of the mixed scenario: lucky seven times in ten, five shares, 5 yuan in all.
pub fn mixed_packet(rng: &mut impl RngExt, sender: u32, group: u32) -> PacketPlan {
    if rng.random_bool(0.7) {
        PacketPlan { sender, group, kind: Kind::Lucky, count: MIXED_COUNT, fen: SHARE_FEN * i64::from(MIXED_COUNT) }
    } else {
        PacketPlan { sender, group, kind: Kind::Normal, count: MIXED_COUNT, fen: SHARE_FEN }
    }
}

/// One operation of the mixed run, before it is given a packet from the recent ones.
#[derive(Clone, Copy, Debug)]
pub enum MixedOp {
    /// A member sends a packet to their group (25 %).
    Send { user: u32 },
    /// A member of a recent packet's group claims it (50 %).
    Claim { pick: u64 },
    /// A user pays another (15 %); one in ten arrives after 2 h, so it stays pending.
    Transfer { from: u32, to: u32, fen: i64, delay_s: u32 },
    /// The sender of a recent normal packet takes it back (10 %): refused once it was opened.
    Recall { pick: u64 },
}

impl MixedOp {
    /// The `index`-th operation of a run seeded with `seed`: the same sequence on every target.
    pub fn draw(seed: u64, index: u64, users: u32) -> (MixedOp, StdRng) {
        let mut rng = StdRng::seed_from_u64(seed ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let roll: f64 = rng.random();
        let op = if roll < 0.25 {
            MixedOp::Send { user: rng.random_range(0..users) }
        } else if roll < 0.75 {
            MixedOp::Claim { pick: rng.random() }
        } else if roll < 0.90 {
            let from = rng.random_range(0..users);
            let to = (from + rng.random_range(1..users.max(2))) % users.max(1);
            let delay_s = if rng.random_bool(0.1) { 7_200 } else { 0 };
            MixedOp::Transfer { from, to, fen: rng.random_range(1..=100), delay_s }
        } else {
            MixedOp::Recall { pick: rng.random() }
        };
        (op, rng)
    }

    pub const fn name(self) -> &'static str {
        match self {
            MixedOp::Send { .. } => "send",
            MixedOp::Claim { .. } => "claim",
            MixedOp::Transfer { .. } => "transfer",
            MixedOp::Recall { .. } => "recall",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hot_claims_take_every_share_once_by_distinct_members() {
        let params = Size::Tiny.params();
        let (shape, claims) = hot(&params, 7);
        assert!(params.hot_packets > 1, "the smoke size claims more than one packet");
        assert_eq!(shape.packets.len(), params.hot_packets as usize);
        assert_eq!(claims.len(), (params.hot_shares * params.hot_packets) as usize);
        for (p, round) in claims.chunks(params.hot_shares as usize).enumerate() {
            assert!(round.iter().all(|c| c.1 as usize == p), "packet {p} is claimed after the one before");
            let mut users: Vec<u32> = round.iter().map(|c| c.0).collect();
            users.sort_unstable();
            users.dedup();
            assert_eq!(users.len(), round.len());
            assert!(!users.contains(&0), "the sender does not claim");
        }
        assert_eq!(shape.largest_group(), params.hot_shares + 1);
        let sent: i64 = shape.packets.iter().map(PacketPlan::total).sum();
        assert_eq!(shape.deposits, vec![(0, sent)], "the sender can pay for every packet");
    }

    #[test]
    fn spread_claims_fill_each_packet_with_members_of_its_group() {
        let params = Size::Tiny.params();
        let (shape, claims) = spread(&params, 7);
        assert_eq!(claims.len(), (params.spread_packets * params.spread_shares) as usize);
        let mut seen = std::collections::HashSet::new();
        for &(user, packet) in &claims {
            let group = &shape.groups[shape.packets[packet as usize].group as usize];
            assert!(group.contains(&user));
            assert!(seen.insert((user, packet)), "nobody claims a packet twice");
        }
        for packet in &shape.packets {
            let deposit = shape.deposits.iter().find(|d| d.0 == packet.sender).map_or(0, |d| d.1);
            assert!(deposit >= packet.total());
        }
    }
}
