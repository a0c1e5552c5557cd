//! Who may see and do what: strangers get `404` (existence never leaks), the other party of a
//! claim or transfer gets `403`, users may not act as operators and operators may not act as
//! users.

use crate::support::{exclusive, json, normal, pair, raw_refused, refused, send, snapshot, spawn_app};
use hongbao_client::{Client, PacketOptions, TransferOptions};
use hongbao_core::principal::Role;
use hongbao_core::{ClaimId, Fen, GroupId, PacketId, TransferId};

const NO_PACKET: &str = "pkt_0190f0a0b0c0d0e0f000000000000000";
const NO_GROUP: &str = "grp_0190f0a0b0c0d0e0f000000000000000";
const NO_CLAIM: &str = "clm_0190f0a0b0c0d0e0f000000000000000";
const NO_TRANSFER: &str = "trf_0190f0a0b0c0d0e0f000000000000000";

/// The error bodies of every packet endpoint for `packet`, as `who` sees them.
async fn packet_answers(who: &Client, packet: PacketId) -> Vec<serde_json::Value> {
    let mut answers = Vec::new();
    answers.push(json(&who.packet(packet).send_raw().await.unwrap()));
    answers.push(json(&who.open(packet).send_raw().await.unwrap()));
    answers.push(json(&who.claim(packet).send_raw().await.unwrap()));
    answers.push(json(&who.recall(packet).send_raw().await.unwrap()));
    answers
}

#[tokio::test]
async fn a_stranger_gets_404_for_a_group_packet_exactly_as_for_a_packet_that_does_not_exist() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let (mallory, _) = app.user("mallory", 0).await;
    let packet = send(&p.alice, &normal(p.group, 2, 100)).await.packet_id;
    let before = snapshot(&[&p.alice, &p.bob, &mallory], &p.alice, &[packet]).await;

    for (who, id) in [(&mallory, packet), (&mallory, NO_PACKET.parse().unwrap())] {
        for answer in [
            who.packet(id).send_raw().await.unwrap(),
            who.open(id).send_raw().await.unwrap(),
            who.claim(id).send_raw().await.unwrap(),
            who.recall(id).send_raw().await.unwrap(),
        ] {
            raw_refused(&answer, 404, "not_found");
        }
    }
    assert_eq!(packet_answers(&mallory, packet).await, packet_answers(&mallory, NO_PACKET.parse().unwrap()).await);
    assert_eq!(snapshot(&[&p.alice, &p.bob, &mallory], &p.alice, &[packet]).await, before);
    assert!(!p.alice.packet(packet).send().await.unwrap().touched, "a stranger's open touches nothing");
}

#[tokio::test]
async fn an_exclusive_packet_is_visible_to_its_sender_and_recipient_only() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let (carol, _) = app.user("carol", 0).await;
    // Carol shares a group with the sender, but the packet is Bob's.
    p.alice.create_group("with carol", &[p.bob_id, carol.me().send().await.unwrap().user_id]).send().await.unwrap();
    let packet = send(&p.alice, &exclusive(p.bob_id, 100)).await.packet_id;
    assert_eq!(p.alice.packet(packet).send().await.unwrap().recipient, Some(p.bob_id));
    assert_eq!(p.bob.packet(packet).send().await.unwrap().packet_id, packet);
    refused(carol.packet(packet).send().await, 404, "not_found");
    refused(carol.claim(packet).send().await, 404, "not_found");
    assert_eq!(app.balance(&carol).await, Fen::ZERO);
}

#[tokio::test]
async fn a_strangers_group_is_404_exactly_as_a_group_that_does_not_exist() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let (mallory, _) = app.user("mallory", 500).await;
    let hidden = json(&mallory.group(p.group).send_raw().await.unwrap());
    let missing: GroupId = NO_GROUP.parse().unwrap();
    let absent = json(&mallory.group(missing).send_raw().await.unwrap());
    crate::support::error_shape(&hidden, "not_found");
    assert_eq!(hidden, absent);
    // Nor can a stranger send a packet into it.
    let before = snapshot(&[&mallory], &mallory, &[]).await;
    refused(mallory.send_packet(&normal(p.group, 1, 100), &PacketOptions::default()).send().await, 404, "not_found");
    assert_eq!(snapshot(&[&mallory], &mallory, &[]).await, before);
}

