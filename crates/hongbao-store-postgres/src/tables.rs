//! How each table is written: one statement per table whatever the batch's size, new rows with
//! `INSERT … SELECT … FROM UNNEST(…)` (one array per column) and changed rows with
//! `UPDATE … FROM UNNEST(…)`, whose `RETURNING` list shows that each row existed.

use std::collections::HashSet;

use hongbao_core::case::{Case, Report};
use hongbao_core::document::Document;
use hongbao_core::due::DueItem;
use hongbao_core::event::Event;
use hongbao_core::freeze::Freeze;
use hongbao_core::ledger::{Account, PendingTransfer, Phase, Transfer};
use hongbao_core::packet::{Claim, Packet};
use hongbao_core::principal::Principal;
use hongbao_core::returns::ReturnRequest;
use hongbao_core::seizure::Seizure;
use hongbao_core::user::{Group, User};
use hongbao_core::world::Write;
use hongbao_core::{Fen, Timestamp};
use hongbao_store::{IdempotencyRecord, LogRow, NonceRecord, StoreError};
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::{PgConnection, Postgres};
use uuid::Uuid;

use crate::{db_error, rows};

pub(crate) type PgQuery = Query<'static, Postgres, PgArguments>;

/// Builds a statement with one array per column bound, `$1` the rows' ids, from its rows.
pub(crate) type Bind<T> = fn(&'static str, &[&T]) -> PgQuery;

/// How one table is written: its name, the insert and the update (both taking the arrays
/// [`Bind`] binds, in the same order; the update returns each changed row's key as text), and a
/// row's key as text, for the update's check and for messages.
pub(crate) struct Table<T> {
    name: &'static str,
    insert: &'static str,
    update: &'static str,
    bind: Bind<T>,
    key: fn(&T) -> String,
}

/// Inserts `rows` in one statement.
///
/// # Errors
/// [`StoreError::Conflict`] when a row's key exists (on a shared database another node may have
/// inserted it first); [`StoreError::Corrupt`] when a row breaks another constraint;
/// [`StoreError::Unavailable`] when the database fails.
pub(crate) async fn insert_all<T>(conn: &mut PgConnection, table: &Table<T>, rows: &[&T]) -> Result<(), StoreError> {
    let Some(first) = rows.first() else { return Ok(()) };
    let doing = || format!("insert of {} {} rows from {}", rows.len(), table.name, (table.key)(first));
    let done = (table.bind)(table.insert, rows).execute(&mut *conn).await.map_err(|e| db_error(e, doing()))?;
    if usize::try_from(done.rows_affected()) == Ok(rows.len()) {
        Ok(())
    } else {
        Err(StoreError::Corrupt(format!("{} wrote {} rows", doing(), done.rows_affected())))
    }
}

/// Updates `rows` in one statement, and checks that every one of them existed: an update that
/// finds no row means the engine believed in a row the database does not have, and the batch
/// must not commit.
async fn update_all<T>(conn: &mut PgConnection, table: &Table<T>, rows: &[&T]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let asked: HashSet<String> = rows.iter().map(|row| (table.key)(row)).collect();
    if asked.len() != rows.len() {
        // Which of two versions would win is not defined: the batch itself is wrong.
        return Err(StoreError::Corrupt(format!("a batch updates a row of {} twice", table.name)));
    }
    let found: Vec<String> = (table.bind)(table.update, rows)
        .try_map(|row: sqlx::postgres::PgRow| sqlx::Row::try_get::<String, _>(&row, 0))
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| db_error(e, format_args!("update of {} {} rows", rows.len(), table.name)))?;
    let found: HashSet<String> = found.into_iter().collect();
    // The keys are the uuids' text on both sides (hyphenated, lower case), so they compare.
    match rows.iter().find(|row| !found.contains(&(table.key)(row))) {
        None => Ok(()),
        Some(missing) => Err(StoreError::Corrupt(format!(
            "update of {} row {} found no row: the row does not exist",
            table.name,
            (table.key)(missing)
        ))),
    }
}

/// Inserts the new rows of `written` and updates the others.
pub(crate) async fn write_all<T>(
    conn: &mut PgConnection,
    table: &Table<T>,
    written: &[(Write, T)],
) -> Result<(), StoreError> {
    write_split(conn, table, table, written).await
}

