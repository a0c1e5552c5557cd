//! Scenarios the engine and the API rely on: delayed arrival, revoking and returning claims,
//! expiry refunds, 手气最佳 and a crowd grabbing one packet.

use hongbao_core::event::EventKind;
use hongbao_core::ops::TransferStatus;
use hongbao_core::packet::{ClaimStatus, PacketStatus};
use hongbao_core::{Command, CoreError, Fen, FrozenReason, Limits, PacketSpec, Reply, UserId};

use crate::support::{Harness, lock, officer, precautionary, release, unlock};

const FUNDS_FEN: i64 = 1_000_000;

/// alice, bob, carol and dave in one group, alice with money; eve is a stranger.
struct Family {
    h: Harness,
    alice: UserId,
    bob: UserId,
    carol: UserId,
    dave: UserId,
    eve: UserId,
    group: hongbao_core::GroupId,
}

impl Family {
    fn new() -> Family {
        let mut h = Harness::new();
        let alice = h.funded_user(FUNDS_FEN);
        let (bob, carol, dave, eve) = (h.user(), h.user(), h.user(), h.user());
        let group = h.group(alice, &[bob, carol, dave]);
        Family { h, alice, bob, carol, dave, eve, group }
    }

    fn normal(&self, count: u32, amount_each: i64) -> PacketSpec {
        PacketSpec::Normal { group_id: self.group, count, amount_each: Fen::new(amount_each) }
    }
}

#[test]
fn a_delayed_claim_is_pending_until_it_arrives_and_is_posted_exactly_once() {
    for delay_s in [7200, 86_400] {
        let mut f = Family::new();
        let packet = f.h.send(f.alice, f.normal(3, 250), delay_s);
        let claimed_at = f.h.now;
        let receipt = f.h.claim(f.bob, packet);
        assert_eq!(receipt.status, ClaimStatus::Pending);
        assert_eq!(receipt.amount, Fen::new(250));
        assert_eq!(receipt.arrives_at, claimed_at.plus_seconds(delay_s));
        let bob = f.h.wallet(f.bob);
        assert_eq!((bob.balance, bob.pending_in, bob.available), (0, 250, 0), "pending money is not bob's yet");

        let transfer = f.h.claim_record(receipt.claim_id).transfer_id;
        // Not yet due: the job does nothing, even one millisecond before.
        f.h.now = receipt.arrives_at.plus_millis(-1);
        assert!(!f.h.settle(transfer));
        assert_eq!(f.h.wallet(f.bob).balance, 0);
        // Due: posted once, and never again.
        f.h.now = receipt.arrives_at;
        let due: Vec<_> = f.h.world.pendings().filter(|p| p.deadline() <= f.h.now).map(|p| p.transfer.id).collect();
        assert_eq!(due, vec![transfer], "the job finds exactly this pending claim");
        assert!(f.h.settle(transfer));
        assert_eq!(f.h.claim_record(receipt.claim_id).status, ClaimStatus::Arrived);
        let bob = f.h.wallet(f.bob);
        assert_eq!((bob.balance, bob.pending_in, bob.available), (250, 0, 250));
        let after = f.h.snapshot();
        assert!(!f.h.settle(transfer), "a second run at the same instant changes nothing");
        f.h.advance_s(86_400);
        assert!(!f.h.settle(transfer), "nor does a later one");
        assert_eq!(f.h.snapshot(), after);
    }
}

#[test]
fn the_sender_can_revoke_a_pending_claim_but_not_after_it_arrived() {
    let mut f = Family::new();
    let packet = f.h.send(f.alice, f.normal(3, 400), 7200);
    let after_send = f.h.balance(f.alice);
    let bobs = f.h.claim(f.bob, packet);

    // Only the sender may revoke; the claimant is forbidden and a stranger sees nothing.
    let revoke = |actor| Command::RevokeClaim { actor, claim: bobs.claim_id };
    assert!(matches!(f.h.refused(revoke(f.bob)), CoreError::Forbidden { .. }));
    assert_eq!(f.h.refused(revoke(f.eve)), CoreError::not_found("claim"));

    f.h.advance_s(3600);
    let detail = f.h.revoke_claim(f.alice, bobs.claim_id);
    assert_eq!(detail.status, ClaimStatus::Revoked);
    assert_eq!(f.h.claim_record(bobs.claim_id).status, ClaimStatus::Revoked);
    assert_eq!(f.h.balance(f.alice), after_send + 400, "the revoked amount went back to the sender");
    let bob = f.h.wallet(f.bob);
    assert_eq!((bob.balance, bob.pending_in), (0, 0));
    assert_eq!(f.h.refused(revoke(f.alice)), CoreError::NotPending, "a claim is revoked once");
    let transfer = f.h.claim_record(bobs.claim_id).transfer_id;
    f.h.now = bobs.arrives_at;
    assert!(!f.h.settle(transfer), "a revoked claim never arrives");
    assert_eq!(f.h.balance(f.bob), 0);

    // Carol's claim reaches its arrival time: from then on it is hers, job or no job.
    let carols = f.h.claim(f.carol, packet);
    f.h.now = carols.arrives_at;
    let err = f.h.refused(Command::RevokeClaim { actor: f.alice, claim: carols.claim_id });
    assert_eq!(err, CoreError::NotPending);
    assert!(f.h.settle(f.h.claim_record(carols.claim_id).transfer_id));
    let err = f.h.refused(Command::RevokeClaim { actor: f.alice, claim: carols.claim_id });
    assert_eq!(err, CoreError::NotPending);
    assert_eq!(f.h.balance(f.carol), 400);
}

