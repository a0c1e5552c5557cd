//! The `hongbao` binary as a person runs it.

use std::path::Path;
use std::process::{Command, Output};

fn hongbao(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hongbao")).args(args).output().expect("the binary runs")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn demo_into(dir: &Path) -> Output {
    hongbao(&["demo", "--keep", dir.to_str().unwrap()])
}

#[test]
fn demo_tells_the_whole_story_and_ends_with_the_invariants_holding() {
    let dir = tempfile::tempdir().unwrap();
    let output = demo_into(dir.path());
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    for expected in [
        "lucky packet",
        "手气最佳",
        "went back to",
        "Recalled (撤回)",
        "refused (this packet cannot be recalled: lucky_packet)",
        "refused (this packet cannot be recalled: touched)",
        "Revoked before arrival",
        "all five invariants hold",
    ] {
        assert!(out.contains(expected), "the demo did not say {expected:?}:\n{out}");
    }
}

#[test]
fn check_passes_on_the_demo_database_and_fails_precisely_on_a_tampered_one() {
    let dir = tempfile::tempdir().unwrap();
    assert!(demo_into(dir.path()).status.success());
    let db = dir.path().join("hongbao-demo.db");
    let db_arg = db.to_str().unwrap();

    let clean = hongbao(&["check", "--database", db_arg]);
    assert!(clean.status.success(), "{}", text(&clean));
    assert!(text(&clean).contains("all five invariants hold"));

    // Invent 1 fen in one wallet behind the ledger's back.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new().filename(&db).connect().await.unwrap();
        let changed = sqlx::query(
            "UPDATE accounts SET credits_posted = credits_posted + 1 \
             WHERE id = (SELECT id FROM accounts WHERE kind = 'wallet' LIMIT 1)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        assert_eq!(changed.rows_affected(), 1);
    });

    let tampered = hongbao(&["check", "--database", db_arg]);
    let out = text(&tampered);
    assert_eq!(tampered.status.code(), Some(1), "{out}");
    assert!(out.contains("invariant 1: posted balances sum to 1 fen, not 0"), "{out}");
    assert!(out.contains("but its transfers add up to"), "{out}");
}

#[test]
fn check_refuses_a_missing_database_instead_of_creating_one() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.db");
    let output = hongbao(&["check", "--database", missing.to_str().unwrap()]);
    assert!(!output.status.success());
    assert!(text(&output).contains("no database at"), "{}", text(&output));
    assert!(!missing.exists());
}
