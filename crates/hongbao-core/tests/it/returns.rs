//! Return requests (协商退还): asked by the payer, given by the payee alone, always back to the
//! original payer; partial returns that never add up to more than was paid; one open request
//! per payment; a mediator who shares a group with both; expiry exactly once.

use hongbao_core::case::Payment;
use hongbao_core::error::FrozenReason;
use hongbao_core::ledger::TransferKind;
use hongbao_core::returns::{RETURN_NOTES_MAX, ReturnRequest, ReturnStatus};
use hongbao_core::{AccountId, Command, CoreError, Fen, PacketSpec, Reply, ReturnRequestId, TransferId, UserId};

use crate::support::{Harness, precautionary};

const WEEK_S: u32 = 7 * 86_400;

fn ask(payer: UserId, target: Payment, amount: Option<i64>, mediator: Option<UserId>) -> Command {
    Command::OpenReturnRequest {
        actor: payer,
        target,
        amount: amount.map(Fen::new),
        message: "sent to the wrong person, please give it back".to_owned(),
        mediator,
    }
}

fn request(reply: Reply) -> ReturnRequest {
    match reply {
        Reply::ReturnRequest(request) => request,
        other => panic!("a return request's command answered {other:?}"),
    }
}

fn open(h: &mut Harness, payer: UserId, target: Payment, amount: Option<i64>) -> ReturnRequest {
    request(h.ok(ask(payer, target, amount, None)))
}

fn accept(h: &mut Harness, payee: UserId, id: ReturnRequestId) -> ReturnRequest {
    request(h.ok(Command::AcceptReturnRequest { actor: payee, request: id }))
}

fn code(err: &CoreError) -> (&'static str, String) {
    let reason = match err {
        CoreError::InvalidState { reason, .. } => reason.clone(),
        CoreError::AccountFrozen { reason } => reason.as_str().to_owned(),
        _ => String::new(),
    };
    (err.code(), reason)
}

/// Alice paid Bob 1 000 fen; Bob has 5 000 of his own too.
fn paid() -> (Harness, UserId, UserId, TransferId) {
    let mut h = Harness::new();
    let (alice, bob) = (h.funded_user(10_000), h.funded_user(5_000));
    let transfer = h.transfer(alice, bob, 1_000, 0).transfer_id;
    (h, alice, bob, transfer)
}

#[test]
fn an_accepted_request_moves_the_money_back_to_the_payer_at_once_and_nowhere_else() {
    let (mut h, alice, bob, transfer) = paid();
    let asked = open(&mut h, alice, Payment::Transfer(transfer), None);
    assert_eq!((asked.status, asked.amount.get(), asked.payee), (ReturnStatus::Open, 1_000, bob));
    assert_eq!(asked.expires_at, h.now.plus_seconds(WEEK_S), "open for 7 days");
    let (alice_before, bob_before) = (h.balance(alice), h.balance(bob));
    let done = accept(&mut h, bob, asked.id);
    assert_eq!(done.status, ReturnStatus::Accepted);
    assert_eq!((h.balance(alice), h.balance(bob)), (alice_before + 1_000, bob_before - 1_000));
    let back = done.return_transfer_id.expect("an accepted request names its return");
    let t = h.world.transfer(back).expect("complete").expect("stored").clone();
    assert_eq!(
        (t.kind, t.debit, t.credit, t.amount.get()),
        (TransferKind::Return, AccountId::wallet(bob), AccountId::wallet(alice), 1_000)
    );
    // Accepting again, declining or withdrawing a closed request: invalid_state, nothing moves.
    let again = h.refused(Command::AcceptReturnRequest { actor: bob, request: asked.id });
    assert_eq!(code(&again), ("invalid_state", "accepted".to_owned()));
    let withdraw = h.refused(Command::WithdrawReturnRequest { actor: alice, request: asked.id });
    assert_eq!(code(&withdraw), ("invalid_state", "accepted".to_owned()));
}

#[test]
fn partial_returns_never_add_up_to_more_than_was_paid() {
    let (mut h, alice, bob, transfer) = paid();
    let target = Payment::Transfer(transfer);
    let first = open(&mut h, alice, target, Some(300));
    accept(&mut h, bob, first.id);
    let too_much = h.refused(ask(alice, target, Some(701), None));
    assert_eq!(too_much.code(), "invalid_request");
    let rest = open(&mut h, alice, target, None);
    assert_eq!(rest.amount.get(), 700, "by default, what has not come back");
    accept(&mut h, bob, rest.id);
    let nothing_left = h.refused(ask(alice, target, None, None));
    assert_eq!(code(&nothing_left), ("invalid_state", "returned".to_owned()));
}

