//! The naive baseline: the same scenario done the way a first implementation would do it. One
//! database transaction per operation, the packet's row locked for the length of a claim
//! (`SELECT … FOR UPDATE` on PostgreSQL; on SQLite a `BEGIN IMMEDIATE` transaction, which takes
//! the file's write lock), the lucky share drawn at claim time by double mean, no batching, 16
//! clients on a pool of 16 connections, raw sqlx on a minimal schema of its own: accounts with a
//! balance, group members, packets with their remaining shares and amount, claims, transfers.
//!
//! It keeps no transparency log, no idempotency records and no pending transfers: it does less
//! than hongbao per operation, which makes the comparison conservative.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use hongbao_core::Timestamp;
use hongbao_core::id::mint_uuid;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sqlx::{AssertSqlSafe, Row};
use uuid::Uuid;

use super::db::{RawPool, V};
use super::load::Code;
use super::plan::{Kind, PacketPlan, Shape};

/// Concurrent clients and connections of the naive baseline (issue 6: 16 clients on a pool).
pub const CLIENTS: u32 = 16;

/// The largest share a lucky packet may give, as hongbao's default limit.
const SHARE_MAX_FEN: i64 = 20_000;

/// How often the naive expiry job looks for due packets, and how many it takes at once.
const EXPIRY_INTERVAL: Duration = Duration::from_secs(1);
const EXPIRY_BATCH_MAX: i64 = 1_000;

/// The schema, with `{uuid}` and `{int}` for the backend's types.
const SCHEMA: &str = "
CREATE TABLE naive_accounts (id {uuid} PRIMARY KEY, balance {int} NOT NULL);
CREATE TABLE naive_group_members (group_id {uuid} NOT NULL, user_id {uuid} NOT NULL, PRIMARY KEY (group_id, user_id));
CREATE TABLE naive_packets (
    id {uuid} PRIMARY KEY, sender {uuid} NOT NULL, group_id {uuid} NOT NULL, kind TEXT NOT NULL,
    total {int} NOT NULL, count {int} NOT NULL, remaining_count {int} NOT NULL,
    remaining_amount {int} NOT NULL, status TEXT NOT NULL, expires_at {int} NOT NULL, created_at {int} NOT NULL
);
CREATE INDEX naive_packets_due ON naive_packets (expires_at) WHERE status = 'active';
CREATE TABLE naive_claims (
    packet_id {uuid} NOT NULL, user_id {uuid} NOT NULL, amount {int} NOT NULL, claimed_at {int} NOT NULL,
    PRIMARY KEY (packet_id, user_id)
);
CREATE TABLE naive_transfers (
    id {uuid} PRIMARY KEY, debit {uuid} NOT NULL, credit {uuid} NOT NULL, amount {int} NOT NULL,
    kind TEXT NOT NULL, created_at {int} NOT NULL
)";

/// The statements, written for PostgreSQL and rewritten for SQLite (`?N` for `$N`, no row
/// locks: its `BEGIN IMMEDIATE` already holds the only write lock).
#[derive(Debug)]
struct Sql {
    lock_packet: Arc<str>,
    member: Arc<str>,
    claimed: Arc<str>,
    take_share: Arc<str>,
    insert_claim: Arc<str>,
    insert_transfer: Arc<str>,
    add_balance: Arc<str>,
    lock_account: Arc<str>,
    lock_two: Arc<str>,
    insert_account: Arc<str>,
    insert_packet: Arc<str>,
    close_packet: Arc<str>,
    due: Arc<str>,
}

