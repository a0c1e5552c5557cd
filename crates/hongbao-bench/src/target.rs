//! What the load generator drives: hongbao's engine in this process, a `hongbao serve` child
//! over signed loopback HTTP, or the naive baseline. The same measured phases (the claims of
//! hot and spread, the mixed evening) run against each.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hongbao_client::{Client, ClientError, PacketOptions, TransferOptions};
use hongbao_core::ops::{Command, PacketSpec, Recalled, TransferReceipt};
use hongbao_core::packet::{ClaimReceipt, PacketView};
use hongbao_core::{Fen, GroupId, PacketId, UserId};
use hongbao_engine::{Engine, EngineError};
use rand::RngExt;
use uuid::Uuid;

use super::load::{Code, Measured, drive};
use super::naive::Naive;
use super::plan::{Claims, Kind, MixedOp, PacketPlan, Shape, mixed_packet};

/// Who carries out the operations.
#[derive(Debug)]
pub enum Driver {
    Engine(Engine),
    /// One client per user, all sharing one connection pool.
    Http(Vec<Client>),
    Naive(Arc<Naive>),
}

/// A driver and the ids its setup gave the shape's users and groups.
#[derive(Debug)]
pub struct Target {
    pub driver: Driver,
    pub users: Vec<Uuid>,
    pub groups: Vec<Uuid>,
}

/// The code an engine refusal has in the API (`hongbao-server`'s `error.rs` maps them so).
pub fn engine_code(err: &EngineError) -> Code {
    match err {
        EngineError::Refused(core) => Code::Borrowed(core.code()),
        EngineError::IdempotencyKeyReused => Code::Borrowed("idempotency_key_reused"),
        EngineError::SecretShownOnce { .. } => Code::Borrowed("conflict"),
        EngineError::Overloaded => Code::Borrowed("overloaded"),
        EngineError::Unavailable(_) | EngineError::Stopped => Code::Borrowed("unavailable"),
        EngineError::Config(_) | EngineError::Internal(_) => Code::Borrowed("internal"),
        EngineError::Audit(_) => Code::Borrowed("audit"),
    }
}

/// The API's error code, or what kept the answer from coming.
fn http_code(err: &ClientError) -> Code {
    match err {
        ClientError::Api { code, .. } => Code::Owned(code.clone()),
        ClientError::Transport { .. } => Code::Borrowed("transport"),
        ClientError::UnexpectedAnswer { .. } => Code::Borrowed("unexpected_answer"),
        _ => Code::Borrowed("client"),
    }
}

/// The `Idempotency-Key` of one operation of a run: a careful client sends one with every POST,
/// so that a retry after a lost answer is applied once. `seed` is the operation's index, unique
/// in its run.
fn idempotency_key(kind: &str, seed: u64) -> String {
    format!("bench-{kind}-{seed}")
}

impl Target {
    fn user(&self, user: u32) -> UserId {
        UserId::from_uuid(self.users[user as usize])
    }

    /// `user` claims a share of `packet`.
    pub async fn claim(&self, user: u32, packet: Uuid, seed: u64) -> Result<(), Code> {
        match &self.driver {
            Driver::Engine(engine) => {
                let command = Command::ClaimPacket { actor: self.user(user), packet: PacketId::from_uuid(packet) };
                engine.run::<ClaimReceipt>(command, None, None).await.map(drop).map_err(|err| engine_code(&err))
            }
            Driver::Http(clients) => clients[user as usize]
                .claim(PacketId::from_uuid(packet))
                .idempotency_key(idempotency_key("claim", seed))
                .send()
                .await
                .map(drop)
                .map_err(|e| http_code(&e)),
            Driver::Naive(naive) => naive.claim(self.users[user as usize], packet, seed).await,
        }
    }