/// As [`write_all`], with the updates made by `update`'s statement (a table whose other columns
/// never change once inserted).
pub(crate) async fn write_split<T>(
    conn: &mut PgConnection,
    insert: &Table<T>,
    update: &Table<T>,
    written: &[(Write, T)],
) -> Result<(), StoreError> {
    // Updates first: a row closed by this batch makes room, under a partial unique index, for
    // the open one it inserts (a case closed and a new one opened about the same user).
    let changed: Vec<&T> = written.iter().filter(|(w, _)| *w == Write::Update).map(|(_, row)| row).collect();
    update_all(conn, update, &changed).await?;
    let new: Vec<&T> = written.iter().filter(|(w, _)| *w == Write::Insert).map(|(_, row)| row).collect();
    insert_all(conn, insert, &new).await
}

/// Collects one column of `rows`.
fn column<T, C>(rows: &[&T], get: impl Fn(&T) -> C) -> Vec<C> {
    rows.iter().map(|row| get(row)).collect()
}

pub(crate) const USERS: Table<User> = Table {
    name: "users",
    insert: "INSERT INTO users (id, name, status, created_at, logins) \
             SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::text[])",
    update: "UPDATE users AS t SET name = u.name, status = u.status, created_at = u.created_at, logins = u.logins \
             FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::text[]) \
             AS u (id, name, status, created_at, logins) WHERE t.id = u.id RETURNING t.id::text",
    bind: bind_users,
    key: |u| u.id.uuid().to_string(),
};

fn bind_users(sql: &'static str, rows: &[&User]) -> PgQuery {
    sqlx::query(sql)
        .bind(column(rows, |u| u.id.uuid()))
        .bind(column(rows, |u| u.name.clone()))
        .bind(column(rows, |u| u.status.as_str()))
        .bind(column(rows, |u| u.created_at.millis()))
        .bind(column(rows, hongbao_store::columns::logins_json))
}

pub(crate) const ACCOUNTS: Table<Account> = Table {
    name: "accounts",
    insert: "INSERT INTO accounts (id, kind, debits_posted, credits_posted, debits_pending, credits_pending, frozen, \
             holding) \
             SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], \
             $7::bigint[], $8::boolean[])",
    update: "UPDATE accounts AS t SET kind = u.kind, debits_posted = u.debits_posted, \
             credits_posted = u.credits_posted, debits_pending = u.debits_pending, \
             credits_pending = u.credits_pending, frozen = u.frozen, holding = u.holding \
             FROM UNNEST($1::uuid[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], \
             $7::bigint[], $8::boolean[]) AS u (id, kind, debits_posted, credits_posted, debits_pending, \
             credits_pending, frozen, holding) \
             WHERE t.id = u.id RETURNING t.id::text",
    bind: bind_accounts,
    key: |a| a.id.uuid().to_string(),
};

fn bind_accounts(sql: &'static str, rows: &[&Account]) -> PgQuery {
    sqlx::query(sql)
        .bind(column(rows, |a| a.id.uuid()))
        .bind(column(rows, |a| a.kind.as_str()))
        .bind(column(rows, |a| a.balances().debits_posted.get()))
        .bind(column(rows, |a| a.balances().credits_posted.get()))
        .bind(column(rows, |a| a.balances().debits_pending.get()))
        .bind(column(rows, |a| a.balances().credits_pending.get()))
        .bind(column(rows, |a| a.balances().frozen.get()))
        .bind(column(rows, |a| a.holding()))
}

const GROUPS: Table<Group> = Table {
    name: "groups",
    insert: "INSERT INTO groups (id, name, owner, created_at) \
             SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::uuid[], $4::bigint[])",
    update: "UPDATE groups AS t SET name = u.name, owner = u.owner, created_at = u.created_at \
             FROM UNNEST($1::uuid[], $2::text[], $3::uuid[], $4::bigint[]) AS u (id, name, owner, created_at) \
             WHERE t.id = u.id RETURNING t.id::text",
    bind: bind_groups,
    key: |g| g.id.uuid().to_string(),
};

fn bind_groups(sql: &'static str, rows: &[&Group]) -> PgQuery {
    sqlx::query(sql)
        .bind(column(rows, |g| g.id.uuid()))
        .bind(column(rows, |g| g.name.clone()))
        .bind(column(rows, |g| g.owner.uuid()))
        .bind(column(rows, |g| g.created_at.millis()))
}