#[test]
fn a_pending_transfer_can_be_revoked_by_its_sender_until_it_arrives() {
    let mut f = Family::new();
    let receipt = f.h.transfer(f.alice, f.bob, 1_000, 7200);
    assert_eq!(receipt.status, TransferStatus::Pending);
    assert_eq!(f.h.wallet(f.alice).available, FUNDS_FEN - 1_000);
    let revoke = |actor| Command::RevokeTransfer { actor, transfer: receipt.transfer_id };
    assert!(matches!(f.h.refused(revoke(f.bob)), CoreError::Forbidden { .. }));
    assert_eq!(f.h.refused(revoke(f.eve)), CoreError::not_found("transfer"));
    f.h.ok(revoke(f.alice));
    assert_eq!(f.h.wallet(f.alice).available, FUNDS_FEN);
    assert_eq!(f.h.wallet(f.bob).pending_in, 0);
    assert_eq!(f.h.refused(revoke(f.alice)), CoreError::NotPending);

    let second = f.h.transfer(f.alice, f.bob, 2_000, 86_400);
    f.h.now = second.arrives_at;
    let err = f.h.refused(Command::RevokeTransfer { actor: f.alice, transfer: second.transfer_id });
    assert_eq!(err, CoreError::NotPending, "at its arrival time the money is the recipient's");
    assert!(f.h.settle(second.transfer_id));
    assert!(!f.h.settle(second.transfer_id));
    assert_eq!(f.h.balance(f.bob), 2_000);
    assert_eq!(f.h.balance(f.alice), FUNDS_FEN - 2_000);
}

#[test]
fn a_voluntary_return_moves_the_amount_back_exactly_once() {
    let mut f = Family::new();
    let packet = f.h.send(f.alice, f.normal(3, 300), 0);
    let after_send = f.h.balance(f.alice);
    let bobs = f.h.claim(f.bob, packet);
    assert_eq!(f.h.balance(f.bob), 300);

    let give_back = |actor| Command::ReturnClaim { actor, claim: bobs.claim_id };
    assert!(matches!(f.h.refused(give_back(f.alice)), CoreError::Forbidden { .. }), "only the claimant returns");
    assert_eq!(f.h.refused(give_back(f.eve)), CoreError::not_found("claim"));
    let detail = f.h.return_claim(f.bob, bobs.claim_id);
    assert_eq!(detail.status, ClaimStatus::Returned);
    assert_eq!(f.h.balance(f.bob), 0);
    assert_eq!(f.h.balance(f.alice), after_send + 300);
    assert!(matches!(f.h.refused(give_back(f.bob)), CoreError::Conflict { .. }), "a claim is returned once");
    assert_eq!(f.h.balance(f.alice), after_send + 300);

    // A returned share is not offered again: the packet still counts it as claimed.
    assert_eq!(f.h.packet(packet).claimed_count, 1);
    assert_eq!(f.h.refused(Command::ClaimPacket { actor: f.bob, packet }), CoreError::AlreadyClaimed);
}

#[test]
fn a_pending_claim_cannot_be_returned_until_it_arrives_and_then_is_posted_and_returned_together() {
    let mut f = Family::new();
    let packet = f.h.send(f.alice, f.normal(3, 300), 7200);
    let after_send = f.h.balance(f.alice);
    let carols = f.h.claim(f.carol, packet);
    let err = f.h.refused(Command::ReturnClaim { actor: f.carol, claim: carols.claim_id });
    assert!(matches!(err, CoreError::Conflict { .. }), "{err:?}");
    // Due but the job has not run: returning posts it first, as the job would, then returns it.
    f.h.now = carols.arrives_at;
    f.h.return_claim(f.carol, carols.claim_id);
    assert_eq!(f.h.wallet(f.carol), Default::default(), "carol ends with nothing, nothing pending");
    assert_eq!(f.h.balance(f.alice), after_send + 300);
    let transfer = f.h.claim_record(carols.claim_id).transfer_id;
    assert!(!f.h.settle(transfer), "the return already posted the pending claim");
}