    /// `plan.sender` sends `plan` to their group; answers the new packet's id.
    pub async fn send(&self, plan: &PacketPlan, seed: u64) -> Result<Uuid, Code> {
        let group_id = GroupId::from_uuid(self.groups[plan.group as usize]);
        let spec = match plan.kind {
            Kind::Lucky => PacketSpec::Lucky { group_id, count: plan.count, total: Fen::new(plan.fen) },
            Kind::Normal => PacketSpec::Normal { group_id, count: plan.count, amount_each: Fen::new(plan.fen) },
        };
        match &self.driver {
            Driver::Engine(engine) => {
                let command = Command::SendPacket {
                    actor: self.user(plan.sender),
                    spec,
                    greeting: None,
                    arrival_delay_s: 0,
                    risk_confirmation: None,
                };
                engine
                    .run::<PacketView>(command, None, None)
                    .await
                    .map(|answer| answer.packet_id.uuid())
                    .map_err(|err| engine_code(&err))
            }
            Driver::Http(clients) => clients[plan.sender as usize]
                .send_packet(&spec, &PacketOptions::default())
                .idempotency_key(idempotency_key("send", seed))
                .send()
                .await
                .map(|view| view.packet_id.uuid())
                .map_err(|e| http_code(&e)),
            Driver::Naive(naive) => {
                naive.send(self.users[plan.sender as usize], self.groups[plan.group as usize], plan, seed).await
            }
        }
    }

    /// `from` pays `to`; with `delay_s`, the money arrives later (the naive service pays at once).
    pub async fn transfer(&self, from: u32, to: u32, fen: i64, delay_s: u32, seed: u64) -> Result<(), Code> {
        match &self.driver {
            Driver::Engine(engine) => {
                let command = Command::Transfer {
                    actor: self.user(from),
                    to: self.user(to),
                    amount: Fen::new(fen),
                    note: None,
                    arrival_delay_s: delay_s,
                    risk_confirmation: None,
                };
                engine.run::<TransferReceipt>(command, None, None).await.map(drop).map_err(|err| engine_code(&err))
            }
            Driver::Http(clients) => {
                let options = TransferOptions::default().arrival_delay_seconds(delay_s);
                clients[from as usize]
                    .transfer(self.user(to), Fen::new(fen), &options)
                    .idempotency_key(idempotency_key("transfer", seed))
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| http_code(&e))
            }
            Driver::Naive(naive) => naive.transfer(self.users[from as usize], self.users[to as usize], fen, seed).await,
        }
    }

    /// `sender` recalls `packet`.
    pub async fn recall(&self, sender: u32, packet: Uuid, seed: u64) -> Result<(), Code> {
        match &self.driver {
            Driver::Engine(engine) => {
                let command = Command::RecallPacket { actor: self.user(sender), packet: PacketId::from_uuid(packet) };
                engine.run::<Recalled>(command, None, None).await.map(drop).map_err(|err| engine_code(&err))
            }
            Driver::Http(clients) => clients[sender as usize]
                .recall(PacketId::from_uuid(packet))
                .idempotency_key(idempotency_key("recall", seed))
                .send()
                .await
                .map(drop)
                .map_err(|e| http_code(&e)),
            Driver::Naive(naive) => naive.recall(self.users[sender as usize], packet, seed).await,
        }
    }
}

/// The claims of hot or spread, `clients` at a time, within `time_max`.
pub async fn claims_phase(
    target: Arc<Target>,
    packets: Arc<Vec<Uuid>>,
    claims: Arc<Claims>,
    clients: usize,
    time_max: Duration,
) -> Measured {
    let count = claims.len() as u64;
    drive(clients, count, time_max, move |index| {
        let (target, packets, claims) = (target.clone(), packets.clone(), claims.clone());
        async move {
            let (user, packet) = claims[usize::try_from(index).unwrap_or(usize::MAX)];
            ("claim", target.claim(user, packets[packet as usize], index).await)
        }
    })
    .await
}

/// A packet the mixed run may claim or recall.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    pub id: Uuid,
    pub group: u32,
    pub sender: u32,
    pub kind: Kind,
}

impl Slot {
    /// The slots of the packets `shape` planned, given the ids they were written with.
    pub fn planned(shape: &Shape, ids: &[Uuid]) -> Vec<Slot> {
        shape
            .packets
            .iter()
            .zip(ids)
            .map(|(plan, &id)| Slot { id, group: plan.group, sender: plan.sender, kind: plan.kind })
            .collect()
    }
}

