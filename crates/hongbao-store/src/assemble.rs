//! Decoded rows into what the [`Store`](crate::Store) answers, the same for every store: a line
//! of a wallet's history, the groups with their members, and a whole [`Dump`]. The SQL that
//! reads the rows stays with each backend; what is made of them is here.

use std::collections::HashMap;

use hongbao_core::case::{Case, Report};
use hongbao_core::document::Document;
use hongbao_core::due::DueItem;
use hongbao_core::event::Event;
use hongbao_core::freeze::Freeze;
use hongbao_core::ledger::{Account, PendingStatus, PendingTransfer, Transfer};
use hongbao_core::packet::{Claim, Packet};
use hongbao_core::principal::Principal;
use hongbao_core::returns::ReturnRequest;
use hongbao_core::seizure::Seizure;
use hongbao_core::user::{Group, User};
use hongbao_core::{AccountId, Fact, GroupId, UserId};

use crate::{CheckpointRow, Dump, HistoryItem, IdempotencyRecord, LogRow, StoreError};

/// The line of `account`'s history that `transfer` makes, with the status of its pending
/// record if it has one.
#[must_use]
pub fn history_item(account: AccountId, transfer: Transfer, pending: Option<PendingStatus>) -> HistoryItem {
    HistoryItem {
        transfer_id: transfer.id,
        amount: transfer.amount,
        incoming: transfer.credit == account,
        kind: transfer.kind,
        pending,
        packet_id: transfer.packet_id,
        claim_id: transfer.claim_id,
        note: transfer.note,
        created_at: transfer.created_at,
    }
}

/// Gives each of `groups` its members, sorted, from the `(group, member)` rows of
/// `group_members`.
///
/// # Errors
/// [`StoreError::Corrupt`] when a row names a group that is not among `groups`.
pub fn with_members(groups: &mut [Group], members: Vec<(GroupId, UserId)>) -> Result<(), StoreError> {
    let mut by_group: HashMap<GroupId, Vec<UserId>> = HashMap::new();
    for (group, user) in members {
        by_group.entry(group).or_default().push(user);
    }
    for group in groups.iter_mut() {
        let mut members = by_group.remove(&group.id).unwrap_or_default();
        members.sort_unstable();
        group.members = members;
    }
    match by_group.keys().next() {
        Some(group) => Err(StoreError::Corrupt(format!("group_members names group {group}, which does not exist"))),
        None => Ok(()),
    }
}

/// Every table of a store, decoded row by row: what [`Tables::into_dump`] makes a [`Dump`] of.
#[derive(Debug, Default)]
pub struct Tables {
    pub users: Vec<User>,
    pub accounts: Vec<Account>,
    /// With their members ([`with_members`]).
    pub groups: Vec<Group>,
    pub packets: Vec<Packet>,
    pub claims: Vec<Claim>,
    pub pendings: Vec<PendingTransfer>,
    pub transfers: Vec<Transfer>,
    pub principals: Vec<Principal>,
    pub documents: Vec<Document>,
    pub freezes: Vec<Freeze>,
    pub seizures: Vec<Seizure>,
    pub reports: Vec<Report>,
    pub cases: Vec<Case>,
    pub return_requests: Vec<ReturnRequest>,
    pub idempotency: Vec<IdempotencyRecord>,
    pub events: Vec<Event>,
    pub log: Vec<LogRow>,
    pub checkpoints: Vec<CheckpointRow>,
    pub deadlines: Vec<DueItem>,
}

impl Tables {
    /// The dump: every entity as a fact (users, accounts, groups, packets, claims, pending
    /// records, transfers, principals, documents, freezes, each table in the order read), and the rest as read.
    #[must_use]
    pub fn into_dump(self) -> Dump {
        let Tables {
            users,
            accounts,
            groups,
            packets,
            claims,
            pendings,
            transfers,
            principals,
            documents,
            freezes,
            seizures,
            reports,
            cases,
            return_requests,
            idempotency,
            events,
            log,
            checkpoints,
            deadlines,
        } = self;
        let mut facts = Vec::new();
        facts.extend(users.into_iter().map(|u| Fact::User(u.id, Some(u))));
        facts.extend(accounts.into_iter().map(|a| Fact::Account(a.id, Some(a))));
        facts.extend(groups.into_iter().map(|g| Fact::Group(g.id, Some(g))));
        facts.extend(packets.into_iter().map(|p| Fact::Packet(p.id, Some(p))));
        facts.extend(claims.into_iter().map(|c| Fact::Claim(c.id, Some(c))));
        facts.extend(pendings.into_iter().map(|p| Fact::Pending(p.transfer.id, Some(p))));
        facts.extend(transfers.into_iter().map(|t| Fact::Transfer(t.id, Some(t))));
        facts.extend(principals.into_iter().map(|p| Fact::Principal(p.key_id, Some(p))));
        facts.extend(documents.into_iter().map(|d| Fact::Document(d.id, Some(d))));
        facts.extend(freezes.into_iter().map(|f| Fact::Freeze(f.id, Some(f))));
        facts.extend(seizures.into_iter().map(|s| Fact::Seizure(s.id, Some(s))));
        facts.extend(reports.into_iter().map(|r| Fact::Report(r.id, Some(r))));
        facts.extend(cases.into_iter().map(|c| Fact::Case(c.id, Some(c))));
        facts.extend(return_requests.into_iter().map(|r| Fact::ReturnRequest(r.id, Some(r))));
        Dump { facts, idempotency, events, log, checkpoints, deadlines }
    }
}
