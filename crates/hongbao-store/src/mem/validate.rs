//! The constraints a database enforces, checked on a whole commit before any of it is applied.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;

use hongbao_core::ledger::Phase;
use hongbao_core::principal::Owner;
use hongbao_core::world::Write;
use hongbao_core::{ClaimId, UserId};

use super::corrupt;
use super::state::State;
use crate::append::{LogWriters, check_append};
use crate::{Commit, StoreError};

/// Checks that rows of one table can be written: an insert is new (in the store and in the
/// batch), an update finds its row (in the store, or inserted by the same batch, as SQL's
/// inserts-then-updates would).
fn check_rows<K: Ord + Copy + fmt::Display, V>(
    table: &str,
    written: &[(Write, V)],
    id: impl Fn(&V) -> K,
    stored: impl Fn(&K) -> bool,
) -> Result<BTreeSet<K>, StoreError> {
    let mut inserted = BTreeSet::new();
    for (write, row) in written {
        let key = id(row);
        if *write == Write::Insert && (stored(&key) || !inserted.insert(key)) {
            return Err(corrupt(format_args!("insert of {table} row {key}: the row already exists")));
        }
    }
    for (write, row) in written {
        let key = id(row);
        if *write == Write::Update && !stored(&key) && !inserted.contains(&key) {
            return Err(corrupt(format_args!("update of {table} row {key}: the row does not exist")));
        }
    }
    Ok(inserted)
}

