//! The recall policy of docs/DESIGN.md, one row per case: normal and exclusive packets may be
//! recalled by their sender while no share is claimed and no recipient has touched them; lucky
//! packets never; the reasons are reported in a fixed order (not active, lucky, claimed,
//! touched); a member who is not the sender is forbidden and a stranger learns nothing.

use hongbao_core::packet::{ClaimStatus, PacketStatus};
use hongbao_core::{Command, CoreError, Fen, GroupId, PacketId, PacketSpec, RecallRefusal, UserId};

use crate::support::Harness;

/// Every packet of this file moves 300 fen, so a refund is easy to recognise.
const TOTAL_FEN: i64 = 300;
const FUNDS_FEN: i64 = 1_000_000;

#[derive(Clone, Copy, Debug)]
enum Kind {
    Normal,
    /// A normal packet whose claims arrive two hours late.
    DelayedNormal,
    Lucky,
    Exclusive,
}

#[derive(Clone, Copy, Debug)]
enum Who {
    Sender,
    /// A member of the group (or the exclusive recipient) who did not send the packet.
    Member,
    Stranger,
}

#[derive(Debug)]
enum Expect {
    Recalled,
    Refused(RecallRefusal),
    Forbidden,
    NotFound,
}

/// The people and the group of one row, each row in a fresh world.
struct Scene {
    h: Harness,
    sender: UserId,
    member: UserId,
    other_member: UserId,
    stranger: UserId,
    group: GroupId,
}

impl Scene {
    fn new() -> Scene {
        let mut h = Harness::new();
        let sender = h.funded_user(FUNDS_FEN);
        let member = h.funded_user(FUNDS_FEN);
        let other_member = h.funded_user(FUNDS_FEN);
        let stranger = h.funded_user(FUNDS_FEN);
        let group = h.group(sender, &[member, other_member]);
        Scene { h, sender, member, other_member, stranger, group }
    }

    fn send(&mut self, kind: Kind) -> PacketId {
        let normal = PacketSpec::Normal { group_id: self.group, count: 3, amount_each: Fen::new(100) };
        let (spec, arrival_delay_s) = match kind {
            Kind::Normal => (normal, 0),
            Kind::DelayedNormal => (normal, 7200),
            Kind::Lucky => (PacketSpec::Lucky { group_id: self.group, count: 3, total: Fen::new(TOTAL_FEN) }, 0),
            Kind::Exclusive => (PacketSpec::Exclusive { recipient: self.member, amount: Fen::new(TOTAL_FEN) }, 0),
        };
        self.h.send(self.sender, spec, arrival_delay_s)
    }

    fn who(&self, who: Who) -> UserId {
        match who {
            Who::Sender => self.sender,
            Who::Member => self.member,
            Who::Stranger => self.stranger,
        }
    }

    fn expire_now(&mut self, packet: PacketId) {
        self.h.now = self.h.packet(packet).expires_at;
    }
}

struct Row {
    name: &'static str,
    kind: Kind,
    /// What happens to the packet between sending and the recall attempt.
    before: fn(&mut Scene, PacketId),
    actor: Who,
    expect: Expect,
}

fn nothing(_: &mut Scene, _: PacketId) {}

