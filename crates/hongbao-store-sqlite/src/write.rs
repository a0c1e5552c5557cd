//! What runs inside the write transaction: writing a batch (its changes, idempotency records,
//! log entries and checkpoint), finding due work, and looking up idempotency records.
//!
//! New rows go in with multi-row `INSERT … VALUES (…), (…)` statements: a batch of a thousand
//! claims inserts about six thousand rows, and one statement per row spends most of its time
//! executing statements rather than writing pages (measured on such a batch: about 2.5 times
//! slower than 64 rows per statement). Updates are batched the same way (`UPDATE … FROM (VALUES …)`), and
//! each statement is checked to have found every one of its rows.

use std::collections::BTreeSet;

use hongbao_core::event::Event;
use hongbao_core::ledger::{Account, PendingTransfer, Phase, Transfer};
use hongbao_core::packet::{Claim, Packet};
use hongbao_core::principal::Principal;
use hongbao_core::user::{Group, User};
use hongbao_core::world::Write;
use hongbao_core::{Changes, GroupId, PacketId, Timestamp, TransferId, UserId};
use hongbao_store::append::{LogWriters, check_append};
use hongbao_store::{Commit, Due, IdempotencyRecord, LogRow, NonceRecord, StoreError};
use sqlx::query::Query;
use sqlx::sqlite::SqliteArguments;
use sqlx::{AssertSqlSafe, Sqlite, SqliteConnection};

use crate::{db_error, rows};

/// Bound parameters per statement at most: the smallest limit any SQLite build has had (999,
/// the default before 3.32), so the store does not depend on how its SQLite was compiled.
const PARAMS_PER_STATEMENT_MAX: usize = 999;

/// Rows per `INSERT` at most. Past a few dozen rows a statement is dominated by writing the rows
/// themselves, so larger statements gain little and only cost more shapes to prepare.
const ROWS_PER_INSERT_MAX: usize = 64;

type SqliteQuery = Query<'static, Sqlite, SqliteArguments>;

/// Binds one row's values, in the order of its table's columns. The `UPDATE` statements number
/// their parameters in the same order (the key first), so one binder serves both.
type Bind<T> = fn(SqliteQuery, &T) -> SqliteQuery;

/// A multi-row `INSERT`: the statement up to `VALUES`, and how many values a row has.
struct Insert {
    table: &'static str,
    head: &'static str,
    columns: usize,
}

impl Insert {
    /// The column names of `head` (`INSERT INTO t (a, b) VALUES `), key first.
    fn column_names(&self) -> Vec<&'static str> {
        let open = self.head.find('(').map_or(0, |i| i + 1);
        let close = self.head.find(')').unwrap_or(self.head.len());
        self.head[open..close].split(',').map(str::trim).collect()
    }

    /// The most rows one statement takes: a power of two, within the parameter limit.
    fn rows_max(&self) -> usize {
        let fit = (PARAMS_PER_STATEMENT_MAX / self.columns).clamp(1, ROWS_PER_INSERT_MAX);
        1 << fit.ilog2()
    }

    /// The statement for `rows` rows: `head (?, ?), (?, ?)`. Only placeholders are appended to
    /// the static text, never a value.
    fn sql(&self, rows: usize) -> String {
        let row = format!("({})", vec!["?"; self.columns].join(", "));
        let mut sql = String::with_capacity(self.head.len() + rows * (row.len() + 2));
        sql.push_str(self.head);
        for i in 0..rows {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&row);
        }
        sql
    }
}

/// Inserts `rows`, as many per statement as [`Insert::rows_max`] allows.
///
/// Each statement takes the largest power of two of the rows left, so a table has at most
/// seven statement shapes whatever the batch size, each prepared once per connection and then
/// reused from sqlx's statement cache. `id` names a row in error messages.
///
/// # Errors
/// [`StoreError::Corrupt`] when a row breaks a constraint (a duplicate key, most often);
/// [`StoreError::Unavailable`] when the database fails.
async fn insert_all<T>(
    conn: &mut SqliteConnection,
    insert: &Insert,
    rows: &[&T],
    bind: Bind<T>,
    id: impl Fn(&T) -> String,
) -> Result<(), StoreError> {
    insert_all_then(conn, insert, "", rows, bind, id).await
}

