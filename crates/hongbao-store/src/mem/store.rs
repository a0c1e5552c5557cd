//! `Store` for `MemStore`: transactions, history, the dump, the log's reads and the shared
//! state (nonces, the development clock, the log's key, secrets).

use std::sync::Arc;

use async_trait::async_trait;
use hongbao_core::UserId;
use hongbao_core::case::{Case, CaseKind, CaseStatus, Report};
use hongbao_core::evidence::EvidenceFile;
use hongbao_core::freeze::{Freeze, FreezeStatus};
use hongbao_core::returns::{ReturnRequest, ReturnRole};
use hongbao_core::risk::FreezeKind;
use hongbao_core::seizure::{Seizure, SeizureStatus};
use hongbao_core::{AccountId, EvidenceId, KeyId, PacketId, ReturnRequestId, Timestamp, TransferId};

use super::tx::{MemReadTx, MemWriteTx};
use super::{MemStore, corrupt, len_u64, lock};
use crate::assemble::history_item;
use crate::{CheckpointRow, Dump, HistoryItem, LogRow, NonceRecord, ReadTx, Store, StoreError, WriteTx};

#[async_trait]
impl Store for MemStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    fn durability(&self) -> String {
        "in memory: nothing survives the process (tests and simulations only)".to_owned()
    }

    async fn write(&self) -> Result<Box<dyn WriteTx>, StoreError> {
        let faults = &self.inner.faults;
        faults.pause().await;
        if faults.take(|armed| &mut armed.writes) {
            faults.count(|c| c.failed_writes += 1);
            return Err(StoreError::Unavailable("injected fault: the write transaction could not begin".to_owned()));
        }
        let writer = self.inner.writer.clone().lock_owned().await;
        Ok(Box::new(MemWriteTx { store: self.clone(), _writer: writer }))
    }

    async fn read(&self) -> Result<Box<dyn ReadTx>, StoreError> {
        Ok(Box::new(MemReadTx { store: self.clone(), snapshot: self.snapshot() }))
    }

    async fn history(
        &self,
        account: AccountId,
        before: Option<TransferId>,
        limit: u32,
    ) -> Result<Vec<HistoryItem>, StoreError> {
        self.read_starts().await?;
        let state = self.snapshot();
        let Some(ids) = state.history.get(&account) else { return Ok(Vec::new()) };
        let older = match before {
            Some(before) => ids.range(..before),
            None => ids.range(..),
        };
        older
            .rev()
            .take(limit as usize)
            .map(|id| {
                let transfer =
                    state.transfers.get(id).ok_or_else(|| corrupt(format_args!("transfer {id} is missing")))?;
                Ok(history_item(account, transfer.clone(), state.pendings.get(id).map(|p| p.status)))
            })
            .collect()
    }

    async fn dump(&self) -> Result<Dump, StoreError> {
        self.read_starts().await?;
        self.snapshot().dump()
    }

    async fn has_operator(&self) -> Result<bool, StoreError> {
        Ok(lock(&self.inner.state).operators > 0)
    }

    async fn log_entries(&self, start: u64, limit: u32) -> Result<Vec<LogRow>, StoreError> {
        self.read_starts().await?;
        let state = lock(&self.inner.state);
        let Ok(start) = usize::try_from(start) else { return Ok(Vec::new()) };
        Ok(state.log.iter().skip(start).take(limit as usize).cloned().collect())
    }

    async fn log_index_of(&self, transfer: TransferId) -> Result<Option<u64>, StoreError> {
        self.read_starts().await?;
        Ok(lock(&self.inner.state).log_of_transfer.get(&transfer).copied())
    }

    async fn log_entries_of_packet(&self, packet: PacketId, limit: u32) -> Result<Vec<LogRow>, StoreError> {
        self.read_starts().await?;
        let state = lock(&self.inner.state);
        let Some(indexes) = state.log_of_packet.get(&packet) else { return Ok(Vec::new()) };
        let row = |index: &u64| usize::try_from(*index).ok().and_then(|i| state.log.get(i)).cloned();
        Ok(indexes.iter().take(limit as usize).filter_map(row).collect())
    }

    async fn latest_checkpoint(&self) -> Result<Option<CheckpointRow>, StoreError> {
        self.read_starts().await?;
        Ok(lock(&self.inner.state).checkpoints.last_key_value().map(|(_, c)| c.clone()))
    }

    async fn remember_nonce(
        &self,
        key: KeyId,
        digest: [u8; 16],
        expires_at_s: i64,
        now_s: i64,
    ) -> Result<bool, StoreError> {
        let mut shared = lock(&self.inner.shared);
        match shared.nonces.get_mut(&(key, digest)) {
            None => {
                shared.nonces.insert((key, digest), expires_at_s);
                Ok(true)
            }
            // An expired record is renewed; a live one means a replay.
            Some(expires) if *expires <= now_s => {
                *expires = expires_at_s;
                Ok(true)
            }
            Some(_) => Ok(false),
        }
    }

    async fn live_nonces(&self, now_s: i64, limit: u32) -> Result<Vec<NonceRecord>, StoreError> {
        self.read_starts().await?;
        let shared = lock(&self.inner.shared);
        let mut live: Vec<NonceRecord> = shared
            .nonces
            .iter()
            .filter(|(_, expires)| **expires > now_s)
            .map(|(&(key, digest), &expires_at_s)| NonceRecord { key, digest, expires_at_s })
            .collect();
        live.sort_unstable_by_key(|n| (n.expires_at_s, n.key, n.digest));
        live.truncate(limit as usize);
        Ok(live)
    }

    async fn secrets_not_starting_with(
        &self,
        sealed_prefix: &str,
        limit: u32,
    ) -> Result<Vec<(KeyId, String)>, StoreError> {
        self.read_starts().await?;
        let state = lock(&self.inner.state);
        Ok(state
            .principals
            .values()
            .filter(|p| !p.secret.expose().starts_with(sealed_prefix))
            .take(limit as usize)
            .map(|p| (p.key_id, p.secret.expose().to_owned()))
            .collect())
    }

    async fn secret_starting_with(&self, sealed_prefix: &str) -> Result<Option<(KeyId, String)>, StoreError> {
        self.read_starts().await?;
        let state = lock(&self.inner.state);
        Ok(state
            .principals
            .values()
            .find(|p| p.secret.expose().starts_with(sealed_prefix))
            .map(|p| (p.key_id, p.secret.expose().to_owned())))
    }

    async fn replace_secrets(&self, replaced: &[(KeyId, String, String)]) -> Result<u64, StoreError> {
        let _writer = self.inner.writer.lock().await;
        let mut state = lock(&self.inner.state);
        let state = Arc::make_mut(&mut state);
        let mut count = 0;
        for (key, old, new) in replaced {
            if let Some(principal) = state.principals.get_mut(key)
                && principal.secret.expose() == old
            {
                principal.secret = hongbao_core::principal::Secret::from_stored(new.clone());
                count += 1;
            }
        }
        Ok(count)
    }

    async fn forget_nonces(&self, before_s: i64, limit: u32) -> Result<u64, StoreError> {
        let mut shared = lock(&self.inner.shared);
        let mut expired: Vec<(i64, (KeyId, [u8; 16]))> =
            shared.nonces.iter().filter(|(_, expires)| **expires < before_s).map(|(k, e)| (*e, *k)).collect();
        expired.sort_unstable();
        expired.truncate(limit as usize);
        for (_, key) in &expired {
            shared.nonces.remove(key);
        }
        Ok(len_u64(expired.len()))
    }

    async fn dev_clock_offset(&self) -> Result<i64, StoreError> {
        Ok(lock(&self.inner.shared).dev_clock_offset_ms)
    }

    async fn advance_dev_clock(&self, by_ms: i64) -> Result<i64, StoreError> {
        if by_ms < 0 {
            return Err(corrupt(format_args!("the development clock cannot move back (by {by_ms} ms)")));
        }
        let mut shared = lock(&self.inner.shared);
        let moved = shared
            .dev_clock_offset_ms
            .checked_add(by_ms)
            .ok_or_else(|| corrupt(format_args!("moving the development clock by {by_ms} ms overflows")))?;
        shared.dev_clock_offset_ms = moved;
        Ok(moved)
    }

    async fn log_key(&self, proposed: &str) -> Result<String, StoreError> {
        Ok(lock(&self.inner.shared).log_key.get_or_insert_with(|| proposed.to_owned()).clone())
    }

    async fn put_evidence(&self, file: &EvidenceFile) -> Result<(EvidenceId, Timestamp), StoreError> {
        let mut shared = lock(&self.inner.shared);
        let same = |f: &&EvidenceFile| {
            f.uploader == file.uploader && f.sha256 == file.sha256 && f.content_type == file.content_type
        };
        if let Some(stored) = shared.evidence.values().find(same) {
            return Ok((stored.id, stored.created_at));
        }
        if shared.evidence.contains_key(&file.id) {
            return Err(corrupt(format_args!("evidence file {} already exists", file.id)));
        }
        shared.evidence.insert(file.id, file.clone());
        Ok((file.id, file.created_at))
    }

    async fn evidence(&self, id: EvidenceId) -> Result<Option<EvidenceFile>, StoreError> {
        self.read_starts().await?;
        Ok(lock(&self.inner.shared).evidence.get(&id).cloned())
    }

    async fn evidence_cited(&self, id: EvidenceId) -> Result<bool, StoreError> {
        self.read_starts().await?;
        let state = lock(&self.inner.state);
        Ok(state.documents.values().any(|d| d.evidence_id == Some(id))
            || state.reports.values().any(|r| r.evidence.contains(&id)))
    }

    async fn freezes(
        &self,
        status: Option<FreezeStatus>,
        kind: Option<FreezeKind>,
        limit: u32,
    ) -> Result<Vec<Freeze>, StoreError> {
        self.read_starts().await?;
        let state = lock(&self.inner.state);
        let mut found: Vec<Freeze> = state
            .freezes
            .values()
            .filter(|f| status.is_none_or(|s| f.status == s) && kind.is_none_or(|k| f.kind == k))
            .cloned()
            .collect();
        found.sort_unstable_by_key(|f| std::cmp::Reverse((f.created_at, f.id)));
        found.truncate(limit as usize);
        Ok(found)
    }

    async fn seizures(&self, status: Option<SeizureStatus>, limit: u32) -> Result<Vec<Seizure>, StoreError> {
        self.read_starts().await?;
        let state = lock(&self.inner.state);
        let mut found: Vec<Seizure> =
            state.seizures.values().filter(|s| status.is_none_or(|wanted| s.status == wanted)).cloned().collect();
        found.sort_unstable_by_key(|s| std::cmp::Reverse((s.proposed_at, s.id)));
        found.truncate(limit as usize);
        Ok(found)
    }

    async fn reports_on(&self, subject: UserId, limit: u32) -> Result<Vec<Report>, StoreError> {
        self.read_starts().await?;
        let state = lock(&self.inner.state);
        let mut found: Vec<Report> = state.reports.values().filter(|r| r.subject == subject).cloned().collect();
        found.sort_unstable_by_key(|r| std::cmp::Reverse(r.id));
        found.truncate(limit as usize);
        Ok(found)
    }

    async fn return_requests_of(
        &self,
        user: UserId,
        role: Option<ReturnRole>,
        before: Option<ReturnRequestId>,
        limit: u32,
    ) -> Result<Vec<ReturnRequest>, StoreError> {
        self.read_starts().await?;
        let state = lock(&self.inner.state);
        let older = |id: &ReturnRequestId| before.is_none_or(|before| *id < before);
        Ok(state
            .return_requests
            .iter()
            .rev()
            .filter(|(id, r)| older(id) && r.role_of(user).is_some_and(|is| role.is_none_or(|wanted| is == wanted)))
            .take(limit as usize)
            .map(|(_, r)| r.clone())
            .collect())
    }

    async fn cases(
        &self,
        status: Option<CaseStatus>,
        kind: Option<CaseKind>,
        limit: u32,
    ) -> Result<Vec<Case>, StoreError> {
        self.read_starts().await?;
        let state = lock(&self.inner.state);
        let mut found: Vec<Case> = state
            .cases
            .values()
            .filter(|c| status.is_none_or(|s| c.status == s) && kind.is_none_or(|k| c.kind == k))
            .cloned()
            .collect();
        found.sort_unstable_by_key(|c| std::cmp::Reverse(c.id));
        found.truncate(limit as usize);
        Ok(found)
    }

    async fn purge_idempotency(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError> {
        // Behind the writer, as in SQLite: a purge never lands inside a batch.
        let _writer = self.inner.writer.clone().lock_owned().await;
        let mut state = lock(&self.inner.state);
        let mut old: Vec<(Timestamp, (String, String))> = state
            .idempotency
            .iter()
            .filter(|(_, record)| record.created_at < before)
            .map(|(key, record)| (record.created_at, key.clone()))
            .collect();
        old.sort_unstable();
        old.truncate(limit as usize);
        if !old.is_empty() {
            let state = Arc::make_mut(&mut state);
            for (_, key) in &old {
                state.idempotency.remove(key);
            }
        }
        Ok(len_u64(old.len()))
    }
}