impl Sql {
    fn new(sqlite: bool) -> Sql {
        let s = |pg: &str| -> Arc<str> { if sqlite { Arc::from(for_sqlite(pg)) } else { Arc::from(pg) } };
        Sql {
            lock_packet: s("SELECT sender, group_id, kind, total, count, remaining_count, remaining_amount, status, \
                            expires_at FROM naive_packets WHERE id = $1 FOR UPDATE"),
            member: s("SELECT 1 FROM naive_group_members WHERE group_id = $1 AND user_id = $2"),
            claimed: s("SELECT 1 FROM naive_claims WHERE packet_id = $1 AND user_id = $2"),
            take_share: s("UPDATE naive_packets SET remaining_count = remaining_count - 1, \
                           remaining_amount = remaining_amount - $2, \
                           status = CASE WHEN remaining_count = 1 THEN 'exhausted' ELSE status END WHERE id = $1"),
            insert_claim: s(
                "INSERT INTO naive_claims (packet_id, user_id, amount, claimed_at) VALUES ($1, $2, $3, $4)",
            ),
            insert_transfer: s("INSERT INTO naive_transfers (id, debit, credit, amount, kind, created_at) \
                                VALUES ($1, $2, $3, $4, $5, $6)"),
            add_balance: s("UPDATE naive_accounts SET balance = balance + $2 WHERE id = $1"),
            lock_account: s("SELECT balance FROM naive_accounts WHERE id = $1 FOR UPDATE"),
            lock_two: s("SELECT id, balance FROM naive_accounts WHERE id = $1 OR id = $2 ORDER BY id FOR UPDATE"),
            insert_account: s("INSERT INTO naive_accounts (id, balance) VALUES ($1, $2)"),
            insert_packet: s("INSERT INTO naive_packets (id, sender, group_id, kind, total, count, remaining_count, \
                              remaining_amount, status, expires_at, created_at) \
                              VALUES ($1, $2, $3, $4, $5, $6, $6, $5, 'active', $7, $8)"),
            close_packet: s("UPDATE naive_packets SET status = $2, remaining_amount = 0 WHERE id = $1"),
            due: s("SELECT id FROM naive_packets WHERE status = 'active' AND expires_at <= $1 LIMIT $2"),
        }
    }
}

/// `$N` → `?N`, and no `FOR UPDATE`.
fn for_sqlite(pg: &str) -> String {
    pg.replace(" FOR UPDATE", "").replace('$', "?")
}

fn q(sql: &Arc<str>) -> AssertSqlSafe<Arc<str>> {
    AssertSqlSafe(sql.clone())
}

/// A database error as a code: what a client of the naive service would see.
fn db_code(err: sqlx::Error) -> Code {
    match &err {
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // SQLite: the write lock was not granted within the busy timeout.
            Some("5" | "6" | "517" | "261") => Code::Borrowed("busy"),
            Some("40P01") => Code::Borrowed("deadlock"),
            Some("40001") => Code::Borrowed("serialization_failure"),
            Some("23505" | "1555" | "2067") => Code::Borrowed("duplicate"),
            _ => Code::Owned(format!("database: {db}")),
        },
        sqlx::Error::PoolTimedOut => Code::Borrowed("pool_timeout"),
        _ => Code::Owned(format!("database: {err}")),
    }
}

fn col<'r, R, T>(row: &'r R, index: usize) -> Result<T, Code>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    T: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    row.try_get(index).map_err(db_code)
}

fn now() -> Timestamp {
    hongbao_engine::system_now()
}

/// Begins a transaction on either pool (`BEGIN IMMEDIATE` on SQLite) and runs `$body` with it
/// bound to `$tx`; the body commits, and any early return rolls back.
macro_rules! transaction {
    ($pool:expr, |$tx:ident| $body:block) => {
        match $pool {
            RawPool::Sqlite(pool) => {
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(db_code)?;
                $body
            }
            RawPool::Postgres(pool) => {
                let mut $tx = pool.begin().await.map_err(db_code)?;
                $body
            }
        }
    };
}

/// The naive service on one database.
#[derive(Debug)]
pub struct Naive {
    pool: RawPool,
    sql: Sql,
    /// Packets sent during the run expire after this.
    pub expiry_s: u32,
    /// Packets refunded by the expiry job.
    pub expired: AtomicU64,
}

/// The ids the naive schema gave the shape's users, groups and packets.
#[derive(Debug)]
pub struct Seeded {
    pub users: Vec<Uuid>,
    pub groups: Vec<Uuid>,
    pub packets: Vec<Uuid>,
}

