//! [`load`]: the facts a batch of keys names, in one query per kind of key where that is easy.

use std::collections::{BTreeSet, HashMap};

use hongbao_core::{Fact, Key, PacketId, UserId};
use hongbao_store::StoreError;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, SqliteConnection};
use uuid::Uuid;

use crate::{db_error, rows};
use hongbao_store::loaded::{
    Found, Wanted, add_members, cases_by_subject, claims_by_packet, freezes_by_user, ids, index, reports_by_subject,
    returns_by_target, seizures_by_freeze,
};

/// Ids per `IN (…)` list: far below SQLite's limit on bound parameters, and a power of two so
/// that the padding in [`fetch_in`] never goes past it.
const IN_LIST_MAX: usize = 256;

/// Runs `head` + `?, ?, …)` over `ids`, in chunks, and returns every row found.
///
/// Each chunk is padded to a power of two by repeating its last id (a duplicate in `IN` changes
/// nothing), so a query has at most nine shapes and SQLite's prepared statements are reused.
async fn fetch_in(
    conn: &mut SqliteConnection,
    head: &'static str,
    ids: &[Uuid],
    what: &str,
) -> Result<Vec<SqliteRow>, StoreError> {
    let mut rows = Vec::new();
    for chunk in ids.chunks(IN_LIST_MAX) {
        let Some(&last) = chunk.last() else { continue };
        let slots = chunk.len().next_power_of_two();
        let mut sql = String::with_capacity(head.len() + slots * 3);
        sql.push_str(head);
        for i in 0..slots {
            sql.push_str(if i == 0 { "?" } else { ", ?" });
        }
        sql.push(')');
        // Only placeholders are appended to the static text: no value is ever spliced into SQL.
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for &id in chunk.iter().chain(std::iter::repeat_n(&last, slots - chunk.len())) {
            query = query.bind(id);
        }
        let found = query.fetch_all(&mut *conn).await.map_err(|e| db_error(e, format_args!("load {what}")))?;
        rows.extend(found);
    }
    Ok(rows)
}

/// The claims of `pairs` (packet, claimant), those that exist, in chunks joined against a
/// `VALUES` list: a batch of a thousand claims asks whether each claimant already claimed, and a
/// query each would cost more than the batch's writes.
///
/// `CROSS JOIN` keeps the list as the outer loop (SQLite never reorders it), so each pair is one
/// lookup in the `(packet_id, user_id)` unique index. Chunks are padded to a power of two by
/// repeating their last pair, as in [`fetch_in`], which may answer that claim twice.
async fn fetch_pairs(conn: &mut SqliteConnection, pairs: &[(PacketId, UserId)]) -> Result<Vec<SqliteRow>, StoreError> {
    let mut rows = Vec::new();
    for chunk in pairs.chunks(IN_LIST_MAX / 2) {
        let Some(&last) = chunk.last() else { continue };
        let slots = chunk.len().next_power_of_two();
        let mut sql = String::from("SELECT ");
        sql.push_str(claim_columns!());
        sql.push_str(" FROM (VALUES ");
        for i in 0..slots {
            sql.push_str(if i == 0 { "(?, ?)" } else { ", (?, ?)" });
        }
        sql.push_str(") AS w CROSS JOIN claims c ON c.packet_id = w.column1 AND c.user_id = w.column2");
        // Only placeholders are appended to the static text: no value is ever spliced into SQL.
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for &(packet, user) in chunk.iter().chain(std::iter::repeat_n(&last, slots - chunk.len())) {
            query = query.bind(packet.uuid()).bind(user.uuid());
        }
        let found = query.fetch_all(&mut *conn).await.map_err(|e| db_error(e, "load the claims of claimants"))?;
        rows.extend(found);
    }
    Ok(rows)
}

