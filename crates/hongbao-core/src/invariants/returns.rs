//! Invariant 9 over a complete world: return requests and what came back of each payment.

use std::collections::HashMap;

use crate::case::Payment;
use crate::id::{AccountId, TransferId};
use crate::ledger::TransferKind;
use crate::packet::ClaimStatus;
use crate::returns::{RETURN_NOTES_MAX, RETURNS_PER_TARGET_MAX, ReturnRequest, ReturnStatus};
use crate::world::World;

use super::Report;

/// Invariant 9: return requests hold together. Each names a payment its payer made to its
/// payee; an accepted one names its return (payee to payer, its amount, nothing else), and every
/// return transfer is named by exactly one; what came back of a payment never exceeds it; at
/// most one request per payment is open; a claimed share comes back whole or through requests,
/// never both.
pub(super) fn check_returns(world: &World, report: &mut Report) {
    let mut by_target: HashMap<Payment, Vec<&ReturnRequest>> = HashMap::new();
    let mut named: HashMap<TransferId, usize> = HashMap::new();
    for r in world.return_requests() {
        let id = r.id;
        by_target.entry(r.target).or_default().push(r);
        if !r.amount.is_positive() || r.payer == r.payee || r.mediator.is_some_and(|m| m == r.payer || m == r.payee) {
            report.fail(9, format!("return request {id} asks {} of {} for {}", r.amount, r.payee, r.payer));
        }
        if r.notes.len() > RETURN_NOTES_MAX {
            report.fail(9, format!("return request {id} keeps {} notes", r.notes.len()));
        }
        if r.is_open() == r.closed_at.is_some()
            || (r.status == ReturnStatus::Accepted) != r.return_transfer_id.is_some()
        {
            report.fail(9, format!("return request {id} is {} with closed_at {:?}", r.status.as_str(), r.closed_at));
        }
        let (paid_by, paid_to, claim) = match r.target {
            Payment::Transfer(t) => match world.transfer(t) {
                Ok(Some(t)) if t.kind == TransferKind::Transfer => (t.debit, t.credit, None),
                _ => {
                    report.fail(9, format!("return request {id} asks back {t}, which is no user's transfer"));
                    continue;
                }
            },
            Payment::Claim(c) => match world.claim(c) {
                Ok(Some(claim)) => match world.packet(claim.packet_id) {
                    Ok(Some(p)) => (AccountId::wallet(p.sender), AccountId::wallet(claim.user_id), Some(c)),
                    _ => continue,
                },
                _ => {
                    report.fail(9, format!("return request {id} asks back claim {c}, which does not exist"));
                    continue;
                }
            },
        };
        let (payer, payee) = (AccountId::wallet(r.payer), AccountId::wallet(r.payee));
        if (paid_by, paid_to) != (payer, payee) {
            report.fail(9, format!("return request {id} is not between the payer and payee of what it asks back"));
        }
        if let Some(t) = r.return_transfer_id {
            *named.entry(t).or_default() += 1;
            let fits = matches!(world.transfer(t), Ok(Some(t))
                if (t.kind, t.debit, t.credit, t.amount, t.claim_id) == (TransferKind::Return, payee, payer, r.amount, claim));
            if !fits {
                report.fail(9, format!("return request {id} is not matched by its return transfer {t}"));
            }
        }
    }
    for transfer in world.transfers().filter(|t| t.kind == TransferKind::Return) {
        let n = named.get(&transfer.id).copied().unwrap_or(0);
        if n != 1 {
            report.fail(9, format!("return transfer {} is named by {n} accepted requests", transfer.id));
        }
    }
    for (target, requests) in by_target {
        let open = requests.iter().filter(|r| r.is_open()).count();
        let back: i128 = requests.iter().map(|r| i128::from(r.returned().get())).sum();
        let (amount, whole) = match target {
            Payment::Transfer(t) => (world.transfer(t).ok().flatten().map(|t| t.amount), false),
            Payment::Claim(c) => match world.claim(c).ok().flatten() {
                Some(claim) => (Some(claim.amount), claim.status == ClaimStatus::Returned),
                None => (None, false),
            },
        };
        let amount = amount.map_or(0, |a| i128::from(a.get()));
        if open > 1 || requests.len() > RETURNS_PER_TARGET_MAX || back > amount || (whole && back > 0) {
            report.fail(
                9,
                format!(
                    "the {} return requests of {target:?} ({open} open) gave back {back} fen of {amount}{}",
                    requests.len(),
                    if whole { ", and it was returned whole too" } else { "" }
                ),
            );
        }
    }
}