/// As [`insert_all`], each statement followed by `then` (an `ON CONFLICT` clause that makes an
/// insert an upsert; each row still counts as one row written).
async fn insert_all_then<T>(
    conn: &mut SqliteConnection,
    insert: &Insert,
    then: &str,
    rows: &[&T],
    bind: Bind<T>,
    id: impl Fn(&T) -> String,
) -> Result<(), StoreError> {
    let rows_max = insert.rows_max();
    let mut rest = rows;
    while let Some(first) = rest.first() {
        let take = if rest.len() >= rows_max { rows_max } else { 1 << rest.len().ilog2() };
        let (chunk, tail) = rest.split_at(take);
        rest = tail;
        let mut query = sqlx::query(AssertSqlSafe(insert.sql(take) + then));
        for row in chunk {
            query = bind(query, row);
        }
        let doing = || format!("insert of {take} {} rows from {}", insert.table, id(first));
        match query.execute(&mut *conn).await {
            Ok(done) if usize::try_from(done.rows_affected()) == Ok(take) => {}
            Ok(done) => {
                return Err(StoreError::Corrupt(format!("{} wrote {} rows", doing(), done.rows_affected())));
            }
            Err(e) => return Err(db_error(e, doing())),
        }
    }
    Ok(())
}

/// Updates `rows` (each keyed by its first column) with multi-row `UPDATE … FROM (VALUES …)`
/// statements, as many rows per statement as inserts take, and checks that every row was found:
/// a batch of a thousand claims updates a thousand wallets, and one statement each cost more than
/// writing them (a missing row means the engine believed in a row the database does not have,
/// and the batch must not commit).
///
/// # Errors
/// [`StoreError::Corrupt`] when a row does not exist; [`StoreError::Unavailable`] when the
/// database fails.
async fn update_all<T>(
    conn: &mut SqliteConnection,
    insert: &Insert,
    rows: &[&T],
    bind: Bind<T>,
    id: impl Fn(&T) -> String,
) -> Result<(), StoreError> {
    let columns = insert.column_names();
    let (key, rest_columns) = columns.split_first().expect("a table has a key column");
    let sets: Vec<String> = rest_columns.iter().enumerate().map(|(i, c)| format!("{c} = v.column{}", i + 2)).collect();
    let head = format!("UPDATE {table} SET {} FROM (VALUES ", sets.join(", "), table = insert.table);
    let tail = format!(") AS v WHERE {table}.{key} = v.column1", table = insert.table);
    let rows_max = insert.rows_max();
    let mut rest = rows;
    while let Some(first) = rest.first() {
        let take = if rest.len() >= rows_max { rows_max } else { 1 << rest.len().ilog2() };
        let (chunk, remaining) = rest.split_at(take);
        rest = remaining;
        let values = insert.sql(take);
        let values = values.strip_prefix(insert.head).unwrap_or(&values);
        let mut query = sqlx::query(AssertSqlSafe(format!("{head}{values}{tail}")));
        for row in chunk {
            query = bind(query, row);
        }
        let doing = || format!("update of {take} {} rows from {}", insert.table, id(first));
        match query.execute(&mut *conn).await {
            Ok(done) if usize::try_from(done.rows_affected()) == Ok(take) => {}
            Ok(done) => {
                return Err(StoreError::Corrupt(format!(
                    "{} found {} of its rows: a row does not exist",
                    doing(),
                    done.rows_affected()
                )));
            }
            Err(e) => return Err(db_error(e, doing())),
        }
    }
    Ok(())
}

/// Inserts the new rows of `written` and updates the others, both in batches.
async fn write_all<T>(
    conn: &mut SqliteConnection,
    written: &[(Write, T)],
    insert: &Insert,
    bind: Bind<T>,
    id: impl Fn(&T) -> String,
) -> Result<(), StoreError> {
    write_split(conn, written, (insert, bind), (insert, bind), id).await
}

/// As [`write_all`], with updates that write only the columns of `update` (a table whose other
/// columns never change once inserted).
async fn write_split<T>(
    conn: &mut SqliteConnection,
    written: &[(Write, T)],
    (insert, bind): (&Insert, Bind<T>),
    (update, bind_update): (&Insert, Bind<T>),
    id: impl Fn(&T) -> String,
) -> Result<(), StoreError> {
    let new: Vec<&T> = written.iter().filter(|(w, _)| *w == Write::Insert).map(|(_, row)| row).collect();
    insert_all(conn, insert, &new, bind, &id).await?;
    let changed: Vec<&T> = written.iter().filter(|(w, _)| *w == Write::Update).map(|(_, row)| row).collect();
    update_all(conn, update, &changed, bind_update, &id).await
}