impl Naive {
    /// Creates the schema on `pool` and writes `shape` into it directly (not measured): the
    /// users' accounts, the groups, and the packets already sent, with the money moved.
    ///
    /// # Errors
    /// When a statement fails.
    pub async fn set_up(pool: RawPool, shape: &Shape, seed: u64) -> anyhow::Result<(Naive, Seeded)> {
        let sqlite = matches!(pool, RawPool::Sqlite(_));
        let (uuid, int) = if sqlite { ("BLOB", "INTEGER") } else { ("uuid", "bigint") };
        pool.execute_script(&SCHEMA.replace("{uuid}", uuid).replace("{int}", int))
            .await
            .context("cannot create the naive schema")?;
        let now = now();
        let mut rng = StdRng::seed_from_u64(seed);
        let users: Vec<Uuid> = (0..shape.users).map(|_| mint_uuid(now, &mut rng)).collect();
        let groups: Vec<Uuid> = shape.groups.iter().map(|_| mint_uuid(now, &mut rng)).collect();
        let packets: Vec<Uuid> = shape.packets.iter().map(|_| mint_uuid(now, &mut rng)).collect();
        let mut balance = vec![0i64; users.len()];
        for &(user, fen) in &shape.deposits {
            balance[user as usize] += fen;
        }
        let mut transfers = Vec::new();
        let mut transfer = |rng: &mut StdRng, debit: Uuid, credit: Uuid, amount: i64, kind: &str| {
            transfers.push(vec![
                V::Uuid(mint_uuid(now, rng)),
                V::Uuid(debit),
                V::Uuid(credit),
                V::Int(amount),
                V::Text(kind.to_owned()),
                V::Int(now.millis()),
            ]);
        };
        for &(user, fen) in &shape.deposits {
            transfer(&mut rng, Uuid::nil(), users[user as usize], fen, "deposit");
        }
        let expires_at = now.plus_seconds(24 * 3600).millis();
        let mut packet_rows = Vec::with_capacity(packets.len());
        let mut escrows = Vec::with_capacity(packets.len());
        for (plan, &id) in shape.packets.iter().zip(&packets) {
            let total = plan.total();
            balance[plan.sender as usize] -= total;
            transfer(&mut rng, users[plan.sender as usize], id, total, "packet_send");
            escrows.push(vec![V::Uuid(id), V::Int(total)]);
            packet_rows.push(vec![
                V::Uuid(id),
                V::Uuid(users[plan.sender as usize]),
                V::Uuid(groups[plan.group as usize]),
                V::Text(kind_name(plan.kind).to_owned()),
                V::Int(total),
                V::Int(i64::from(plan.count)),
                V::Int(i64::from(plan.count)),
                V::Int(total),
                V::Text("active".to_owned()),
                V::Int(expires_at),
                V::Int(now.millis()),
            ]);
        }
        let accounts: Vec<Vec<V>> =
            users.iter().zip(&balance).map(|(&id, &fen)| vec![V::Uuid(id), V::Int(fen)]).chain(escrows).collect();
        pool.insert_rows("INSERT INTO naive_accounts (id, balance) VALUES", 2, accounts).await?;
        let members: Vec<Vec<V>> = shape
            .groups
            .iter()
            .zip(&groups)
            .flat_map(|(members, &group)| members.iter().map(move |&m| (group, m)))
            .map(|(group, m)| vec![V::Uuid(group), V::Uuid(users[m as usize])])
            .collect();
        pool.insert_rows("INSERT INTO naive_group_members (group_id, user_id) VALUES", 2, members).await?;
        let head = "INSERT INTO naive_packets (id, sender, group_id, kind, total, count, remaining_count, \
                    remaining_amount, status, expires_at, created_at) VALUES";
        pool.insert_rows(head, 11, packet_rows).await?;
        let head = "INSERT INTO naive_transfers (id, debit, credit, amount, kind, created_at) VALUES";
        pool.insert_rows(head, 6, transfers).await?;
        let naive = Naive { sql: Sql::new(sqlite), pool, expiry_s: 24 * 3600, expired: AtomicU64::new(0) };
        Ok((naive, Seeded { users, groups, packets }))
    }

    pub fn pool(&self) -> &RawPool {
        &self.pool
    }

