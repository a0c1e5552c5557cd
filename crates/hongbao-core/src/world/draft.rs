//! One command's scratch space: [`Draft`] over a read-only [`World`], the [`Effects`] it
//! collects, and the [`Refs`] that link a transfer to what it is about. Balances change only
//! here, through [`Draft::post`], [`Draft::pend`] and [`Draft::resolve`], each of which creates
//! the transfer that explains the change.

use std::collections::BTreeMap;

use crate::case::{Case, Report};
use crate::document::Document;
use crate::error::CoreError;
use crate::event::Event;
use crate::freeze::Freeze;
use crate::id::{AccountId, CaseId, ClaimId, FreezeId, PacketId, ReportId, TransferId};
use crate::ledger::{Account, PendingStatus, PendingTransfer, Phase, Resolution, Transfer, TransferKind};
use crate::money::Fen;
use crate::packet::{Claim, Packet};
use crate::principal::Principal;
use crate::returns::ReturnRequest;
use crate::seizure::Seizure;
use crate::time::Timestamp;
use crate::user::{Group, User};

use super::{Fail, World};

/// What one command decided: entities to put, transfers and events to append.
#[derive(Debug, Default)]
pub struct Effects {
    pub(super) users: Vec<User>,
    pub(super) accounts: BTreeMap<AccountId, Account>,
    pub(super) groups: Vec<Group>,
    pub(super) packets: Vec<Packet>,
    pub(super) claims: Vec<Claim>,
    pub(super) pendings: Vec<PendingTransfer>,
    pub(super) principals: Vec<Principal>,
    pub(super) documents: Vec<Document>,
    pub(super) freezes: Vec<Freeze>,
    pub(super) seizures: Vec<Seizure>,
    pub(super) reports: Vec<Report>,
    pub(super) cases: Vec<Case>,
    pub(super) return_requests: Vec<ReturnRequest>,
    pub(super) transfers: Vec<Transfer>,
    pub(super) events: Vec<Event>,
}

/// A command's scratch space over a read-only world. Accounts are copied in on first use so a
/// command may move money through the same account several times; everything else is put
/// whole. Dropping a draft discards it.
#[derive(Debug)]
pub struct Draft<'w> {
    world: &'w World,
    effects: Effects,
}

/// Links from a transfer to what it is about, and the sender's note.
#[derive(Clone, Debug, Default)]
pub struct Refs {
    pub packet_id: Option<PacketId>,
    pub claim_id: Option<ClaimId>,
    pub note: Option<String>,
}

impl Refs {
    pub fn packet(packet_id: PacketId) -> Refs {
        Refs { packet_id: Some(packet_id), ..Refs::default() }
    }

    pub fn claim(packet_id: PacketId, claim_id: ClaimId) -> Refs {
        Refs { packet_id: Some(packet_id), claim_id: Some(claim_id), note: None }
    }
}

impl<'w> Draft<'w> {
    pub fn new(world: &'w World) -> Draft<'w> {
        Draft { world, effects: Effects::default() }
    }

    pub fn world(&self) -> &'w World {
        self.world
    }

    pub fn into_effects(self) -> Effects {
        self.effects
    }

    /// The account as this command has changed it so far.
    ///
    /// # Errors
    /// [`Fail::Need`] when not loaded; [`CoreError::NotFound`] when it does not exist.
    pub fn account(&mut self, id: AccountId) -> Result<&mut Account, Fail> {
        if !self.effects.accounts.contains_key(&id) {
            let account = self.world.account(id)?.ok_or_else(|| CoreError::not_found(format!("account {id}")))?;
            self.effects.accounts.insert(id, account.clone());
        }
        Ok(self.effects.accounts.get_mut(&id).expect("inserted above"))
    }

    pub fn open_account(&mut self, account: Account) {
        self.effects.accounts.insert(account.id, account);
    }

    pub fn put_user(&mut self, user: User) {
        self.effects.users.push(user);
    }

    pub fn put_principal(&mut self, principal: Principal) {
        self.effects.principals.push(principal);
    }

    pub fn put_document(&mut self, document: Document) {
        self.effects.documents.push(document);
    }

    /// Puts a freeze, replacing a version put earlier by the same command.
    pub fn put_freeze(&mut self, freeze: Freeze) {
        self.effects.freezes.retain(|f| f.id != freeze.id);
        self.effects.freezes.push(freeze);
    }

    /// Puts a proposal, replacing a version put earlier by the same command.
    pub fn put_seizure(&mut self, seizure: Seizure) {
        self.effects.seizures.retain(|s| s.id != seizure.id);
        self.effects.seizures.push(seizure);
    }

    /// Puts a report, replacing a version put earlier by the same command.
    pub fn put_report(&mut self, report: Report) {
        self.effects.reports.retain(|r| r.id != report.id);
        self.effects.reports.push(report);
    }

    /// Puts a case, replacing a version put earlier by the same command.
    pub fn put_case(&mut self, case: Case) {
        self.effects.cases.retain(|c| c.id != case.id);
        self.effects.cases.push(case);
    }

    /// Puts a return request, replacing a version put earlier by the same command.
    pub fn put_return_request(&mut self, request: ReturnRequest) {
        self.effects.return_requests.retain(|r| r.id != request.id);
        self.effects.return_requests.push(request);
    }

    /// The reports this command has put so far.
    pub fn reports_put(&self) -> Vec<Report> {
        self.effects.reports.clone()
    }

    /// The report as this command has changed it so far.
    ///
    /// # Errors
    /// [`Fail::Need`] when not loaded.
    pub fn report(&self, id: ReportId) -> Result<Option<Report>, Fail> {
        match self.effects.reports.iter().find(|r| r.id == id) {
            Some(report) => Ok(Some(report.clone())),
            None => Ok(self.world.report(id)?.cloned()),
        }
    }