/// Group rows and their members; an update replaces the member list.
pub(crate) async fn groups(conn: &mut PgConnection, written: &[(Write, Group)]) -> Result<(), StoreError> {
    write_all(conn, &GROUPS, written).await?;
    let changed: Vec<Uuid> = written.iter().filter(|(w, _)| *w == Write::Update).map(|(_, g)| g.id.uuid()).collect();
    if !changed.is_empty() {
        sqlx::query("DELETE FROM group_members WHERE group_id = ANY($1)")
            .bind(changed)
            .execute(&mut *conn)
            .await
            .map_err(|e| db_error(e, "replace the members of groups"))?;
    }
    let (group_ids, user_ids): (Vec<Uuid>, Vec<Uuid>) =
        written.iter().flat_map(|(_, g)| g.members.iter().map(|member| (g.id.uuid(), member.uuid()))).unzip();
    if group_ids.is_empty() {
        return Ok(());
    }
    let expected = group_ids.len();
    let done =
        sqlx::query("INSERT INTO group_members (group_id, user_id) SELECT * FROM UNNEST($1::uuid[], $2::uuid[])")
            .bind(group_ids)
            .bind(user_ids)
            .execute(&mut *conn)
            .await
            .map_err(|e| db_error(e, format_args!("insert of {expected} group members")))?;
    if usize::try_from(done.rows_affected()) == Ok(expected) {
        Ok(())
    } else {
        Err(StoreError::Corrupt(format!("insert of {expected} group members wrote {}", done.rows_affected())))
    }
}

/// `shares` comes as array literals (see `rows::shares_literal`).
pub(crate) const PACKETS: Table<Packet> = Table {
    name: "packets",
    insert: "INSERT INTO packets (id, kind, sender, group_id, recipient, total, shares, greeting, arrival_delay_s, \
             created_at, expires_at, status, claimed_count, claimed_amount, touched, salt) \
             SELECT id, kind, sender, group_id, recipient, total, shares::bigint[], greeting, arrival_delay_s, \
             created_at, expires_at, status, claimed_count, claimed_amount, touched, salt \
             FROM UNNEST($1::uuid[], $2::text[], $3::uuid[], $4::uuid[], $5::uuid[], $6::bigint[], $7::text[], \
             $8::text[], $9::bigint[], $10::bigint[], $11::bigint[], $12::text[], $13::bigint[], $14::bigint[], \
             $15::boolean[], $16::bytea[]) AS u (id, kind, sender, group_id, recipient, total, shares, greeting, \
             arrival_delay_s, created_at, expires_at, status, claimed_count, claimed_amount, touched, salt)",
    // Updates write only the state, through `PACKET_STATE`.
    update: "",
    bind: bind_packets,
    key: |p| p.id.uuid().to_string(),
};

fn bind_packets(sql: &'static str, rows: &[&Packet]) -> PgQuery {
    sqlx::query(sql)
        .bind(column(rows, |p| p.id.uuid()))
        .bind(column(rows, |p| p.kind.as_str()))
        .bind(column(rows, |p| p.sender.uuid()))
        .bind(column(rows, |p| p.group().map(|g| g.uuid())))
        .bind(column(rows, |p| p.recipient().map(|u| u.uuid())))
        .bind(column(rows, |p| p.total.get()))
        .bind(column(rows, rows::shares_literal))
        .bind(column(rows, |p| p.greeting.clone()))
        .bind(column(rows, |p| i64::from(p.arrival_delay_s)))
        .bind(column(rows, |p| p.created_at.millis()))
        .bind(column(rows, |p| p.expires_at.millis()))
        .bind(column(rows, |p| p.status.as_str()))
        .bind(column(rows, |p| i64::from(p.claimed_count)))
        .bind(column(rows, |p| p.claimed_amount.get()))
        .bind(column(rows, |p| p.touched))
        .bind(column(rows, |p| p.salt.as_ref().map(|salt| salt.0.to_vec())))
}

/// What an update of a packet writes: its state. The rest of a packet (its terms, and above all
/// its shares, up to 10 000 of them) is fixed when it is sent, so a claim does not send the
/// shares again (`Packet` documents which fields change).
pub(crate) const PACKET_STATE: Table<Packet> = Table {
    name: "packets",
    insert: "",
    update: "UPDATE packets AS t SET status = u.status, claimed_count = u.claimed_count, \
             claimed_amount = u.claimed_amount, touched = u.touched \
             FROM UNNEST($1::uuid[], $2::text[], $3::bigint[], $4::bigint[], $5::boolean[]) \
             AS u (id, status, claimed_count, claimed_amount, touched) \
             WHERE t.id = u.id RETURNING t.id::text",
    bind: bind_packet_states,
    key: |p| p.id.uuid().to_string(),
};

