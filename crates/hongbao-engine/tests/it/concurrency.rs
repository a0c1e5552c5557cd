//! Many tasks at once through the one writer.

use std::collections::HashSet;

use hongbao_core::ops::{Command, PacketSpec, Reply};
use hongbao_core::{AccountId, CoreError, Fen, Key};
use hongbao_engine::EngineError;
use hongbao_store::Store;

use crate::support::app;

#[tokio::test]
async fn a_thousand_tasks_claim_a_hundred_share_packet_and_exactly_a_hundred_succeed() {
    let app = app().await;
    let sender = app.user("sender", 1_000).await;
    let mut members = Vec::new();
    for i in 0..998 {
        members.push(app.user(&format!("member {i}"), 0).await);
    }
    let group = app.group(sender, &members[..499]).await;
    let group2 = app.group(sender, &members[499..]).await;
    // Two groups of 500 (the limit, the sender included): 1 000 claimers in all.
    let first = app.send(sender, PacketSpec::Lucky { group_id: group, count: 100, total: Fen::new(10_000) }, 0).await;
    let second = app.send(sender, PacketSpec::Lucky { group_id: group2, count: 100, total: Fen::new(10_000) }, 0).await;

    for (packet, people) in [(first.packet_id, &members[..499]), (second.packet_id, &members[499..])] {
        let mut claimers: Vec<_> = people.to_vec();
        claimers.push(sender);
        let tasks: Vec<_> = claimers
            .iter()
            .map(|&user| {
                let engine = app.engine.clone();
                tokio::spawn(async move { (user, engine.execute(Command::ClaimPacket { actor: user, packet }).await) })
            })
            .collect();
        let (mut won, mut exhausted, mut total) = (HashSet::new(), 0, Fen::ZERO);
        for task in tasks {
            match task.await.unwrap() {
                (user, Ok(Reply::Claimed(claim))) => {
                    assert!(won.insert(user), "{user} got two shares");
                    total = total.checked_add(claim.amount).unwrap();
                }
                (_, Err(EngineError::Refused(CoreError::PacketExhausted))) => exhausted += 1,
                (_, other) => panic!("unexpected answer {other:?}"),
            }
        }
        assert_eq!(won.len(), 100);
        assert_eq!(exhausted, claimers.len() - 100);
        assert_eq!(total, Fen::new(10_000), "the shares add up to the packet");
        let mut read = app.store.read().await.unwrap();
        let facts = read.load(&[Key::Account(AccountId::escrow(packet))]).await.unwrap();
        let hongbao_core::Fact::Account(_, Some(escrow)) = &facts[0] else { panic!("no escrow") };
        assert_eq!(escrow.balance().unwrap(), Fen::ZERO, "escrow ends at zero");
    }
    app.assert_invariants().await;
}