#[test]
fn expiry_refunds_exactly_the_unclaimed_remainder_once() {
    let mut f = Family::new();
    let packet = f.h.send(f.alice, PacketSpec::Lucky { group_id: f.group, count: 4, total: Fen::new(1_000) }, 0);
    let after_send = f.h.balance(f.alice);
    let claimed = f.h.claim(f.bob, packet).amount.get() + f.h.claim(f.carol, packet).amount.get();
    let expires_at = f.h.packet(packet).expires_at;
    assert_eq!(expires_at, crate::support::T0.plus_seconds(86_400));

    f.h.now = expires_at.plus_millis(-1);
    assert!(!f.h.expire(packet), "not due one millisecond early");
    f.h.now = expires_at;
    let err = f.h.refused(Command::ClaimPacket { actor: f.dave, packet });
    assert_eq!(err, CoreError::PacketExpired, "expired at its expiry even before the job ran");
    let due: Vec<_> =
        f.h.world
            .packets()
            .filter(|p| p.status == PacketStatus::Active && p.expires_at <= f.h.now)
            .map(|p| p.id)
            .collect();
    assert_eq!(due, vec![packet]);
    assert!(f.h.expire(packet));
    assert_eq!(f.h.balance(f.alice), after_send + 1_000 - claimed, "refund is the unclaimed remainder");
    assert_eq!(f.h.packet(packet).status, PacketStatus::Expired);
    assert_eq!(f.h.escrow(packet).balance, 0);
    let after = f.h.snapshot();
    assert!(!f.h.expire(packet), "the second run at the same instant changes nothing");
    f.h.advance_s(3600);
    assert!(!f.h.expire(packet));
    assert_eq!(f.h.snapshot(), after);
    assert_eq!(f.h.refused(Command::ClaimPacket { actor: f.dave, packet }), CoreError::PacketExpired);
}

#[test]
fn expiry_keeps_pending_claims_in_escrow_until_they_arrive() {
    let mut f = Family::new();
    let packet = f.h.send(f.alice, f.normal(3, 100), 86_400);
    let after_send = f.h.balance(f.alice);
    let bobs = f.h.claim(f.bob, packet);
    f.h.advance_s(60);
    let carols = f.h.claim(f.carol, packet);
    f.h.now = f.h.packet(packet).expires_at;
    assert!(f.h.expire(packet));
    assert_eq!(f.h.balance(f.alice), after_send + 100, "only the unclaimed share is refunded");
    let escrow = f.h.escrow(packet);
    assert_eq!((escrow.balance, escrow.pending_out, escrow.available), (200, 200, 0));
    // Bob's claim arrives now; carol's is still pending and alice may still revoke it.
    assert!(f.h.settle(f.h.claim_record(bobs.claim_id).transfer_id));
    f.h.revoke_claim(f.alice, carols.claim_id);
    assert_eq!(f.h.balance(f.alice), after_send + 200);
    assert_eq!(f.h.balance(f.bob), 100);
    assert_eq!(f.h.escrow(packet), Default::default(), "the escrow ends empty");
}

#[test]
fn best_luck_is_set_on_a_lucky_packet_only_when_every_share_is_claimed() {
    let mut f = Family::new();
    let packet = f.h.send(f.alice, PacketSpec::Lucky { group_id: f.group, count: 3, total: Fen::new(1_000) }, 0);
    let mut claims = Vec::new();
    for claimer in [f.bob, f.carol, f.dave] {
        assert_eq!(f.h.open(f.alice, packet).best_luck, None, "no best luck before every share is claimed");
        claims.push((claimer, f.h.claim(claimer, packet).amount));
    }
    let view = f.h.open(f.alice, packet);
    assert_eq!(view.status, PacketStatus::Exhausted);
    let best = claims.iter().map(|(_, amount)| *amount).max().expect("three claims");
    let expected = claims.iter().find(|(_, amount)| *amount == best).map(|(user, _)| *user);
    assert_eq!(view.best_luck, expected, "the largest share, the earliest claimant on a tie");

    // A normal packet never has one, even when every share is claimed.
    let normal = f.h.send(f.alice, f.normal(2, 100), 0);
    f.h.claim(f.bob, normal);
    f.h.claim(f.carol, normal);
    assert_eq!(f.h.open(f.alice, normal).best_luck, None);
    // Nor does a lucky packet that expired with shares left.
    let partly = f.h.send(f.alice, PacketSpec::Lucky { group_id: f.group, count: 3, total: Fen::new(300) }, 0);
    f.h.claim(f.bob, partly);
    f.h.now = f.h.packet(partly).expires_at;
    assert!(f.h.expire(partly));
    assert_eq!(f.h.open(f.alice, partly).best_luck, None);
}

