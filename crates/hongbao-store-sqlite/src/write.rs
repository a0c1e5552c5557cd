//! What runs inside the write transaction: writing a batch's changes, finding due work, and
//! looking up idempotency records.

use std::collections::BTreeSet;
use std::fmt::Display;

use hongbao_core::ledger::{Account, PendingTransfer, Phase, Transfer};
use hongbao_core::packet::{Claim, Packet};
use hongbao_core::principal::Principal;
use hongbao_core::user::{Group, User};
use hongbao_core::world::Write;
use hongbao_core::{Changes, PacketId, Timestamp, TransferId};
use hongbao_store::{Due, IdempotencyRecord, StoreError};
use sqlx::SqliteConnection;
use sqlx::sqlite::SqliteQueryResult;

use crate::{db_error, rows};

/// Checks that a write touched exactly its one row: an `UPDATE` that finds no row means the
/// engine believed in a row the database does not have, and the batch must not commit.
fn one_row(
    result: Result<SqliteQueryResult, sqlx::Error>,
    write: Write,
    table: &str,
    id: impl Display,
) -> Result<(), StoreError> {
    let verb = match write {
        Write::Insert => "insert",
        Write::Update => "update",
    };
    match result {
        Ok(done) if done.rows_affected() == 1 => Ok(()),
        Ok(done) => Err(StoreError::Corrupt(format!(
            "{verb} of {table} row {id} changed {} rows, not 1: the row does not exist",
            done.rows_affected()
        ))),
        Err(e) => Err(db_error(e, format_args!("{verb} of {table} row {id}"))),
    }
}

async fn user(conn: &mut SqliteConnection, write: Write, user: &User) -> Result<(), StoreError> {
    let sql = match write {
        Write::Insert => "INSERT INTO users (id, name, status, created_at) VALUES (?1, ?2, ?3, ?4)",
        Write::Update => "UPDATE users SET name = ?2, status = ?3, created_at = ?4 WHERE id = ?1",
    };
    let result = sqlx::query(sql)
        .bind(user.id.uuid())
        .bind(&user.name)
        .bind(user.status.as_str())
        .bind(user.created_at.millis())
        .execute(&mut *conn)
        .await;
    one_row(result, write, "users", user.id)
}