fn bind_packet_states(sql: &'static str, rows: &[&Packet]) -> PgQuery {
    sqlx::query(sql)
        .bind(column(rows, |p| p.id.uuid()))
        .bind(column(rows, |p| p.status.as_str()))
        .bind(column(rows, |p| i64::from(p.claimed_count)))
        .bind(column(rows, |p| p.claimed_amount.get()))
        .bind(column(rows, |p| p.touched))
}

pub(crate) const CLAIMS: Table<Claim> = Table {
    name: "claims",
    insert: "INSERT INTO claims (id, packet_id, user_id, seq, amount, claimed_at, status, arrives_at, transfer_id) \
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::bigint[], $6::bigint[], \
             $7::text[], $8::bigint[], $9::uuid[])",
    update: "UPDATE claims AS t SET packet_id = u.packet_id, user_id = u.user_id, seq = u.seq, amount = u.amount, \
             claimed_at = u.claimed_at, status = u.status, arrives_at = u.arrives_at, transfer_id = u.transfer_id \
             FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::bigint[], $6::bigint[], \
             $7::text[], $8::bigint[], $9::uuid[]) AS u (id, packet_id, user_id, seq, amount, claimed_at, status, \
             arrives_at, transfer_id) \
             WHERE t.id = u.id RETURNING t.id::text",
    bind: bind_claims,
    key: |c| c.id.uuid().to_string(),
};

fn bind_claims(sql: &'static str, rows: &[&Claim]) -> PgQuery {
    sqlx::query(sql)
        .bind(column(rows, |c| c.id.uuid()))
        .bind(column(rows, |c| c.packet_id.uuid()))
        .bind(column(rows, |c| c.user_id.uuid()))
        .bind(column(rows, |c| i64::from(c.seq)))
        .bind(column(rows, |c| c.amount.get()))
        .bind(column(rows, |c| c.claimed_at.millis()))
        .bind(column(rows, |c| c.status.as_str()))
        .bind(column(rows, |c| c.arrives_at.millis()))
        .bind(column(rows, |c| c.transfer_id.uuid()))
}

/// Transfers are only ever inserted.
pub(crate) const TRANSFERS: Table<Transfer> = Table {
    name: "transfers",
    insert: "INSERT INTO transfers (id, debit, credit, amount, kind, phase, deadline, pending_id, packet_id, \
             claim_id, note, created_at) \
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::text[], $6::text[], \
             $7::bigint[], $8::uuid[], $9::uuid[], $10::uuid[], $11::text[], $12::bigint[])",
    update: "",
    bind: bind_transfers,
    key: |t| t.id.uuid().to_string(),
};

fn bind_transfers(sql: &'static str, rows: &[&Transfer]) -> PgQuery {
    sqlx::query(sql)
        .bind(column(rows, |t| t.id.uuid()))
        .bind(column(rows, |t| t.debit.uuid()))
        .bind(column(rows, |t| t.credit.uuid()))
        .bind(column(rows, |t| t.amount.get()))
        .bind(column(rows, |t| t.kind.as_str()))
        .bind(column(rows, |t| rows::phase_columns(t.phase).0))
        .bind(column(rows, |t| rows::phase_columns(t.phase).1))
        .bind(column(rows, |t| rows::phase_columns(t.phase).2))
        .bind(column(rows, |t| t.packet_id.map(|p| p.uuid())))
        .bind(column(rows, |t| t.claim_id.map(|c| c.uuid())))
        .bind(column(rows, |t| t.note.clone()))
        .bind(column(rows, |t| t.created_at.millis()))
}

/// The pending record only: the transfer it wraps is an immutable row of `transfers`.
pub(crate) const PENDINGS: Table<PendingTransfer> = Table {
    name: "pendings",
    insert: "INSERT INTO pendings (transfer_id, deadline, status, resolved_at) \
             SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $3::text[], $4::bigint[])",
    update: "UPDATE pendings AS t SET deadline = u.deadline, status = u.status, resolved_at = u.resolved_at \
             FROM UNNEST($1::uuid[], $2::bigint[], $3::text[], $4::bigint[]) AS u (transfer_id, deadline, status, \
             resolved_at) \
             WHERE t.transfer_id = u.transfer_id RETURNING t.transfer_id::text",
    bind: bind_pendings,
    key: |p| p.transfer.id.uuid().to_string(),
};