#[test]
fn a_thousand_claimers_on_a_hundred_share_packet_get_exactly_a_hundred_shares() {
    let limits = Limits { group_members_max: 1_001, ..Limits::default() };
    for lucky in [false, true] {
        let mut h = Harness::with_limits(limits.clone());
        let sender = h.funded_user(FUNDS_FEN);
        let crowd: Vec<UserId> = (0..1_000).map(|_| h.user()).collect();
        let group = h.group(sender, &crowd);
        let spec = if lucky {
            PacketSpec::Lucky { group_id: group, count: 100, total: Fen::new(88_888) }
        } else {
            PacketSpec::Normal { group_id: group, count: 100, amount_each: Fen::new(888) }
        };
        let packet = h.send(sender, spec, 0);
        let total = h.packet(packet).total.get();
        let (mut won, mut exhausted, mut paid) = (0, 0, 0i64);
        for &claimer in &crowd {
            match h.run(Command::ClaimPacket { actor: claimer, packet }) {
                Ok(_) => {
                    won += 1;
                    paid += h.balance(claimer);
                }
                Err(CoreError::PacketExhausted) => exhausted += 1,
                Err(other) => panic!("claimer got {other:?}"),
            }
        }
        assert_eq!((won, exhausted), (100, 900), "lucky: {lucky}");
        assert_eq!(paid, total, "the hundred shares add up to the total (lucky: {lucky})");
        assert_eq!(h.packet(packet).status, PacketStatus::Exhausted);
        assert_eq!(h.escrow(packet), Default::default());
        assert_eq!(h.balance(sender), FUNDS_FEN - total);
    }
}

#[test]
fn a_locked_user_cannot_pay_or_claim_but_money_still_reaches_them() {
    let mut f = Family::new();
    f.h.ok(Command::Deposit { user: f.bob, amount: Fen::new(5_000) });
    let packet = f.h.send(f.bob, PacketSpec::Exclusive { recipient: f.carol, amount: Fen::new(100) }, 0);
    let to_bob = f.h.send(f.alice, PacketSpec::Exclusive { recipient: f.bob, amount: Fen::new(30) }, 0);
    let earlier = f.h.send(f.alice, PacketSpec::Exclusive { recipient: f.bob, amount: Fen::new(20) }, 0);
    let kept = f.h.claim(f.bob, earlier).claim_id;
    f.h.ok(lock(f.bob));
    let pays = [
        Command::Withdraw { actor: f.bob, amount: Fen::new(1) },
        Command::Transfer {
            actor: f.bob,
            to: f.carol,
            amount: Fen::new(1),
            note: None,
            arrival_delay_s: 0,
            risk_confirmation: None,
        },
        Command::SendPacket {
            actor: f.bob,
            spec: f.normal(1, 1),
            greeting: None,
            arrival_delay_s: 0,
            risk_confirmation: None,
        },
        Command::ClaimPacket { actor: f.bob, packet: to_bob },
        Command::ReturnClaim { actor: f.bob, claim: kept },
    ];
    for command in pays.clone() {
        let refusal = f.h.refused(command);
        assert_eq!(refusal, CoreError::AccountFrozen { reason: FrozenReason::Locked });
        assert_eq!(refusal.code(), "account_frozen");
    }
    // Money arriving is not paying: deposits, transfers and a recall still reach a locked wallet.
    f.h.ok(Command::Deposit { user: f.bob, amount: Fen::new(1_000) });
    f.h.transfer(f.alice, f.bob, 2_000, 0);
    assert_eq!(f.h.recall(f.bob, packet).refunded, Fen::new(100));
    assert_eq!(f.h.balance(f.bob), 8_020);
    f.h.ok(unlock(f.bob));
    for command in pays {
        f.h.ok(command);
    }
    // Withdrew 1, transferred 1, sent 1, claimed 30, returned 20.
    assert_eq!(f.h.balance(f.bob), 8_020 - 3 + 30 - 20);
}

#[test]
fn locking_records_who_and_why_once_and_locking_again_changes_nothing() {
    let mut f = Family::new();
    f.h.world.take_changes();
    f.h.ok(lock(f.bob));
    let events = f.h.world.take_changes().events;
    let expected =
        EventKind::UserLocked { user_id: f.bob, actor: Some(officer()), reason: Some("fraud reports".to_owned()) };
    assert_eq!(events.iter().map(|e| e.what.clone()).collect::<Vec<_>>(), vec![expected]);
    f.h.ok(lock(f.bob));
    assert!(f.h.world.take_changes().events.is_empty(), "a user already locked is left as is, unlogged");
}

#[test]
fn money_held_by_a_freeze_is_refused_as_held_and_money_that_is_not_there_as_insufficient() {
    let mut f = Family::new();
    f.h.ok(Command::Deposit { user: f.bob, amount: Fen::new(1_000) });
    f.h.freeze(precautionary(f.bob, Some(600)));
    let pay = |amount| Command::Withdraw { actor: f.bob, amount: Fen::new(amount) };
    f.h.ok(pay(400));
    assert_eq!(f.h.refused(pay(1)), CoreError::AccountFrozen { reason: FrozenReason::Held });
    assert_eq!(f.h.refused(pay(600)), CoreError::AccountFrozen { reason: FrozenReason::Held });
    assert!(matches!(f.h.refused(pay(601)), CoreError::InsufficientFunds { .. }));
}

