//! Settings from the environment, as an operator gives them: the documented
//! `HONGBAO_<TABLE>__<FIELD>` form takes effect, and a variable that is given and not understood
//! stops the server with a message naming it.

use std::process::Command;

use crate::{client, json_of, serve_with_env, text};

#[test]
fn the_documented_environment_form_takes_effect_in_every_table() {
    let served =
        serve_with_env(&[("HONGBAO_LIMITS__SHARE_MAX_FEN", "100"), ("hongbao_audit__origin", "example.test/settings")]);
    let root = served.credentials.clone();
    let dir = served.data_dir.path();
    let (alice_file, bob_file) = (dir.join("alice.json"), dir.join("bob.json"));
    for (name, file) in [("alice", &alice_file), ("bob", &bob_file)] {
        assert!(client(&served, &root, &["user", "create", name, "--save", file.to_str().unwrap()]).status.success());
    }
    let alice = json_of(&client(&served, &alice_file, &["me", "--json"]))["user_id"].as_str().unwrap().to_owned();
    let bob = json_of(&client(&served, &bob_file, &["me", "--json"]))["user_id"].as_str().unwrap().to_owned();
    assert!(client(&served, &root, &["deposit", &alice, "10"]).status.success());

    let too_big = client(&served, &alice_file, &["send", "exclusive", "--to", &bob, "--amount", "2.00"]);
    assert_eq!(too_big.status.code(), Some(1), "a ¥2.00 share is over a ¥1.00 limit: {}", text(&too_big));
    assert!(text(&too_big).contains("¥1.00"), "the limit is said in yuan: {}", text(&too_big));
    let at_limit = client(&served, &alice_file, &["send", "exclusive", "--to", &bob, "--amount", "1.00"]);
    assert!(at_limit.status.success(), "{}", text(&at_limit));

    let checkpoint = client(&served, &root, &["audit", "checkpoint"]);
    assert!(text(&checkpoint).starts_with("example.test/settings\n"), "[audit] is settable: {}", text(&checkpoint));
}

/// `hongbao serve` with one more variable: it must stop at once, saying why.
fn refused_start(name: &str, value: &str) -> String {
    let data_dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_hongbao"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir.path())
        .env(name, value)
        .output()
        .expect("serve runs");
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{name}={value} must stop the start: {out}");
    assert!(!out.contains("hongbao serving on"), "{out}");
    out
}

#[test]
fn a_setting_given_and_not_understood_stops_the_server_naming_the_variable() {
    let bad_value = refused_start("HONGBAO_LIMITS__SHARE_MAX_FEN", "abc");
    assert!(bad_value.contains("HONGBAO_LIMITS__SHARE_MAX_FEN"), "{bad_value}");
    let unknown_field = refused_start("HONGBAO_HTTP__BODY_MAX", "10");
    assert!(unknown_field.contains("HONGBAO_HTTP__BODY_MAX: unknown field"), "{unknown_field}");
    let unknown_table = refused_start("HONGBAO_LIMIT__SHARE_MAX_FEN", "100");
    assert!(unknown_table.contains("HONGBAO_LIMIT__SHARE_MAX_FEN: there is no [limit] table"), "{unknown_table}");
    let one_underscore = refused_start("HONGBAO_LIMITS_SHARE_MAX_FEN", "100");
    assert!(one_underscore.contains("HONGBAO_LIMITS__SHARE_MAX_FEN (two underscores)"), "{one_underscore}");
    let unsound = refused_start("HONGBAO_LIMITS__SHARE_MAX_FEN", "0");
    assert!(unsound.contains("share_max_fen must be at least share_min_fen"), "{unsound}");
}