fn rows() -> Vec<Row> {
    use Expect::{Forbidden, NotFound, Recalled, Refused};
    use RecallRefusal::{Claimed, LuckyPacket, NotActive, Touched};
    vec![
        Row {
            name: "an untouched unclaimed normal packet is recalled",
            kind: Kind::Normal,
            before: nothing,
            actor: Who::Sender,
            expect: Recalled,
        },
        Row {
            name: "an untouched unclaimed exclusive packet is recalled",
            kind: Kind::Exclusive,
            before: nothing,
            actor: Who::Sender,
            expect: Recalled,
        },
        Row {
            name: "a normal packet opened only by its sender is still recallable",
            kind: Kind::Normal,
            before: |s, p| {
                s.h.open(s.sender, p);
            },
            actor: Who::Sender,
            expect: Recalled,
        },
        Row {
            name: "an exclusive packet opened only by its sender is still recallable",
            kind: Kind::Exclusive,
            before: |s, p| {
                s.h.open(s.sender, p);
            },
            actor: Who::Sender,
            expect: Recalled,
        },
        Row {
            name: "a normal packet one millisecond before expiry is still recallable",
            kind: Kind::Normal,
            before: |s, p| s.h.now = s.h.packet(p).expires_at.plus_millis(-1),
            actor: Who::Sender,
            expect: Recalled,
        },
        Row {
            name: "an untouched lucky packet is never recallable",
            kind: Kind::Lucky,
            before: nothing,
            actor: Who::Sender,
            expect: Refused(LuckyPacket),
        },
        Row {
            name: "a touched lucky packet reports lucky before touched",
            kind: Kind::Lucky,
            before: |s, p| {
                s.h.open(s.member, p);
            },
            actor: Who::Sender,
            expect: Refused(LuckyPacket),
        },
        Row {
            name: "a claimed lucky packet reports lucky before claimed",
            kind: Kind::Lucky,
            before: |s, p| {
                s.h.claim(s.member, p);
            },
            actor: Who::Sender,
            expect: Refused(LuckyPacket),
        },
        Row {
            name: "a normal packet the sender claimed without anyone touching it is claimed",
            kind: Kind::Normal,
            before: |s, p| {
                s.h.claim(s.sender, p);
                assert!(!s.h.packet(p).touched, "the sender's own claim does not touch the packet");
            },
            actor: Who::Sender,
            expect: Refused(Claimed),
        },
        Row {
            name: "a normal packet claimed by a member reports claimed before touched",
            kind: Kind::Normal,
            before: |s, p| {
                s.h.claim(s.member, p);
                assert!(s.h.packet(p).touched, "a member's claim touches the packet");
            },
            actor: Who::Sender,
            expect: Refused(Claimed),
        },
        Row {
            name: "a delayed normal packet whose only claim is still pending is claimed",
            kind: Kind::DelayedNormal,
            before: |s, p| {
                let receipt = s.h.claim(s.sender, p);
                assert_eq!(receipt.status, ClaimStatus::Pending);
            },
            actor: Who::Sender,
            expect: Refused(Claimed),
        },
        Row {
            name: "a normal packet opened by a member is touched",
            kind: Kind::Normal,
            before: |s, p| {
                s.h.open(s.other_member, p);
            },
            actor: Who::Sender,
            expect: Refused(Touched),
        },
        Row {
            name: "an exclusive packet opened by its recipient is touched",
            kind: Kind::Exclusive,
            before: |s, p| {
                s.h.open(s.member, p);
            },
            actor: Who::Sender,
            expect: Refused(Touched),
        },
        Row {
            name: "a normal packet at its expiry is not active even before the job ran",
            kind: Kind::Normal,
            before: Scene::expire_now,
            actor: Who::Sender,
            expect: Refused(NotActive),
        },
        Row {
            name: "an exclusive packet past its expiry is not active even before the job ran",
            kind: Kind::Exclusive,
            before: |s, p| {
                s.expire_now(p);
                s.h.advance_s(3600);
            },
            actor: Who::Sender,
            expect: Refused(NotActive),
        },
        Row {
            name: "a lucky packet past its expiry reports not active before lucky",
            kind: Kind::Lucky,
            before: Scene::expire_now,
            actor: Who::Sender,
            expect: Refused(NotActive),
        },
        Row {
            name: "an expired and refunded normal packet is not active",
            kind: Kind::Normal,
            before: |s, p| {
                s.expire_now(p);
                assert!(s.h.expire(p), "the expiry job refunds the packet");
            },
            actor: Who::Sender,
            expect: Refused(NotActive),
        },
        Row {
            name: "an already recalled normal packet is not active",
            kind: Kind::Normal,
            before: |s, p| {
                s.h.recall(s.sender, p);
            },
            actor: Who::Sender,
            expect: Refused(NotActive),
        },
        Row {
            name: "an exhausted normal packet is not active",
            kind: Kind::Normal,
            before: |s, p| {
                for claimer in [s.sender, s.member, s.other_member] {
                    s.h.claim(claimer, p);
                }
                assert_eq!(s.h.packet(p).status, PacketStatus::Exhausted);
            },
            actor: Who::Sender,
            expect: Refused(NotActive),
        },
        Row {
            name: "a member who did not send the packet may not recall it",
            kind: Kind::Normal,
            before: nothing,
            actor: Who::Member,
            expect: Forbidden,
        },
        Row {
            name: "the recipient of an exclusive packet may not recall it",
            kind: Kind::Exclusive,
            before: nothing,
            actor: Who::Member,
            expect: Forbidden,
        },
        Row {
            name: "a stranger is told the packet does not exist",
            kind: Kind::Normal,
            before: nothing,
            actor: Who::Stranger,
            expect: NotFound,
        },
        Row {
            name: "a stranger is told an exclusive packet does not exist",
            kind: Kind::Exclusive,
            before: nothing,
            actor: Who::Stranger,
            expect: NotFound,
        },
    ]
}

