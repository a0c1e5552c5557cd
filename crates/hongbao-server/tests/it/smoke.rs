//! The shortest path through the API, and the server's public endpoints.

use hongbao_core::Fen;

use crate::support::spawn_app;

#[tokio::test]
async fn a_user_created_by_root_can_see_a_deposit_in_their_balance() {
    let mut app = spawn_app().await;
    let (alice, created) = app.user("alice", 10_000).await;
    let me = alice.me().send().await.unwrap();
    assert_eq!(me.user_id, created.user_id);
    assert_eq!((me.balance, me.available), (Fen::new(10_000), Fen::new(10_000)));
    app.stop().await;
}

#[tokio::test]
async fn health_readiness_metrics_and_the_document_are_public() {
    let app = spawn_app().await;
    assert_eq!(app.root.healthz().await.unwrap().status, 200);
    assert_eq!(app.root.readyz().await.unwrap().status, 200);
    let document = app.root.openapi().send().await.unwrap();
    assert!(document["paths"]["/v1/packets/{packet_id}/claim"]["post"].is_object());
}
