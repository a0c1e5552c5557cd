//! Many tasks at once through the one writer.

use std::collections::HashSet;

use hongbao_core::ops::{Command, PacketSpec, Reply};
use hongbao_core::{AccountId, CoreError, Fact, Fen, Key, Limits};
use hongbao_engine::{EngineConfig, EngineError};
use hongbao_store::Store;

use crate::support::app_with_limits;

#[tokio::test]
async fn a_thousand_tasks_claim_one_hundred_share_packet_and_exactly_a_hundred_succeed() {
    // A group of 1 000 people: above the default group limit of 500, so the test raises it.
    let limits = Limits { group_members_max: 1_000, ..Limits::default() };
    let app = app_with_limits(EngineConfig::default(), limits).await;
    let sender = app.user("sender", 1_000).await;
    let mut members = Vec::new();
    for i in 0..999 {
        members.push(app.user(&format!("member {i}"), 0).await);
    }
    let group = app.group(sender, &members).await;
    let packet = app.send(sender, PacketSpec::Lucky { group_id: group, count: 100, total: Fen::new(10_000) }, 0).await;
    let packet = packet.packet_id;

    members.push(sender);
    let tasks: Vec<_> = members
        .iter()
        .map(|&user| {
            let engine = app.engine.clone();
            tokio::spawn(async move { (user, engine.execute(Command::ClaimPacket { actor: user, packet }).await) })
        })
        .collect();
    assert_eq!(tasks.len(), 1_000);
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
    assert_eq!(exhausted, 900);
    assert_eq!(total, Fen::new(10_000), "the shares add up to the packet");
    let mut read = app.store.read().await.unwrap();
    let facts = read.load(&[Key::Account(AccountId::escrow(packet))]).await.unwrap();
    let Fact::Account(_, Some(escrow)) = &facts[0] else { panic!("no escrow") };
    assert_eq!(escrow.balance().unwrap(), Fen::ZERO, "escrow ends at zero");
    assert_eq!(app.view(sender, packet).await.claims.len(), 100);
    app.assert_invariants().await;
}