#[tokio::test]
async fn another_users_claim_is_404_and_the_other_party_of_the_claim_gets_403() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let (mallory, _) = app.user("mallory", 0).await;
    let options = PacketOptions::default().arrival_delay_seconds(7200);
    let packet = p.alice.send_packet(&normal(p.group, 2, 100), &options).send().await.unwrap().packet_id;
    let claim = p.bob.claim(packet).send().await.unwrap().claim_id;
    let before = snapshot(&[&p.alice, &p.bob, &mallory], &p.alice, &[packet]).await;

    let hidden = refused(mallory.revoke_claim(claim).send().await, 404, "not_found");
    let missing: ClaimId = NO_CLAIM.parse().unwrap();
    assert_eq!(hidden, refused(mallory.revoke_claim(missing).send().await, 404, "not_found"));
    refused(mallory.return_claim(claim).send().await, 404, "not_found");
    // The claimant may not revoke (only the sender may), the sender may not return.
    refused(p.bob.revoke_claim(claim).send().await, 403, "forbidden");
    refused(p.alice.return_claim(claim).send().await, 403, "forbidden");
    assert_eq!(snapshot(&[&p.alice, &p.bob, &mallory], &p.alice, &[packet]).await, before);
}

#[tokio::test]
async fn another_users_transfer_is_404_and_its_recipient_gets_403() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let (mallory, _) = app.user("mallory", 0).await;
    let options = TransferOptions::default().arrival_delay_seconds(7200);
    let transfer = p.alice.transfer(p.bob_id, Fen::new(100), &options).send().await.unwrap().transfer_id;
    let before = snapshot(&[&p.alice, &p.bob, &mallory], &p.alice, &[]).await;
    let hidden = refused(mallory.revoke_transfer(transfer).send().await, 404, "not_found");
    let missing: TransferId = NO_TRANSFER.parse().unwrap();
    assert_eq!(hidden, refused(mallory.revoke_transfer(missing).send().await, 404, "not_found"));
    refused(p.bob.revoke_transfer(transfer).send().await, 403, "forbidden");
    assert_eq!(snapshot(&[&p.alice, &p.bob, &mallory], &p.alice, &[]).await, before);
}

#[tokio::test]
async fn a_user_calling_an_admin_endpoint_is_403_and_changes_nothing() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let before = snapshot(&[&p.alice, &p.bob], &p.alice, &[]).await;
    refused(p.alice.create_user("sockpuppet").send().await, 403, "forbidden");
    refused(p.alice.create_operator("me", &[Role::Admin]).send().await, 403, "forbidden");
    refused(p.alice.deposit(p.alice_id, Fen::new(1_000_000)).send().await, 403, "forbidden");
    refused(p.alice.dev_clock(86_400).send().await, 403, "forbidden");
    assert_eq!(snapshot(&[&p.alice, &p.bob], &p.alice, &[]).await, before);
}

#[tokio::test]
async fn an_operator_without_the_admin_role_is_403_on_admin_endpoints() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let roles = [Role::Auditor, Role::RiskOfficer, Role::LegalOfficer];
    let officer = app.root.create_operator("officer", &roles).send().await.unwrap();
    let officer = app.root.for_operator(&officer);
    let before = snapshot(&[&p.alice], &p.alice, &[]).await;
    refused(officer.create_user("x").send().await, 403, "forbidden");
    refused(officer.create_operator("y", &[Role::Admin]).send().await, 403, "forbidden");
    refused(officer.deposit(p.alice_id, Fen::new(1)).send().await, 403, "forbidden");
    refused(officer.dev_clock(1).send().await, 403, "forbidden");
    assert_eq!(snapshot(&[&p.alice], &p.alice, &[]).await, before);
}

#[tokio::test]
async fn an_operator_calling_a_user_endpoint_is_403() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let packet = send(&p.alice, &normal(p.group, 2, 100)).await.packet_id;
    let root = &app.root;
    refused(root.me().send().await, 403, "forbidden");
    refused(root.transactions(None, None).send().await, 403, "forbidden");
    refused(root.withdraw(Fen::new(1)).send().await, 403, "forbidden");
    refused(root.create_group("ops", &[p.alice_id]).send().await, 403, "forbidden");
    refused(root.group(p.group).send().await, 403, "forbidden");
    refused(root.send_packet(&normal(p.group, 1, 1), &PacketOptions::default()).send().await, 403, "forbidden");
    refused(root.packet(packet).send().await, 403, "forbidden");
    refused(root.claim(packet).send().await, 403, "forbidden");
    refused(root.transfer(p.alice_id, Fen::new(1), &TransferOptions::default()).send().await, 403, "forbidden");
    let view = p.alice.packet(packet).send().await.unwrap();
    assert_eq!((view.remaining_count, view.claims.len()), (2, 0));
}