#[test]
fn the_schedule_of_due_work_changes_only_when_a_deadline_does() {
    use hongbao_core::due::{Deadline, DueKind};
    let mut f = Family::new();
    f.h.world.take_changes();
    let packet = f.h.send(f.alice, f.normal(2, 100), 7200);
    let expires_at = f.h.world.packet(packet).expect("complete").expect("sent").expires_at;
    let expiry = |at| Deadline { kind: DueKind::PacketExpiry, id: packet.uuid(), at };
    assert_eq!(f.h.world.take_changes().deadlines, vec![expiry(Some(expires_at))], "a sent packet is due to expire");

    // A claim that leaves the packet active changes its row but not its expiry: nothing to
    // reschedule for it, only the claim's own arrival.
    let first = f.h.claim(f.bob, packet);
    let first_transfer = f.h.claim_record(first.claim_id).transfer_id;
    let arrival =
        |transfer: hongbao_core::TransferId, at| Deadline { kind: DueKind::PendingArrival, id: transfer.uuid(), at };
    assert_eq!(f.h.world.take_changes().deadlines, vec![arrival(first_transfer, Some(first.arrives_at))]);

    // The last share: the packet no longer expires.
    let second = f.h.claim(f.carol, packet);
    let second_transfer = f.h.claim_record(second.claim_id).transfer_id;
    let changed = f.h.world.take_changes().deadlines;
    assert_eq!(changed.len(), 2, "{changed:?}");
    assert!(changed.contains(&expiry(None)) && changed.contains(&arrival(second_transfer, Some(second.arrives_at))));

    // Arrival takes the claim off the schedule; running it again changes nothing more.
    f.h.now = first.arrives_at;
    assert!(f.h.settle(first_transfer));
    assert_eq!(f.h.world.take_changes().deadlines, vec![arrival(first_transfer, None)]);
    assert!(!f.h.settle(first_transfer));
    assert!(f.h.world.take_changes().deadlines.is_empty());
}

/// The wallet of `user` as the rules see it.
fn frozen_of(f: &Family, user: UserId) -> (i64, i64) {
    let w = crate::support::wallet_of(&f.h.world, hongbao_core::AccountId::wallet(user));
    (w.frozen, w.available)
}

#[test]
fn a_short_freeze_holds_a_claim_and_a_delayed_transfer_that_arrive_later_and_stops_at_its_amount() {
    let mut f = Family::new();
    f.h.ok(Command::Deposit { user: f.bob, amount: Fen::new(100) });
    let freeze = f.h.freeze(precautionary(f.bob, Some(1_000)));
    assert_eq!((freeze.held, freeze.amount), (Fen::new(100), Some(Fen::new(1_000))), "all that was there");
    assert_eq!(frozen_of(&f, f.bob), (100, 0));

    // A claim arriving is held.
    let packet = f.h.send(f.alice, f.normal(1, 300), 0);
    f.h.claim(f.bob, packet);
    assert_eq!(frozen_of(&f, f.bob), (400, 0));
    // A delayed transfer is held when it arrives, not before.
    let transfer = f.h.transfer(f.alice, f.bob, 500, 7_200);
    assert_eq!(frozen_of(&f, f.bob), (400, 0));
    f.h.advance_s(7_200);
    assert!(f.h.settle(transfer.transfer_id));
    assert_eq!(frozen_of(&f, f.bob), (900, 0));
    // The last 100 of the next 250 reach the target; the rest is bob's to spend.
    f.h.transfer(f.alice, f.bob, 250, 0);
    assert_eq!(frozen_of(&f, f.bob), (1_000, 150));
    f.h.transfer(f.alice, f.bob, 50, 0);
    assert_eq!(frozen_of(&f, f.bob), (1_000, 200), "a freeze at its amount holds nothing more");
    let stored = f.h.world.freeze(freeze.freeze_id).expect("complete").expect("placed").clone();
    assert_eq!((stored.held, stored.tally.ever_held), (Fen::new(1_000), Fen::new(1_000)));
}

#[test]
fn two_freezes_fill_in_the_order_they_were_placed_and_a_release_passes_to_the_next() {
    let mut f = Family::new();
    let first = f.h.freeze(precautionary(f.bob, Some(300)));
    let second = f.h.freeze(precautionary(f.bob, Some(200)));
    assert_eq!((first.held, second.held), (Fen::ZERO, Fen::ZERO));
    let held = |f: &Family, id| f.h.world.freeze(id).expect("complete").expect("placed").held.get();

    f.h.transfer(f.alice, f.bob, 250, 0);
    assert_eq!((held(&f, first.freeze_id), held(&f, second.freeze_id)), (250, 0), "the first fills first");
    f.h.transfer(f.alice, f.bob, 150, 0);
    assert_eq!((held(&f, first.freeze_id), held(&f, second.freeze_id)), (300, 100));
    // Releasing the first frees 300, of which the second, still short, takes its 100.
    f.h.ok(release(first.freeze_id, None));
    assert_eq!((held(&f, first.freeze_id), held(&f, second.freeze_id)), (0, 200));
    assert_eq!(frozen_of(&f, f.bob), (200, 200));
}