    /// Claims one share of `packet` for `user`, in one transaction holding the packet's lock.
    ///
    /// # Errors
    /// The refusal's code (`packet_exhausted`, …) or the database's (`busy`, `deadlock`, …).
    pub async fn claim(&self, user: Uuid, packet: Uuid, seed: u64) -> Result<(), Code> {
        let now = now();
        let sql = &self.sql;
        transaction!(&self.pool, |tx| {
            let Some(row) =
                sqlx::query(q(&sql.lock_packet)).bind(packet).fetch_optional(&mut *tx).await.map_err(db_code)?
            else {
                return Err(Code::Borrowed("not_found"));
            };
            let Locked { group, kind, total, count, remaining_count, remaining_amount, status, expires_at, .. } =
                Locked::read(&row)?;
            let member = sqlx::query(q(&sql.member)).bind(group).bind(user).fetch_optional(&mut *tx).await;
            if member.map_err(db_code)?.is_none() {
                return Err(Code::Borrowed("not_found"));
            }
            let claimed = sqlx::query(q(&sql.claimed)).bind(packet).bind(user).fetch_optional(&mut *tx).await;
            if claimed.map_err(db_code)?.is_some() {
                return Err(Code::Borrowed("already_claimed"));
            }
            closed(&status, expires_at, now)?;
            if remaining_count < 1 {
                return Err(Code::Borrowed("packet_exhausted"));
            }
            let mut rng = StdRng::seed_from_u64(seed);
            let amount = if kind == "lucky" {
                double_mean(&mut rng, remaining_amount, remaining_count)
            } else {
                total / count.max(1)
            };
            let id = mint_uuid(now, &mut rng);
            let steps = [
                sqlx::query(q(&sql.take_share)).bind(packet).bind(amount),
                sqlx::query(q(&sql.insert_claim)).bind(packet).bind(user).bind(amount).bind(now.millis()),
                sqlx::query(q(&sql.insert_transfer))
                    .bind(id)
                    .bind(packet)
                    .bind(user)
                    .bind(amount)
                    .bind("packet_claim")
                    .bind(now.millis()),
                sqlx::query(q(&sql.add_balance)).bind(packet).bind(-amount),
                sqlx::query(q(&sql.add_balance)).bind(user).bind(amount),
            ];
            for step in steps {
                step.execute(&mut *tx).await.map_err(db_code)?;
            }
            tx.commit().await.map_err(db_code)?;
            Ok(())
        })
    }

    /// Sends a packet from `sender` to `group`, moving its total to a new escrow account.
    ///
    /// # Errors
    /// As [`Naive::claim`]; `insufficient_funds`.
    pub async fn send(&self, sender: Uuid, group: Uuid, plan: &PacketPlan, seed: u64) -> Result<Uuid, Code> {
        let now = now();
        let sql = &self.sql;
        let mut rng = StdRng::seed_from_u64(seed);
        let (packet, transfer) = (mint_uuid(now, &mut rng), mint_uuid(now, &mut rng));
        let total = plan.total();
        let expires_at = now.plus_seconds(self.expiry_s).millis();
        transaction!(&self.pool, |tx| {
            let Some(row) =
                sqlx::query(q(&sql.lock_account)).bind(sender).fetch_optional(&mut *tx).await.map_err(db_code)?
            else {
                return Err(Code::Borrowed("not_found"));
            };
            let balance: i64 = col(&row, 0)?;
            let member = sqlx::query(q(&sql.member)).bind(group).bind(sender).fetch_optional(&mut *tx).await;
            if member.map_err(db_code)?.is_none() {
                return Err(Code::Borrowed("not_found"));
            }
            if balance < total {
                return Err(Code::Borrowed("insufficient_funds"));
            }
            let steps = [
                sqlx::query(q(&sql.add_balance)).bind(sender).bind(-total),
                sqlx::query(q(&sql.insert_account)).bind(packet).bind(total),
                sqlx::query(q(&sql.insert_packet))
                    .bind(packet)
                    .bind(sender)
                    .bind(group)
                    .bind(kind_name(plan.kind))
                    .bind(total)
                    .bind(i64::from(plan.count))
                    .bind(expires_at)
                    .bind(now.millis()),
                sqlx::query(q(&sql.insert_transfer))
                    .bind(transfer)
                    .bind(sender)
                    .bind(packet)
                    .bind(total)
                    .bind("packet_send")
                    .bind(now.millis()),
            ];
            for step in steps {
                step.execute(&mut *tx).await.map_err(db_code)?;
            }
            tx.commit().await.map_err(db_code)?;
            Ok(packet)
        })
    }