#[test]
fn one_open_request_per_payment_and_only_the_payer_asks_for_their_own_payment() {
    let (mut h, alice, bob, transfer) = paid();
    let target = Payment::Transfer(transfer);
    let first = open(&mut h, alice, target, Some(100));
    let second = h.refused(ask(alice, target, Some(100), None));
    assert_eq!(second.code(), "conflict");
    // The payee, or anyone else, cannot ask for money back that they did not pay: not found.
    let carol = h.funded_user(100);
    assert_eq!(h.refused(ask(bob, target, None, None)).code(), "not_found");
    assert_eq!(h.refused(ask(carol, target, None, None)).code(), "not_found");
    let unknown = Payment::Transfer(TransferId::mint(h.now, &mut h.rng));
    assert_eq!(h.refused(ask(alice, unknown, None, None)).code(), "not_found");
    // Once the first is withdrawn, another may be opened.
    let withdrawn = request(h.ok(Command::WithdrawReturnRequest { actor: alice, request: first.id }));
    assert_eq!(withdrawn.status, ReturnStatus::Withdrawn);
    open(&mut h, alice, target, Some(100));
}

#[test]
fn who_may_do_what_with_a_request() {
    let (mut h, alice, bob, transfer) = paid();
    let carol = h.funded_user(100);
    let dave = h.funded_user(100);
    let target = Payment::Transfer(transfer);
    // A mediator must share a group with both.
    let refused = h.refused(ask(alice, target, None, Some(carol)));
    assert_eq!(refused.code(), "invalid_request");
    h.group(carol, &[alice]);
    assert_eq!(h.refused(ask(alice, target, None, Some(carol))).code(), "invalid_request", "with one only");
    h.group(carol, &[bob]);
    assert_eq!(h.refused(ask(alice, target, None, Some(bob))).code(), "invalid_request", "the payee mediates?");
    let asked = request(h.ok(ask(alice, target, None, Some(carol))));
    assert_eq!(asked.mediator, Some(carol));
    // Notes by any of the three; an outsider is told it does not exist.
    for by in [alice, bob, carol] {
        h.ok(Command::AddReturnNote { actor: by, request: asked.id, text: format!("note by {by}") });
    }
    let outsider = h.refused(Command::AddReturnNote { actor: dave, request: asked.id, text: "hi".to_owned() });
    assert_eq!(outsider.code(), "not_found");
    // Only the payee accepts or declines; only the payer withdraws.
    for by in [alice, carol] {
        let err = h.refused(Command::AcceptReturnRequest { actor: by, request: asked.id });
        assert_eq!(err.code(), "forbidden");
    }
    assert_eq!(h.refused(Command::AcceptReturnRequest { actor: dave, request: asked.id }).code(), "not_found");
    let by_payee = h.refused(Command::WithdrawReturnRequest { actor: bob, request: asked.id });
    assert_eq!(by_payee.code(), "forbidden");
    let declined = request(h.ok(Command::DeclineReturnRequest {
        actor: bob,
        request: asked.id,
        message: "it was a gift".to_owned(),
    }));
    assert_eq!((declined.status, declined.notes.len()), (ReturnStatus::Declined, 3));
    assert_eq!(declined.decline_message.as_deref(), Some("it was a gift"));
    let late = h.refused(Command::AddReturnNote { actor: alice, request: asked.id, text: "but".to_owned() });
    assert_eq!(code(&late), ("invalid_state", "declined".to_owned()));
}

#[test]
fn accepting_when_the_money_is_gone_or_held_is_refused_and_changes_nothing() {
    let (mut h, alice, bob, transfer) = paid();
    let asked = open(&mut h, alice, Payment::Transfer(transfer), None);
    // Bob spends all but 500 fen.
    let spent = h.balance(bob) - 500;
    h.ok(Command::Withdraw { actor: bob, amount: Fen::new(spent) });
    let err = h.refused(Command::AcceptReturnRequest { actor: bob, request: asked.id });
    assert_eq!(err.code(), "insufficient_funds");
    // The money is there again, but held by a freeze: the hold is the reason.
    h.ok(Command::Deposit { user: bob, amount: Fen::new(1_000) });
    h.freeze(precautionary(bob, Some(1_000)));
    let err = h.refused(Command::AcceptReturnRequest { actor: bob, request: asked.id });
    assert_eq!(code(&err), ("account_frozen", FrozenReason::Held.as_str().to_owned()));
}