/// Loads one fact per key (a key given twice gets two equal facts), in the order of `keys`.
///
/// # Errors
/// [`StoreError::Unavailable`] when a query fails, [`StoreError::Corrupt`] when a row does not
/// decode.
pub(crate) async fn load(conn: &mut SqliteConnection, keys: &[Key]) -> Result<Vec<Fact>, StoreError> {
    let want = Wanted::of(keys);

    let head = concat!("SELECT ", user_columns!(), " FROM users WHERE id IN (");
    let users = index(&fetch_in(conn, head, &ids(&want.users), "users").await?, rows::user, |u| u.id.uuid())?;

    let head = concat!("SELECT ", account_columns!(), " FROM accounts WHERE id IN (");
    let found = fetch_in(conn, head, &ids(&want.accounts), "accounts").await?;
    let accounts = index(&found, rows::account, |a| a.id.uuid())?;

    let group_ids = ids(&want.groups);
    let head = concat!("SELECT ", group_columns!(), " FROM groups WHERE id IN (");
    let mut groups = index(&fetch_in(conn, head, &group_ids, "groups").await?, rows::group, |g| g.id.uuid())?;
    let head = "SELECT group_id, user_id FROM group_members WHERE group_id IN (";
    let members = fetch_in(conn, head, &group_ids, "group members").await?;
    add_members(&mut groups, members.iter().map(rows::member).collect::<Result<_, _>>()?);

    let head = concat!("SELECT ", packet_columns!(), " FROM packets WHERE id IN (");
    let packets = index(&fetch_in(conn, head, &ids(&want.packets), "packets").await?, rows::packet, |p| p.id.uuid())?;

    let head = concat!("SELECT ", claim_columns!(), " FROM claims WHERE id IN (");
    let claims = index(&fetch_in(conn, head, &ids(&want.claims), "claims").await?, rows::claim, |c| c.id.uuid())?;

    let head = concat!("SELECT ", claim_columns!(), " FROM claims WHERE packet_id IN (");
    let found = fetch_in(conn, head, &ids(&want.claims_of), "claims of packets").await?;
    let claims_of = claims_by_packet(found.iter().map(rows::claim).collect::<Result<_, _>>()?);

    let pairs: Vec<(PacketId, UserId)> = want.claim_of.iter().copied().collect();
    let mut claim_of = HashMap::new();
    for row in fetch_pairs(conn, &pairs).await? {
        let claim = rows::claim(&row)?;
        claim_of.insert((claim.packet_id, claim.user_id), claim);
    }

    let head = concat!(
        "SELECT ",
        transfer_columns!(),
        ", p.status AS pending_status, p.resolved_at AS resolved_at \
         FROM pendings p JOIN transfers t ON t.id = p.transfer_id WHERE p.transfer_id IN ("
    );
    let found = fetch_in(conn, head, &ids(&want.pendings), "pending transfers").await?;
    let pendings = index(&found, rows::pending, |p| p.transfer.id.uuid())?;

    let head = concat!("SELECT ", transfer_columns!(), " FROM transfers t WHERE t.id IN (");
    let found = fetch_in(conn, head, &ids(&want.transfers), "transfers").await?;
    let transfers = index(&found, rows::transfer, |t| t.id.uuid())?;

    let head = concat!("SELECT ", principal_columns!(), " FROM principals WHERE key_id IN (");
    let found = fetch_in(conn, head, &ids(&want.principals), "principals").await?;
    let principals = index(&found, rows::principal, |p| p.key_id.uuid())?;

    let head = concat!("SELECT ", document_columns!(), " FROM documents WHERE id IN (");
    let found = fetch_in(conn, head, &ids(&want.documents), "documents").await?;
    let documents = index(&found, rows::document, |d| d.id.uuid())?;

    let head = concat!("SELECT ", freeze_columns!(), " FROM freezes WHERE id IN (");
    let found = fetch_in(conn, head, &ids(&want.freezes), "freezes").await?;
    let freezes = index(&found, rows::freeze, |f| f.id.uuid())?;
    let head = concat!("SELECT ", freeze_columns!(), " FROM freezes WHERE user_id IN (");
    let found = fetch_in(conn, head, &ids(&want.freezes_of), "freezes of users").await?;
    let freezes_of = freezes_by_user(found.iter().map(rows::freeze).collect::<Result<_, _>>()?);

    let head = concat!("SELECT ", seizure_columns!(), " FROM seizures WHERE id IN (");
    let found = fetch_in(conn, head, &ids(&want.seizures), "seizures").await?;
    let seizures = index(&found, rows::seizure, |s| s.id.uuid())?;
    let head = concat!("SELECT ", seizure_columns!(), " FROM seizures WHERE freeze_id IN (");
    let found = fetch_in(conn, head, &ids(&want.seizures_of), "seizures of freezes").await?;
    let seizures_of = seizures_by_freeze(found.iter().map(rows::seizure).collect::<Result<_, _>>()?);

    let head = concat!("SELECT ", report_columns!(), " FROM reports WHERE id IN (");
    let found = fetch_in(conn, head, &ids(&want.reports), "reports").await?;
    let reports = index(&found, rows::report, |r| r.id.uuid())?;
    let head = concat!("SELECT ", report_columns!(), " FROM reports WHERE status = 'open' AND subject IN (");
    let found = fetch_in(conn, head, &ids(&want.open_reports_on), "open reports on users").await?;
    let open_reports_on = reports_by_subject(found.iter().map(rows::report).collect::<Result<_, _>>()?);
    let head = concat!("SELECT ", case_columns!(), " FROM cases WHERE id IN (");
    let found = fetch_in(conn, head, &ids(&want.cases), "cases").await?;
    let cases = index(&found, rows::case, |c| c.id.uuid())?;
    let subjects: BTreeSet<Uuid> = want.open_cases.iter().map(|&(subject, _)| subject).collect();
    let head = concat!("SELECT ", case_columns!(), " FROM cases WHERE status = 'open' AND subject IN (");
    let found = fetch_in(conn, head, &ids(&subjects), "open cases of users").await?;
    let open_cases = cases_by_subject(found.iter().map(rows::case).collect::<Result<_, _>>()?);

    let head = concat!("SELECT ", return_request_columns!(), " FROM return_requests WHERE id IN (");
    let found = fetch_in(conn, head, &ids(&want.return_requests), "return requests").await?;
    let return_requests = index(&found, rows::return_request, |r| r.id.uuid())?;
    let head = concat!("SELECT ", return_request_columns!(), " FROM return_requests WHERE target IN (");
    let found = fetch_in(conn, head, &ids(&want.returns_of), "return requests of payments").await?;
    let returns_of = returns_by_target(found.iter().map(rows::return_request).collect::<Result<_, _>>()?);

    // One question per pair: only payments ask, a few per batch, each answered by the index.
    let mut shares_group = std::collections::HashSet::new();
    for &(a, b) in &want.shares_group {
        let sql = "SELECT EXISTS (SELECT 1 FROM group_members a JOIN group_members b ON b.group_id = a.group_id \
             AND b.user_id = ?2 WHERE a.user_id = ?1)";
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
            " FROM transfers t WHERE t.credit = ?1 AND t.id >= ?2 AND t.created_at >= ?3 \
             AND t.kind IN ('transfer', 'packet_claim') AND t.phase IN ('posted', 'pending') ORDER BY t.id LIMIT ?4"
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