/// Binds records [`check_pendings`] has checked. Were a transfer not pending after all, its
/// `NULL` deadline would be refused by the `NOT NULL` column.
fn bind_pendings(sql: &'static str, rows: &[&PendingTransfer]) -> PgQuery {
    sqlx::query(sql)
        .bind(column(rows, |p| p.transfer.id.uuid()))
        .bind(column(rows, |p| match p.transfer.phase {
            Phase::Pending { deadline } => Some(deadline.millis()),
            _ => None,
        }))
        .bind(column(rows, |p| p.status.as_str()))
        .bind(column(rows, |p| p.resolved_at.map(Timestamp::millis)))
}

pub(crate) fn check_pendings(written: &[(Write, PendingTransfer)]) -> Result<(), StoreError> {
    match written.iter().find(|(_, p)| !matches!(p.transfer.phase, Phase::Pending { .. })) {
        Some((_, p)) => {
            Err(StoreError::Corrupt(format!("pending record {} wraps a transfer that is not pending", p.transfer.id)))
        }
        None => Ok(()),
    }
}

/// New principals, only ever inserted. The secret is bound, never formatted, so no error message
/// can carry it.
pub(crate) const PRINCIPALS: Table<Principal> = Table {
    name: "principals",
    insert: "INSERT INTO principals (key_id, secret, user_id, operator_name, roles, created_at) \
             SELECT key_id, secret, user_id, operator_name, roles::jsonb, created_at \
             FROM UNNEST($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::bigint[]) \
             AS u (key_id, secret, user_id, operator_name, roles, created_at)",
    update: "",
    bind: bind_principals,
    key: |p| p.key_id.uuid().to_string(),
};

fn bind_principals(sql: &'static str, rows: &[&Principal]) -> PgQuery {
    sqlx::query(sql)
        .bind(column(rows, |p| p.key_id.uuid()))
        .bind(column(rows, |p| p.secret.expose().to_owned()))
        .bind(column(rows, |p| rows::owner_columns(&p.owner).0))
        .bind(column(rows, |p| rows::owner_columns(&p.owner).1.map(str::to_owned)))
        .bind(column(rows, |p| rows::owner_columns(&p.owner).2))
        .bind(column(rows, |p| p.created_at.millis()))
}

/// Documents: inserted whole; an update writes the reveal only ([`DOCUMENT_REVEAL`]).
pub(crate) const DOCUMENTS: Table<Document> = Table {
    name: "documents",
    insert: "INSERT INTO documents (id, kind, authority, reference, issued_at, sha256, evidence_id, confidential, \
             salt, registered_by, created_at, revealed_at) \
             SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bytea[], \
             $7::uuid[], $8::boolean[], $9::bytea[], $10::uuid[], $11::bigint[], $12::bigint[])",
    update: "",
    bind: bind_documents,
    key: |d| d.id.uuid().to_string(),
};

fn bind_documents(sql: &'static str, rows: &[&Document]) -> PgQuery {
    sqlx::query(sql)
        .bind(column(rows, |d| d.id.uuid()))
        .bind(column(rows, |d| d.kind.as_str()))
        .bind(column(rows, |d| d.authority.clone()))
        .bind(column(rows, |d| d.reference.clone()))
        .bind(column(rows, |d| d.issued_at.millis()))
        .bind(column(rows, |d| d.sha256.to_vec()))
        .bind(column(rows, |d| d.evidence_id.map(|e| e.uuid())))
        .bind(column(rows, |d| d.confidential))
        .bind(column(rows, |d| d.salt.0.to_vec()))
        .bind(column(rows, |d| d.registered_by.uuid()))
        .bind(column(rows, |d| d.created_at.millis()))
        .bind(column(rows, |d| d.revealed_at.map(Timestamp::millis)))
}

/// What an update of a document writes: its reveal, the only change a document has.
pub(crate) const DOCUMENT_REVEAL: Table<Document> = Table {
    name: "documents",
    insert: "",
    update: "UPDATE documents AS t SET revealed_at = u.revealed_at \
             FROM UNNEST($1::uuid[], $2::bigint[]) AS u (id, revealed_at) \
             WHERE t.id = u.id RETURNING t.id::text",
    bind: bind_document_reveals,
    key: |d| d.id.uuid().to_string(),
};

fn bind_document_reveals(sql: &'static str, rows: &[&Document]) -> PgQuery {
    sqlx::query(sql).bind(column(rows, |d| d.id.uuid())).bind(column(rows, |d| d.revealed_at.map(Timestamp::millis)))
}

