//! The log's side of invariant 9: each return request opened once as the ledger has it and
//! closed once as it ended, each note by one of its parties, as many as it keeps.

use hongbao_core::event::EventKind;
use hongbao_core::returns::ReturnStatus;

use super::Ledger;

impl Ledger<'_> {
    /// What is wrong with a logged return-request event that the ledger contradicts, if anything.
    pub(super) fn contradicts_return(&mut self, what: &EventKind) -> Option<String> {
        let differs = |thing: String| Some(format!("{thing} differs from the ledger"));
        match what {
            // A return request is opened once as the ledger has it and closed once as it ended:
            // accepted with its return transfer and amount, declined, withdrawn or expired; each
            // note by one of its parties.
            EventKind::ReturnRequested { request_id, target, payer, payee, amount, mediator } => {
                if !self.first("return request", request_id.uuid().as_u128()) {
                    return Some(format!("return request {request_id} is opened a second time"));
                }
                match self.return_requests.get(request_id) {
                    Some(r)
                        if (r.target, r.payer, r.payee, r.amount, r.mediator)
                            == (*target, *payer, *payee, *amount, *mediator) =>
                    {
                        None
                    }
                    _ => differs(format!("the opening of return request {request_id}")),
                }
            }
            EventKind::ReturnAccepted { request_id, .. }
            | EventKind::ReturnDeclined { request_id }
            | EventKind::ReturnWithdrawn { request_id }
            | EventKind::ReturnExpired { request_id } => {
                if !self.first("return closed", request_id.uuid().as_u128()) {
                    return Some(format!("return request {request_id} is closed a second time"));
                }
                let (status, transfer) = match what {
                    EventKind::ReturnAccepted { amount, transfer_id, .. } => {
                        (ReturnStatus::Accepted, Some((*transfer_id, *amount)))
                    }
                    EventKind::ReturnDeclined { .. } => (ReturnStatus::Declined, None),
                    EventKind::ReturnWithdrawn { .. } => (ReturnStatus::Withdrawn, None),
                    _ => (ReturnStatus::Expired, None),
                };
                match self.return_requests.get(request_id) {
                    Some(r) if r.status == status && r.return_transfer_id.zip(Some(r.amount)) == transfer => None,
                    _ => Some(format!("return request {request_id} is not {} in the ledger", status.as_str())),
                }
            }
            EventKind::ReturnNoted { request_id, by } => match self.return_requests.get(request_id) {
                Some(r) if r.role_of(*by).is_some() => {
                    *self.notes_by_log.entry(*request_id).or_default() += 1;
                    None
                }
                _ => differs(format!("a note on return request {request_id}")),
            },
            _ => unreachable!("only return requests' events are handed over"),
        }
    }

    /// Return requests whose notes are not what the log's note events add up to.
    pub(super) fn notes_unmatched(&self) -> Option<String> {
        let notes = self
            .return_requests
            .values()
            .filter(|r| self.notes_by_log.get(&r.id).copied().unwrap_or(0) != r.notes.len())
            .count();
        (notes > 0).then(|| format!("{notes} return request(s) have other notes than the log's note events"))
    }
}