async fn account(conn: &mut SqliteConnection, write: Write, account: &Account) -> Result<(), StoreError> {
    let sql = match write {
        Write::Insert => {
            "INSERT INTO accounts (id, kind, debits_posted, credits_posted, debits_pending, credits_pending, frozen) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        }
        Write::Update => {
            "UPDATE accounts SET kind = ?2, debits_posted = ?3, credits_posted = ?4, debits_pending = ?5, \
             credits_pending = ?6, frozen = ?7 WHERE id = ?1"
        }
    };
    let b = account.balances();
    let result = sqlx::query(sql)
        .bind(account.id.uuid())
        .bind(account.kind.as_str())
        .bind(b.debits_posted.get())
        .bind(b.credits_posted.get())
        .bind(b.debits_pending.get())
        .bind(b.credits_pending.get())
        .bind(b.frozen.get())
        .execute(&mut *conn)
        .await;
    one_row(result, write, "accounts", account.id)
}

/// A group row and its members; an update replaces the member list.
async fn group(conn: &mut SqliteConnection, write: Write, group: &Group) -> Result<(), StoreError> {
    let sql = match write {
        Write::Insert => "INSERT INTO groups (id, name, owner, created_at) VALUES (?1, ?2, ?3, ?4)",
        Write::Update => "UPDATE groups SET name = ?2, owner = ?3, created_at = ?4 WHERE id = ?1",
    };
    let result = sqlx::query(sql)
        .bind(group.id.uuid())
        .bind(&group.name)
        .bind(group.owner.uuid())
        .bind(group.created_at.millis())
        .execute(&mut *conn)
        .await;
    one_row(result, write, "groups", group.id)?;
    if write == Write::Update {
        sqlx::query("DELETE FROM group_members WHERE group_id = ?1")
            .bind(group.id.uuid())
            .execute(&mut *conn)
            .await
            .map_err(|e| db_error(e, format_args!("replace the members of group {}", group.id)))?;
    }
    for member in &group.members {
        let result = sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES (?1, ?2)")
            .bind(group.id.uuid())
            .bind(member.uuid())
            .execute(&mut *conn)
            .await;
        one_row(result, Write::Insert, "group_members", format_args!("({}, {member})", group.id))?;
    }
    Ok(())
}

async fn packet(conn: &mut SqliteConnection, write: Write, packet: &Packet) -> Result<(), StoreError> {
    // Every column is written on update too: the store does not know which fields the core
    // considers immutable, and SQLite rewrites the whole row anyway.
    let sql = match write {
        Write::Insert => {
            "INSERT INTO packets (id, kind, sender, group_id, recipient, total, shares, greeting, arrival_delay_s, \
             created_at, expires_at, status, claimed_count, claimed_amount, touched) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
        }
        Write::Update => {
            "UPDATE packets SET kind = ?2, sender = ?3, group_id = ?4, recipient = ?5, total = ?6, shares = ?7, \
             greeting = ?8, arrival_delay_s = ?9, created_at = ?10, expires_at = ?11, status = ?12, \
             claimed_count = ?13, claimed_amount = ?14, touched = ?15 WHERE id = ?1"
        }
    };
    let result = sqlx::query(sql)
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
        .execute(&mut *conn)
        .await;
    one_row(result, write, "packets", packet.id)
}

async fn claim(conn: &mut SqliteConnection, write: Write, claim: &Claim) -> Result<(), StoreError> {
    let sql = match write {
        Write::Insert => {
            "INSERT INTO claims (id, packet_id, user_id, seq, amount, claimed_at, status, arrives_at, transfer_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        }
        Write::Update => {
            "UPDATE claims SET packet_id = ?2, user_id = ?3, seq = ?4, amount = ?5, claimed_at = ?6, status = ?7, \
             arrives_at = ?8, transfer_id = ?9 WHERE id = ?1"
        }
    };
    let result = sqlx::query(sql)
        .bind(claim.id.uuid())
        .bind(claim.packet_id.uuid())
        .bind(claim.user_id.uuid())
        .bind(i64::from(claim.seq))
        .bind(claim.amount.get())
        .bind(claim.claimed_at.millis())
        .bind(claim.status.as_str())
        .bind(claim.arrives_at.millis())
        .bind(claim.transfer_id.uuid())
        .execute(&mut *conn)
        .await;
    one_row(result, write, "claims", claim.id)
}

async fn transfer(conn: &mut SqliteConnection, transfer: &Transfer) -> Result<(), StoreError> {
    let (phase, deadline, pending_id) = rows::phase_columns(transfer.phase);
    let result = sqlx::query(
        "INSERT INTO transfers (id, debit, credit, amount, kind, phase, deadline, pending_id, packet_id, claim_id, \
         note, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )
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
    .execute(&mut *conn)
    .await;
    one_row(result, Write::Insert, "transfers", transfer.id)
}

/// The pending record only: the transfer it wraps is an immutable row of `transfers`.
async fn pending(conn: &mut SqliteConnection, write: Write, pending: &PendingTransfer) -> Result<(), StoreError> {
    let id = pending.transfer.id;
    let Phase::Pending { deadline } = pending.transfer.phase else {
        return Err(StoreError::Corrupt(format!("pending record {id} wraps a transfer that is not pending")));
    };
    let sql = match write {
        Write::Insert => "INSERT INTO pendings (transfer_id, deadline, status, resolved_at) VALUES (?1, ?2, ?3, ?4)",
        Write::Update => "UPDATE pendings SET deadline = ?2, status = ?3, resolved_at = ?4 WHERE transfer_id = ?1",
    };
    let result = sqlx::query(sql)
        .bind(id.uuid())
        .bind(deadline.millis())
        .bind(pending.status.as_str())
        .bind(pending.resolved_at.map(Timestamp::millis))
        .execute(&mut *conn)
        .await;
    one_row(result, write, "pendings", id)
}

/// A new principal. Only ever inserted: keys are created, not edited. The secret is bound, never
/// formatted, so no error message can carry it.
async fn principal(conn: &mut SqliteConnection, principal: &Principal) -> Result<(), StoreError> {
    let (user_id, operator_name, roles) = rows::owner_columns(&principal.owner);
    let result = sqlx::query(
        "INSERT INTO principals (key_id, secret, user_id, operator_name, roles, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(principal.key_id.uuid())
    .bind(principal.secret.expose())
    .bind(user_id)
    .bind(operator_name)
    .bind(roles)
    .bind(principal.created_at.millis())
    .execute(&mut *conn)
    .await;
    one_row(result, Write::Insert, "principals", principal.key_id)
}

async fn idempotency_record(conn: &mut SqliteConnection, record: &IdempotencyRecord) -> Result<(), StoreError> {
    let result = sqlx::query(
        "INSERT INTO idempotency (principal, key, fingerprint, outcome, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .bind(&record.principal)
    .bind(&record.key)
    .bind(&record.fingerprint[..])
    .bind(&record.outcome)
    .bind(record.created_at.millis())
    .execute(&mut *conn)
    .await;
    one_row(result, Write::Insert, "idempotency", format_args!("({:?}, {:?})", record.principal, record.key))
}

/// Writes every change and record. The caller commits, or drops the transaction on error so
/// that nothing of the batch remains.
///
/// # Errors
/// [`StoreError::Corrupt`] when an insert meets an existing row, an update finds none, or a
/// reference names a missing row; [`StoreError::Unavailable`] when the database fails.
pub(crate) async fn changes(
    conn: &mut SqliteConnection,
    changes: &Changes,
    idempotency: &[IdempotencyRecord],
) -> Result<(), StoreError> {
    for (write, row) in &changes.users {
        user(conn, *write, row).await?;
    }
    for (write, row) in &changes.accounts {
        account(conn, *write, row).await?;
    }
    for (write, row) in &changes.groups {
        group(conn, *write, row).await?;
    }
    for (write, row) in &changes.packets {
        packet(conn, *write, row).await?;
    }
    for (write, row) in &changes.claims {
        claim(conn, *write, row).await?;
    }
    for row in &changes.principals {
        principal(conn, row).await?;
    }
    for row in &changes.transfers {
        transfer(conn, row).await?;
    }
    for (write, row) in &changes.pendings {
        pending(conn, *write, row).await?;
    }
    for event in &changes.events {
        let body = serde_json::to_string(event).map_err(|e| {
            StoreError::Corrupt(format!("event {} at {} cannot be encoded: {e}", event.what.name(), event.at))
        })?;
        sqlx::query("INSERT INTO events (at, type, body) VALUES (?1, ?2, ?3)")
            .bind(event.at.millis())
            .bind(event.what.name())
            .bind(body)
            .execute(&mut *conn)
            .await
            .map_err(|e| db_error(e, format_args!("insert of event {}", event.what.name())))?;
    }
    for record in idempotency {
        idempotency_record(conn, record).await?;
    }
    Ok(())
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