/// Freezes, written whole: a release, an expiry or a top-up changes most of a row.
pub(crate) const FREEZES: Table<Freeze> = Table {
    name: "freezes",
    insert: "INSERT INTO freezes (id, user_id, seq, kind, amount, held, status, documents, reason, major_case, \
             created_by, created_at, expires_at, renewals, ended_at, ever_held, released, expired, seized, converted) \
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[], \
             $7::text[], $8::text[], $9::text[], $10::boolean[], $11::uuid[], $12::bigint[], $13::bigint[], \
             $14::bigint[], $15::bigint[], $16::bigint[], $17::bigint[], $18::bigint[], $19::bigint[], $20::bigint[])",
    update: "UPDATE freezes AS t SET amount = u.amount, held = u.held, status = u.status, documents = u.documents, \
             expires_at = u.expires_at, renewals = u.renewals, ended_at = u.ended_at, ever_held = u.ever_held, \
             released = u.released, expired = u.expired, seized = u.seized, converted = u.converted \
             FROM UNNEST($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[], \
             $7::text[], $8::text[], $9::text[], $10::boolean[], $11::uuid[], $12::bigint[], $13::bigint[], \
             $14::bigint[], $15::bigint[], $16::bigint[], $17::bigint[], $18::bigint[], $19::bigint[], $20::bigint[]) \
             AS u (id, user_id, seq, kind, amount, held, status, documents, reason, major_case, created_by, \
             created_at, expires_at, renewals, ended_at, ever_held, released, expired, seized, converted) \
             WHERE t.id = u.id RETURNING t.id::text",
    bind: bind_freezes,
    key: |f| f.id.uuid().to_string(),
};

fn bind_freezes(sql: &'static str, rows: &[&Freeze]) -> PgQuery {
    sqlx::query(sql)
        .bind(column(rows, |f| f.id.uuid()))
        .bind(column(rows, |f| f.user_id.uuid()))
        .bind(column(rows, |f| i64::from(f.seq)))
        .bind(column(rows, |f| f.kind.as_str()))
        .bind(column(rows, |f| f.amount.map(Fen::get)))
        .bind(column(rows, |f| f.held.get()))
        .bind(column(rows, |f| f.status.as_str()))
        .bind(column(rows, hongbao_store::columns::documents_json))
        .bind(column(rows, |f| f.reason.clone()))
        .bind(column(rows, |f| f.major_case))
        .bind(column(rows, |f| f.created_by.map(|k| k.uuid())))
        .bind(column(rows, |f| f.created_at.millis()))
        .bind(column(rows, |f| f.expires_at.map(Timestamp::millis)))
        .bind(column(rows, |f| i64::from(f.renewals)))
        .bind(column(rows, |f| f.ended_at.map(Timestamp::millis)))
        .bind(column(rows, |f| f.tally.ever_held.get()))
        .bind(column(rows, |f| f.tally.released.get()))
        .bind(column(rows, |f| f.tally.expired.get()))
        .bind(column(rows, |f| f.tally.seized.get()))
        .bind(column(rows, |f| f.tally.converted.get()))
}

/// Forced transfers, written whole: a decision changes most of a row.
pub(crate) const SEIZURES: Table<Seizure> = Table {
    name: "seizures",
    insert: "INSERT INTO seizures (id, freeze_id, user_id, amount, to_user, reason, documents, status, proposed_by, \
             proposed_at, expires_at, decided_by, decided_at, transfer_id, rejection) \
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::uuid[], $6::text[], $7::text[], $8::text[], $9::uuid[], \
             $10::bigint[], $11::bigint[], $12::uuid[], $13::bigint[], $14::uuid[], $15::text[])",
    update: "UPDATE seizures AS t SET status = u.status, decided_by = u.decided_by, decided_at = u.decided_at, \
             transfer_id = u.transfer_id, rejection = u.rejection \
             FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::uuid[], $6::text[], $7::text[], $8::text[], $9::uuid[], \
             $10::bigint[], $11::bigint[], $12::uuid[], $13::bigint[], $14::uuid[], $15::text[]) \
             AS u (id, freeze_id, user_id, amount, to_user, reason, documents, status, proposed_by, proposed_at, \
             expires_at, decided_by, decided_at, transfer_id, rejection) \
             WHERE t.id = u.id RETURNING t.id::text",
    bind: bind_seizures,
    key: |s| s.id.uuid().to_string(),
};