#[test]
fn a_whole_wallet_freeze_holds_everything_that_arrives_and_a_partial_release_lowers_it_for_good() {
    let mut f = Family::new();
    f.h.ok(Command::Deposit { user: f.bob, amount: Fen::new(700) });
    let freeze = f.h.freeze(precautionary(f.bob, None));
    assert_eq!((freeze.held, freeze.amount), (Fen::new(700), None));
    f.h.ok(Command::Deposit { user: f.bob, amount: Fen::new(300) });
    assert_eq!(frozen_of(&f, f.bob), (1_000, 0));
    f.h.ok(release(freeze.freeze_id, Some(400)));
    assert_eq!(frozen_of(&f, f.bob), (600, 400));
    f.h.ok(Command::Deposit { user: f.bob, amount: Fen::new(50) });
    assert_eq!(frozen_of(&f, f.bob), (600, 450), "after a partial release it holds what remains only");
    f.h.ok(Command::Withdraw { actor: f.bob, amount: Fen::new(450) });
    assert_eq!(
        f.h.refused(Command::Withdraw { actor: f.bob, amount: Fen::new(1) }),
        CoreError::AccountFrozen { reason: FrozenReason::Held }
    );
}

#[test]
fn a_freeze_expires_at_its_end_exactly_once_and_its_money_is_free_again() {
    let mut f = Family::new();
    f.h.ok(Command::Deposit { user: f.bob, amount: Fen::new(500) });
    let freeze = f.h.freeze(precautionary(f.bob, Some(800)));
    let end = freeze.expires_at.expect("a precautionary freeze has an end");
    assert_eq!(end, f.h.now.plus_seconds(48 * 3_600), "48 hours by default");
    let expire = Command::ExpireFreeze { freeze: freeze.freeze_id };
    assert_eq!(f.h.ok(expire.clone()), Reply::Settled { changed: false }, "not before its end");
    f.h.advance_s(48 * 3_600);
    assert_eq!(f.h.ok(expire.clone()), Reply::Settled { changed: true });
    assert_eq!(f.h.ok(expire), Reply::Settled { changed: false }, "exactly once");
    assert_eq!(frozen_of(&f, f.bob), (0, 500));
    let stored = f.h.world.freeze(freeze.freeze_id).expect("complete").expect("placed").clone();
    assert_eq!((stored.status.as_str(), stored.tally.expired), ("expired", Fen::new(500)));
    f.h.ok(Command::Deposit { user: f.bob, amount: Fen::new(10) });
    assert_eq!(frozen_of(&f, f.bob), (0, 510), "an expired freeze holds nothing that arrives");
    assert!(matches!(f.h.refused(release(freeze.freeze_id, None)), CoreError::Conflict { .. }));
}

#[test]
fn a_precautionary_freeze_is_renewed_once_by_another_officer_within_one_term() {
    let mut f = Family::new();
    let freeze = f.h.freeze(precautionary(f.bob, Some(100)));
    let end = freeze.expires_at.expect("48 hours");
    let renew = |officer, hours: u32| Command::RenewFreeze {
        officer,
        legal: false,
        freeze: freeze.freeze_id,
        reason: "still under review".to_owned(),
        documents: Vec::new(),
        expires_at: end.plus_seconds(hours * 3_600),
    };
    assert!(matches!(f.h.refused(renew(officer(), 24)), CoreError::Forbidden { .. }), "not by the one who placed it");
    let too_long = f.h.refused(renew(crate::support::other_officer(), 49));
    assert!(matches!(too_long, CoreError::InvalidFreeze { reason: hongbao_core::FreezeRefusal::TermTooLong, .. }));
    let Reply::Freeze(renewed) = f.h.ok(renew(crate::support::other_officer(), 48)) else { panic!() };
    assert_eq!((renewed.expires_at, renewed.renewals), (Some(end.plus_seconds(48 * 3_600)), 1));
    assert!(matches!(f.h.refused(renew(crate::support::other_officer(), 50)), CoreError::Conflict { .. }), "once");
    // The job at the old end finds nothing due; at the new end it expires.
    f.h.advance_s(48 * 3_600);
    assert_eq!(f.h.ok(Command::ExpireFreeze { freeze: freeze.freeze_id }), Reply::Settled { changed: false });
    f.h.advance_s(48 * 3_600);
    assert_eq!(f.h.ok(Command::ExpireFreeze { freeze: freeze.freeze_id }), Reply::Settled { changed: true });
}