    /// Moves `amount` from one wallet to another (at once: the naive service has no delayed
    /// arrival), locking both accounts in id order.
    ///
    /// # Errors
    /// As [`Naive::claim`]; `insufficient_funds`.
    pub async fn transfer(&self, from: Uuid, to: Uuid, amount: i64, seed: u64) -> Result<(), Code> {
        let now = now();
        let sql = &self.sql;
        let id = mint_uuid(now, &mut StdRng::seed_from_u64(seed));
        transaction!(&self.pool, |tx| {
            let rows = sqlx::query(q(&sql.lock_two)).bind(from).bind(to).fetch_all(&mut *tx).await.map_err(db_code)?;
            let mut balance = None;
            for row in &rows {
                if col::<_, Uuid>(row, 0)? == from {
                    balance = Some(col::<_, i64>(row, 1)?);
                }
            }
            match balance {
                None => return Err(Code::Borrowed("not_found")),
                Some(balance) if balance < amount => return Err(Code::Borrowed("insufficient_funds")),
                Some(_) => {}
            }
            let steps = [
                sqlx::query(q(&sql.add_balance)).bind(from).bind(-amount),
                sqlx::query(q(&sql.add_balance)).bind(to).bind(amount),
                sqlx::query(q(&sql.insert_transfer))
                    .bind(id)
                    .bind(from)
                    .bind(to)
                    .bind(amount)
                    .bind("transfer")
                    .bind(now.millis()),
            ];
            for step in steps {
                step.execute(&mut *tx).await.map_err(db_code)?;
            }
            tx.commit().await.map_err(db_code)?;
            Ok(())
        })
    }

    /// The sender takes back a normal packet nobody has claimed from.
    ///
    /// # Errors
    /// As [`Naive::claim`]; `recall_not_allowed`, `forbidden`.
    pub async fn recall(&self, sender: Uuid, packet: Uuid, seed: u64) -> Result<(), Code> {
        self.refund(packet, seed, Refund::Recall { by: sender }).await.map(drop)
    }

    /// Refunds one expired packet, in its own transaction; `false` when it was not due after all.
    async fn expire(&self, packet: Uuid, seed: u64) -> Result<bool, Code> {
        self.refund(packet, seed, Refund::Expiry).await
    }

    /// Closes `packet` and gives what remains of it back to its sender, in one transaction
    /// holding the packet's lock, if `refund` allows it: `false` when there was nothing to do.
    async fn refund(&self, packet: Uuid, seed: u64, refund: Refund) -> Result<bool, Code> {
        let now = now();
        let sql = &self.sql;
        let id = mint_uuid(now, &mut StdRng::seed_from_u64(seed));
        transaction!(&self.pool, |tx| {
            let Some(row) =
                sqlx::query(q(&sql.lock_packet)).bind(packet).fetch_optional(&mut *tx).await.map_err(db_code)?
            else {
                return refund.missing();
            };
            let locked = Locked::read(&row)?;
            if !refund.allowed(&locked, now)? {
                return Ok(false);
            }
            let steps = [
                sqlx::query(q(&sql.close_packet)).bind(packet).bind(refund.status()),
                sqlx::query(q(&sql.add_balance)).bind(packet).bind(-locked.remaining_amount),
                sqlx::query(q(&sql.add_balance)).bind(locked.sender).bind(locked.remaining_amount),
                sqlx::query(q(&sql.insert_transfer))
                    .bind(id)
                    .bind(packet)
                    .bind(locked.sender)
                    .bind(locked.remaining_amount)
                    .bind(refund.kind())
                    .bind(now.millis()),
            ];
            for step in steps {
                step.execute(&mut *tx).await.map_err(db_code)?;
            }
            tx.commit().await.map_err(db_code)?;
            Ok(true)
        })
    }