/// The packets sent most recently, which the mixed run's claims and recalls go to.
#[derive(Debug)]
struct Recent {
    slots: VecDeque<Slot>,
}

/// How many recent packets the mixed run keeps to claim from.
const RECENT_MAX: usize = 4_096;

impl Recent {
    fn push(&mut self, slot: Slot) {
        if self.slots.len() >= RECENT_MAX {
            self.slots.pop_front();
        }
        self.slots.push_back(slot);
    }

    fn pick(&self, pick: u64) -> Option<Slot> {
        let len = self.slots.len() as u64;
        (len > 0).then(|| self.slots[usize::try_from(pick % len).unwrap_or(0)])
    }

    /// The first normal packet from a random place on.
    fn pick_normal(&self, pick: u64) -> Option<Slot> {
        let len = self.slots.len();
        let start = usize::try_from(pick % (len.max(1) as u64)).unwrap_or(0);
        (0..len).map(|i| self.slots[(start + i) % len]).find(|slot| slot.kind == Kind::Normal)
    }
}

/// The recent packets; a client that panicked while holding them left nothing half-done.
fn lock(recent: &std::sync::Mutex<Recent>) -> std::sync::MutexGuard<'_, Recent> {
    recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The mixed evening: sends, claims, transfers and recalls drawn at random (see [`MixedOp`]),
/// `clients` at a time, for `duration`. Expiry refunds run beside it (the engine's jobs, the
/// server's, or the naive job), on the packets the run sent.
pub async fn mixed_phase(
    target: Arc<Target>,
    shape: &Shape,
    seeded: Vec<Slot>,
    clients: usize,
    duration: Duration,
    seed: u64,
) -> Measured {
    let mut recent = Recent { slots: VecDeque::with_capacity(RECENT_MAX) };
    for slot in seeded.into_iter().rev().take(RECENT_MAX).rev() {
        recent.push(slot);
    }
    let recent = Arc::new(std::sync::Mutex::new(recent));
    let groups = Arc::new(shape.groups.clone());
    let group_of = Arc::new(shape.group_of());
    let users = shape.users;
    let mut measured = drive(clients, u64::MAX, duration, move |index| {
        let (target, recent, groups, group_of) = (target.clone(), recent.clone(), groups.clone(), group_of.clone());
        async move {
            let (op, mut rng) = MixedOp::draw(seed, index, users);
            let result = match op {
                MixedOp::Send { user } => {
                    let group = group_of[user as usize];
                    let plan = mixed_packet(&mut rng, user, group);
                    match target.send(&plan, index).await {
                        Ok(id) => {
                            lock(&recent).push(Slot { id, group, sender: user, kind: plan.kind });
                            Ok(())
                        }
                        Err(code) => Err(code),
                    }
                }
                MixedOp::Claim { pick } => {
                    let slot = lock(&recent).pick(pick);
                    match slot {
                        Some(slot) => {
                            let members = &groups[slot.group as usize];
                            let user = members[rng.random_range(0..members.len())];
                            target.claim(user, slot.id, index).await
                        }
                        None => Err(Code::Borrowed("no_packet")),
                    }
                }
                MixedOp::Transfer { from, to, fen, delay_s } => target.transfer(from, to, fen, delay_s, index).await,
                MixedOp::Recall { pick } => {
                    let slot = lock(&recent).pick_normal(pick);
                    match slot {
                        Some(slot) => target.recall(slot.sender, slot.id, index).await,
                        None => Err(Code::Borrowed("no_packet")),
                    }
                }
            };
            (op.name(), result)
        }
    })
    .await;
    // The run lasts `duration` by design: reaching it is not being cut short.
    measured.timed_out = false;
    measured
}

/// Runs the naive expiry job beside `phase`, and answers how many packets it refunded.
pub async fn with_naive_expiry<F: std::future::Future<Output = Measured>>(
    naive: &Arc<Naive>,
    until: Instant,
    phase: F,
) -> (Measured, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let job = naive.spawn_expiry(stop.clone(), until);
    let measured = phase.await;
    stop.store(true, Ordering::Relaxed);
    let _ = job.await;
    (measured, naive.expired.load(Ordering::Relaxed))
}
