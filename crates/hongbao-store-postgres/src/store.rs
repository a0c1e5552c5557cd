//! `Store` for [`PostgresStore`]: transactions, history, the dump, the log's reads, and the
//! state several nodes share (nonces, the development clock, the log's key, secrets, purges).

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use hongbao_core::case::{Case, CaseKind, CaseStatus, Report};
use hongbao_core::evidence::EvidenceFile;
use hongbao_core::freeze::{Freeze, FreezeStatus};
use hongbao_core::returns::{ReturnRequest, ReturnRole};
use hongbao_core::risk::FreezeKind;
use hongbao_core::seizure::{Seizure, SeizureStatus};
use hongbao_core::{AccountId, EvidenceId, KeyId, PacketId, ReturnRequestId, Timestamp, TransferId, UserId};
use hongbao_store::{CheckpointRow, Dump, HistoryItem, LogRow, NonceRecord, ReadTx, Store, StoreError, WriteTx};
use sqlx::PgConnection;
use sqlx::postgres::PgRow;

use crate::tx::{PgReadTx, PgWriteTx};
use crate::{PostgresStore, db_error, deadlines, rows};
use hongbao_store::assemble::{self, Tables};

/// The history query, with or without the `before` bound. Each side of the transfer is read
/// newest first from its own index and cut at `limit`, then the two are merged: an `OR` of the
/// two columns could not use either index in order.
macro_rules! history_query {
    ($before:literal) => {
        concat!(
            "WITH mine (id) AS ( \
                 (SELECT id FROM transfers WHERE debit = $1",
            $before,
            " AND phase IN ('posted', 'pending') ORDER BY id DESC LIMIT $3) \
                 UNION ALL \
                 (SELECT id FROM transfers WHERE credit = $1",
            $before,
            " AND phase IN ('posted', 'pending') ORDER BY id DESC LIMIT $3) \
             ) \
             SELECT ",
            transfer_columns!(),
            ", p.status AS pending_status \
             FROM mine JOIN transfers t ON t.id = mine.id LEFT JOIN pendings p ON p.transfer_id = t.id \
             ORDER BY t.id DESC LIMIT $3"
        )
    };
}

fn decode_all<T>(found: &[PgRow], decode: fn(&PgRow) -> Result<T, StoreError>) -> Result<Vec<T>, StoreError> {
    found.iter().map(decode).collect()
}