    /// The naive expiry job: every second, the due packets, each refunded in a transaction of its
    /// own, until `stop` is set or `until` has passed.
    pub fn spawn_expiry(self: &Arc<Naive>, stop: Arc<AtomicBool>, until: Instant) -> tokio::task::JoinHandle<()> {
        let naive = self.clone();
        tokio::spawn(async move {
            let mut seed = 0u64;
            while !stop.load(Ordering::Relaxed) && Instant::now() < until {
                tokio::time::sleep(EXPIRY_INTERVAL).await;
                let due: Result<Vec<Uuid>, sqlx::Error> = match &naive.pool {
                    RawPool::Sqlite(pool) => {
                        sqlx::query_scalar(q(&naive.sql.due))
                            .bind(now().millis())
                            .bind(EXPIRY_BATCH_MAX)
                            .fetch_all(pool)
                            .await
                    }
                    RawPool::Postgres(pool) => {
                        sqlx::query_scalar(q(&naive.sql.due))
                            .bind(now().millis())
                            .bind(EXPIRY_BATCH_MAX)
                            .fetch_all(pool)
                            .await
                    }
                };
                for packet in due.unwrap_or_default() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    seed += 1;
                    if let Ok(true) = naive.expire(packet, seed).await {
                        naive.expired.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        })
    }
}

/// A packet's row as `lock_packet` reads it, under its lock.
#[derive(Debug)]
struct Locked {
    sender: Uuid,
    group: Uuid,
    kind: String,
    total: i64,
    count: i64,
    remaining_count: i64,
    remaining_amount: i64,
    status: String,
    expires_at: i64,
}

impl Locked {
    fn read<'r, R>(row: &'r R) -> Result<Locked, Code>
    where
        R: Row,
        usize: sqlx::ColumnIndex<R>,
        Uuid: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    {
        Ok(Locked {
            sender: col(row, 0)?,
            group: col(row, 1)?,
            kind: col(row, 2)?,
            total: col(row, 3)?,
            count: col(row, 4)?,
            remaining_count: col(row, 5)?,
            remaining_amount: col(row, 6)?,
            status: col(row, 7)?,
            expires_at: col(row, 8)?,
        })
    }
}

/// Why a packet's remaining money goes back to its sender: they recalled it, or it expired.
#[derive(Clone, Copy, Debug)]
enum Refund {
    Recall { by: Uuid },
    Expiry,
}

impl Refund {
    /// A packet that is not there: the recall's refusal; for the expiry job, nothing to do.
    fn missing(self) -> Result<bool, Code> {
        match self {
            Refund::Recall { .. } => Err(Code::Borrowed("not_found")),
            Refund::Expiry => Ok(false),
        }
    }

    /// Whether the locked packet may be refunded at `now`: a recall's refusals are errors, a
    /// packet the expiry job finds no longer due is `false`.
    fn allowed(self, packet: &Locked, now: Timestamp) -> Result<bool, Code> {
        match self {
            Refund::Recall { by } => {
                if packet.sender != by {
                    return Err(Code::Borrowed("forbidden"));
                }
                let untouched = packet.kind != "lucky" && packet.remaining_count == packet.count;
                if packet.status != "active" || now.millis() >= packet.expires_at || !untouched {
                    return Err(Code::Borrowed("recall_not_allowed"));
                }
                Ok(true)
            }
            Refund::Expiry => Ok(packet.status == "active" && now.millis() >= packet.expires_at),
        }
    }

    /// The packet's status once refunded.
    fn status(self) -> &'static str {
        match self {
            Refund::Recall { .. } => "recalled",
            Refund::Expiry => "expired",
        }
    }

    /// The kind of the transfer that gives the money back.
    fn kind(self) -> &'static str {
        match self {
            Refund::Recall { .. } => "packet_recall",
            Refund::Expiry => "packet_refund",
        }
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Lucky => "lucky",
        Kind::Normal => "normal",
    }
}

/// The refusal for a packet that is not open for claims.
fn closed(status: &str, expires_at: i64, now: Timestamp) -> Result<(), Code> {
    match status {
        "active" if now.millis() >= expires_at => Err(Code::Borrowed("packet_expired")),
        "active" => Ok(()),
        "exhausted" => Err(Code::Borrowed("packet_exhausted")),
        "recalled" => Err(Code::Borrowed("packet_recalled")),
        _ => Err(Code::Borrowed("packet_expired")),
    }
}

/// Double mean at claim time, as first implementations do: uniform in `[1, ⌊2m/n⌋ − 1]`, leaving
/// at least 1 fen for each later share; the last share takes the rest.
fn double_mean(rng: &mut StdRng, remaining: i64, count: i64) -> i64 {
    if count <= 1 {
        return remaining;
    }
    let most = (remaining * 2 / count - 1).min(remaining - (count - 1)).clamp(1, SHARE_MAX_FEN);
    rng.random_range(1..=most)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn double_mean_always_leaves_a_fen_for_every_later_share() {
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..1_000 {
            let (mut remaining, mut count) = (1_000i64, 10i64);
            while count > 0 {
                let share = double_mean(&mut rng, remaining, count);
                assert!(share >= 1 && remaining - share >= count - 1);
                remaining -= share;
                count -= 1;
            }
            assert_eq!(remaining, 0);
        }
    }

    #[test]
    fn sqlite_statements_use_numbered_parameters_and_no_row_locks() {
        assert_eq!(
            for_sqlite("SELECT balance FROM naive_accounts WHERE id = $1 FOR UPDATE"),
            "SELECT balance FROM naive_accounts WHERE id = ?1"
        );
    }
}