fn bind_seizures(sql: &'static str, rows: &[&Seizure]) -> PgQuery {
    sqlx::query(sql)
        .bind(column(rows, |s| s.id.uuid()))
        .bind(column(rows, |s| s.freeze_id.uuid()))
        .bind(column(rows, |s| s.user_id.uuid()))
        .bind(column(rows, |s| s.amount.get()))
        .bind(column(rows, hongbao_store::columns::to_user))
        .bind(column(rows, |s| s.reason.clone()))
        .bind(column(rows, |s| hongbao_store::columns::ids_json(&s.documents)))
        .bind(column(rows, |s| s.status.as_str()))
        .bind(column(rows, |s| s.proposed_by.uuid()))
        .bind(column(rows, |s| s.proposed_at.millis()))
        .bind(column(rows, |s| s.expires_at.millis()))
        .bind(column(rows, |s| s.decided_by.map(|k| k.uuid())))
        .bind(column(rows, |s| s.decided_at.map(Timestamp::millis)))
        .bind(column(rows, |s| s.transfer_id.map(|t| t.uuid())))
        .bind(column(rows, |s| s.rejection.clone()))
}

/// Reports, written whole (the JSON text of the report, and the columns that index it).
pub(crate) const REPORTS: Table<Report> = Table {
    name: "reports",
    insert: "INSERT INTO reports (id, subject, reporter, status, body) \
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[])",
    update: "UPDATE reports AS t SET status = u.status, body = u.body \
             FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[]) \
             AS u (id, subject, reporter, status, body) WHERE t.id = u.id RETURNING t.id::text",
    bind: bind_reports,
    key: |r| r.id.uuid().to_string(),
};

fn bind_reports(sql: &'static str, rows: &[&Report]) -> PgQuery {
    sqlx::query(sql)
        .bind(column(rows, |r| r.id.uuid()))
        .bind(column(rows, |r| r.subject.uuid()))
        .bind(column(rows, |r| r.reporter.uuid()))
        .bind(column(rows, |r| r.status.as_str()))
        .bind(column(rows, hongbao_store::columns::json_text))
}

/// Return requests, written whole (the JSON text of the request, and the columns that index it).
pub(crate) const RETURN_REQUESTS: Table<ReturnRequest> = Table {
    name: "return_requests",
    insert: "INSERT INTO return_requests (id, target, payer, payee, mediator, status, body) \
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[], $7::text[])",
    update: "UPDATE return_requests AS t SET status = u.status, body = u.body \
             FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[], $7::text[]) \
             AS u (id, target, payer, payee, mediator, status, body) WHERE t.id = u.id RETURNING t.id::text",
    bind: bind_return_requests,
    key: |r| r.id.uuid().to_string(),
};

fn bind_return_requests(sql: &'static str, rows: &[&ReturnRequest]) -> PgQuery {
    sqlx::query(sql)
        .bind(column(rows, |r| r.id.uuid()))
        .bind(column(rows, |r| r.target.uuid()))
        .bind(column(rows, |r| r.payer.uuid()))
        .bind(column(rows, |r| r.payee.uuid()))
        .bind(column(rows, |r| r.mediator.map(|m| m.uuid())))
        .bind(column(rows, |r| r.status.as_str()))
        .bind(column(rows, hongbao_store::columns::json_text))
}

/// Cases, written whole (the JSON text of the case, and the columns that index it).
pub(crate) const CASES: Table<Case> = Table {
    name: "cases",
    insert: "INSERT INTO cases (id, subject, kind, status, body) \
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[])",
    update: "UPDATE cases AS t SET status = u.status, body = u.body \
             FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[]) \
             AS u (id, subject, kind, status, body) WHERE t.id = u.id RETURNING t.id::text",
    bind: bind_cases,
    key: |c| c.id.uuid().to_string(),
};

fn bind_cases(sql: &'static str, rows: &[&Case]) -> PgQuery {
    sqlx::query(sql)
        .bind(column(rows, |c| c.id.uuid()))
        .bind(column(rows, |c| c.subject.uuid()))
        .bind(column(rows, |c| c.kind.as_str()))
        .bind(column(rows, |c| c.status.as_str()))
        .bind(column(rows, hongbao_store::columns::json_text))
}

