//! Bad input to the core: every case is refused with its typed error, names the rule it broke,
//! and changes nothing — checked by comparing every user, account, group, packet, claim, pending
//! and transfer before and after.

use hongbao_core::{ClaimId, Command, Fen, GroupId, Limits, PacketId, PacketSpec, Reply, TransferId, UserId};

use crate::support::{Harness, lock, officer, precautionary, release};

const ALICE_FEN: i64 = 1_000_000;
const CAROL_FEN: i64 = 10_000;

/// A small world with something of everything: alice, bob and carol share a group; dave is a
/// stranger; alice sent a normal packet that bob claimed, and an exclusive packet to bob.
struct Scene {
    h: Harness,
    alice: UserId,
    bob: UserId,
    carol: UserId,
    dave: UserId,
    group: GroupId,
    claimed_packet: PacketId,
    bobs_claim: ClaimId,
    deposit: TransferId,
}

impl Scene {
    fn new() -> Scene {
        let mut h = Harness::new();
        let alice = h.user();
        let deposit = match h.ok(Command::Deposit { user: alice, amount: Fen::new(ALICE_FEN) }) {
            Reply::Moved(moved) => moved.transfer_id,
            other => panic!("Deposit answered {other:?}"),
        };
        let bob = h.user();
        let carol = h.funded_user(CAROL_FEN);
        let dave = h.funded_user(CAROL_FEN);
        let group = h.group(alice, &[bob, carol]);
        let spec = PacketSpec::Normal { group_id: group, count: 3, amount_each: Fen::new(100) };
        let claimed_packet = h.send(alice, spec, 0);
        let bobs_claim = h.claim(bob, claimed_packet).claim_id;
        h.send(alice, PacketSpec::Exclusive { recipient: bob, amount: Fen::new(500) }, 0);
        Scene { h, alice, bob, carol, dave, group, claimed_packet, bobs_claim, deposit }
    }

    fn normal(&self, count: u32, amount_each: i64) -> PacketSpec {
        PacketSpec::Normal { group_id: self.group, count, amount_each: Fen::new(amount_each) }
    }

    fn lucky(&self, count: u32, total: i64) -> PacketSpec {
        PacketSpec::Lucky { group_id: self.group, count, total: Fen::new(total) }
    }

    fn send(&self, spec: PacketSpec) -> Command {
        Command::SendPacket { actor: self.alice, spec, greeting: None, arrival_delay_s: 0, risk_confirmation: None }
    }

    fn transfer(&self, to: UserId, fen: i64) -> Command {
        Command::Transfer {
            actor: self.alice,
            to,
            amount: Fen::new(fen),
            note: None,
            arrival_delay_s: 0,
            risk_confirmation: None,
        }
    }
}

