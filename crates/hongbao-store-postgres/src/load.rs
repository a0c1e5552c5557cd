//! [`load`]: the facts a batch of keys names, one query per kind of key (`= ANY($1)`), so a
//! batch of a thousand claims is loaded in a handful of round trips.
//!
//! Inside a write transaction ([`Lock::ForWrite`]) the rows that a batch may change are locked
//! as they are read: users, accounts, groups, packets, claims and pending records. Under READ
//! COMMITTED a locking read waits for another node's transaction on the same rows to end and
//! then returns the rows as that transaction left them, and no other node can change them until
//! this transaction ends: what the core decides from them is still true when the batch commits.
//! Transfers and principals are never updated, so they are read without a lock.
//!
//! The lock is `FOR NO KEY UPDATE`, the one PostgreSQL's own `UPDATE` takes when no key changes
//! (the store never changes a key): it excludes every other writer of the row, but not the
//! `FOR KEY SHARE` lock of another transaction's foreign-key check. With `FOR UPDATE`, a batch
//! inserting a transfer into an account another node holds would wait at its commit, holding
//! the log's lock, for a node that may itself be waiting for the log's lock: a deadlock that
//! PostgreSQL would break by failing one of the two batches.
//!
//! A packet's row also stands for the set of its claims: every command that adds a claim updates
//! its packet, so it holds the packet's lock. A load of a packet's claims (`ClaimOf`,
//! `ClaimsOf`) therefore locks the packet first and reads the claims after, in a later statement
//! whose snapshot includes everything committed before the lock was granted: nobody can add a
//! claim to that packet until this transaction ends, so "bob has not claimed yet" stays true.
//! The same holds for a group's members, read after the group's row is locked.
//!
//! Each locking query takes its rows in id order and the kinds always in the same order, so two
//! nodes locking the same rows in one load queue up rather than deadlock; across several loads
//! a deadlock is still possible, and PostgreSQL breaks it by failing one transaction, which the
//! store reports as [`StoreError::Conflict`].

use std::collections::HashMap;

use hongbao_core::{Fact, Key};
use hongbao_store::StoreError;
use sqlx::PgConnection;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use crate::{db_error, rows};
use hongbao_store::loaded::{
    Found, Wanted, add_members, cases_by_subject, claims_by_packet, freezes_by_user, ids, index, reports_by_subject,
    returns_by_target, seizures_by_freeze,
};

/// Whether a load locks the rows it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lock {
    /// A read snapshot: nothing is locked.
    Nothing,
    /// Inside a write transaction: the rows the batch may change are locked (`FOR NO KEY UPDATE`)
    /// until it ends.
    ForWrite,
}

/// A query in its two forms: plain, and locking its rows in a fixed order.
struct Select {
    plain: &'static str,
    locking: &'static str,
}

impl Select {
    fn sql(&self, lock: Lock) -> &'static str {
        match lock {
            Lock::Nothing => self.plain,
            Lock::ForWrite => self.locking,
        }
    }
}

/// Both forms of `SELECT <head> <filter>`, the locking one ordered by `$order` and locking `$of`.
macro_rules! select {
    ($head:expr, $filter:literal, order $order:literal, of $of:literal) => {
        Select {
            plain: concat!($head, " ", $filter),
            locking: concat!($head, " ", $filter, " ORDER BY ", $order, " FOR NO KEY UPDATE OF ", $of),
        }
    };
}

const USERS: Select =
    select!(concat!("SELECT ", user_columns!(), " FROM users u"), "WHERE u.id = ANY($1)", order "u.id", of "u");
const ACCOUNTS: Select =
    select!(concat!("SELECT ", account_columns!(), " FROM accounts a"), "WHERE a.id = ANY($1)", order "a.id", of "a");
const GROUPS: Select =
    select!(concat!("SELECT ", group_columns!(), " FROM groups g"), "WHERE g.id = ANY($1)", order "g.id", of "g");
const PACKETS: Select =
    select!(concat!("SELECT ", packet_columns!(), " FROM packets p"), "WHERE p.id = ANY($1)", order "p.id", of "p");
