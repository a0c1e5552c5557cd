//! The ceiling baseline: only the raw writes a hongbao claim needs, batched, with no domain
//! logic and no HTTP — the storage engine's limit for this workload on this machine.
//!
//! Per claim it writes the rows hongbao's store writes, into hongbao's own schema and with the
//! same encodings: a `claims` row, a `transfers` row, a `packet_claimed` event (and the
//! `lucky_shares_revealed` event when a packet's last share goes) — as `events` rows when the
//! log is off, as log entries next to the transfer's when it is on, as hongbao keeps them —
//! and the updates of the claimant's wallet, the
//! packet's escrow and the packet, and, when the packet's last share goes, the removal of its
//! expiry from the schedule of due work. Like hongbao's batches, a transaction updates each account
//! and packet row once however many of its claims touch it. Statements are multi-row (SQLite:
//! `INSERT … VALUES (…), (…)` and `UPDATE … FROM (VALUES …)`; PostgreSQL: `UNNEST` arrays), one
//! writer, one transaction per batch, with the durability of the hongbao runs.
//!
//! It does not lock the log, check what an update found, encode idempotency records or hash
//! anything: those are hongbao's costs above the storage engine's.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::Context;
use hongbao_core::due::DueKind;
use hongbao_core::event::{Event, EventKind};
use hongbao_core::fairness::Salt;
use hongbao_core::ledger::{Phase, Transfer, TransferKind};
use hongbao_core::log::{LogRecord, encode};
use hongbao_core::packet::DEFAULT_GREETING;
use hongbao_core::{AccountId, ClaimId, Fen, Limits, PacketId, Timestamp, TransferId, UserId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use super::db::{Fresh, OpenStore, RawPool, V, values_sqlite};
use super::load::Measured;
use super::plan::{Claims, Shape};

/// A packet's state as the ceiling tracks it: which share goes next.
#[derive(Debug)]
struct PacketState {
    id: Uuid,
    shares: Vec<i64>,
    claimed: u32,
    claimed_amount: i64,
    salt: [u8; 32],
}

/// One claim's rows.
#[derive(Debug)]
struct ClaimRow {
    id: Uuid,
    packet: Uuid,
    user: Uuid,
    seq: i64,
    amount: i64,
    at: i64,
    transfer: Uuid,
}

/// A log entry's row: `(idx, entry, transfer_id, packet_id)`.
type LogRow = (i64, Vec<u8>, Option<Uuid>, Option<Uuid>);

/// Everything one batch writes.
#[derive(Debug, Default)]
struct Batch {
    claims: Vec<ClaimRow>,
    transfers: Vec<Transfer>,
    /// `(at, type, body)`.
    events: Vec<(i64, &'static str, String)>,
    log: Vec<LogRow>,
    /// Account id → (debits, credits) added.
    accounts: BTreeMap<Uuid, (i64, i64)>,
    /// Packets whose row changes, by index.
    packets: BTreeSet<usize>,
}

/// The ceiling's database: hongbao's schema, seeded with the shape's wallets, escrows and packets.
#[derive(Debug)]
pub struct Ceiling {
    pool: RawPool,
    /// hongbao's store on the same database, open for the run (see [`Ceiling::set_up`]).
    _store: OpenStore,
    users: Vec<Uuid>,
    packets: Vec<PacketState>,
    rng: StdRng,
    log_next: i64,
}

impl Ceiling {
    /// Writes `shape`'s accounts and packets into `fresh` (migrated by opening hongbao's store on
    /// it), directly and unmeasured.
    ///
    /// # Errors
    /// When the database cannot be opened or a statement fails.
    pub async fn set_up(
        fresh: &Fresh,
        durability: hongbao_store_sqlite::Durability,
        shape: &Shape,
        limits: &Limits,
        seed: u64,
    ) -> anyhow::Result<Ceiling> {
        // Kept open for the run: on SQLite its background checkpoints serve the ceiling's writes
        // as they serve hongbao's.
        let store = fresh.open_store(durability).await?;
        let pool = fresh.raw_pool(1, durability, true).await?;
        let mut rng = StdRng::seed_from_u64(seed);
        let now = hongbao_engine::system_now();
        let users: Vec<Uuid> = (0..shape.users).map(|_| UserId::mint(now, &mut rng).uuid()).collect();
        let account = |id: Uuid, kind: &str, credits: i64| {
            vec![V::Uuid(id), V::Text(kind.to_owned()), V::Int(0), V::Int(credits), V::Int(0), V::Int(0), V::Int(0)]
        };
        let mut accounts: Vec<Vec<V>> = users.iter().map(|&id| account(id, "wallet", 0)).collect();
        let mut packets = Vec::with_capacity(shape.packets.len());
        let mut rows = Vec::with_capacity(shape.packets.len());
        let mut schedule = Vec::with_capacity(shape.packets.len());
        for plan in &shape.packets {
            let id = PacketId::mint(now, &mut rng).uuid();
            let shares = hongbao_core::split::split_lucky(Fen::new(plan.total()), plan.count, limits, &mut rng)
                .context("the plan's packet breaks the limits")?;
            let shares: Vec<i64> = shares.iter().map(|s| s.get()).collect();
            let mut salt = [0u8; 32];
            rng.fill_bytes(&mut salt);
            accounts.push(account(id, "escrow", plan.total()));
            rows.push(vec![
                V::Uuid(id),
                V::Text("lucky".to_owned()),
                V::Uuid(users[plan.sender as usize]),
                V::Uuid(Uuid::from_u128(u128::from(plan.group) + 1)),
                V::NullUuid,
                V::Int(plan.total()),
                V::Fen(shares.clone()),
                V::Text(DEFAULT_GREETING.to_owned()),
                V::Int(0),
                V::Int(now.millis()),
                V::Int(now.plus_seconds(limits.expiry_s).millis()),
                V::Text("active".to_owned()),
                V::Int(0),
                V::Int(0),
                V::Bool(false),
                V::Bytes(salt.to_vec()),
            ]);
            let expires_at = now.plus_seconds(limits.expiry_s).millis();
            schedule.push(vec![V::Text(DueKind::PacketExpiry.name().to_owned()), V::Uuid(id), V::Int(expires_at)]);
            packets.push(PacketState { id, shares, claimed: 0, claimed_amount: 0, salt });
        }
        let head = "INSERT INTO accounts (id, kind, debits_posted, credits_posted, debits_pending, credits_pending, \
                    frozen) VALUES";
        pool.insert_rows(head, 7, accounts).await?;
        let head = "INSERT INTO packets (id, kind, sender, group_id, recipient, total, shares, greeting, \
                    arrival_delay_s, created_at, expires_at, status, claimed_count, claimed_amount, touched, salt) \
                    VALUES";
        pool.insert_rows(head, 16, rows).await?;
        pool.insert_rows("INSERT INTO deadlines (kind, id, due_at) VALUES", 3, schedule).await?;
        Ok(Ceiling { pool, _store: store, users, packets, rng, log_next: 0 })
    }

    pub fn pool(&self) -> &RawPool {
        &self.pool
    }

    /// Writes the claims `batch` at a time, one transaction each, until they are done or
    /// `time_max` has passed. Every claim of a batch is answered when its transaction commits,
    /// so each is recorded with the batch's latency.
    ///
    /// # Errors
    /// When a statement fails: the ceiling has no refusals, so any failure is the database's.
    pub async fn run(
        &mut self,
        claims: &Claims,
        batch: usize,
        log: bool,
        time_max: Duration,
    ) -> anyhow::Result<Measured> {
        let mut measured = Measured::new();
        let start = Instant::now();
        for chunk in claims.chunks(batch.max(1)) {
            if start.elapsed() >= time_max {
                measured.timed_out = true;
                break;
            }
            let sent = Instant::now();
            let rows = self.build(chunk, log, hongbao_engine::system_now());
            match &self.pool {
                RawPool::Sqlite(pool) => {
                    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                    write_sqlite(&mut tx, rows, &self.packets).await?;
                    tx.commit().await?;
                }
                RawPool::Postgres(pool) => {
                    let mut tx = pool.begin().await?;
                    write_pg(&mut tx, rows, &self.packets).await?;
                    tx.commit().await?;
                }
            }
            let took = sent.elapsed();
            for _ in chunk {
                measured.record("claim", took, Ok(()));
            }
        }
        measured.elapsed = start.elapsed();
        Ok(measured)
    }

    /// The rows of `chunk`'s claims, with the same content hongbao's would have.
    fn build(&mut self, chunk: &[(u32, u32)], log: bool, now: Timestamp) -> Batch {
        let mut batch = Batch::default();
        for &(user, packet) in chunk {
            let state = &mut self.packets[packet as usize];
            let seq = state.claimed;
            let amount = state.shares[seq as usize];
            state.claimed += 1;
            state.claimed_amount += amount;
            let (packet_id, user_id) = (PacketId::from_uuid(state.id), UserId::from_uuid(self.users[user as usize]));
            let claim_id = ClaimId::mint(now, &mut self.rng);
            let transfer = Transfer {
                id: TransferId::mint(now, &mut self.rng),
                debit: AccountId::escrow(packet_id),
                credit: AccountId::wallet(user_id),
                amount: Fen::new(amount),
                kind: TransferKind::PacketClaim,
                phase: Phase::Posted,
                packet_id: Some(packet_id),
                claim_id: Some(claim_id),
                note: None,
                created_at: now,
            };
            batch.claims.push(ClaimRow {
                id: claim_id.uuid(),
                packet: state.id,
                user: user_id.uuid(),
                seq: i64::from(seq),
                amount,
                at: now.millis(),
                transfer: transfer.id.uuid(),
            });
            let mut events = vec![Event {
                at: now,
                what: EventKind::PacketClaimed { packet_id, claim_id, user_id, amount: Fen::new(amount) },
            }];
            if state.claimed as usize == state.shares.len() {
                let shares = state.shares.iter().map(|&s| Fen::new(s)).collect();
                events.push(Event {
                    at: now,
                    what: EventKind::LuckySharesRevealed { packet_id, salt: Salt(state.salt), shares },
                });
            }
            if log {
                batch.log.push((
                    self.log_next,
                    encode(&LogRecord::Transfer(transfer.clone())),
                    Some(transfer.id.uuid()),
                    Some(state.id),
                ));
                self.log_next += 1;
                for event in events {
                    batch.log.push((self.log_next, encode(&LogRecord::Event(event)), None, Some(state.id)));
                    self.log_next += 1;
                }
            } else {
                for event in events {
                    let body = serde_json::to_string(&event).unwrap_or_default();
                    batch.events.push((event.at.millis(), event.what.name(), body));
                }
            }
            batch.accounts.entry(state.id).or_default().0 += amount;
            batch.accounts.entry(user_id.uuid()).or_default().1 += amount;
            batch.packets.insert(packet as usize);
            batch.transfers.push(transfer);
        }
        batch
    }
}

const CLAIMS_HEAD: &str =
    "INSERT INTO claims (id, packet_id, user_id, seq, amount, claimed_at, status, arrives_at, transfer_id) VALUES";
const TRANSFERS_HEAD: &str = "INSERT INTO transfers (id, debit, credit, amount, kind, phase, deadline, pending_id, \
                              packet_id, claim_id, note, created_at) VALUES";

async fn write_sqlite(conn: &mut sqlx::SqliteConnection, batch: Batch, packets: &[PacketState]) -> anyhow::Result<()> {
    let claims = batch
        .claims
        .iter()
        .map(|c| {
            vec![
                V::Uuid(c.id),
                V::Uuid(c.packet),
                V::Uuid(c.user),
                V::Int(c.seq),
                V::Int(c.amount),
                V::Int(c.at),
                V::Text("arrived".to_owned()),
                V::Int(c.at),
                V::Uuid(c.transfer),
            ]
        })
        .collect();
    values_sqlite(conn, CLAIMS_HEAD, "", 9, claims).await?;
    let transfers = batch
        .transfers
        .iter()
        .map(|t| {
            vec![
                V::Uuid(t.id.uuid()),
                V::Uuid(t.debit.uuid()),
                V::Uuid(t.credit.uuid()),
                V::Int(t.amount.get()),
                V::Text(t.kind.as_str().to_owned()),
                V::Text("posted".to_owned()),
                V::NullInt,
                V::NullUuid,
                t.packet_id.map_or(V::NullUuid, |p| V::Uuid(p.uuid())),
                t.claim_id.map_or(V::NullUuid, |c| V::Uuid(c.uuid())),
                V::NullText,
                V::Int(t.created_at.millis()),
            ]
        })
        .collect();
    values_sqlite(conn, TRANSFERS_HEAD, "", 12, transfers).await?;
    let events =
        batch.events.into_iter().map(|(at, kind, body)| vec![V::Int(at), V::Text(kind.to_owned()), V::Text(body)]);
    values_sqlite(conn, "INSERT INTO events (at, type, body) VALUES", "", 3, events.collect()).await?;
    let log = batch.log.into_iter().map(|(idx, entry, transfer, packet)| {
        vec![V::Int(idx), V::Bytes(entry), transfer.map_or(V::NullUuid, V::Uuid), packet.map_or(V::NullUuid, V::Uuid)]
    });
    values_sqlite(conn, "INSERT INTO log_entries (idx, entry, transfer_id, packet_id) VALUES", "", 4, log.collect())
        .await?;
    let accounts = batch.accounts.into_iter().map(|(id, (d, c))| vec![V::Uuid(id), V::Int(d), V::Int(c)]).collect();
    values_sqlite(
        conn,
        "UPDATE accounts SET debits_posted = debits_posted + v.column2, credits_posted = credits_posted + v.column3 \
         FROM (VALUES",
        ") AS v WHERE accounts.id = v.column1",
        3,
        accounts,
    )
    .await?;
    let updates = batch.packets.iter().map(|&p| packet_update(&packets[p])).collect();
    values_sqlite(
        conn,
        "UPDATE packets SET claimed_count = v.column2, claimed_amount = v.column3, status = v.column4, touched = 1 \
         FROM (VALUES",
        ") AS v WHERE packets.id = v.column1",
        4,
        updates,
    )
    .await?;
    let done = exhausted(&batch.packets, packets)
        .map(|id| vec![V::Text(DueKind::PacketExpiry.name().to_owned()), V::Uuid(id)]);
    values_sqlite(conn, "DELETE FROM deadlines WHERE (kind, id) IN (VALUES", ")", 2, done.collect()).await
}

/// The packets among `changed` whose last share the batch took: their expiry leaves the schedule.
fn exhausted<'a>(changed: &'a BTreeSet<usize>, packets: &'a [PacketState]) -> impl Iterator<Item = Uuid> + 'a {
    changed.iter().map(|&p| &packets[p]).filter(|s| s.claimed as usize == s.shares.len()).map(|s| s.id)
}

fn packet_update(state: &PacketState) -> Vec<V> {
    let status = if state.claimed as usize == state.shares.len() { "exhausted" } else { "active" };
    vec![V::Uuid(state.id), V::Int(i64::from(state.claimed)), V::Int(state.claimed_amount), V::Text(status.to_owned())]
}

async fn write_pg(conn: &mut sqlx::PgConnection, batch: Batch, packets: &[PacketState]) -> anyhow::Result<()> {
    let c = &batch.claims;
    sqlx::query(
        "INSERT INTO claims (id, packet_id, user_id, seq, amount, claimed_at, status, arrives_at, transfer_id) \
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::bigint[], $6::bigint[], \
         $7::text[], $8::bigint[], $9::uuid[])",
    )
    .bind(c.iter().map(|c| c.id).collect::<Vec<_>>())
    .bind(c.iter().map(|c| c.packet).collect::<Vec<_>>())
    .bind(c.iter().map(|c| c.user).collect::<Vec<_>>())
    .bind(c.iter().map(|c| c.seq).collect::<Vec<_>>())
    .bind(c.iter().map(|c| c.amount).collect::<Vec<_>>())
    .bind(c.iter().map(|c| c.at).collect::<Vec<_>>())
    .bind(c.iter().map(|_| "arrived").collect::<Vec<_>>())
    .bind(c.iter().map(|c| c.at).collect::<Vec<_>>())
    .bind(c.iter().map(|c| c.transfer).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    let t = &batch.transfers;
    sqlx::query(
        "INSERT INTO transfers (id, debit, credit, amount, kind, phase, deadline, pending_id, packet_id, claim_id, \
         note, created_at) \
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::text[], $6::text[], \
         $7::bigint[], $8::uuid[], $9::uuid[], $10::uuid[], $11::text[], $12::bigint[])",
    )
    .bind(t.iter().map(|t| t.id.uuid()).collect::<Vec<_>>())
    .bind(t.iter().map(|t| t.debit.uuid()).collect::<Vec<_>>())
    .bind(t.iter().map(|t| t.credit.uuid()).collect::<Vec<_>>())
    .bind(t.iter().map(|t| t.amount.get()).collect::<Vec<_>>())
    .bind(t.iter().map(|t| t.kind.as_str()).collect::<Vec<_>>())
    .bind(t.iter().map(|_| "posted").collect::<Vec<_>>())
    .bind(t.iter().map(|_| None::<i64>).collect::<Vec<_>>())
    .bind(t.iter().map(|_| None::<Uuid>).collect::<Vec<_>>())
    .bind(t.iter().map(|t| t.packet_id.map(|p| p.uuid())).collect::<Vec<_>>())
    .bind(t.iter().map(|t| t.claim_id.map(|c| c.uuid())).collect::<Vec<_>>())
    .bind(t.iter().map(|_| None::<String>).collect::<Vec<_>>())
    .bind(t.iter().map(|t| t.created_at.millis()).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    if !batch.events.is_empty() {
        let (at, (kinds, bodies)): (Vec<i64>, (Vec<&str>, Vec<String>)) =
            batch.events.into_iter().map(|(at, kind, body)| (at, (kind, body))).unzip();
        sqlx::query(
            "INSERT INTO events (at, type, body) SELECT at, type, body::jsonb \
             FROM UNNEST($1::bigint[], $2::text[], $3::text[]) WITH ORDINALITY AS e (at, type, body, n) ORDER BY n",
        )
        .bind(at)
        .bind(kinds)
        .bind(bodies)
        .execute(&mut *conn)
        .await?;
    }
    if !batch.log.is_empty() {
        let mut idx = Vec::with_capacity(batch.log.len());
        let mut entries = Vec::with_capacity(batch.log.len());
        let mut transfers = Vec::with_capacity(batch.log.len());
        let mut packet_ids = Vec::with_capacity(batch.log.len());
        for (i, entry, transfer, packet) in batch.log {
            idx.push(i);
            entries.push(entry);
            transfers.push(transfer);
            packet_ids.push(packet);
        }
        sqlx::query(
            "INSERT INTO log_entries (idx, entry, transfer_id, packet_id) \
             SELECT * FROM UNNEST($1::bigint[], $2::bytea[], $3::uuid[], $4::uuid[])",
        )
        .bind(idx)
        .bind(entries)
        .bind(transfers)
        .bind(packet_ids)
        .execute(&mut *conn)
        .await?;
    }
    let (ids, (debits, credits)): (Vec<Uuid>, (Vec<i64>, Vec<i64>)) = batch.accounts.into_iter().unzip();
    sqlx::query(
        "UPDATE accounts AS t SET debits_posted = t.debits_posted + u.d, credits_posted = t.credits_posted + u.c \
         FROM UNNEST($1::uuid[], $2::bigint[], $3::bigint[]) AS u (id, d, c) WHERE t.id = u.id",
    )
    .bind(ids)
    .bind(debits)
    .bind(credits)
    .execute(&mut *conn)
    .await?;
    let states: Vec<&PacketState> = batch.packets.iter().map(|&p| &packets[p]).collect();
    sqlx::query(
        "UPDATE packets AS t SET claimed_count = u.n, claimed_amount = u.a, status = u.s, touched = true \
         FROM UNNEST($1::uuid[], $2::bigint[], $3::bigint[], $4::text[]) AS u (id, n, a, s) WHERE t.id = u.id",
    )
    .bind(states.iter().map(|s| s.id).collect::<Vec<_>>())
    .bind(states.iter().map(|s| i64::from(s.claimed)).collect::<Vec<_>>())
    .bind(states.iter().map(|s| s.claimed_amount).collect::<Vec<_>>())
    .bind(
        states
            .iter()
            .map(|s| if s.claimed as usize == s.shares.len() { "exhausted" } else { "active" })
            .collect::<Vec<_>>(),
    )
    .execute(&mut *conn)
    .await?;
    let done: Vec<Uuid> = exhausted(&batch.packets, packets).collect();
    if !done.is_empty() {
        let kinds = vec![DueKind::PacketExpiry.name(); done.len()];
        sqlx::query("DELETE FROM deadlines WHERE (kind, id) IN (SELECT * FROM UNNEST($1::text[], $2::uuid[]))")
            .bind(kinds)
            .bind(done)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