const USERS: Insert =
    Insert { table: "users", head: "INSERT INTO users (id, name, status, created_at) VALUES ", columns: 4 };
fn bind_user(query: SqliteQuery, user: &User) -> SqliteQuery {
    query.bind(user.id.uuid()).bind(&user.name).bind(user.status.as_str()).bind(user.created_at.millis())
}

const ACCOUNTS: Insert = Insert {
    table: "accounts",
    head: "INSERT INTO accounts (id, kind, debits_posted, credits_posted, debits_pending, credits_pending, frozen) \
           VALUES ",
    columns: 7,
};
fn bind_account(query: SqliteQuery, account: &Account) -> SqliteQuery {
    let b = account.balances();
    query
        .bind(account.id.uuid())
        .bind(account.kind.as_str())
        .bind(b.debits_posted.get())
        .bind(b.credits_posted.get())
        .bind(b.debits_pending.get())
        .bind(b.credits_pending.get())
        .bind(b.frozen.get())
}

const GROUPS: Insert =
    Insert { table: "groups", head: "INSERT INTO groups (id, name, owner, created_at) VALUES ", columns: 4 };
fn bind_group(query: SqliteQuery, group: &Group) -> SqliteQuery {
    query.bind(group.id.uuid()).bind(&group.name).bind(group.owner.uuid()).bind(group.created_at.millis())
}

const GROUP_MEMBERS: Insert =
    Insert { table: "group_members", head: "INSERT INTO group_members (group_id, user_id) VALUES ", columns: 2 };

fn bind_member(query: SqliteQuery, &(group, user): &(GroupId, UserId)) -> SqliteQuery {
    query.bind(group.uuid()).bind(user.uuid())
}

/// Group rows and their members; an update replaces the member list.
async fn groups(conn: &mut SqliteConnection, written: &[(Write, Group)]) -> Result<(), StoreError> {
    write_all(conn, written, &GROUPS, bind_group, |g| g.id.to_string()).await?;
    for (_, group) in written.iter().filter(|(w, _)| *w == Write::Update) {
        sqlx::query("DELETE FROM group_members WHERE group_id = ?1")
            .bind(group.id.uuid())
            .execute(&mut *conn)
            .await
            .map_err(|e| db_error(e, format_args!("replace the members of group {}", group.id)))?;
    }
    let members: Vec<(GroupId, UserId)> =
        written.iter().flat_map(|(_, g)| g.members.iter().map(|&member| (g.id, member))).collect();
    let members: Vec<&(GroupId, UserId)> = members.iter().collect();
    insert_all(conn, &GROUP_MEMBERS, &members, bind_member, |(group, user)| format!("({group}, {user})")).await
}

const PACKETS: Insert = Insert {
    table: "packets",
    head: "INSERT INTO packets (id, kind, sender, group_id, recipient, total, shares, greeting, arrival_delay_s, \
           created_at, expires_at, status, claimed_count, claimed_amount, touched, salt) VALUES ",
    columns: 16,
};
fn bind_packet(query: SqliteQuery, packet: &Packet) -> SqliteQuery {
    query
        .bind(packet.id.uuid())
        .bind(packet.kind.as_str())
        .bind(packet.sender.uuid())
        .bind(packet.group().map(|g| g.uuid()))
        .bind(packet.recipient().map(|u| u.uuid()))
        .bind(packet.total.get())
        .bind(rows::shares_json(packet))
        .bind(&packet.greeting)
        .bind(i64::from(packet.arrival_delay_s))
        .bind(packet.created_at.millis())
        .bind(packet.expires_at.millis())
        .bind(packet.status.as_str())
        .bind(i64::from(packet.claimed_count))
        .bind(packet.claimed_amount.get())
        .bind(i64::from(packet.touched))
        .bind(packet.salt.as_ref().map(|salt| &salt.0[..]))
}

/// What an update of a packet writes: its state. The rest of a packet (its terms, and above all
/// its shares, up to 10 000 of them) is fixed when it is sent, so a claim does not write the
/// shares again (`Packet` documents which fields change).
const PACKET_STATE: Insert = Insert {
    table: "packets",
    head: "INSERT INTO packets (id, status, claimed_count, claimed_amount, touched) VALUES ",
    columns: 5,
};
fn bind_packet_state(query: SqliteQuery, packet: &Packet) -> SqliteQuery {
    query
        .bind(packet.id.uuid())
        .bind(packet.status.as_str())
        .bind(i64::from(packet.claimed_count))
        .bind(packet.claimed_amount.get())
        .bind(i64::from(packet.touched))
}