const CLAIMS: Select =
    select!(concat!("SELECT ", claim_columns!(), " FROM claims c"), "WHERE c.id = ANY($1)", order "c.id", of "c");
const CLAIMS_OF: Select = select!(
    concat!("SELECT ", claim_columns!(), " FROM claims c"),
    "WHERE c.packet_id = ANY($1)",
    order "c.id",
    of "c"
);
const CLAIM_OF: Select = select!(
    concat!(
        "SELECT ",
        claim_columns!(),
        " FROM claims c JOIN UNNEST($1::uuid[], $2::uuid[]) AS w (packet_id, user_id) \
         ON c.packet_id = w.packet_id AND c.user_id = w.user_id"
    ),
    "",
    order "c.id",
    of "c"
);
const PENDINGS: Select = select!(
    concat!(
        "SELECT ",
        transfer_columns!(),
        ", p.status AS pending_status, p.resolved_at AS resolved_at \
         FROM pendings p JOIN transfers t ON t.id = p.transfer_id"
    ),
    "WHERE p.transfer_id = ANY($1)",
    order "p.transfer_id",
    of "p"
);
const TRANSFERS: &str = concat!("SELECT ", transfer_columns!(), " FROM transfers t WHERE t.id = ANY($1)");
const PRINCIPALS: &str = concat!("SELECT ", principal_columns!(), " FROM principals WHERE key_id = ANY($1)");
const DOCUMENTS: Select = select!(
    concat!("SELECT ", document_columns!(), " FROM documents d"),
    "WHERE d.id = ANY($1)",
    order "d.id",
    of "d"
);
const FREEZES: Select = select!(
    concat!("SELECT ", freeze_columns!(), " FROM freezes f"),
    "WHERE f.id = ANY($1)",
    order "f.id",
    of "f"
);
const FREEZES_OF: Select = select!(
    concat!("SELECT ", freeze_columns!(), " FROM freezes f"),
    "WHERE f.user_id = ANY($1)",
    order "f.id",
    of "f"
);
const SEIZURES: Select = select!(
    concat!("SELECT ", seizure_columns!(), " FROM seizures s"),
    "WHERE s.id = ANY($1)",
    order "s.id",
    of "s"
);
const SEIZURES_OF: Select = select!(
    concat!("SELECT ", seizure_columns!(), " FROM seizures s"),
    "WHERE s.freeze_id = ANY($1)",
    order "s.id",
    of "s"
);
const REPORTS: Select = select!(
    concat!("SELECT ", report_columns!(), " FROM reports r"),
    "WHERE r.id = ANY($1)",
    order "r.id",
    of "r"
);
const OPEN_REPORTS_ON: Select = select!(
    concat!("SELECT ", report_columns!(), " FROM reports r"),
    "WHERE r.status = 'open' AND r.subject = ANY($1)",
    order "r.id",
    of "r"
);
const RETURN_REQUESTS: Select = select!(
    concat!("SELECT ", return_request_columns!(), " FROM return_requests r"),
    "WHERE r.id = ANY($1)",
    order "r.id",
    of "r"
);
const RETURNS_OF: Select = select!(
    concat!("SELECT ", return_request_columns!(), " FROM return_requests r"),
    "WHERE r.target = ANY($1)",
    order "r.id",
    of "r"
);
const CASES: Select = select!(
    concat!("SELECT ", case_columns!(), " FROM cases c"),
    "WHERE c.id = ANY($1)",
    order "c.id",
    of "c"
);
const OPEN_CASES_OF: Select = select!(
    concat!("SELECT ", case_columns!(), " FROM cases c"),
    "WHERE c.status = 'open' AND c.subject = ANY($1)",
    order "c.id",
    of "c"
);
const MEMBERS: &str = "SELECT group_id, user_id FROM group_members WHERE group_id = ANY($1)";

/// Runs `sql` with the ids bound as `$1` (skipping the round trip when there are none).
async fn fetch(
    conn: &mut PgConnection,
    sql: &'static str,
    ids: Vec<Uuid>,
    what: &str,
) -> Result<Vec<PgRow>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query(sql).bind(ids).fetch_all(&mut *conn).await.map_err(|e| db_error(e, format_args!("load {what}")))
}

