//! `Store` for [`SqliteStore`]: transactions, history, the dump, the log's reads, and the
//! state kept outside batches (nonces, the development clock, the log's key, secrets, purges).

use async_trait::async_trait;
use hongbao_core::case::{Case, CaseKind, CaseStatus, Report};
use hongbao_core::evidence::EvidenceFile;
use hongbao_core::freeze::{Freeze, FreezeStatus};
use hongbao_core::returns::{ReturnRequest, ReturnRole};
use hongbao_core::risk::FreezeKind;
use hongbao_core::seizure::{Seizure, SeizureStatus};
use hongbao_core::{AccountId, EvidenceId, KeyId, PacketId, ReturnRequestId, Timestamp, TransferId, UserId};
use hongbao_store::{CheckpointRow, Dump, HistoryItem, LogRow, NonceRecord, ReadTx, Store, StoreError, WriteTx};
use sqlx::SqliteConnection;
use sqlx::sqlite::SqliteRow;

use crate::tx::{SqliteReadTx, SqliteWriteTx};
use crate::{SqliteStore, db_error, deadlines, rows};
use hongbao_store::assemble::{self, Tables};

/// The history query, with or without the `before` bound. Each side of the transfer is read
/// newest first from its own index and cut at `limit`, then the two are merged: an `OR` of the
/// two columns would make SQLite scan or sort.
macro_rules! history_query {
    ($before:literal) => {
        concat!(
            "WITH mine (id) AS ( \
                 SELECT id FROM (SELECT id FROM transfers WHERE debit = ?1",
            $before,
            " AND phase IN ('posted', 'pending') ORDER BY id DESC LIMIT ?3) \
                 UNION ALL \
                 SELECT id FROM (SELECT id FROM transfers WHERE credit = ?1",
            $before,
            " AND phase IN ('posted', 'pending') ORDER BY id DESC LIMIT ?3) \
             ) \
             SELECT ",
            transfer_columns!(),
            ", p.status AS pending_status \
             FROM mine JOIN transfers t ON t.id = mine.id LEFT JOIN pendings p ON p.transfer_id = t.id \
             ORDER BY t.id DESC LIMIT ?3"
        )
    };
}

fn decode_all<T>(found: &[SqliteRow], decode: fn(&SqliteRow) -> Result<T, StoreError>) -> Result<Vec<T>, StoreError> {
    found.iter().map(decode).collect()
}