/// A case: how to build the command in a fresh scene, the error code it must get, and a word
/// its message must contain, so the refusal is for the stated reason and not another.
type Case = (&'static str, fn(&mut Scene) -> Command, &'static str, &'static str);

fn cases() -> Vec<Case> {
    const INVALID: &str = "invalid_request";
    vec![
        ("a deposit of zero", |s| Command::Deposit { user: s.bob, amount: Fen::ZERO }, INVALID, "at least 1 fen"),
        ("a negative deposit", |s| Command::Deposit { user: s.bob, amount: Fen::new(-100) }, INVALID, "at least 1 fen"),
        (
            "a withdrawal of zero",
            |s| Command::Withdraw { actor: s.alice, amount: Fen::ZERO },
            INVALID,
            "at least 1 fen",
        ),
        (
            "a negative withdrawal",
            |s| Command::Withdraw { actor: s.alice, amount: Fen::new(-1) },
            INVALID,
            "at least 1 fen",
        ),
        ("a transfer of zero", |s| s.transfer(s.bob, 0), INVALID, "at least 1 fen"),
        ("a negative transfer", |s| s.transfer(s.bob, -500), INVALID, "at least 1 fen"),
        ("a normal share of zero", |s| s.send(s.normal(2, 0)), INVALID, "each share"),
        ("a negative normal share", |s| s.send(s.normal(2, -100)), INVALID, "each share"),
        ("a lucky total of zero", |s| s.send(s.lucky(2, 0)), INVALID, "lucky total"),
        ("a negative lucky total", |s| s.send(s.lucky(2, -1)), INVALID, "lucky total"),
        (
            "an exclusive amount of zero",
            |s| s.send(PacketSpec::Exclusive { recipient: s.bob, amount: Fen::ZERO }),
            INVALID,
            "each share",
        ),
        (
            "a negative exclusive amount",
            |s| s.send(PacketSpec::Exclusive { recipient: s.bob, amount: Fen::new(-5) }),
            INVALID,
            "each share",
        ),
        ("a normal packet of zero shares", |s| s.send(s.normal(0, 100)), INVALID, "count"),
        ("a normal packet of 101 shares", |s| s.send(s.normal(101, 100)), INVALID, "count"),
        ("a lucky packet of zero shares", |s| s.send(s.lucky(0, 100)), INVALID, "count"),
        ("a lucky packet of 101 shares", |s| s.send(s.lucky(101, 10_000)), INVALID, "count"),
        ("a normal share of 20 001 fen", |s| s.send(s.normal(1, 20_001)), INVALID, "each share"),
        (
            "an exclusive amount of 20 001 fen",
            |s| s.send(PacketSpec::Exclusive { recipient: s.bob, amount: Fen::new(20_001) }),
            INVALID,
            "each share",
        ),
        ("a lucky total smaller than its count", |s| s.send(s.lucky(3, 2)), INVALID, "lucky total"),
        ("a lucky total beyond count times the share maximum", |s| s.send(s.lucky(3, 60_001)), INVALID, "lucky total"),
        ("a lucky total of i64::MAX", |s| s.send(s.lucky(100, i64::MAX)), INVALID, "lucky total"),
        ("a normal share of i64::MAX times two", |s| s.send(s.normal(2, i64::MAX)), INVALID, "each share"),
        (
            "a deposit beyond the deposit limit (which keeps the money in the system from overflowing)",
            |s| Command::Deposit { user: s.bob, amount: Fen::new(i64::MAX - 5) },
            INVALID,
            "at most",
        ),
        ("more shares than the group has members", |s| s.send(s.normal(4, 100)), INVALID, "may not exceed"),
        (
            "a claim by someone outside the group",
            |s| Command::ClaimPacket { actor: s.dave, packet: s.claimed_packet },
            "not_found",
            "packet",
        ),
        (
            "a second claim by the same person",
            |s| Command::ClaimPacket { actor: s.bob, packet: s.claimed_packet },
            "already_claimed",
            "already",
        ),
        (
            "a claim of a packet that does not exist",
            |s| {
                let packet = PacketId::mint(s.h.now, &mut s.h.rng);
                Command::ClaimPacket { actor: s.bob, packet }
            },
            "not_found",
            "packet",
        ),
        (
            "a greeting of 65 characters",
            |s| Command::SendPacket {
                actor: s.alice,
                spec: s.normal(1, 100),
                greeting: Some("福".repeat(65)),
                arrival_delay_s: 0,
                risk_confirmation: None,
            },
            INVALID,
            "greeting",
        ),
        (
            "a greeting with a control character",
            |s| Command::SendPacket {
                actor: s.alice,
                spec: s.normal(1, 100),
                greeting: Some("恭喜\u{7}发财".into()),
                arrival_delay_s: 0,
                risk_confirmation: None,
            },
            INVALID,
            "control",
        ),
        (
            "an exclusive packet for someone unknown",
            |s| {
                let recipient = s.h.unknown_user();
                s.send(PacketSpec::Exclusive { recipient, amount: Fen::new(100) })
            },
            INVALID,
            "unknown recipient",
        ),
        (
            "a transfer to someone unknown",
            |s| {
                let to = s.h.unknown_user();
                s.transfer(to, 100)
            },
            INVALID,
            "unknown recipient",
        ),
        ("a transfer to oneself", |s| s.transfer(s.alice, 100), INVALID, "yourself"),
        (
            "an exclusive packet for oneself",
            |s| s.send(PacketSpec::Exclusive { recipient: s.alice, amount: Fen::new(100) }),
            INVALID,
            "someone else",
        ),
        (
            "a packet arriving after one hour",
            |s| Command::SendPacket {
                actor: s.alice,
                spec: s.normal(1, 100),
                greeting: None,
                arrival_delay_s: 3600,
                risk_confirmation: None,
            },
            INVALID,
            "arrival_delay",
        ),
        (
            "a packet arriving one second after a day",
            |s| Command::SendPacket {
                actor: s.alice,
                spec: s.normal(1, 100),
                greeting: None,
                arrival_delay_s: 86_401,
                risk_confirmation: None,
            },
            INVALID,
            "arrival_delay",
        ),
        (
            "a transfer arriving after one second",
            |s| Command::Transfer {
                actor: s.alice,
                to: s.bob,
                amount: Fen::new(100),
                note: None,
                arrival_delay_s: 1,
                risk_confirmation: None,
            },
            INVALID,
            "arrival_delay",
        ),
        (
            "a transfer note of 65 characters",
            |s| Command::Transfer {
                actor: s.alice,
                to: s.bob,
                amount: Fen::new(100),
                note: Some("x".repeat(65)),
                arrival_delay_s: 0,
                risk_confirmation: None,
            },
            INVALID,
            "note",
        ),
        (
            "a deposit for someone unknown",
            |s| Command::Deposit { user: s.h.unknown_user(), amount: Fen::new(100) },
            "not_found",
            "user",
        ),
        (
            "a packet for a group that does not exist",
            |s| {
                let group_id = GroupId::mint(s.h.now, &mut s.h.rng);
                s.send(PacketSpec::Normal { group_id, count: 1, amount_each: Fen::new(100) })
            },
            "not_found",
            "group",
        ),
        (
            "a packet for a group the sender is not in",
            |s| Command::SendPacket {
                actor: s.dave,
                spec: s.normal(1, 100),
                greeting: None,
                arrival_delay_s: 0,
                risk_confirmation: None,
            },
            "not_found",
            "group",
        ),
        (
            "a packet worth more than the sender has",
            |s| Command::SendPacket {
                actor: s.carol,
                spec: s.normal(1, CAROL_FEN + 1),
                greeting: None,
                arrival_delay_s: 0,
                risk_confirmation: None,
            },
            "insufficient_funds",
            "insufficient",
        ),
        (
            "a withdrawal of more than the balance",
            |s| Command::Withdraw { actor: s.carol, amount: Fen::new(CAROL_FEN + 1) },
            "insufficient_funds",
            "insufficient",
        ),
        ("a freeze of zero", |s| precautionary(s.carol, Some(0)), INVALID, "at least 1 fen"),
        (
            "a release of more than is held",
            |s| {
                let Reply::Freeze(f) = s.h.ok(precautionary(s.carol, Some(10))) else { unreachable!() };
                release(f.freeze_id, Some(11))
            },
            "conflict",
            "holds",
        ),
        (
            "a withdrawal of frozen money",
            |s| {
                s.h.ok(precautionary(s.carol, Some(1)));
                Command::Withdraw { actor: s.carol, amount: Fen::new(CAROL_FEN) }
            },
            "account_frozen",
            "held by a freeze",
        ),
        (
            "a packet sent by a locked user",
            |s| {
                s.h.ok(lock(s.alice));
                s.send(s.normal(1, 100))
            },
            "account_frozen",
            "locked by risk control",
        ),
        (
            "a revocation of a claim that does not exist",
            |s| Command::RevokeClaim { actor: s.alice, claim: ClaimId::mint(s.h.now, &mut s.h.rng) },
            "not_found",
            "claim",
        ),
        (
            "a return of a claim that does not exist",
            |s| Command::ReturnClaim { actor: s.bob, claim: ClaimId::mint(s.h.now, &mut s.h.rng) },
            "not_found",
            "claim",
        ),
        (
            "a return of someone else's claim by a stranger",
            |s| Command::ReturnClaim { actor: s.dave, claim: s.bobs_claim },
            "not_found",
            "claim",
        ),
        (
            "a revocation of a claim that arrived at once",
            |s| Command::RevokeClaim { actor: s.alice, claim: s.bobs_claim },
            "not_pending",
            "pending",
        ),
        (
            "a revocation of a transfer that does not exist",
            |s| Command::RevokeTransfer { actor: s.alice, transfer: TransferId::mint(s.h.now, &mut s.h.rng) },
            "not_found",
            "transfer",
        ),
        (
            "a revocation of a deposit as if it were a transfer",
            |s| Command::RevokeTransfer { actor: s.alice, transfer: s.deposit },
            "not_found",
            "transfer",
        ),
        ("a user with an empty name", |_| Command::CreateUser { name: String::new() }, INVALID, "name"),
        ("a user with a blank name", |_| Command::CreateUser { name: "   ".into() }, INVALID, "name"),
        ("a user with a name of 65 characters", |_| Command::CreateUser { name: "名".repeat(65) }, INVALID, "name"),
        (
            "a group with an unknown member",
            |s| Command::CreateGroup { actor: s.alice, name: "g".into(), members: vec![s.bob, s.h.unknown_user()] },
            INVALID,
            "unknown user",
        ),
        (
            "a group created by someone unknown",
            |s| Command::CreateGroup { actor: s.h.unknown_user(), name: "g".into(), members: vec![s.bob] },
            "not_found",
            "user",
        ),
        ("locking someone unknown", |s| lock(s.h.unknown_user()), "not_found", "user"),
        (
            "a lock without a reason",
            |s| Command::LockUser { officer: officer(), user: s.bob, reason: " ".into() },
            "invalid_request",
            "reason must be 1 to 500 characters",
        ),
        (
            "an unlock with a reason over 500 characters",
            |s| Command::UnlockUser { officer: officer(), user: s.bob, reason: "x".repeat(501) },
            "invalid_request",
            "reason must be 1 to 500 characters",
        ),
    ]
}

#[test]
fn bad_input_is_refused_with_a_typed_error_and_changes_nothing() {
    let cases = cases();
    for (name, build, code, mentions) in &cases {
        let mut s = Scene::new();
        let command = build(&mut s);
        // `refused` compares every entity before and after, and checks no row is left to write.
        let err = s.h.refused(command);
        assert_eq!(err.code(), *code, "{name}: got {err:?}");
        let message = err.to_string();
        assert!(message.contains(mentions), "{name}: the message {message:?} should mention {mentions:?}");
    }
}

#[test]
fn an_emoji_greeting_is_counted_in_characters_not_bytes() {
    let mut s = Scene::new();
    for greeting in ["🧧".repeat(10), "🧧".repeat(64), "恭喜发财".repeat(16)] {
        let command = Command::SendPacket {
            actor: s.alice,
            spec: s.normal(1, 100),
            greeting: Some(greeting.clone()),
            arrival_delay_s: 0,
            risk_confirmation: None,
        };
        match s.h.ok(command) {
            Reply::Packet(view) => assert_eq!(view.greeting, greeting),
            other => panic!("SendPacket answered {other:?}"),
        }
    }
    let too_long = Command::SendPacket {
        actor: s.alice,
        spec: s.normal(1, 100),
        greeting: Some("🧧".repeat(65)),
        arrival_delay_s: 0,
        risk_confirmation: None,
    };
    assert_eq!(s.h.refused(too_long).code(), "invalid_request");
}

#[test]
fn a_deposit_above_the_deposit_limit_is_refused_naming_it() {
    let mut h = Harness::new();
    let user = h.user();
    let max = Limits::default().deposit_max_fen;
    let err = h.refused(Command::Deposit { user, amount: Fen::new(max + 1) });
    assert_eq!(err.code(), "invalid_request");
    assert!(err.to_string().contains(&max.to_string()), "{err}");
    h.ok(Command::Deposit { user, amount: Fen::new(max) });
    assert_eq!(h.balance(user), max);
}

/// Limits that allow any deposit, so the tests below reach the arithmetic's own edge.
fn unbounded_deposits() -> Limits {
    Limits { deposit_max_fen: i64::MAX, ..Limits::default() }
}

#[test]
fn depositing_near_i64_max_twice_is_refused_without_wrapping() {
    let mut h = Harness::with_limits(unbounded_deposits());
    let rich = h.user();
    let near_max = i64::MAX - 5;
    h.ok(Command::Deposit { user: rich, amount: Fen::new(near_max) });
    assert_eq!(h.balance(rich), near_max);
    for amount in [near_max, 6, i64::MAX] {
        let err = h.refused(Command::Deposit { user: rich, amount: Fen::new(amount) });
        assert_eq!(err.code(), "invalid_request", "{amount}");
        assert!(err.to_string().contains("overflows"), "{err}");
    }
    // Exactly up to the limit is fine: nothing is lost at the edge.
    h.ok(Command::Deposit { user: rich, amount: Fen::new(5) });
    assert_eq!(h.balance(rich), i64::MAX);
}

#[test]
fn a_transfer_that_would_overflow_a_running_total_is_refused() {
    let mut h = Harness::with_limits(unbounded_deposits());
    let (a, b) = (h.user(), h.user());
    let near_max = i64::MAX - 5;
    h.ok(Command::Deposit { user: a, amount: Fen::new(near_max) });
    h.transfer(a, b, near_max, 0);
    // b's credits total is now near i64::MAX; sending it back would push a's credits past it.
    // Confirmed (it is a large amount): the refusal is the overflow's.
    let confirmation = Some(hongbao_core::warning::RiskConfirmation { id: hongbao_core::id::Uuid::from_u128(7) });
    let err = h.refused(Command::Transfer {
        actor: b,
        to: a,
        amount: Fen::new(near_max),
        note: None,
        arrival_delay_s: 0,
        risk_confirmation: confirmation,
    });
    assert_eq!(err.code(), "invalid_request");
    assert!(err.to_string().contains("overflows"), "{err}");
}

#[test]
fn a_lucky_total_near_i64_max_splits_without_overflow_under_limits_that_allow_it() {
    // Validated limits whose share maximum times count maximum just fits in an i64.
    let count_max = 100;
    let limits = Limits { share_max_fen: i64::MAX / i64::from(count_max), count_max, ..Limits::default() };
    assert_eq!(limits.validate(), Ok(()));
    let limits = Limits { deposit_max_fen: i64::MAX, ..limits };
    let mut h = Harness::with_limits(limits);
    let total = i64::MAX / 100 * 100;
    let sender = h.funded_user(total);
    let members: Vec<UserId> = (0..99).map(|_| h.user()).collect();
    let group = h.group(sender, &members);
    let packet = h.send(sender, PacketSpec::Lucky { group_id: group, count: 100, total: Fen::new(total) }, 0);
    assert_eq!(h.packet(packet).total, Fen::new(total));
    assert_eq!(h.escrow(packet).balance, total);
}

#[test]
fn a_packet_whose_total_overflows_is_refused_even_under_limits_that_validation_would_refuse() {
    // Limits that validation refuses (share maximum × count maximum overflows): should a shell
    // skip validation, the core must still refuse rather than wrap or panic.
    let limits = Limits { share_max_fen: i64::MAX / 2, ..Limits::default() };
    assert!(limits.validate().is_err());
    let mut h = Harness::with_limits(limits);
    let sender = h.funded_user(1_000);
    let (m1, m2) = (h.user(), h.user());
    let group = h.group(sender, &[m1, m2]);
    let normal = PacketSpec::Normal { group_id: group, count: 3, amount_each: Fen::new(i64::MAX / 2) };
    let lucky = PacketSpec::Lucky { group_id: group, count: 3, total: Fen::new(i64::MAX) };
    for spec in [normal, lucky] {
        let err = h.refused(Command::SendPacket {
            actor: sender,
            spec,
            greeting: None,
            arrival_delay_s: 0,
            risk_confirmation: None,
        });
        assert_eq!(err.code(), "invalid_request");
        assert!(err.to_string().contains("overflows"), "{err}");
    }
}
