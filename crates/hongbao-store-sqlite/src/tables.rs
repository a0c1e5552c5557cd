//! How each table is written: multi-row `INSERT … VALUES (…), (…)` statements of at most 64
//! rows, and updates batched the same way (`UPDATE … FROM (VALUES …)`), each checked to have
//! found every one of its rows.

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
use hongbao_core::{Fen, GroupId, Timestamp, UserId};
use hongbao_store::{IdempotencyRecord, LogRow, NonceRecord, StoreError};
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

pub(crate) type SqliteQuery = Query<'static, Sqlite, SqliteArguments>;

/// Binds one row's values, in the order of its table's columns. The `UPDATE` statements number
/// their parameters in the same order (the key first), so one binder serves both.
pub(crate) type Bind<T> = fn(SqliteQuery, &T) -> SqliteQuery;

/// A multi-row `INSERT`: the statement up to `VALUES`, and how many values a row has.
pub(crate) struct Insert {
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
pub(crate) async fn insert_all<T>(
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
pub(crate) async fn insert_all_then<T>(
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
pub(crate) async fn write_all<T>(
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
pub(crate) async fn write_split<T>(
    conn: &mut SqliteConnection,
    written: &[(Write, T)],
    (insert, bind): (&Insert, Bind<T>),
    (update, bind_update): (&Insert, Bind<T>),
    id: impl Fn(&T) -> String,
) -> Result<(), StoreError> {
    // Updates first: a row closed by this batch makes room, under a partial unique index, for
    // the open one it inserts (a case closed and a new one opened about the same user).
    let changed: Vec<&T> = written.iter().filter(|(w, _)| *w == Write::Update).map(|(_, row)| row).collect();
    update_all(conn, update, &changed, bind_update, &id).await?;
    let new: Vec<&T> = written.iter().filter(|(w, _)| *w == Write::Insert).map(|(_, row)| row).collect();
    insert_all(conn, insert, &new, bind, &id).await
}

pub(crate) const USERS: Insert =
    Insert { table: "users", head: "INSERT INTO users (id, name, status, created_at, logins) VALUES ", columns: 5 };
pub(crate) fn bind_user(query: SqliteQuery, user: &User) -> SqliteQuery {
    query
        .bind(user.id.uuid())
        .bind(&user.name)
        .bind(user.status.as_str())
        .bind(user.created_at.millis())
        .bind(hongbao_store::columns::logins_json(user))
}

pub(crate) const ACCOUNTS: Insert = Insert {
    table: "accounts",
    head: "INSERT INTO accounts (id, kind, debits_posted, credits_posted, debits_pending, credits_pending, frozen, \
           holding) VALUES ",
    columns: 8,
};
pub(crate) fn bind_account(query: SqliteQuery, account: &Account) -> SqliteQuery {
    let b = account.balances();
    query
        .bind(account.id.uuid())
        .bind(account.kind.as_str())
        .bind(b.debits_posted.get())
        .bind(b.credits_posted.get())
        .bind(b.debits_pending.get())
        .bind(b.credits_pending.get())
        .bind(b.frozen.get())
        .bind(i64::from(account.holding()))
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
pub(crate) async fn groups(conn: &mut SqliteConnection, written: &[(Write, Group)]) -> Result<(), StoreError> {
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

pub(crate) const PACKETS: Insert = Insert {
    table: "packets",
    head: "INSERT INTO packets (id, kind, sender, group_id, recipient, total, shares, greeting, arrival_delay_s, \
           created_at, expires_at, status, claimed_count, claimed_amount, touched, salt) VALUES ",
    columns: 16,
};
pub(crate) fn bind_packet(query: SqliteQuery, packet: &Packet) -> SqliteQuery {
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
pub(crate) const PACKET_STATE: Insert = Insert {
    table: "packets",
    head: "INSERT INTO packets (id, status, claimed_count, claimed_amount, touched) VALUES ",
    columns: 5,
};
pub(crate) fn bind_packet_state(query: SqliteQuery, packet: &Packet) -> SqliteQuery {
    query
        .bind(packet.id.uuid())
        .bind(packet.status.as_str())
        .bind(i64::from(packet.claimed_count))
        .bind(packet.claimed_amount.get())
        .bind(i64::from(packet.touched))
}

pub(crate) const CLAIMS: Insert = Insert {
    table: "claims",
    head: "INSERT INTO claims (id, packet_id, user_id, seq, amount, claimed_at, status, arrives_at, transfer_id) \
           VALUES ",
    columns: 9,
};
pub(crate) fn bind_claim(query: SqliteQuery, claim: &Claim) -> SqliteQuery {
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

pub(crate) const TRANSFERS: Insert = Insert {
    table: "transfers",
    head: "INSERT INTO transfers (id, debit, credit, amount, kind, phase, deadline, pending_id, packet_id, claim_id, \
           note, created_at) VALUES ",
    columns: 12,
};

pub(crate) fn bind_transfer(query: SqliteQuery, transfer: &Transfer) -> SqliteQuery {
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
pub(crate) const PENDINGS: Insert = Insert {
    table: "pendings",
    head: "INSERT INTO pendings (transfer_id, deadline, status, resolved_at) VALUES ",
    columns: 4,
};
/// Binds a record [`check_pendings`] has checked. Were the transfer not pending after all, the
/// `NULL` deadline would be refused by its `NOT NULL` column.
pub(crate) fn bind_pending(query: SqliteQuery, pending: &PendingTransfer) -> SqliteQuery {
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

pub(crate) fn check_pendings(written: &[(Write, PendingTransfer)]) -> Result<(), StoreError> {
    match written.iter().find(|(_, p)| !matches!(p.transfer.phase, Phase::Pending { .. })) {
        Some((_, p)) => {
            Err(StoreError::Corrupt(format!("pending record {} wraps a transfer that is not pending", p.transfer.id)))
        }
        None => Ok(()),
    }
}

/// New principals. Only ever inserted: keys are created, not edited. The secret is bound, never
/// formatted, so no error message can carry it.
pub(crate) const PRINCIPALS: Insert = Insert {
    table: "principals",
    head: "INSERT INTO principals (key_id, secret, user_id, operator_name, roles, created_at) VALUES ",
    columns: 6,
};

pub(crate) fn bind_principal(query: SqliteQuery, principal: &Principal) -> SqliteQuery {
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
pub(crate) const DOCUMENTS: Insert = Insert {
    table: "documents",
    head: "INSERT INTO documents (id, kind, authority, reference, issued_at, sha256, evidence_id, confidential, salt, \
           registered_by, created_at, revealed_at) VALUES ",
    columns: 12,
};
pub(crate) fn bind_document(query: SqliteQuery, d: &Document) -> SqliteQuery {
    query
        .bind(d.id.uuid())
        .bind(d.kind.as_str())
        .bind(&d.authority)
        .bind(&d.reference)
        .bind(d.issued_at.millis())
        .bind(&d.sha256[..])
        .bind(d.evidence_id.map(|e| e.uuid()))
        .bind(i64::from(d.confidential))
        .bind(&d.salt.0[..])
        .bind(d.registered_by.uuid())
        .bind(d.created_at.millis())
        .bind(d.revealed_at.map(Timestamp::millis))
}

/// What an update of a document writes: its reveal, the only change a document has.
pub(crate) const DOCUMENT_REVEAL: Insert =
    Insert { table: "documents", head: "INSERT INTO documents (id, revealed_at) VALUES ", columns: 2 };
pub(crate) fn bind_document_reveal(query: SqliteQuery, d: &Document) -> SqliteQuery {
    query.bind(d.id.uuid()).bind(d.revealed_at.map(Timestamp::millis))
}

pub(crate) const FREEZES: Insert = Insert {
    table: "freezes",
    head: "INSERT INTO freezes (id, user_id, seq, kind, amount, held, status, documents, reason, major_case, \
           created_by, created_at, expires_at, renewals, ended_at, ever_held, released, expired, seized, converted) \
           VALUES ",
    columns: 20,
};
pub(crate) fn bind_freeze(query: SqliteQuery, f: &Freeze) -> SqliteQuery {
    query
        .bind(f.id.uuid())
        .bind(f.user_id.uuid())
        .bind(i64::from(f.seq))
        .bind(f.kind.as_str())
        .bind(f.amount.map(Fen::get))
        .bind(f.held.get())
        .bind(f.status.as_str())
        .bind(hongbao_store::columns::documents_json(f))
        .bind(f.reason.clone())
        .bind(i64::from(f.major_case))
        .bind(f.created_by.map(|k| k.uuid()))
        .bind(f.created_at.millis())
        .bind(f.expires_at.map(Timestamp::millis))
        .bind(i64::from(f.renewals))
        .bind(f.ended_at.map(Timestamp::millis))
        .bind(f.tally.ever_held.get())
        .bind(f.tally.released.get())
        .bind(f.tally.expired.get())
        .bind(f.tally.seized.get())
        .bind(f.tally.converted.get())
}

pub(crate) const SEIZURES: Insert = Insert {
    table: "seizures",
    head: "INSERT INTO seizures (id, freeze_id, user_id, amount, to_user, reason, documents, status, proposed_by, \
           proposed_at, expires_at, decided_by, decided_at, transfer_id, rejection) VALUES ",
    columns: 15,
};
pub(crate) fn bind_seizure(query: SqliteQuery, s: &Seizure) -> SqliteQuery {
    query
        .bind(s.id.uuid())
        .bind(s.freeze_id.uuid())
        .bind(s.user_id.uuid())
        .bind(s.amount.get())
        .bind(hongbao_store::columns::to_user(s))
        .bind(s.reason.clone())
        .bind(hongbao_store::columns::ids_json(&s.documents))
        .bind(s.status.as_str())
        .bind(s.proposed_by.uuid())
        .bind(s.proposed_at.millis())
        .bind(s.expires_at.millis())
        .bind(s.decided_by.map(|k| k.uuid()))
        .bind(s.decided_at.map(Timestamp::millis))
        .bind(s.transfer_id.map(|t| t.uuid()))
        .bind(s.rejection.clone())
}

pub(crate) const REPORTS: Insert =
    Insert { table: "reports", head: "INSERT INTO reports (id, subject, reporter, status, body) VALUES ", columns: 5 };
pub(crate) fn bind_report(query: SqliteQuery, r: &Report) -> SqliteQuery {
    query
        .bind(r.id.uuid())
        .bind(r.subject.uuid())
        .bind(r.reporter.uuid())
        .bind(r.status.as_str())
        .bind(hongbao_store::columns::json_text(r))
}

pub(crate) const RETURN_REQUESTS: Insert = Insert {
    table: "return_requests",
    head: "INSERT INTO return_requests (id, target, payer, payee, mediator, status, body) VALUES ",
    columns: 7,
};
pub(crate) fn bind_return_request(query: SqliteQuery, r: &ReturnRequest) -> SqliteQuery {
    query
        .bind(r.id.uuid())
        .bind(r.target.uuid())
        .bind(r.payer.uuid())
        .bind(r.payee.uuid())
        .bind(r.mediator.map(|m| m.uuid()))
        .bind(r.status.as_str())
        .bind(hongbao_store::columns::json_text(r))
}

pub(crate) const CASES: Insert =
    Insert { table: "cases", head: "INSERT INTO cases (id, subject, kind, status, body) VALUES ", columns: 5 };
pub(crate) fn bind_case(query: SqliteQuery, c: &Case) -> SqliteQuery {
    query
        .bind(c.id.uuid())
        .bind(c.subject.uuid())
        .bind(c.kind.as_str())
        .bind(c.status.as_str())
        .bind(hongbao_store::columns::json_text(c))
}

pub(crate) const EVENTS: Insert =
    Insert { table: "events", head: "INSERT INTO events (at, type, body) VALUES ", columns: 3 };

pub(crate) struct EventRow<'e> {
    pub(crate) event: &'e Event,
    pub(crate) body: String,
}

pub(crate) fn bind_event(query: SqliteQuery, row: &EventRow<'_>) -> SqliteQuery {
    query.bind(row.event.at.millis()).bind(row.event.what.name()).bind(&row.body)
}

pub(crate) const IDEMPOTENCY: Insert = Insert {
    table: "idempotency",
    head: "INSERT INTO idempotency (principal, key, fingerprint, outcome, created_at) VALUES ",
    columns: 5,
};

pub(crate) fn bind_record(query: SqliteQuery, record: &IdempotencyRecord) -> SqliteQuery {
    query
        .bind(&record.principal)
        .bind(&record.key)
        .bind(&record.fingerprint[..])
        .bind(&record.outcome)
        .bind(record.created_at.millis())
}

/// The nonces of the batch's signed requests. A nonce already stored (a request refused here
/// after another node, or this one before a restart, took it) keeps the later expiry.
pub(crate) const NONCES: Insert =
    Insert { table: "nonces", head: "INSERT INTO nonces (key_id, digest, expires_at) VALUES ", columns: 3 };
pub(crate) const NONCES_UPSERT: &str =
    " ON CONFLICT (key_id, digest) DO UPDATE SET expires_at = MAX(nonces.expires_at, excluded.expires_at)";

pub(crate) fn bind_nonce(query: SqliteQuery, nonce: &NonceRecord) -> SqliteQuery {
    query.bind(nonce.key.uuid()).bind(&nonce.digest[..]).bind(nonce.expires_at_s)
}

/// New and moved items of the schedule of due work: an item already scheduled takes its new time.
pub(crate) const DEADLINES: Insert =
    Insert { table: "deadlines", head: "INSERT INTO deadlines (kind, id, due_at) VALUES ", columns: 3 };
pub(crate) const DEADLINES_UPSERT: &str = " ON CONFLICT (kind, id) DO UPDATE SET due_at = excluded.due_at";

pub(crate) fn bind_deadline(query: SqliteQuery, item: &DueItem) -> SqliteQuery {
    query.bind(item.kind.name()).bind(item.id).bind(item.at.millis())
}

pub(crate) const LOG_ENTRIES: Insert = Insert {
    table: "log_entries",
    head: "INSERT INTO log_entries (idx, entry, transfer_id, packet_id) VALUES ",
    columns: 4,
};

/// Binds a row whose index [`check_append`] has checked fits an `i64`.
pub(crate) fn bind_log_row(query: SqliteQuery, row: &LogRow) -> SqliteQuery {
    query
        .bind(i64::try_from(row.index).unwrap_or(i64::MAX))
        .bind(&row.entry[..])
        .bind(row.transfer_id.map(|t| t.uuid()))
        .bind(row.packet_id.map(|p| p.uuid()))
}