/// Inserts events in their order: `seq` is drawn row by row as `ORDINALITY` orders them.
pub(crate) async fn insert_events(conn: &mut PgConnection, events: &[Event]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut bodies = Vec::with_capacity(events.len());
    for event in events {
        match serde_json::to_string(event) {
            Ok(body) => bodies.push(body),
            Err(e) => {
                return Err(StoreError::Corrupt(format!(
                    "event {} at {} cannot be encoded: {e}",
                    event.what.name(),
                    event.at
                )));
            }
        }
    }
    let at: Vec<i64> = events.iter().map(|e| e.at.millis()).collect();
    let kinds: Vec<&'static str> = events.iter().map(|e| e.what.name()).collect();
    let done = sqlx::query(
        "INSERT INTO events (at, type, body) SELECT at, type, body::jsonb \
         FROM UNNEST($1::bigint[], $2::text[], $3::text[]) WITH ORDINALITY AS e (at, type, body, n) ORDER BY n",
    )
    .bind(at)
    .bind(kinds)
    .bind(bodies)
    .execute(&mut *conn)
    .await
    .map_err(|e| db_error(e, format_args!("insert of {} events", events.len())))?;
    if usize::try_from(done.rows_affected()) == Ok(events.len()) {
        Ok(())
    } else {
        Err(StoreError::Corrupt(format!("insert of {} events wrote {}", events.len(), done.rows_affected())))
    }
}

pub(crate) const IDEMPOTENCY: Table<IdempotencyRecord> = Table {
    name: "idempotency",
    insert: "INSERT INTO idempotency (principal, key, fingerprint, outcome, created_at) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::bytea[], $4::text[], $5::bigint[])",
    update: "",
    bind: bind_records,
    key: |r| format!("({:?}, {:?})", r.principal, r.key),
};

fn bind_records(sql: &'static str, rows: &[&IdempotencyRecord]) -> PgQuery {
    sqlx::query(sql)
        .bind(column(rows, |r| r.principal.clone()))
        .bind(column(rows, |r| r.key.clone()))
        .bind(column(rows, |r| r.fingerprint.to_vec()))
        .bind(column(rows, |r| r.outcome.clone()))
        .bind(column(rows, |r| r.created_at.millis()))
}

/// The nonces of the batch's signed requests, in key order (so that two nodes writing the same
/// nonces wait for each other rather than deadlock). A nonce already stored keeps the later
/// expiry; each row counts once, inserted or updated.
pub(crate) const NONCES: Table<NonceRecord> = Table {
    name: "nonces",
    insert: "INSERT INTO nonces (key_id, digest, expires_at) \
             SELECT * FROM UNNEST($1::uuid[], $2::bytea[], $3::bigint[]) \
             ON CONFLICT (key_id, digest) DO UPDATE SET expires_at = GREATEST(nonces.expires_at, EXCLUDED.expires_at)",
    update: "",
    bind: bind_nonces,
    key: |n| format!("of key {}", n.key),
};

fn bind_nonces(sql: &'static str, rows: &[&NonceRecord]) -> PgQuery {
    sqlx::query(sql)
        .bind(column(rows, |n| n.key.uuid()))
        .bind(column(rows, |n| n.digest.to_vec()))
        .bind(column(rows, |n| n.expires_at_s))
}

/// New and moved items of the schedule of due work, in key order (a batch's come from an ordered
/// map): an item already scheduled takes its new time; each row counts once.
pub(crate) const DEADLINES: Table<DueItem> = Table {
    name: "deadlines",
    insert: "INSERT INTO deadlines (kind, id, due_at) \
             SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::bigint[]) \
             ON CONFLICT (kind, id) DO UPDATE SET due_at = EXCLUDED.due_at",
    update: "",
    bind: bind_deadlines,
    key: |item| format!("{} of {}", item.kind, item.id),
};

fn bind_deadlines(sql: &'static str, rows: &[&DueItem]) -> PgQuery {
    sqlx::query(sql)
        .bind(column(rows, |item| item.kind.name()))
        .bind(column(rows, |item| item.id))
        .bind(column(rows, |item| item.at.millis()))
}

pub(crate) const LOG_ENTRIES: Table<LogRow> = Table {
    name: "log_entries",
    insert: "INSERT INTO log_entries (idx, entry, transfer_id, packet_id) \
             SELECT * FROM UNNEST($1::bigint[], $2::bytea[], $3::uuid[], $4::uuid[])",
    update: "",
    bind: bind_log_rows,
    key: |r| r.index.to_string(),
};

/// Binds rows whose indexes [`check_append`] has checked fit an `i64`.
fn bind_log_rows(sql: &'static str, rows: &[&LogRow]) -> PgQuery {
    sqlx::query(sql)
        .bind(column(rows, |r| i64::try_from(r.index).unwrap_or(i64::MAX)))
        .bind(column(rows, |r| r.entry.clone()))
        .bind(column(rows, |r| r.transfer_id.map(|t| t.uuid())))
        .bind(column(rows, |r| r.packet_id.map(|p| p.uuid())))
}