const CLAIMS: Insert = Insert {
    table: "claims",
    head: "INSERT INTO claims (id, packet_id, user_id, seq, amount, claimed_at, status, arrives_at, transfer_id) \
           VALUES ",
    columns: 9,
};
fn bind_claim(query: SqliteQuery, claim: &Claim) -> SqliteQuery {
    query
        .bind(claim.id.uuid())
        .bind(claim.packet_id.uuid())
        .bind(claim.user_id.uuid())
        .bind(i64::from(claim.seq))
        .bind(claim.amount.get())
        .bind(claim.claimed_at.millis())
        .bind(claim.status.as_str())
        .bind(claim.arrives_at.millis())
        .bind(claim.transfer_id.uuid())
}

const TRANSFERS: Insert = Insert {
    table: "transfers",
    head: "INSERT INTO transfers (id, debit, credit, amount, kind, phase, deadline, pending_id, packet_id, claim_id, \
           note, created_at) VALUES ",
    columns: 12,
};

fn bind_transfer(query: SqliteQuery, transfer: &Transfer) -> SqliteQuery {
    let (phase, deadline, pending_id) = rows::phase_columns(transfer.phase);
    query
        .bind(transfer.id.uuid())
        .bind(transfer.debit.uuid())
        .bind(transfer.credit.uuid())
        .bind(transfer.amount.get())
        .bind(transfer.kind.as_str())
        .bind(phase)
        .bind(deadline)
        .bind(pending_id)
        .bind(transfer.packet_id.map(|p| p.uuid()))
        .bind(transfer.claim_id.map(|c| c.uuid()))
        .bind(transfer.note.as_deref())
        .bind(transfer.created_at.millis())
}

/// The pending record only: the transfer it wraps is an immutable row of `transfers`.
const PENDINGS: Insert = Insert {
    table: "pendings",
    head: "INSERT INTO pendings (transfer_id, deadline, status, resolved_at) VALUES ",
    columns: 4,
};
/// Binds a record [`check_pendings`] has checked. Were the transfer not pending after all, the
/// `NULL` deadline would be refused by its `NOT NULL` column.
fn bind_pending(query: SqliteQuery, pending: &PendingTransfer) -> SqliteQuery {
    let deadline = match pending.transfer.phase {
        Phase::Pending { deadline } => Some(deadline.millis()),
        _ => None,
    };
    query
        .bind(pending.transfer.id.uuid())
        .bind(deadline)
        .bind(pending.status.as_str())
        .bind(pending.resolved_at.map(Timestamp::millis))
}

fn check_pendings(written: &[(Write, PendingTransfer)]) -> Result<(), StoreError> {
    match written.iter().find(|(_, p)| !matches!(p.transfer.phase, Phase::Pending { .. })) {
        Some((_, p)) => {
            Err(StoreError::Corrupt(format!("pending record {} wraps a transfer that is not pending", p.transfer.id)))
        }
        None => Ok(()),
    }
}

/// New principals. Only ever inserted: keys are created, not edited. The secret is bound, never
/// formatted, so no error message can carry it.
const PRINCIPALS: Insert = Insert {
    table: "principals",
    head: "INSERT INTO principals (key_id, secret, user_id, operator_name, roles, created_at) VALUES ",
    columns: 6,
};

fn bind_principal(query: SqliteQuery, principal: &Principal) -> SqliteQuery {
    let (user_id, operator_name, roles) = rows::owner_columns(&principal.owner);
    query
        .bind(principal.key_id.uuid())
        .bind(principal.secret.expose())
        .bind(user_id)
        .bind(operator_name)
        .bind(roles)
        .bind(principal.created_at.millis())
}

/// Events as stored: the time, the type and the JSON body, encoded before any row is written.
const EVENTS: Insert = Insert { table: "events", head: "INSERT INTO events (at, type, body) VALUES ", columns: 3 };

struct EventRow<'e> {
    event: &'e Event,
    body: String,
}

fn bind_event(query: SqliteQuery, row: &EventRow<'_>) -> SqliteQuery {
    query.bind(row.event.at.millis()).bind(row.event.what.name()).bind(&row.body)
}

const IDEMPOTENCY: Insert = Insert {
    table: "idempotency",
    head: "INSERT INTO idempotency (principal, key, fingerprint, outcome, created_at) VALUES ",
    columns: 5,
};

