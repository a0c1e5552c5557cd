//! The facts of risk control a command decides on: reports and cases, and the questions the
//! payee rating and the rules ask (do two users share a group, what a wallet received since a
//! time). Each is loaded and kept like the rest of the world (see the parent module).

use crate::case::{Case, CaseKind, Report};
use crate::id::{AccountId, CaseId, ReportId, UserId};
use crate::ledger::{Transfer, TransferKind};
use crate::time::Timestamp;

use super::{Fact, Fail, Key, World, put, read};

impl World {
    pub fn report(&self, id: ReportId) -> Result<Option<&Report>, Fail> {
        read(&self.reports, &id, self.complete, Key::Report(id))
    }

    /// Every open report on `subject`, oldest first.
    pub fn open_reports_on(&self, subject: UserId) -> Result<Vec<&Report>, Fail> {
        let mut open: Vec<&Report> = match self.open_reports_on.get(&subject) {
            Some(ids) => ids.iter().filter_map(|id| self.reports.get(id).and_then(Option::as_ref)).collect(),
            None if self.complete => self.reports().filter(|r| r.subject == subject && r.is_open()).collect(),
            None => return Err(Fail::Need(vec![Key::OpenReportsOn(subject)])),
        };
        open.retain(|r| r.is_open());
        open.sort_unstable_by_key(|r| r.id);
        Ok(open)
    }

    pub fn case(&self, id: CaseId) -> Result<Option<&Case>, Fail> {
        read(&self.cases, &id, self.complete, Key::Case(id))
    }

    /// The open case of `kind` about `subject`, if any.
    pub fn open_case(&self, subject: UserId, kind: CaseKind) -> Result<Option<&Case>, Fail> {
        match self.open_case.get(&(subject, kind)) {
            Some(Some(id)) => Ok(self.case(*id)?.filter(|c| c.is_open())),
            Some(None) => Ok(None),
            None if self.complete => Ok(self.cases().find(|c| c.subject == subject && c.kind == kind && c.is_open())),
            None => Err(Fail::Need(vec![Key::OpenCase(subject, kind)])),
        }
    }

    /// The incoming claims and transfers of `user`'s wallet made at or after `since` (original
    /// transfers: posted, or pending when made), oldest first.
    pub fn receipts_since(&self, user: UserId, since: Timestamp) -> Result<Vec<&Transfer>, Fail> {
        if !self.complete && !self.receipts_since.contains(&(user, since)) {
            return Err(Fail::Need(vec![Key::ReceiptsSince(user, since)]));
        }
        let wallet = AccountId::wallet(user);
        let mut found: Vec<&Transfer> = self
            .transfers()
            .filter(|t| {
                t.credit == wallet
                    && t.created_at >= since
                    && t.phase.is_original()
                    && matches!(t.kind, TransferKind::Transfer | TransferKind::PacketClaim)
            })
            .collect();
        found.sort_unstable_by_key(|t| t.id);
        Ok(found)
    }

    /// Whether `a` and `b` are members of one group.
    pub fn shares_group(&self, a: UserId, b: UserId) -> Result<bool, Fail> {
        if let Some(&known) = self.shares_group.get(&(a, b)).or_else(|| self.shares_group.get(&(b, a))) {
            return Ok(known);
        }
        if self.complete {
            return Ok(self.groups().any(|g| g.has_member(a) && g.has_member(b)));
        }
        Err(Fail::Need(vec![Key::SharesGroup(a, b)]))
    }

    pub fn reports(&self) -> impl Iterator<Item = &Report> {
        self.reports.values().flatten()
    }

    pub fn cases(&self) -> impl Iterator<Item = &Case> {
        self.cases.values().flatten()
    }

    /// Takes in a risk-control fact a store found (see [`World::learn`]).
    pub(super) fn learn_risk(&mut self, fact: Fact) {
        match fact {
            Fact::Report(id, report) => {
                self.reports.entry(id).or_insert(report);
            }
            Fact::OpenReportsOn(subject, stored) => {
                if self.open_reports_on.contains_key(&subject) {
                    return;
                }
                for report in stored {
                    self.reports.entry(report.id).or_insert(Some(report));
                }
                // The stored reports plus those this batch filed and has not written yet.
                let ids: Vec<ReportId> = self
                    .reports
                    .values()
                    .flatten()
                    .filter(|r| r.subject == subject && r.is_open())
                    .map(|r| r.id)
                    .collect();
                self.open_reports_on.insert(subject, ids);
            }
            Fact::Case(id, case) => {
                self.cases.entry(id).or_insert(case);
            }
            Fact::OpenCase(subject, kind, case) => {
                if self.open_case.contains_key(&(subject, kind)) {
                    return;
                }
                if let Some(case) = case {
                    self.cases.entry(case.id).or_insert(Some(case));
                }
                // What the store found, unless this batch changed it since, or opened one itself.
                let id = self
                    .cases
                    .values()
                    .flatten()
                    .find(|c| c.subject == subject && c.kind == kind && c.is_open())
                    .map(|c| c.id);
                self.open_case.insert((subject, kind), id);
            }
            Fact::ReceiptsSince(user, since, stored) => {
                // With the batch's own receipts (and those of a batch still committing), already
                // in `transfers`, these are every receipt since then.
                for transfer in stored {
                    self.transfers.entry(transfer.id).or_insert(Some(transfer));
                }
                self.receipts_since.insert((user, since));
            }
            Fact::SharesGroup(a, b, stored) => {
                // A group this batch created counts too, though the store does not have it yet.
                let here = self.groups.values().flatten().any(|g| g.has_member(a) && g.has_member(b));
                self.shares_group.entry((a, b)).or_insert(stored || here);
            }
            _ => unreachable!("learn hands over risk-control facts only"),
        }
    }

    /// Absorbs the reports and cases a successful command put, keeping the open ones indexed.
    pub(super) fn apply_risk(&mut self, reports: Vec<Report>, cases: Vec<Case>) {
        for report in reports {
            let (id, subject, open) = (report.id, report.subject, report.is_open());
            put(&mut self.reports, &mut self.dirty.reports, id, report);
            if let Some(list) = self.open_reports_on.get_mut(&subject) {
                list.retain(|r| *r != id);
                if open {
                    list.push(id);
                }
            }
        }
        for case in cases {
            let (id, key, open) = (case.id, (case.subject, case.kind), case.is_open());
            put(&mut self.cases, &mut self.dirty.cases, id, case);
            match self.open_case.get_mut(&key) {
                Some(slot) if open => *slot = Some(id),
                Some(slot) if *slot == Some(id) => *slot = None,
                _ if open => {
                    // A new case: no other of its kind is open (the rules ask before opening one).
                    self.open_case.insert(key, Some(id));
                }
                _ => {}
            }
        }
    }
}