#[test]
fn a_precautionary_freeze_converts_into_a_court_freeze_holding_the_same_money() {
    let mut f = Family::new();
    f.h.ok(Command::Deposit { user: f.bob, amount: Fen::new(300) });
    let freeze = f.h.freeze(precautionary(f.bob, Some(1_000)));
    let document = |h: &mut Harness, kind| {
        let mut command = crate::support::register_document([kind as u8; 32], h.now);
        if let Command::RegisterDocument { spec, .. } = &mut command {
            spec.kind = kind;
        }
        match h.ok(command) {
            Reply::DocumentRegistered(r) => r.document_id,
            other => panic!("{other:?}"),
        }
    };
    use hongbao_core::document::DocumentKind;
    let ruling = document(&mut f.h, DocumentKind::CourtRuling);
    let notice = document(&mut f.h, DocumentKind::AssistanceNotice);
    let convert = |documents: Vec<hongbao_core::DocumentId>| Command::ConvertFreeze {
        officer: officer(),
        freeze: freeze.freeze_id,
        kind: hongbao_core::risk::FreezeKind::Court,
        reason: "the court took the case".to_owned(),
        documents,
        expires_at: None,
    };
    let missing = f.h.refused(convert(vec![notice]));
    assert!(matches!(missing, CoreError::InvalidFreeze { reason: hongbao_core::FreezeRefusal::DocumentRequired, .. }));
    let Reply::Freeze(court) = f.h.ok(convert(vec![ruling, notice])) else { panic!() };
    assert_eq!(
        (court.held, court.amount, court.kind),
        (Fen::new(300), Some(Fen::new(1_000)), hongbao_core::risk::FreezeKind::Court)
    );
    let old = f.h.world.freeze(freeze.freeze_id).expect("complete").expect("placed").clone();
    assert_eq!((old.status.as_str(), old.held, old.tally.converted), ("converted", Fen::ZERO, Fen::new(300)));
    assert_eq!(frozen_of(&f, f.bob), (300, 0), "the same money, held by the court freeze");
    f.h.transfer(f.alice, f.bob, 200, 0);
    assert_eq!(frozen_of(&f, f.bob), (500, 0), "and still held as it arrives");
    assert!(matches!(f.h.refused(convert(vec![ruling, notice])), CoreError::Conflict { .. }), "converted once");
}

/// A court freeze of `amount` on bob's wallet, and a transfer order to cite.
fn court_freeze_and_order(f: &mut Family, amount: i64) -> (hongbao_core::FreezeId, hongbao_core::DocumentId) {
    use hongbao_core::document::DocumentKind;
    let register = |h: &mut Harness, kind: DocumentKind| {
        let mut command = crate::support::register_document([kind as u8; 32], h.now);
        if let Command::RegisterDocument { spec, .. } = &mut command {
            spec.kind = kind;
        }
        match h.ok(command) {
            Reply::DocumentRegistered(r) => r.document_id,
            other => panic!("{other:?}"),
        }
    };
    let ruling = register(&mut f.h, DocumentKind::CourtRuling);
    let notice = register(&mut f.h, DocumentKind::AssistanceNotice);
    let order = register(&mut f.h, DocumentKind::TransferOrder);
    let mut place = precautionary(f.bob, Some(amount));
    if let Command::PlaceFreeze { spec, .. } = &mut place {
        spec.kind = hongbao_core::risk::FreezeKind::Court;
        spec.documents = vec![ruling, notice];
    }
    (f.h.freeze(place).freeze_id, order)
}

fn propose(freeze: hongbao_core::FreezeId, amount: i64, to: UserId, order: hongbao_core::DocumentId) -> Command {
    Command::ProposeSeizure {
        officer: officer(),
        freeze,
        amount: Fen::new(amount),
        to: hongbao_core::seizure::SeizureTarget::User(to),
        reason: "the court ordered it returned".to_owned(),
        documents: vec![order],
    }
}