fn bind_record(query: SqliteQuery, record: &IdempotencyRecord) -> SqliteQuery {
    query
        .bind(&record.principal)
        .bind(&record.key)
        .bind(&record.fingerprint[..])
        .bind(&record.outcome)
        .bind(record.created_at.millis())
}

/// The nonces of the batch's signed requests. A nonce already stored (a request refused here
/// after another node, or this one before a restart, took it) keeps the later expiry.
const NONCES: Insert =
    Insert { table: "nonces", head: "INSERT INTO nonces (key_id, digest, expires_at) VALUES ", columns: 3 };
const NONCES_UPSERT: &str =
    " ON CONFLICT (key_id, digest) DO UPDATE SET expires_at = MAX(nonces.expires_at, excluded.expires_at)";

fn bind_nonce(query: SqliteQuery, nonce: &NonceRecord) -> SqliteQuery {
    query.bind(nonce.key.uuid()).bind(&nonce.digest[..]).bind(nonce.expires_at_s)
}

const LOG_ENTRIES: Insert = Insert {
    table: "log_entries",
    head: "INSERT INTO log_entries (idx, entry, transfer_id, packet_id) VALUES ",
    columns: 4,
};

/// Binds a row whose index [`check_append`] has checked fits an `i64`.
fn bind_log_row(query: SqliteQuery, row: &LogRow) -> SqliteQuery {
    query
        .bind(i64::try_from(row.index).unwrap_or(i64::MAX))
        .bind(&row.entry[..])
        .bind(row.transfer_id.map(|t| t.uuid()))
        .bind(row.packet_id.map(|p| p.uuid()))
}

/// The number of log entries: one past the last index, read from the end of the rowid b-tree.
/// Equal to the count because [`check_append`] keeps the indexes contiguous from 0.
///
/// # Errors
/// [`StoreError`] when the query fails or the stored index is out of range.
pub(crate) async fn log_size(conn: &mut SqliteConnection) -> Result<u64, StoreError> {
    let size: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| db_error(e, "read the size of the log"))?;
    u64::try_from(size).map_err(|_| StoreError::Corrupt(format!("the log has {size} entries")))
}

async fn latest_checkpoint_size(conn: &mut SqliteConnection) -> Result<Option<u64>, StoreError> {
    let size: Option<i64> = sqlx::query_scalar("SELECT MAX(size) FROM checkpoints")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| db_error(e, "read the size of the latest checkpoint"))?;
    size.map(|size| u64::try_from(size).map_err(|_| StoreError::Corrupt(format!("a checkpoint of size {size}"))))
        .transpose()
}

/// Writes a whole batch: its changes, idempotency records, nonces, log entries and checkpoint. The
/// caller commits, or drops the transaction on error so that nothing of the batch remains.
///
/// # Errors
/// [`StoreError::Corrupt`] when an insert meets an existing row, an update finds none, a
/// reference names a missing row, or the log entries or checkpoint do not continue the stored
/// log; [`StoreError::Unavailable`] when the database fails.
pub(crate) async fn commit(conn: &mut SqliteConnection, commit: &Commit) -> Result<(), StoreError> {
    // The append is checked first: a batch built on another log fails before writing anything.
    if !commit.log.is_empty() || commit.checkpoint.is_some() {
        let size = log_size(conn).await?;
        let latest = match commit.checkpoint {
            Some(_) => latest_checkpoint_size(conn).await?,
            None => None,
        };
        check_append(size, LogWriters::One, &commit.log, commit.checkpoint.as_ref(), latest)?;
    }
    changes(conn, &commit.changes).await?;
    let records: Vec<&IdempotencyRecord> = commit.idempotency.iter().collect();
    insert_all(conn, &IDEMPOTENCY, &records, bind_record, |r| format!("({:?}, {:?})", r.principal, r.key)).await?;
    let nonces = hongbao_store::distinct_nonces(&commit.nonces);
    let nonces: Vec<&NonceRecord> = nonces.iter().collect();
    insert_all_then(conn, &NONCES, NONCES_UPSERT, &nonces, bind_nonce, |n| format!("of key {}", n.key)).await?;
    let log: Vec<&LogRow> = commit.log.iter().collect();
    insert_all(conn, &LOG_ENTRIES, &log, bind_log_row, |row| row.index.to_string()).await?;
    if let Some(checkpoint) = &commit.checkpoint {
        sqlx::query("INSERT INTO checkpoints (size, note, created_at) VALUES (?1, ?2, ?3)")
            .bind(i64::try_from(checkpoint.size).unwrap_or(i64::MAX))
            .bind(&checkpoint.note)
            .bind(checkpoint.created_at.millis())
            .execute(&mut *conn)
            .await
            .map_err(|e| db_error(e, format_args!("insert of the checkpoint of size {}", checkpoint.size)))?;
    }
    Ok(())
}