/// Checks that `commit` can be written in full onto `state`; nothing is changed. The same
/// constraints as the SQL schemas: keys, uniqueness, references (checked as if deferred to the
/// end of the batch), and the log's continuity.
pub(super) fn validate(state: &State, commit: &Commit) -> Result<(), StoreError> {
    let changes = &commit.changes;
    // The log first, as the SQL stores do: a batch built on another log fails before anything.
    let latest = state.checkpoints.last_key_value().map(|(&size, _)| size);
    check_append(state.log_size(), LogWriters::One, &commit.log, commit.checkpoint.as_ref(), latest)?;
    let mut logged = HashSet::new();
    for transfer in commit.log.iter().filter_map(|row| row.transfer_id) {
        if state.log_of_transfer.contains_key(&transfer) || !logged.insert(transfer) {
            return Err(corrupt(format_args!("transfer {transfer} is already in the log")));
        }
    }

    let new_users = check_rows("users", &changes.users, |u| u.id, |id| state.users.contains_key(id))?;
    let new_accounts = check_rows("accounts", &changes.accounts, |a| a.id, |id| state.accounts.contains_key(id))?;
    check_rows("groups", &changes.groups, |g| g.id, |id| state.groups.contains_key(id))?;
    for (_, group) in &changes.groups {
        // One row per member, as the (group, user) key of `group_members` would have it.
        let distinct: BTreeSet<&UserId> = group.members.iter().collect();
        if distinct.len() != group.members.len() {
            return Err(corrupt(format_args!("group {} lists a member twice", group.id)));
        }
    }
    let new_packets = check_rows("packets", &changes.packets, |p| p.id, |id| state.packets.contains_key(id))?;
    check_rows("claims", &changes.claims, |c| c.id, |id| state.claims.contains_key(id))?;
    if let Some((_, pending)) =
        changes.pendings.iter().find(|(_, p)| !matches!(p.transfer.phase, Phase::Pending { .. }))
    {
        return Err(corrupt(format_args!(
            "pending record {} wraps a transfer that is not pending",
            pending.transfer.id
        )));
    }
    check_rows("documents", &changes.documents, |d| d.id, |id| state.documents.contains_key(id))?;
    check_rows("freezes", &changes.freezes, |f| f.id, |id| state.freezes.contains_key(id))?;
    check_rows("seizures", &changes.seizures, |s| s.id, |id| state.seizures.contains_key(id))?;
    check_rows("reports", &changes.reports, |r| r.id, |id| state.reports.contains_key(id))?;
    check_rows("cases", &changes.cases, |c| c.id, |id| state.cases.contains_key(id))?;
    check_rows("return requests", &changes.return_requests, |r| r.id, |id| state.return_requests.contains_key(id))?;
    // One open request per payment, as the partial unique index of `return_requests` has it.
    let mut open: HashMap<uuid::Uuid, hongbao_core::ReturnRequestId> =
        state.return_requests.values().filter(|r| r.is_open()).map(|r| (r.target.uuid(), r.id)).collect();
    for (_, request) in &changes.return_requests {
        if open.get(&request.target.uuid()) == Some(&request.id) && !request.is_open() {
            open.remove(&request.target.uuid());
        }
    }
    for (_, request) in changes.return_requests.iter().filter(|(_, r)| r.is_open()) {
        if open.insert(request.target.uuid(), request.id).is_some_and(|other| other != request.id) {
            return Err(corrupt(format_args!("return request {}: its payment has an open one", request.id)));
        }
    }
    // One freeze per place in a wallet's order, as the (user_id, seq) key of `freezes` has it.
    let mut places: HashSet<(UserId, u32)> = state.freezes.values().map(|f| (f.user_id, f.seq)).collect();
    for (_, freeze) in changes.freezes.iter().filter(|(w, _)| *w == Write::Insert) {
        if !places.insert((freeze.user_id, freeze.seq)) {
            return Err(corrupt(format_args!("freeze {}: its wallet has a freeze at place {}", freeze.id, freeze.seq)));
        }
    }
    check_rows("pendings", &changes.pendings, |p| p.transfer.id, |id| state.pendings.contains_key(id))?;

    // Claims: one per person and one per share of a packet, and their packet must exist.
    let mut people = HashMap::new();
    let mut shares = HashMap::new();
    for (_, claim) in &changes.claims {
        let person = (claim.packet_id, claim.user_id);
        let taken_by = |owner: Option<&ClaimId>| owner.is_some_and(|owner| *owner != claim.id);
        let share_owner = state.claims_of.get(&claim.packet_id).and_then(|by_seq| by_seq.get(&claim.seq));
        if taken_by(state.claim_of.get(&person)) || taken_by(people.get(&person)) {
            return Err(corrupt(format_args!(
                "claim {}: {} already claimed packet {}",
                claim.id, claim.user_id, claim.packet_id
            )));
        }
        if taken_by(share_owner) || taken_by(shares.get(&(claim.packet_id, claim.seq))) {
            return Err(corrupt(format_args!(
                "claim {}: share {} of packet {} is already taken",
                claim.id, claim.seq, claim.packet_id
            )));
        }
        people.insert(person, claim.id);
        shares.insert((claim.packet_id, claim.seq), claim.id);
        if !state.packets.contains_key(&claim.packet_id) && !new_packets.contains(&claim.packet_id) {
            return Err(corrupt(format_args!(
                "claim {} names packet {}, which does not exist",
                claim.id, claim.packet_id
            )));
        }
    }

    // Principals are only inserted; a user's key names a user.
    let mut keys = HashSet::new();
    for principal in &changes.principals {
        if state.principals.contains_key(&principal.key_id) || !keys.insert(principal.key_id) {
            return Err(corrupt(format_args!("insert of principals row {}: the row already exists", principal.key_id)));
        }
        if let Owner::User { user_id } = principal.owner
            && !state.users.contains_key(&user_id)
            && !new_users.contains(&user_id)
        {
            return Err(corrupt(format_args!("key {} names user {user_id}, which does not exist", principal.key_id)));
        }
    }

    // Transfers are only inserted, between accounts that exist.
    let mut transfers = HashSet::new();
    for transfer in &changes.transfers {
        if state.transfers.contains_key(&transfer.id) || !transfers.insert(transfer.id) {
            return Err(corrupt(format_args!("insert of transfers row {}: the row already exists", transfer.id)));
        }
        for account in [transfer.debit, transfer.credit] {
            if !state.accounts.contains_key(&account) && !new_accounts.contains(&account) {
                return Err(corrupt(format_args!(
                    "transfer {} names account {account}, which does not exist",
                    transfer.id
                )));
            }
        }
    }
    for (_, pending) in &changes.pendings {
        let id = pending.transfer.id;
        if !state.transfers.contains_key(&id) && !transfers.contains(&id) {
            return Err(corrupt(format_args!("pending record {id} names a transfer that does not exist")));
        }
    }

    let mut records = HashSet::new();
    for record in &commit.idempotency {
        let key = (record.principal.clone(), record.key.clone());
        if state.idempotency.contains_key(&key) || !records.insert(key) {
            return Err(corrupt(format_args!(
                "insert of idempotency row ({:?}, {:?}): the row already exists",
                record.principal, record.key
            )));
        }
    }
    Ok(())
}