#[test]
fn a_forced_transfer_moves_frozen_money_once_and_only_when_another_officer_approves() {
    let mut f = Family::new();
    f.h.ok(Command::Deposit { user: f.bob, amount: Fen::new(1_000) });
    let (freeze, order) = court_freeze_and_order(&mut f, 800);
    let no_order = Command::ProposeSeizure {
        officer: officer(),
        freeze,
        amount: Fen::new(100),
        to: hongbao_core::seizure::SeizureTarget::External,
        reason: "r".to_owned(),
        documents: Vec::new(),
    };
    assert!(matches!(
        f.h.refused(no_order),
        CoreError::InvalidFreeze { reason: hongbao_core::FreezeRefusal::DocumentRequired, .. }
    ));
    assert!(matches!(f.h.refused(propose(freeze, 801, f.carol, order)), CoreError::InsufficientFunds { .. }));
    let Reply::Seizure(proposed) = f.h.ok(propose(freeze, 500, f.carol, order)) else { panic!() };
    assert_eq!(proposed.status.as_str(), "awaiting_approval");
    assert_eq!(proposed.expires_at, f.h.now.plus_seconds(72 * 3_600));
    assert!(
        matches!(f.h.refused(propose(freeze, 100, f.carol, order)), CoreError::Conflict { .. }),
        "one open at a time"
    );
    let before = f.h.snapshot();
    let approve = |officer| Command::ApproveSeizure { officer, seizure: proposed.seizure_id };
    assert_eq!(f.h.refused(approve(officer())), CoreError::FourEyes, "the proposer cannot approve");
    assert_eq!(f.h.snapshot(), before, "and that changes nothing");

    let Reply::Seizure(done) = f.h.ok(approve(crate::support::other_officer())) else { panic!() };
    assert_eq!((done.status.as_str(), done.approved_by), ("executed", Some(crate::support::other_officer())));
    assert_eq!(frozen_of(&f, f.bob), (300, 200), "500 of the frozen 800 left; the free 200 stayed");
    assert_eq!(crate::support::wallet_of(&f.h.world, hongbao_core::AccountId::wallet(f.carol)).balance, 500);
    let again = f.h.refused(approve(crate::support::other_officer()));
    assert!(matches!(again, CoreError::InvalidState { ref reason, .. } if reason == "executed"), "{again:?}");
    let stored = f.h.world.freeze(freeze).expect("complete").expect("placed").clone();
    assert_eq!((stored.held, stored.tally.seized, stored.amount), (Fen::new(300), Fen::new(500), Some(Fen::new(300))));
    // The rest: the freeze ends seized, its amount as it was (never zero).
    let Reply::Seizure(rest) = f.h.ok(propose(freeze, 300, f.carol, order)) else { panic!() };
    f.h.ok(Command::ApproveSeizure { officer: crate::support::other_officer(), seizure: rest.seizure_id });
    let stored = f.h.world.freeze(freeze).expect("complete").expect("placed").clone();
    assert_eq!((stored.status.as_str(), stored.held, stored.tally.seized), ("seized", Fen::ZERO, Fen::new(800)));
    assert_eq!(frozen_of(&f, f.bob), (0, 200));
}

#[test]
fn approval_after_a_release_after_72_hours_or_of_more_than_is_held_is_refused_and_changes_nothing() {
    let mut f = Family::new();
    f.h.ok(Command::Deposit { user: f.bob, amount: Fen::new(1_000) });
    let (freeze, order) = court_freeze_and_order(&mut f, 1_000);
    let approve = |seizure| Command::ApproveSeizure { officer: crate::support::other_officer(), seizure };
    let seizure_of = |reply| match reply {
        Reply::Seizure(s) => s.seizure_id,
        other => panic!("{other:?}"),
    };

    // Expired: 72 hours later, even before the job ran; then the job expires it once.
    let late = seizure_of(f.h.ok(propose(freeze, 100, f.carol, order)));
    f.h.advance_s(72 * 3_600);
    let before = f.h.snapshot();
    assert!(matches!(f.h.refused(approve(late)), CoreError::InvalidState { ref reason, .. } if reason == "expired"));
    assert_eq!(f.h.snapshot(), before);
    assert_eq!(f.h.ok(Command::ExpireSeizure { seizure: late }), Reply::Settled { changed: true });
    assert_eq!(f.h.ok(Command::ExpireSeizure { seizure: late }), Reply::Settled { changed: false });

    // More than is held at approval: part was released in between.
    let big = seizure_of(f.h.ok(propose(freeze, 900, f.carol, order)));
    let lifted = {
        let mut command = crate::support::register_document([7; 32], f.h.now);
        if let Command::RegisterDocument { spec, .. } = &mut command {
            spec.kind = hongbao_core::document::DocumentKind::ReleaseNotice;
        }
        match f.h.ok(command) {
            Reply::DocumentRegistered(r) => r.document_id,
            other => panic!("{other:?}"),
        }
    };
    let mut part = release(freeze, Some(200));
    if let Command::ReleaseFreeze { documents, .. } = &mut part {
        *documents = vec![lifted];
    }
    f.h.ok(part);
    let before = f.h.snapshot();
    assert!(matches!(f.h.refused(approve(big)), CoreError::InsufficientFunds { .. }));
    assert_eq!(f.h.snapshot(), before);
    f.h.ok(Command::RejectSeizure { officer: officer(), seizure: big, reason: "too much".to_owned() });

    // The freeze released since the proposal.
    let gone = seizure_of(f.h.ok(propose(freeze, 100, f.carol, order)));
    let mut all = release(freeze, None);
    if let Command::ReleaseFreeze { documents, .. } = &mut all {
        *documents = vec![lifted];
    }
    f.h.ok(all);
    let before = f.h.snapshot();
    assert!(matches!(f.h.refused(approve(gone)), CoreError::InvalidState { ref reason, .. } if reason == "released"));
    assert_eq!(f.h.snapshot(), before);
    assert_eq!(frozen_of(&f, f.bob), (0, 1_000), "nothing was ever seized");
}