#[test]
fn a_claimed_share_comes_back_through_requests_or_whole_never_both() {
    let mut h = Harness::new();
    let (alice, bob) = (h.funded_user(10_000), h.user());
    let packet = h.send(alice, PacketSpec::Exclusive { recipient: bob, amount: Fen::new(800) }, 0);
    let claim = h.claim(bob, packet);
    // Cited by its transfer's id, the claim is what is asked back.
    let by_transfer = h.claim_record(claim.claim_id).transfer_id;
    let asked = open(&mut h, alice, Payment::Transfer(by_transfer), Some(300));
    assert_eq!(asked.target, Payment::Claim(claim.claim_id));
    let done = accept(&mut h, bob, asked.id);
    let back = h.world.transfer(done.return_transfer_id.expect("named")).expect("complete").expect("stored").clone();
    assert_eq!((back.kind, back.claim_id, back.packet_id), (TransferKind::Return, Some(claim.claim_id), Some(packet)));
    let whole = h.refused(Command::ReturnClaim { actor: bob, claim: claim.claim_id });
    assert_eq!(code(&whole), ("invalid_state", "returned".to_owned()));
    // Another share, returned whole: no request for it any more.
    let second = h.send(alice, PacketSpec::Exclusive { recipient: bob, amount: Fen::new(200) }, 0);
    let second = h.claim(bob, second);
    h.return_claim(bob, second.claim_id);
    let err = h.refused(ask(alice, Payment::Claim(second.claim_id), None, None));
    assert_eq!(code(&err), ("invalid_state", "returned".to_owned()));
    // The sender of a share asks; the claimant cannot ask for their own share back.
    let third = h.send(alice, PacketSpec::Exclusive { recipient: bob, amount: Fen::new(100) }, 0);
    let third = h.claim(bob, third);
    assert_eq!(h.refused(ask(bob, Payment::Claim(third.claim_id), None, None)).code(), "not_found");
}

#[test]
fn a_payment_still_pending_is_revoked_not_asked_back_and_one_due_is_posted_first() {
    let mut h = Harness::new();
    let (alice, bob) = (h.funded_user(10_000), h.user());
    let delayed = h.transfer(alice, bob, 1_000, 7_200);
    let err = h.refused(ask(alice, Payment::Transfer(delayed.transfer_id), None, None));
    assert_eq!(code(&err), ("invalid_state", "pending".to_owned()));
    // Due, though the job has not posted it: asking posts it, as the job would.
    h.advance_s(7_200);
    let asked = open(&mut h, alice, Payment::Transfer(delayed.transfer_id), None);
    assert_eq!(h.balance(bob), 1_000, "arrived");
    assert!(!h.settle(delayed.transfer_id), "the job finds nothing left to do");
    accept(&mut h, bob, asked.id);
    assert_eq!(h.balance(bob), 0);
}

#[test]
fn an_unanswered_request_expires_after_seven_days_exactly_once() {
    let (mut h, alice, bob, transfer) = paid();
    let asked = open(&mut h, alice, Payment::Transfer(transfer), None);
    let expire = Command::ExpireReturnRequest { request: asked.id };
    h.advance_s(WEEK_S - 1);
    assert_eq!(h.ok(expire.clone()), Reply::Settled { changed: false }, "not yet");
    accept(&mut h, bob, asked.id);
    let (mut h, alice, bob, transfer) = paid();
    let asked = open(&mut h, alice, Payment::Transfer(transfer), None);
    let expire = Command::ExpireReturnRequest { request: asked.id };
    h.advance_s(WEEK_S);
    // Past its end, though the job has not run: it cannot be accepted any more.
    let err = h.refused(Command::AcceptReturnRequest { actor: bob, request: asked.id });
    assert_eq!(code(&err), ("invalid_state", "expired".to_owned()));
    assert_eq!(h.ok(expire.clone()), Reply::Settled { changed: true });
    assert_eq!(h.ok(expire), Reply::Settled { changed: false }, "exactly once");
    let stored = h.world.return_request(asked.id).expect("complete").expect("stored").clone();
    assert_eq!((stored.status, stored.closed_at), (ReturnStatus::Expired, Some(h.now)));
    // A new request may be opened once the old one expired.
    open(&mut h, alice, Payment::Transfer(transfer), None);
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let (mut h, alice, bob, transfer) = paid();
    let target = Payment::Transfer(transfer);
    assert_eq!(h.refused(ask(alice, target, Some(0), None)).code(), "invalid_request");
    assert_eq!(h.refused(ask(alice, target, Some(-5), None)).code(), "invalid_request");
    let blank =
        Command::OpenReturnRequest { actor: alice, target, amount: None, message: "  ".to_owned(), mediator: None };
    assert_eq!(h.refused(blank).code(), "invalid_request");
    let unknown = h.unknown_user();
    assert_eq!(h.refused(ask(alice, target, None, Some(unknown))).code(), "invalid_request");
    let asked = open(&mut h, alice, target, None);
    let empty = Command::DeclineReturnRequest { actor: bob, request: asked.id, message: String::new() };
    assert_eq!(h.refused(empty).code(), "invalid_request");
    for i in 0..RETURN_NOTES_MAX {
        h.ok(Command::AddReturnNote { actor: alice, request: asked.id, text: format!("note {i}") });
    }
    let full = h.refused(Command::AddReturnNote { actor: bob, request: asked.id, text: "one more".to_owned() });
    assert_eq!(full.code(), "conflict");
}