    /// The case as this command has changed it so far.
    ///
    /// # Errors
    /// [`Fail::Need`] when not loaded.
    pub fn case(&self, id: CaseId) -> Result<Option<Case>, Fail> {
        match self.effects.cases.iter().find(|c| c.id == id) {
            Some(case) => Ok(Some(case.clone())),
            None => Ok(self.world.case(id)?.cloned()),
        }
    }

    /// The freeze as this command has changed it so far.
    ///
    /// # Errors
    /// [`Fail::Need`] when not loaded.
    pub fn freeze(&self, id: FreezeId) -> Result<Option<Freeze>, Fail> {
        match self.effects.freezes.iter().find(|f| f.id == id) {
            Some(freeze) => Ok(Some(freeze.clone())),
            None => Ok(self.world.freeze(id)?.cloned()),
        }
    }

    /// The wallets this command changed whose freezes want what became available, for the
    /// top-up.
    pub fn wallets_to_top_up(&self) -> Vec<AccountId> {
        self.effects
            .accounts
            .values()
            .filter(|a| a.holding() && a.available().is_ok_and(Fen::is_positive))
            .map(|a| a.id)
            .collect()
    }

    pub fn put_group(&mut self, group: Group) {
        self.effects.groups.push(group);
    }

    pub fn put_packet(&mut self, packet: Packet) {
        self.effects.packets.push(packet);
    }

    pub fn put_claim(&mut self, claim: Claim) {
        self.effects.claims.push(claim);
    }

    pub fn emit(&mut self, event: Event) {
        self.effects.events.push(event);
    }

    /// Moves posted money from `debit` to `credit` at once.
    ///
    /// # Errors
    /// [`CoreError::InsufficientFunds`] when `debit` lacks available money; a bad amount.
    #[allow(clippy::too_many_arguments)]
    pub fn post(
        &mut self,
        id: TransferId,
        debit: AccountId,
        credit: AccountId,
        amount: Fen,
        kind: TransferKind,
        refs: Refs,
        now: Timestamp,
    ) -> Result<Transfer, Fail> {
        let transfer = self.transfer(id, debit, credit, amount, kind, Phase::Posted, refs, now)?;
        self.account(debit)?.debit_posted(amount)?;
        self.account(credit)?.credit_posted(amount)?;
        self.effects.transfers.push(transfer.clone());
        Ok(transfer)
    }

    /// Reserves money from `debit` for `credit` until `deadline`.
    ///
    /// # Errors
    /// As [`Draft::post`].
    #[allow(clippy::too_many_arguments)]
    pub fn pend(
        &mut self,
        id: TransferId,
        debit: AccountId,
        credit: AccountId,
        amount: Fen,
        kind: TransferKind,
        refs: Refs,
        now: Timestamp,
        deadline: Timestamp,
    ) -> Result<Transfer, Fail> {
        let phase = Phase::Pending { deadline };
        let transfer = self.transfer(id, debit, credit, amount, kind, phase, refs, now)?;
        self.account(debit)?.debit_pending(amount)?;
        self.account(credit)?.credit_pending(amount)?;
        self.effects.transfers.push(transfer.clone());
        self.effects.pendings.push(PendingTransfer {
            transfer: transfer.clone(),
            status: PendingStatus::Pending,
            resolved_at: None,
        });
        Ok(transfer)
    }

    /// Posts or voids a pending transfer, once.
    ///
    /// # Errors
    /// [`CoreError::NotPending`] when it was already resolved.
    pub fn resolve(
        &mut self,
        id: TransferId,
        pending: &PendingTransfer,
        resolution: Resolution,
        now: Timestamp,
    ) -> Result<Transfer, Fail> {
        if pending.status != PendingStatus::Pending {
            return Err(CoreError::NotPending.into());
        }
        let original = &pending.transfer;
        let phase = match resolution {
            Resolution::Post => Phase::PostPending { pending_id: original.id },
            Resolution::Void => Phase::VoidPending { pending_id: original.id },
        };
        let refs = Refs { packet_id: original.packet_id, claim_id: original.claim_id, note: None };
        let transfer =
            self.transfer(id, original.debit, original.credit, original.amount, original.kind, phase, refs, now)?;
        self.account(original.debit)?.resolve_pending_debit(original.amount, resolution)?;
        self.account(original.credit)?.resolve_pending_credit(original.amount, resolution)?;
        self.effects.transfers.push(transfer.clone());
        self.effects.pendings.push(PendingTransfer {
            transfer: original.clone(),
            status: match resolution {
                Resolution::Post => PendingStatus::Posted,
                Resolution::Void => PendingStatus::Voided,
            },
            resolved_at: Some(now),
        });
        Ok(transfer)
    }

    #[allow(clippy::too_many_arguments)]
    fn transfer(
        &self,
        id: TransferId,
        debit: AccountId,
        credit: AccountId,
        amount: Fen,
        kind: TransferKind,
        phase: Phase,
        refs: Refs,
        now: Timestamp,
    ) -> Result<Transfer, Fail> {
        if !amount.is_positive() {
            return Err(CoreError::invalid("a transfer amount must be at least 1 fen").into());
        }
        if debit == credit {
            return Err(CoreError::invalid("a transfer needs two different accounts").into());
        }
        Ok(Transfer {
            id,
            debit,
            credit,
            amount,
            kind,
            phase,
            packet_id: refs.packet_id,
            claim_id: refs.claim_id,
            note: refs.note,
            created_at: now,
        })
    }
}