async fn fetch_all(conn: &mut PgConnection, sql: &'static str, what: &str) -> Result<Vec<PgRow>, StoreError> {
    sqlx::query(sql).fetch_all(&mut *conn).await.map_err(|e| db_error(e, format_args!("read all {what}")))
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn durability(&self) -> String {
        self.durability.clone()
    }

    async fn write(&self) -> Result<Box<dyn WriteTx>, StoreError> {
        // READ COMMITTED, said explicitly whatever the server's default: the loads lock what they
        // return, and each later statement sees what other nodes committed before it.
        let tx = self
            .writer
            .begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
            .await
            .map_err(|e| db_error(e, "begin a write"))?;
        Ok(Box::new(PgWriteTx { tx, log_size: None }))
    }

    async fn read(&self) -> Result<Box<dyn ReadTx>, StoreError> {
        Ok(Box::new(PgReadTx { tx: self.begin_read().await? }))
    }

    async fn history(
        &self,
        account: AccountId,
        before: Option<TransferId>,
        limit: u32,
    ) -> Result<Vec<HistoryItem>, StoreError> {
        let query = match before {
            Some(before) => sqlx::query(history_query!(" AND id < $2")).bind(account.uuid()).bind(before.uuid()),
            // `$2` is still bound, so that both forms take the same parameters.
            None => sqlx::query(history_query!(" AND $2::uuid IS NULL")).bind(account.uuid()).bind(None::<uuid::Uuid>),
        };
        let found = query
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, format_args!("read the history of {account}")))?;
        found
            .iter()
            .map(|row| Ok(assemble::history_item(account, rows::transfer(row)?, rows::opt_pending_status(row)?)))
            .collect()
    }

    async fn dump(&self) -> Result<Dump, StoreError> {
        // One snapshot, so the check sees one consistent state however long it takes.
        let mut tx = self.begin_read().await?;
        let conn: &mut PgConnection = &mut tx;
        let mut tables = Tables::default();
        let sql = concat!("SELECT ", user_columns!(), " FROM users ORDER BY id");
        tables.users = decode_all(&fetch_all(conn, sql, "users").await?, rows::user)?;
        let sql = concat!("SELECT ", account_columns!(), " FROM accounts ORDER BY id");
        tables.accounts = decode_all(&fetch_all(conn, sql, "accounts").await?, rows::account)?;
        let sql = concat!("SELECT ", group_columns!(), " FROM groups ORDER BY id");
        tables.groups = decode_all(&fetch_all(conn, sql, "groups").await?, rows::group)?;
        let sql = "SELECT group_id, user_id FROM group_members ORDER BY group_id, user_id";
        assemble::with_members(
            &mut tables.groups,
            decode_all(&fetch_all(conn, sql, "group members").await?, rows::member)?,
        )?;
        let sql = concat!("SELECT ", packet_columns!(), " FROM packets ORDER BY id");
        tables.packets = decode_all(&fetch_all(conn, sql, "packets").await?, rows::packet)?;
        let sql = concat!("SELECT ", claim_columns!(), " FROM claims c ORDER BY c.id");
        tables.claims = decode_all(&fetch_all(conn, sql, "claims").await?, rows::claim)?;
        // A LEFT JOIN, so that a pending record without its transfer is seen, not skipped.
        let sql = concat!(
            "SELECT ",
            transfer_columns!(),
            ", p.transfer_id AS pending_transfer_id, p.status AS pending_status, p.resolved_at AS resolved_at \
             FROM pendings p LEFT JOIN transfers t ON t.id = p.transfer_id ORDER BY p.transfer_id"
        );
        for row in fetch_all(conn, sql, "pending transfers").await? {
            let transfer: Option<uuid::Uuid> = sqlx::Row::try_get(&row, "id")
                .map_err(|e| StoreError::Corrupt(format!("pendings.transfer_id: {e}")))?;
            if transfer.is_none() {
                let orphan: uuid::Uuid = sqlx::Row::try_get(&row, "pending_transfer_id")
                    .map_err(|e| StoreError::Corrupt(format!("pendings.transfer_id: {e}")))?;
                return Err(StoreError::Corrupt(format!("pending record {orphan} has no transfer")));
            }
            tables.pendings.push(rows::pending(&row)?);
        }
        let sql = concat!("SELECT ", transfer_columns!(), " FROM transfers t ORDER BY t.id");
        tables.transfers = decode_all(&fetch_all(conn, sql, "transfers").await?, rows::transfer)?;
        let sql = concat!("SELECT ", principal_columns!(), " FROM principals ORDER BY key_id");
        tables.principals = decode_all(&fetch_all(conn, sql, "principals").await?, rows::principal)?;
        let sql = concat!("SELECT ", document_columns!(), " FROM documents ORDER BY id");
        tables.documents = decode_all(&fetch_all(conn, sql, "documents").await?, rows::document)?;
        let sql = concat!("SELECT ", freeze_columns!(), " FROM freezes ORDER BY id");
        tables.freezes = decode_all(&fetch_all(conn, sql, "freezes").await?, rows::freeze)?;
        let sql = concat!("SELECT ", seizure_columns!(), " FROM seizures ORDER BY id");
        tables.seizures = decode_all(&fetch_all(conn, sql, "seizures").await?, rows::seizure)?;
        let sql = concat!("SELECT ", report_columns!(), " FROM reports ORDER BY id");
        tables.reports = decode_all(&fetch_all(conn, sql, "reports").await?, rows::report)?;
        let sql = concat!("SELECT ", return_request_columns!(), " FROM return_requests ORDER BY id");
        tables.return_requests = decode_all(&fetch_all(conn, sql, "return requests").await?, rows::return_request)?;
        let sql = concat!("SELECT ", case_columns!(), " FROM cases ORDER BY id");
        tables.cases = decode_all(&fetch_all(conn, sql, "cases").await?, rows::case)?;
        let sql = concat!("SELECT ", idempotency_columns!(), " FROM idempotency ORDER BY principal, key");
        tables.idempotency = decode_all(&fetch_all(conn, sql, "idempotency records").await?, rows::idempotency)?;
        let sql = "SELECT seq, body::text AS body FROM events ORDER BY seq";
        tables.events = decode_all(&fetch_all(conn, sql, "events").await?, rows::event)?;
        let sql = concat!("SELECT ", log_columns!(), " FROM log_entries ORDER BY idx");
        tables.log = decode_all(&fetch_all(conn, sql, "log entries").await?, rows::log_row)?;
        let sql = concat!("SELECT ", checkpoint_columns!(), " FROM checkpoints ORDER BY size");
        tables.checkpoints = decode_all(&fetch_all(conn, sql, "checkpoints").await?, rows::checkpoint)?;
        tables.deadlines = deadlines::all(conn).await?;
        Ok(tables.into_dump())
    }

    async fn has_operator(&self) -> Result<bool, StoreError> {
        // Answered from the partial index `principals_operators`.
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM principals WHERE operator_name IS NOT NULL)")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| db_error(e, "look for an operator"))
    }

    async fn log_entries(&self, start: u64, limit: u32) -> Result<Vec<LogRow>, StoreError> {
        // No entry has an index past i64::MAX, so a start beyond it finds nothing.
        let Ok(start) = i64::try_from(start) else { return Ok(Vec::new()) };
        let sql = concat!("SELECT ", log_columns!(), " FROM log_entries WHERE idx >= $1 ORDER BY idx LIMIT $2");
        let found = sqlx::query(sql)
            .bind(start)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, format_args!("read log entries from {start}")))?;
        decode_all(&found, rows::log_row)
    }

    async fn log_index_of(&self, transfer: TransferId) -> Result<Option<u64>, StoreError> {
        let found = sqlx::query("SELECT idx FROM log_entries WHERE transfer_id = $1")
            .bind(transfer.uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error(e, format_args!("find the log entry of transfer {transfer}")))?;
        found.map(|row| rows::log_index(&row)).transpose()
    }

    async fn log_entries_of_packet(&self, packet: PacketId, limit: u32) -> Result<Vec<LogRow>, StoreError> {
        // Read in index order straight from `log_entries_by_packet`.
        let sql = concat!("SELECT ", log_columns!(), " FROM log_entries WHERE packet_id = $1 ORDER BY idx LIMIT $2");
        let found = sqlx::query(sql)
            .bind(packet.uuid())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, format_args!("read the log entries of packet {packet}")))?;
        decode_all(&found, rows::log_row)
    }

    async fn latest_checkpoint(&self) -> Result<Option<CheckpointRow>, StoreError> {
        let sql = concat!("SELECT ", checkpoint_columns!(), " FROM checkpoints ORDER BY size DESC LIMIT 1");
        let found =
            sqlx::query(sql).fetch_optional(&self.pool).await.map_err(|e| db_error(e, "read the latest checkpoint"))?;
        found.as_ref().map(rows::checkpoint).transpose()
    }

    fn shared(&self) -> bool {
        true
    }

    async fn remember_nonce(
        &self,
        key: KeyId,
        digest: [u8; 16],
        expires_at_s: i64,
        now_s: i64,
    ) -> Result<bool, StoreError> {
        let fresh = self.remember_nonces(&[NonceRecord { key, digest, expires_at_s }], now_s, false).await?;
        Ok(fresh.first() == Some(&true))
    }

    async fn remember_nonce_covered(
        &self,
        key: KeyId,
        digest: [u8; 16],
        expires_at_s: i64,
        now_s: i64,
    ) -> Result<bool, StoreError> {
        let fresh = self.remember_nonces(&[NonceRecord { key, digest, expires_at_s }], now_s, true).await?;
        Ok(fresh.first() == Some(&true))
    }

    async fn remember_nonces(
        &self,
        nonces: &[NonceRecord],
        now_s: i64,
        covered: bool,
    ) -> Result<Vec<bool>, StoreError> {
        // One statement for all of them, in one transaction, atomic between nodes: a new nonce
        // is inserted, an expired record is renewed, and a live one is left alone (no row
        // returned). Of two nodes inserting the same nonce at once, the second waits for the
        // first and then finds its live record. The rest go in key order, so that nodes
        // remembering overlapping nonces wait for each other rather than deadlock; a repeat
        // within the call is a replay without asking (one statement may not upsert a row twice).
        //
        // Covered: committed without waiting for its own WAL flush. The records are visible to
        // every node at once (visibility does not wait for the flush), and the next synchronous
        // commit on this server — the engine's batch that answers the requests — flushes the
        // WAL past them. Only a crash of PostgreSQL itself within a few `wal_writer_delay`s, with
        // no synchronous commit since, can lose them, and then the requests they guarded had no
        // durable outcome to replay.
        let mut first: HashMap<(KeyId, [u8; 16]), usize> = HashMap::with_capacity(nonces.len());
        for (i, n) in nonces.iter().enumerate() {
            first.entry((n.key, n.digest)).or_insert(i);
        }
        let mut asked: Vec<&NonceRecord> = first.values().map(|&i| &nonces[i]).collect();
        asked.sort_unstable_by_key(|n| (n.key, n.digest));
        if asked.is_empty() {
            return Ok(Vec::new());
        }
        let doing = || format!("remember {} nonces", asked.len());
        let mut tx = self.pool.begin().await.map_err(|e| db_error(e, doing()))?;
        if covered {
            sqlx::query("SET LOCAL synchronous_commit = off")
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error(e, doing()))?;
        }
        let stored: Vec<(uuid::Uuid, Vec<u8>)> = sqlx::query_as(
            "INSERT INTO nonces (key_id, digest, expires_at) \
             SELECT * FROM UNNEST($1::uuid[], $2::bytea[], $3::bigint[]) \
             ON CONFLICT (key_id, digest) DO UPDATE SET expires_at = EXCLUDED.expires_at \
             WHERE nonces.expires_at <= $4 \
             RETURNING key_id, digest",
        )
        .bind(asked.iter().map(|n| n.key.uuid()).collect::<Vec<_>>())
        .bind(asked.iter().map(|n| n.digest.to_vec()).collect::<Vec<_>>())
        .bind(asked.iter().map(|n| n.expires_at_s).collect::<Vec<_>>())
        .bind(now_s)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| db_error(e, doing()))?;
        tx.commit().await.map_err(|e| db_error(e, doing()))?;
        let fresh: HashSet<(uuid::Uuid, Vec<u8>)> = stored.into_iter().collect();
        Ok(nonces
            .iter()
            .enumerate()
            .map(|(i, n)| {
                first.get(&(n.key, n.digest)) == Some(&i) && fresh.contains(&(n.key.uuid(), n.digest.to_vec()))
            })
            .collect())
    }

    async fn live_nonces(&self, now_s: i64, limit: u32) -> Result<Vec<NonceRecord>, StoreError> {
        let found = sqlx::query(
            "SELECT key_id, digest, expires_at FROM nonces WHERE expires_at > $1 ORDER BY expires_at LIMIT $2",
        )
        .bind(now_s)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error(e, "read the live nonces"))?;
        decode_all(&found, rows::nonce)
    }

    async fn secrets_not_starting_with(
        &self,
        sealed_prefix: &str,
        limit: u32,
    ) -> Result<Vec<(KeyId, String)>, StoreError> {
        let found = sqlx::query(
            "SELECT key_id, secret FROM principals WHERE NOT starts_with(secret, $1) ORDER BY key_id LIMIT $2",
        )
        .bind(sealed_prefix)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error(e, "find the secrets stored in the clear"))?;
        decode_all(&found, rows::stored_secret)
    }

    async fn secret_starting_with(&self, sealed_prefix: &str) -> Result<Option<(KeyId, String)>, StoreError> {
        let found =
            sqlx::query("SELECT key_id, secret FROM principals WHERE starts_with(secret, $1) ORDER BY key_id LIMIT 1")
                .bind(sealed_prefix)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| db_error(e, "find a sealed secret"))?;
        found.as_ref().map(rows::stored_secret).transpose()
    }

    async fn replace_secrets(&self, replaced: &[(KeyId, String, String)]) -> Result<u64, StoreError> {
        if replaced.is_empty() {
            return Ok(0);
        }
        let done = sqlx::query(
            "UPDATE principals SET secret = r.new FROM UNNEST($1::uuid[], $2::text[], $3::text[]) AS r (key_id, old, new) \
             WHERE principals.key_id = r.key_id AND principals.secret = r.old",
        )
        .bind(replaced.iter().map(|(key, _, _)| key.uuid()).collect::<Vec<_>>())
        .bind(replaced.iter().map(|(_, old, _)| old.as_str()).collect::<Vec<_>>())
        .bind(replaced.iter().map(|(_, _, new)| new.as_str()).collect::<Vec<_>>())
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, format_args!("replace {} secrets", replaced.len())))?;
        // The old rows stay in the table's pages as dead tuples until rewritten: a full vacuum
        // rewrites the table without them. It runs once, when a database written by an older
        // version is first opened by this one.
        sqlx::query("VACUUM FULL principals")
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, "vacuum the principals after replacing secrets"))?;
        Ok(done.rows_affected())
    }

    async fn forget_nonces(&self, before_s: i64, limit: u32) -> Result<u64, StoreError> {
        // SKIP LOCKED: nodes purging at once share the work instead of queueing for it.
        let done = sqlx::query(
            "DELETE FROM nonces WHERE (key_id, digest) IN \
             (SELECT key_id, digest FROM nonces WHERE expires_at < $1 ORDER BY expires_at LIMIT $2 \
              FOR UPDATE SKIP LOCKED)",
        )
        .bind(before_s)
        .bind(i64::from(limit))
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, "forget expired nonces"))?;
        Ok(done.rows_affected())
    }

    async fn dev_clock_offset(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT offset_ms FROM dev_clock WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| db_error(e, "read the development clock"))
    }

    async fn advance_dev_clock(&self, by_ms: i64) -> Result<i64, StoreError> {
        if by_ms < 0 {
            return Err(StoreError::Corrupt(format!("the development clock cannot move back (by {by_ms} ms)")));
        }
        // One statement: concurrent moves from several nodes add up, none is lost.
        let moved: Option<i64> = sqlx::query_scalar(
            "UPDATE dev_clock SET offset_ms = offset_ms + $1 \
             WHERE id = 1 AND offset_ms <= 9223372036854775807 - $1 RETURNING offset_ms",
        )
        .bind(by_ms)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error(e, "move the development clock"))?;
        moved.ok_or_else(|| StoreError::Corrupt(format!("moving the development clock by {by_ms} ms overflows")))
    }

    async fn log_key(&self, proposed: &str) -> Result<String, StoreError> {
        // Two statements: the select's snapshot is taken after the insert, so it sees the row
        // whichever node inserted it.
        sqlx::query("INSERT INTO log_key (id, verifier) VALUES (1, $1) ON CONFLICT (id) DO NOTHING")
            .bind(proposed)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, "store the log's key"))?;
        sqlx::query_scalar("SELECT verifier FROM log_key WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| db_error(e, "read the log's key"))
    }

    async fn put_evidence(&self, file: &EvidenceFile) -> Result<(EvidenceId, Timestamp), StoreError> {
        // The same uploader's same file is the one stored first: insert unless it is there,
        // then read back whichever row holds it.
        let inserted = sqlx::query(
            "INSERT INTO evidence (id, uploader, content_type, sha256, bytes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (uploader, sha256, content_type) DO NOTHING",
        )
        .bind(file.id.uuid())
        .bind(file.uploader.uuid())
        .bind(file.content_type.as_str())
        .bind(&file.sha256[..])
        .bind(&file.bytes)
        .bind(file.created_at.millis())
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, format_args!("store evidence file {}", file.id)))?;
        if inserted.rows_affected() == 1 {
            return Ok((file.id, file.created_at));
        }
        let (found, created_at): (uuid::Uuid, i64) = sqlx::query_as(
            "SELECT id, created_at FROM evidence WHERE uploader = $1 AND sha256 = $2 AND content_type = $3",
        )
        .bind(file.uploader.uuid())
        .bind(&file.sha256[..])
        .bind(file.content_type.as_str())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| db_error(e, "find the evidence file stored before"))?;
        Ok((EvidenceId::from_uuid(found), Timestamp::from_millis(created_at)))
    }

    async fn evidence(&self, id: EvidenceId) -> Result<Option<EvidenceFile>, StoreError> {
        let sql = concat!("SELECT ", evidence_columns!(), " FROM evidence WHERE id = $1");
        let found = sqlx::query(sql)
            .bind(id.uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error(e, format_args!("read evidence file {id}")))?;
        found.as_ref().map(rows::evidence).transpose()
    }

    async fn evidence_cited(&self, id: EvidenceId) -> Result<bool, StoreError> {
        // A report keeps its evidence ids in its JSON body: the id's quoted text is found there
        // only as one of them (ids have one fixed length). Reports are few and an officer opening
        // a file is rare, so a scan is fine.
        let quoted = format!("\"{id}\"");
        let sql = "SELECT EXISTS (SELECT 1 FROM documents WHERE evidence_id = $1) \
             OR EXISTS (SELECT 1 FROM reports WHERE strpos(body, $2) > 0)";
        let (cited,): (bool,) = sqlx::query_as(sql)
            .bind(id.uuid())
            .bind(quoted)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| db_error(e, format_args!("look for what cites evidence file {id}")))?;
        Ok(cited)
    }

    async fn freezes(
        &self,
        status: Option<FreezeStatus>,
        kind: Option<FreezeKind>,
        limit: u32,
    ) -> Result<Vec<Freeze>, StoreError> {
        let sql = concat!(
            "SELECT ",
            freeze_columns!(),
            " FROM freezes WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR kind = $2) \
             ORDER BY created_at DESC, id DESC LIMIT $3"
        );
        let found = sqlx::query(sql)
            .bind(status.map(FreezeStatus::as_str))
            .bind(kind.map(FreezeKind::as_str))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, "list freezes"))?;
        found.iter().map(rows::freeze).collect()
    }

    async fn seizures(&self, status: Option<SeizureStatus>, limit: u32) -> Result<Vec<Seizure>, StoreError> {
        let sql = concat!(
            "SELECT ",
            seizure_columns!(),
            " FROM seizures WHERE $1::text IS NULL OR status = $1 ORDER BY proposed_at DESC, id DESC LIMIT $2"
        );
        let found = sqlx::query(sql)
            .bind(status.map(SeizureStatus::as_str))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, "list forced transfers"))?;
        found.iter().map(rows::seizure).collect()
    }

    async fn reports_on(&self, subject: UserId, limit: u32) -> Result<Vec<Report>, StoreError> {
        let sql = concat!("SELECT ", report_columns!(), " FROM reports WHERE subject = $1 ORDER BY id DESC LIMIT $2");
        let found = sqlx::query(sql)
            .bind(subject.uuid())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, "list reports"))?;
        found.iter().map(rows::report).collect()
    }

    async fn return_requests_of(
        &self,
        user: UserId,
        role: Option<ReturnRole>,
        before: Option<ReturnRequestId>,
        limit: u32,
    ) -> Result<Vec<ReturnRequest>, StoreError> {
        // A role's name is its column's; the condition is made of fixed texts, never of input.
        let whose = match role {
            Some(role) => format!("{} = $1", role.as_str()),
            None => "(payer = $1 OR payee = $1 OR mediator = $1)".to_owned(),
        };
        let sql = format!(
            "SELECT {} FROM return_requests WHERE {whose} AND id < $2 ORDER BY id DESC LIMIT $3",
            return_request_columns!()
        );
        let found = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user.uuid())
            .bind(before.map_or(uuid::Uuid::max(), |id| id.uuid()))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, format_args!("list the return requests of {user}")))?;
        found.iter().map(rows::return_request).collect()
    }

    async fn cases(
        &self,
        status: Option<CaseStatus>,
        kind: Option<CaseKind>,
        limit: u32,
    ) -> Result<Vec<Case>, StoreError> {
        let sql = concat!(
            "SELECT ",
            case_columns!(),
            " FROM cases WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR kind = $2) \
             ORDER BY id DESC LIMIT $3"
        );
        let found = sqlx::query(sql)
            .bind(status.map(CaseStatus::as_str))
            .bind(kind.map(CaseKind::as_str))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, "list cases"))?;
        found.iter().map(rows::case).collect()
    }

    async fn purge_idempotency(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError> {
        // SKIP LOCKED: a record a batch is replaying right now is left for the next purge.
        let done = sqlx::query(
            "DELETE FROM idempotency WHERE (principal, key) IN \
             (SELECT principal, key FROM idempotency WHERE created_at < $1 ORDER BY created_at LIMIT $2 \
              FOR UPDATE SKIP LOCKED)",
        )
        .bind(before.millis())
        .bind(i64::from(limit))
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, "purge idempotency records"))?;
        Ok(done.rows_affected())
    }
}