/// Loads one fact per key (a key given twice gets two equal facts), in the order of `keys`,
/// locking what a batch may change when `lock` says so (see the module documentation).
///
/// # Errors
/// [`StoreError::Unavailable`] when a query fails (a lock not granted within the statement
/// timeout included), [`StoreError::Conflict`] when PostgreSQL broke a deadlock by failing this
/// transaction, [`StoreError::Corrupt`] when a row does not decode.
pub(crate) async fn load(conn: &mut PgConnection, keys: &[Key], lock: Lock) -> Result<Vec<Fact>, StoreError> {
    let want = Wanted::of(keys);

    let found = fetch(conn, USERS.sql(lock), ids(&want.users), "users").await?;
    let users = index(&found, rows::user, |u| u.id.uuid())?;

    let found = fetch(conn, ACCOUNTS.sql(lock), ids(&want.accounts), "accounts").await?;
    let accounts = index(&found, rows::account, |a| a.id.uuid())?;

    let group_ids = ids(&want.groups);
    let found = fetch(conn, GROUPS.sql(lock), group_ids.clone(), "groups").await?;
    let mut groups = index(&found, rows::group, |g| g.id.uuid())?;
    let members = fetch(conn, MEMBERS, group_ids, "group members").await?;
    add_members(&mut groups, members.iter().map(rows::member).collect::<Result<_, _>>()?);

    // Packets first, and with the packets whose claims are asked for: their locks guard the
    // claims read below.
    let mut packet_ids = want.packets.clone();
    if lock == Lock::ForWrite {
        packet_ids.extend(want.claims_of.iter().copied());
        packet_ids.extend(want.claim_of.iter().map(|(packet, _)| packet.uuid()));
    }
    let found = fetch(conn, PACKETS.sql(lock), ids(&packet_ids), "packets").await?;
    let packets = index(&found, rows::packet, |p| p.id.uuid())?;

    let found = fetch(conn, CLAIMS.sql(lock), ids(&want.claims), "claims").await?;
    let claims = index(&found, rows::claim, |c| c.id.uuid())?;

    let found = fetch(conn, CLAIMS_OF.sql(lock), ids(&want.claims_of), "claims of packets").await?;
    let claims_of = claims_by_packet(found.iter().map(rows::claim).collect::<Result<_, _>>()?);

    let mut claim_of = HashMap::new();
    if !want.claim_of.is_empty() {
        let (packets_asked, users_asked): (Vec<Uuid>, Vec<Uuid>) =
            want.claim_of.iter().map(|(packet, user)| (packet.uuid(), user.uuid())).unzip();
        let found = sqlx::query(CLAIM_OF.sql(lock))
            .bind(packets_asked)
            .bind(users_asked)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| db_error(e, "load the claims of people on packets"))?;
        for row in &found {
            let claim = rows::claim(row)?;
            claim_of.insert((claim.packet_id, claim.user_id), claim);
        }
    }

    let found = fetch(conn, PENDINGS.sql(lock), ids(&want.pendings), "pending transfers").await?;
    let pendings = index(&found, rows::pending, |p| p.transfer.id.uuid())?;

    let found = fetch(conn, TRANSFERS, ids(&want.transfers), "transfers").await?;
    let transfers = index(&found, rows::transfer, |t| t.id.uuid())?;

    let found = fetch(conn, PRINCIPALS, ids(&want.principals), "principals").await?;
    let principals = index(&found, rows::principal, |p| p.key_id.uuid())?;

    let found = fetch(conn, DOCUMENTS.sql(lock), ids(&want.documents), "documents").await?;
    let documents = index(&found, rows::document, |d| d.id.uuid())?;

    let found = fetch(conn, FREEZES.sql(lock), ids(&want.freezes), "freezes").await?;
    let freezes = index(&found, rows::freeze, |f| f.id.uuid())?;
    let found = fetch(conn, FREEZES_OF.sql(lock), ids(&want.freezes_of), "freezes of users").await?;
    let freezes_of = freezes_by_user(found.iter().map(rows::freeze).collect::<Result<_, _>>()?);

    let found = fetch(conn, SEIZURES.sql(lock), ids(&want.seizures), "seizures").await?;
    let seizures = index(&found, rows::seizure, |s| s.id.uuid())?;
    let found = fetch(conn, SEIZURES_OF.sql(lock), ids(&want.seizures_of), "seizures of freezes").await?;
    let seizures_of = seizures_by_freeze(found.iter().map(rows::seizure).collect::<Result<_, _>>()?);

    let found = fetch(conn, REPORTS.sql(lock), ids(&want.reports), "reports").await?;
    let reports = index(&found, rows::report, |r| r.id.uuid())?;
    let found = fetch(conn, OPEN_REPORTS_ON.sql(lock), ids(&want.open_reports_on), "open reports on users").await?;
    let open_reports_on = reports_by_subject(found.iter().map(rows::report).collect::<Result<_, _>>()?);
    let found = fetch(conn, CASES.sql(lock), ids(&want.cases), "cases").await?;
    let cases = index(&found, rows::case, |c| c.id.uuid())?;
    let subjects: std::collections::BTreeSet<Uuid> = want.open_cases.iter().map(|&(subject, _)| subject).collect();
    let found = fetch(conn, OPEN_CASES_OF.sql(lock), ids(&subjects), "open cases of users").await?;
    let open_cases = cases_by_subject(found.iter().map(rows::case).collect::<Result<_, _>>()?);

    let found = fetch(conn, RETURN_REQUESTS.sql(lock), ids(&want.return_requests), "return requests").await?;
    let return_requests = index(&found, rows::return_request, |r| r.id.uuid())?;
    let found = fetch(conn, RETURNS_OF.sql(lock), ids(&want.returns_of), "return requests of payments").await?;
    let returns_of = returns_by_target(found.iter().map(rows::return_request).collect::<Result<_, _>>()?);

    // One question per pair: only payments ask, a few per batch, each answered by the index.
    let mut shares_group = std::collections::HashSet::new();
    for &(a, b) in &want.shares_group {
        let sql = "SELECT EXISTS (SELECT 1 FROM group_members a JOIN group_members b ON b.group_id = a.group_id \
             AND b.user_id = $2 WHERE a.user_id = $1)";
        let (shares,): (bool,) = sqlx::query_as(sql)
            .bind(a)
            .bind(b)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| db_error(e, "ask whether two users share a group"))?;
        if shares {
            shares_group.insert((a, b));
        }
    }

    // One question per user and time: only withdrawals ask (the fan-in rule).
    let mut receipts_since = HashMap::new();
    for &(user, since_ms) in &want.receipts_since {
        let sql = concat!(
            "SELECT ",
            transfer_columns!(),
            " FROM transfers t WHERE t.credit = $1 AND t.id >= $2 AND t.created_at >= $3 \
             AND t.kind IN ('transfer', 'packet_claim') AND t.phase IN ('posted', 'pending') ORDER BY t.id LIMIT $4"
        );
        let limit = i64::from(hongbao_core::world::RECEIPTS_MAX);
        let rows = sqlx::query(sql)
            .bind(hongbao_core::AccountId::wallet(hongbao_core::UserId::from_uuid(user)).uuid())
            .bind(hongbao_store::loaded::receipts_floor(since_ms))
            .bind(since_ms)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| db_error(e, "load a wallet's receipts"))?;
        let found = rows.iter().map(rows::transfer).collect::<Result<Vec<_>, _>>()?;
        receipts_since.insert((user, since_ms), found);
    }

    let found = Found {
        users,
        accounts,
        groups,
        packets,
        claims,
        claim_of,
        claims_of,
        pendings,
        transfers,
        principals,
        documents,
        freezes,
        freezes_of,
        seizures,
        seizures_of,
        reports,
        open_reports_on,
        cases,
        open_cases,
        shares_group,
        receipts_since,
        return_requests,
        returns_of,
    };
    Ok(found.facts(keys))
}