#[test]
fn recall_follows_the_policy_table_of_the_design() {
    let rows = rows();
    for row in &rows {
        let mut s = Scene::new();
        let starting_balance = s.h.balance(s.sender);
        let packet = s.send(row.kind);
        (row.before)(&mut s, packet);
        let actor = s.who(row.actor);
        let command = Command::RecallPacket { actor, packet };
        match row.expect {
            Expect::Recalled => {
                let recalled = s.h.recall(actor, packet);
                assert_eq!(recalled.refunded, Fen::new(TOTAL_FEN), "{}: refund is the whole total", row.name);
                assert_eq!(recalled.status, PacketStatus::Recalled, "{}", row.name);
                assert_eq!(s.h.packet(packet).status, PacketStatus::Recalled, "{}", row.name);
                assert_eq!(s.h.balance(s.sender), starting_balance, "{}: the sender has every fen back", row.name);
                let escrow = s.h.escrow(packet);
                assert_eq!((escrow.balance, escrow.pending_out), (0, 0), "{}: escrow is empty", row.name);
                // Once recalled, nobody can claim it.
                let err = s.h.refused(Command::ClaimPacket { actor: s.member, packet });
                assert_eq!(err, CoreError::PacketRecalled, "{}", row.name);
            }
            Expect::Refused(reason) => {
                let err = s.h.refused(command);
                assert_eq!(err, CoreError::RecallNotAllowed { reason }, "{}", row.name);
                assert_eq!(err.code(), "recall_not_allowed", "{}", row.name);
            }
            Expect::Forbidden => {
                let err = s.h.refused(command);
                assert!(matches!(err, CoreError::Forbidden { .. }), "{}: got {err:?}", row.name);
            }
            Expect::NotFound => {
                let err = s.h.refused(command);
                assert_eq!(err, CoreError::not_found("packet"), "{}", row.name);
            }
        }
    }
}

#[test]
fn an_unknown_packet_cannot_be_recalled() {
    let mut s = Scene::new();
    let packet = PacketId::mint(s.h.now, &mut s.h.rng);
    let err = s.h.refused(Command::RecallPacket { actor: s.sender, packet });
    assert_eq!(err, CoreError::not_found("packet"));
}

#[test]
fn lucky_packet_cannot_be_recalled() {
    let mut s = Scene::new();
    let packet = s.send(Kind::Lucky);
    let err = s.h.refused(Command::RecallPacket { actor: s.sender, packet });
    assert_eq!(err, CoreError::RecallNotAllowed { reason: RecallRefusal::LuckyPacket });
    // The money stays in escrow and goes back at expiry instead.
    assert_eq!(s.h.escrow(packet).balance, TOTAL_FEN);
    s.expire_now(packet);
    assert!(s.h.expire(packet));
    assert_eq!(s.h.balance(s.sender), FUNDS_FEN);
}