/// Writes every change of a batch.
async fn changes(conn: &mut SqliteConnection, changes: &Changes) -> Result<(), StoreError> {
    write_all(conn, &changes.users, &USERS, bind_user, |u| u.id.to_string()).await?;
    write_all(conn, &changes.accounts, &ACCOUNTS, bind_account, |a| a.id.to_string()).await?;
    groups(conn, &changes.groups).await?;
    let (insert, update) =
        ((&PACKETS, bind_packet as Bind<Packet>), (&PACKET_STATE, bind_packet_state as Bind<Packet>));
    write_split(conn, &changes.packets, insert, update, |p| p.id.to_string()).await?;
    write_all(conn, &changes.claims, &CLAIMS, bind_claim, |c| c.id.to_string()).await?;
    let principals: Vec<&Principal> = changes.principals.iter().collect();
    insert_all(conn, &PRINCIPALS, &principals, bind_principal, |p| p.key_id.to_string()).await?;
    let transfers: Vec<&Transfer> = changes.transfers.iter().collect();
    insert_all(conn, &TRANSFERS, &transfers, bind_transfer, |t| t.id.to_string()).await?;
    check_pendings(&changes.pendings)?;
    write_all(conn, &changes.pendings, &PENDINGS, bind_pending, |p| p.transfer.id.to_string()).await?;
    let events = changes
        .events
        .iter()
        .map(|event| match serde_json::to_string(event) {
            Ok(body) => Ok(EventRow { event, body }),
            Err(e) => {
                Err(StoreError::Corrupt(format!("event {} at {} cannot be encoded: {e}", event.what.name(), event.at)))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let events: Vec<&EventRow<'_>> = events.iter().collect();
    insert_all(conn, &EVENTS, &events, bind_event, |row| format!("{} at {}", row.event.what.name(), row.event.at)).await
}

/// Active packets past their expiry and open pending transfers past their deadline, oldest
/// first, at most `limit` of each.
///
/// # Errors
/// [`StoreError`] when a query fails or an id does not decode.
pub(crate) async fn due(conn: &mut SqliteConnection, now: Timestamp, limit: u32) -> Result<Due, StoreError> {
    // The literal statuses match the partial indexes' WHERE clauses, so SQLite uses them.
    let found = sqlx::query(
        "SELECT id FROM packets WHERE status = 'active' AND expires_at <= ?1 ORDER BY expires_at, id LIMIT ?2",
    )
    .bind(now.millis())
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| db_error(e, "find expired packets"))?;
    let packets = found
        .iter()
        .map(|row| sqlx::Row::try_get(row, "id").map(PacketId::from_uuid))
        .collect::<Result<_, _>>()
        .map_err(|e| StoreError::Corrupt(format!("packets.id: {e}")))?;
    let found = sqlx::query(
        "SELECT transfer_id FROM pendings WHERE status = 'pending' AND deadline <= ?1 \
         ORDER BY deadline, transfer_id LIMIT ?2",
    )
    .bind(now.millis())
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| db_error(e, "find due pending transfers"))?;
    let pendings = found
        .iter()
        .map(|row| sqlx::Row::try_get(row, "transfer_id").map(TransferId::from_uuid))
        .collect::<Result<_, _>>()
        .map_err(|e| StoreError::Corrupt(format!("pendings.transfer_id: {e}")))?;
    Ok(Due { packets, pendings })
}

/// The stored records among `keys`, once each.
///
/// # Errors
/// [`StoreError`] when a query fails or a record does not decode.
pub(crate) async fn idempotency(
    conn: &mut SqliteConnection,
    keys: &[(String, String)],
) -> Result<Vec<IdempotencyRecord>, StoreError> {
    let mut found = Vec::new();
    let distinct: BTreeSet<&(String, String)> = keys.iter().collect();
    for (principal, key) in distinct {
        let sql = concat!("SELECT ", idempotency_columns!(), " FROM idempotency WHERE principal = ?1 AND key = ?2");
        let row = sqlx::query(sql)
            .bind(principal)
            .bind(key)
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| db_error(e, "look up an idempotency key"))?;
        if let Some(row) = row {
            found.push(rows::idempotency(&row)?);
        }
    }
    Ok(found)
}