async fn fetch_all(conn: &mut SqliteConnection, sql: &'static str, what: &str) -> Result<Vec<SqliteRow>, StoreError> {
    sqlx::query(sql).fetch_all(&mut *conn).await.map_err(|e| db_error(e, format_args!("read all {what}")))
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn durability(&self) -> String {
        self.durability.describe().to_owned()
    }

    async fn write(&self) -> Result<Box<dyn WriteTx>, StoreError> {
        // IMMEDIATE takes the write lock now: the batch's loads then see the state its commit
        // will build on, and the commit cannot fail for want of the lock.
        let mut conn = self.writer.acquire().await.map_err(|e| db_error(e, "begin a write"))?;
        if let Err(err) = sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await {
            // A connection that cannot begin is not trusted for the next batch either.
            conn.close_on_drop();
            return Err(db_error(err, "begin a write"));
        }
        Ok(Box::new(SqliteWriteTx { conn: Some(conn) }))
    }

    async fn read(&self) -> Result<Box<dyn ReadTx>, StoreError> {
        // A deferred transaction: its snapshot is fixed by its first read, and every later load
        // sees that same snapshot.
        let tx = self.readers.begin().await.map_err(|e| db_error(e, "begin a read"))?;
        Ok(Box::new(SqliteReadTx { tx }))
    }

    async fn history(
        &self,
        account: AccountId,
        before: Option<TransferId>,
        limit: u32,
    ) -> Result<Vec<HistoryItem>, StoreError> {
        let query = match before {
            Some(before) => sqlx::query(history_query!(" AND id < ?2")).bind(account.uuid()).bind(before.uuid()),
            None => sqlx::query(history_query!("")).bind(account.uuid()).bind(None::<uuid::Uuid>),
        };
        let found = query
            .bind(i64::from(limit))
            .fetch_all(&self.readers)
            .await
            .map_err(|e| db_error(e, format_args!("read the history of {account}")))?;
        found
            .iter()
            .map(|row| Ok(assemble::history_item(account, rows::transfer(row)?, rows::opt_pending_status(row)?)))
            .collect()
    }

    async fn dump(&self) -> Result<Dump, StoreError> {
        // One read transaction, so the check sees one consistent state however long it takes.
        let mut tx = self.readers.begin().await.map_err(|e| db_error(e, "begin a read"))?;
        let conn: &mut SqliteConnection = &mut tx;
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
        let sql = concat!("SELECT ", claim_columns!(), " FROM claims ORDER BY id");
        tables.claims = decode_all(&fetch_all(conn, sql, "claims").await?, rows::claim)?;
        let sql = concat!(
            "SELECT ",
            transfer_columns!(),
            ", p.status AS pending_status, p.resolved_at AS resolved_at \
             FROM pendings p JOIN transfers t ON t.id = p.transfer_id ORDER BY p.transfer_id"
        );
        tables.pendings = decode_all(&fetch_all(conn, sql, "pending transfers").await?, rows::pending)?;
        let pending_rows: i64 = sqlx::query_scalar("SELECT count(*) FROM pendings")
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| db_error(e, "count pending transfers"))?;
        if usize::try_from(pending_rows).ok() != Some(tables.pendings.len()) {
            return Err(StoreError::Corrupt(format!(
                "{pending_rows} pending records but only {} have their transfer",
                tables.pendings.len()
            )));
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
        let sql = concat!("SELECT ", case_columns!(), " FROM cases ORDER BY id");
        tables.cases = decode_all(&fetch_all(conn, sql, "cases").await?, rows::case)?;
        let sql = concat!("SELECT ", return_request_columns!(), " FROM return_requests ORDER BY id");
        tables.return_requests = decode_all(&fetch_all(conn, sql, "return requests").await?, rows::return_request)?;
        let sql = concat!("SELECT ", idempotency_columns!(), " FROM idempotency ORDER BY principal, key");
        tables.idempotency = decode_all(&fetch_all(conn, sql, "idempotency records").await?, rows::idempotency)?;
        let sql = "SELECT seq, body FROM events ORDER BY seq";
        tables.events = decode_all(&fetch_all(conn, sql, "events").await?, rows::event)?;
        let sql = concat!("SELECT ", log_columns!(), " FROM log_entries ORDER BY idx");
        tables.log = decode_all(&fetch_all(conn, sql, "log entries").await?, rows::log_row)?;
        let sql = concat!("SELECT ", checkpoint_columns!(), " FROM checkpoints ORDER BY size");
        tables.checkpoints = decode_all(&fetch_all(conn, sql, "checkpoints").await?, rows::checkpoint)?;
        tables.deadlines = deadlines::all(conn).await?;
        Ok(tables.into_dump())
    }

    async fn has_operator(&self) -> Result<bool, StoreError> {
        // The condition matches the partial index `principals_operators`, so SQLite answers from
        // it without scanning the users' keys.
        let found: i64 = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM principals WHERE operator_name IS NOT NULL)")
            .fetch_one(&self.readers)
            .await
            .map_err(|e| db_error(e, "look for an operator"))?;
        Ok(found != 0)
    }

    async fn log_entries(&self, start: u64, limit: u32) -> Result<Vec<LogRow>, StoreError> {
        // No entry has an index past i64::MAX, so a start beyond it finds nothing.
        let Ok(start) = i64::try_from(start) else { return Ok(Vec::new()) };
        let sql = concat!("SELECT ", log_columns!(), " FROM log_entries WHERE idx >= ?1 ORDER BY idx LIMIT ?2");
        let found = sqlx::query(sql)
            .bind(start)
            .bind(i64::from(limit))
            .fetch_all(&self.readers)
            .await
            .map_err(|e| db_error(e, format_args!("read log entries from {start}")))?;
        decode_all(&found, rows::log_row)
    }

    async fn log_index_of(&self, transfer: TransferId) -> Result<Option<u64>, StoreError> {
        let found = sqlx::query("SELECT idx FROM log_entries WHERE transfer_id = ?1")
            .bind(transfer.uuid())
            .fetch_optional(&self.readers)
            .await
            .map_err(|e| db_error(e, format_args!("find the log entry of transfer {transfer}")))?;
        found.map(|row| rows::log_index(&row)).transpose()
    }

    async fn log_entries_of_packet(&self, packet: PacketId, limit: u32) -> Result<Vec<LogRow>, StoreError> {
        // Read in index order straight from `log_entries_by_packet`.
        let sql = concat!("SELECT ", log_columns!(), " FROM log_entries WHERE packet_id = ?1 ORDER BY idx LIMIT ?2");
        let found = sqlx::query(sql)
            .bind(packet.uuid())
            .bind(i64::from(limit))
            .fetch_all(&self.readers)
            .await
            .map_err(|e| db_error(e, format_args!("read the log entries of packet {packet}")))?;
        decode_all(&found, rows::log_row)
    }

    async fn latest_checkpoint(&self) -> Result<Option<CheckpointRow>, StoreError> {
        let sql = concat!("SELECT ", checkpoint_columns!(), " FROM checkpoints ORDER BY size DESC LIMIT 1");
        let found = sqlx::query(sql)
            .fetch_optional(&self.readers)
            .await
            .map_err(|e| db_error(e, "read the latest checkpoint"))?;
        found.as_ref().map(rows::checkpoint).transpose()
    }

    async fn remember_nonce(
        &self,
        key: KeyId,
        digest: [u8; 16],
        expires_at_s: i64,
        now_s: i64,
    ) -> Result<bool, StoreError> {
        // One statement: a new nonce is inserted, an expired record is renewed, and a live one is
        // left alone, which changes no row. Through the writer, the one connection that writes.
        let done = sqlx::query(
            "INSERT INTO nonces (key_id, digest, expires_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (key_id, digest) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE nonces.expires_at <= ?4",
        )
        .bind(key.uuid())
        .bind(&digest[..])
        .bind(expires_at_s)
        .bind(now_s)
        .execute(&self.writer)
        .await
        .map_err(|e| db_error(e, format_args!("remember a nonce of key {key}")))?;
        Ok(done.rows_affected() == 1)
    }

    async fn live_nonces(&self, now_s: i64, limit: u32) -> Result<Vec<NonceRecord>, StoreError> {
        // In expiry order from `nonces_by_expiry`.
        let found = sqlx::query(
            "SELECT key_id, digest, expires_at FROM nonces WHERE expires_at > ?1 ORDER BY expires_at LIMIT ?2",
        )
        .bind(now_s)
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await
        .map_err(|e| db_error(e, "read the live nonces"))?;
        decode_all(&found, rows::nonce)
    }

    async fn secrets_not_starting_with(
        &self,
        sealed_prefix: &str,
        limit: u32,
    ) -> Result<Vec<(KeyId, String)>, StoreError> {
        // `substr` rather than LIKE: the prefix is compared as text, whatever characters it has.
        let found = sqlx::query(
            "SELECT key_id, secret FROM principals WHERE substr(secret, 1, length(?1)) <> ?1 ORDER BY key_id LIMIT ?2",
        )
        .bind(sealed_prefix)
        .bind(i64::from(limit))
        .fetch_all(&self.writer)
        .await
        .map_err(|e| db_error(e, "find the secrets stored in the clear"))?;
        decode_all(&found, rows::stored_secret)
    }

    async fn secret_starting_with(&self, sealed_prefix: &str) -> Result<Option<(KeyId, String)>, StoreError> {
        let found = sqlx::query(
            "SELECT key_id, secret FROM principals WHERE substr(secret, 1, length(?1)) = ?1 ORDER BY key_id LIMIT 1",
        )
        .bind(sealed_prefix)
        .fetch_optional(&self.writer)
        .await
        .map_err(|e| db_error(e, "find a sealed secret"))?;
        found.as_ref().map(rows::stored_secret).transpose()
    }

    async fn replace_secrets(&self, replaced: &[(KeyId, String, String)]) -> Result<u64, StoreError> {
        if replaced.is_empty() {
            return Ok(0);
        }
        let mut conn = self.writer.acquire().await.map_err(|e| db_error(e, "replace secrets"))?;
        // Freed bytes zeroed, so the old value does not stay in the page it leaves.
        sqlx::query("PRAGMA secure_delete = ON")
            .execute(&mut *conn)
            .await
            .map_err(|e| db_error(e, "turn on secure_delete"))?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| db_error(e, "replace secrets"))?;
        let mut count = 0;
        for (key, old, new) in replaced {
            let done = sqlx::query("UPDATE principals SET secret = ?1 WHERE key_id = ?2 AND secret = ?3")
                .bind(new)
                .bind(key.uuid())
                .bind(old)
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error(e, format_args!("replace the secret of key {key}")))?;
            count += done.rows_affected();
        }
        tx.commit().await.map_err(|e| db_error(e, "commit the replaced secrets"))?;
        // The WAL still holds the pages as they were: copy it into the file and empty it.
        // VACUUM then rewrites the file without the old pages anywhere in it.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut *conn)
            .await
            .map_err(|e| db_error(e, "checkpoint the WAL after replacing secrets"))?;
        sqlx::query("VACUUM").execute(&mut *conn).await.map_err(|e| db_error(e, "vacuum after replacing secrets"))?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut *conn)
            .await
            .map_err(|e| db_error(e, "checkpoint the WAL after the vacuum"))?;
        Ok(count)
    }

    async fn forget_nonces(&self, before_s: i64, limit: u32) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM nonces WHERE (key_id, digest) IN \
             (SELECT key_id, digest FROM nonces WHERE expires_at < ?1 ORDER BY expires_at LIMIT ?2)",
        )
        .bind(before_s)
        .bind(i64::from(limit))
        .execute(&self.writer)
        .await
        .map_err(|e| db_error(e, "forget expired nonces"))?;
        Ok(done.rows_affected())
    }

    async fn dev_clock_offset(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT offset_ms FROM dev_clock WHERE id = 1")
            .fetch_one(&self.readers)
            .await
            .map_err(|e| db_error(e, "read the development clock"))
    }

    async fn advance_dev_clock(&self, by_ms: i64) -> Result<i64, StoreError> {
        if by_ms < 0 {
            return Err(StoreError::Corrupt(format!("the development clock cannot move back (by {by_ms} ms)")));
        }
        // The guard keeps the sum within i64: SQLite would turn an overflowing sum into a REAL.
        let moved: Option<i64> = sqlx::query_scalar(
            "UPDATE dev_clock SET offset_ms = offset_ms + ?1 \
             WHERE id = 1 AND offset_ms <= 9223372036854775807 - ?1 RETURNING offset_ms",
        )
        .bind(by_ms)
        .fetch_optional(&self.writer)
        .await
        .map_err(|e| db_error(e, "move the development clock"))?;
        moved.ok_or_else(|| StoreError::Corrupt(format!("moving the development clock by {by_ms} ms overflows")))
    }

    async fn log_key(&self, proposed: &str) -> Result<String, StoreError> {
        // Both through the writer: the select sees the row whichever call inserted it.
        sqlx::query("INSERT INTO log_key (id, verifier) VALUES (1, ?1) ON CONFLICT (id) DO NOTHING")
            .bind(proposed)
            .execute(&self.writer)
            .await
            .map_err(|e| db_error(e, "store the log's key"))?;
        sqlx::query_scalar("SELECT verifier FROM log_key WHERE id = 1")
            .fetch_one(&self.writer)
            .await
            .map_err(|e| db_error(e, "read the log's key"))
    }

    async fn put_evidence(&self, file: &EvidenceFile) -> Result<(EvidenceId, Timestamp), StoreError> {
        // The same uploader's same file is the one stored first: insert unless it is there,
        // then read back whichever row holds it.
        let inserted = sqlx::query(
            "INSERT INTO evidence (id, uploader, content_type, sha256, bytes, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (uploader, sha256, content_type) DO NOTHING",
        )
        .bind(file.id.uuid())
        .bind(file.uploader.uuid())
        .bind(file.content_type.as_str())
        .bind(&file.sha256[..])
        .bind(&file.bytes)
        .bind(file.created_at.millis())
        .execute(&self.writer)
        .await
        .map_err(|e| db_error(e, format_args!("store evidence file {}", file.id)))?;
        if inserted.rows_affected() == 1 {
            return Ok((file.id, file.created_at));
        }
        let (found, created_at): (uuid::Uuid, i64) = sqlx::query_as(
            "SELECT id, created_at FROM evidence WHERE uploader = ?1 AND sha256 = ?2 AND content_type = ?3",
        )
        .bind(file.uploader.uuid())
        .bind(&file.sha256[..])
        .bind(file.content_type.as_str())
        .fetch_one(&self.writer)
        .await
        .map_err(|e| db_error(e, "find the evidence file stored before"))?;
        Ok((EvidenceId::from_uuid(found), Timestamp::from_millis(created_at)))
    }

    async fn evidence(&self, id: EvidenceId) -> Result<Option<EvidenceFile>, StoreError> {
        let sql = concat!("SELECT ", evidence_columns!(), " FROM evidence WHERE id = ?1");
        let found = sqlx::query(sql)
            .bind(id.uuid())
            .fetch_optional(&self.readers)
            .await
            .map_err(|e| db_error(e, format_args!("read evidence file {id}")))?;
        found.as_ref().map(rows::evidence).transpose()
    }

    async fn evidence_cited(&self, id: EvidenceId) -> Result<bool, StoreError> {
        // A report keeps its evidence ids in its JSON body: the id's quoted text is found there
        // only as one of them (ids have one fixed length). Reports are few and an officer opening
        // a file is rare, so a scan is fine.
        let quoted = format!("\"{id}\"");
        let sql = "SELECT EXISTS (SELECT 1 FROM documents WHERE evidence_id = ?1) \
             OR EXISTS (SELECT 1 FROM reports WHERE instr(body, ?2) > 0)";
        let (cited,): (bool,) = sqlx::query_as(sql)
            .bind(id.uuid())
            .bind(quoted)
            .fetch_one(&self.readers)
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
            " FROM freezes WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR kind = ?2) \
             ORDER BY created_at DESC, id DESC LIMIT ?3"
        );
        let found = sqlx::query(sql)
            .bind(status.map(FreezeStatus::as_str))
            .bind(kind.map(FreezeKind::as_str))
            .bind(i64::from(limit))
            .fetch_all(&self.readers)
            .await
            .map_err(|e| db_error(e, "list freezes"))?;
        found.iter().map(rows::freeze).collect()
    }

    async fn seizures(&self, status: Option<SeizureStatus>, limit: u32) -> Result<Vec<Seizure>, StoreError> {
        let sql = concat!(
            "SELECT ",
            seizure_columns!(),
            " FROM seizures WHERE ?1 IS NULL OR status = ?1 ORDER BY proposed_at DESC, id DESC LIMIT ?2"
        );
        let found = sqlx::query(sql)
            .bind(status.map(SeizureStatus::as_str))
            .bind(i64::from(limit))
            .fetch_all(&self.readers)
            .await
            .map_err(|e| db_error(e, "list forced transfers"))?;
        found.iter().map(rows::seizure).collect()
    }

    async fn reports_on(&self, subject: UserId, limit: u32) -> Result<Vec<Report>, StoreError> {
        let sql = concat!("SELECT ", report_columns!(), " FROM reports WHERE subject = ?1 ORDER BY id DESC LIMIT ?2");
        let found = sqlx::query(sql)
            .bind(subject.uuid())
            .bind(i64::from(limit))
            .fetch_all(&self.readers)
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
            Some(role) => format!("{} = ?1", role.as_str()),
            None => "(payer = ?1 OR payee = ?1 OR mediator = ?1)".to_owned(),
        };
        let sql = format!(
            "SELECT {} FROM return_requests WHERE {whose} AND id < ?2 ORDER BY id DESC LIMIT ?3",
            return_request_columns!()
        );
        let found = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user.uuid())
            .bind(before.map_or(uuid::Uuid::max(), |id| id.uuid()))
            .bind(i64::from(limit))
            .fetch_all(&self.readers)
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
            " FROM cases WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR kind = ?2) ORDER BY id DESC LIMIT ?3"
        );
        let found = sqlx::query(sql)
            .bind(status.map(CaseStatus::as_str))
            .bind(kind.map(CaseKind::as_str))
            .bind(i64::from(limit))
            .fetch_all(&self.readers)
            .await
            .map_err(|e| db_error(e, "list cases"))?;
        found.iter().map(rows::case).collect()
    }

    async fn purge_idempotency(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError> {
        // Through the one writer, so a purge queues behind the engine's batch instead of
        // competing with it for the lock.
        let done = sqlx::query(
            "DELETE FROM idempotency WHERE rowid IN \
             (SELECT rowid FROM idempotency WHERE created_at < ?1 ORDER BY created_at LIMIT ?2)",
        )
        .bind(before.millis())
        .bind(i64::from(limit))
        .execute(&self.writer)
        .await
        .map_err(|e| db_error(e, "purge idempotency records"))?;
        Ok(done.rows_affected())
    }
}
