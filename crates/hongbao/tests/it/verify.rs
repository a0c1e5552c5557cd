//! `hongbao verify`'s three answers: VALID (0), INVALID (1) only when something that must hold
//! does not, and COULD NOT CHECK (2) with what is missing — a file, a server, a reveal, the
//! right to see a packet. And `audit` finding its server from the credentials file.

use std::process::{Command, Output};

use crate::{client, json_of, serve, text};

fn verify(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hongbao")).arg("verify").args(args).output().unwrap()
}

#[test]
fn verify_says_could_not_check_with_exit_2_when_a_file_a_server_or_a_reveal_is_missing() {
    let served = serve();
    let root = served.credentials.clone();
    let dir = served.data_dir.path().to_owned();
    // `audit` finds the server in the credentials file (no --url), and speaks JSON.
    let key =
        json_of(&client(&served, &root, &["audit", "public-key", "--json"]))["public_key"].as_str().unwrap().to_owned();
    let checkpoint = json_of(&client(&served, &root, &["audit", "checkpoint", "--json"]));
    assert!(checkpoint["size"].as_u64().is_some() && checkpoint["origin"].is_string(), "{checkpoint}");

    let missing = verify(&["receipt", dir.join("nope.json").to_str().unwrap(), "--public-key", &key]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
    assert!(
        text(&missing).starts_with("COULD NOT CHECK") && text(&missing).contains("cannot read"),
        "{}",
        text(&missing)
    );
    let bad_key = verify(&["receipt", dir.join("nope.json").to_str().unwrap(), "--public-key", "nonsense"]);
    assert_eq!(bad_key.status.code(), Some(2), "{}", text(&bad_key));

    let (alice, bob, carol) = (dir.join("alice.json"), dir.join("bob.json"), dir.join("carol.json"));
    for (name, file) in [("alice", &alice), ("bob", &bob), ("carol", &carol)] {
        assert!(client(&served, &root, &["user", "create", name, "--save", file.to_str().unwrap()]).status.success());
    }
    let id = |file| json_of(&client(&served, file, &["me", "--json"]))["user_id"].as_str().unwrap().to_owned();
    let (alice_id, bob_id) = (id(&alice), id(&bob));
    assert!(client(&served, &root, &["deposit", &alice_id, "10"]).status.success());
    let group = json_of(&client(&served, &alice, &["group", "create", "pals", "--member", &bob_id, "--json"]));
    let group = group["group_id"].as_str().unwrap().to_owned();
    let lucky = ["send", "lucky", "--group", &group, "--count", "2", "--total", "3", "--json"];
    let packet = json_of(&client(&served, &alice, &lucky))["packet_id"].as_str().unwrap().to_owned();
    assert!(client(&served, &bob, &["claim", &packet]).status.success());

    let packet_check =
        |who: &std::path::Path| client(&served, who, &["verify", "packet", &packet, "--public-key", &key]);
    let open = packet_check(&bob);
    assert_eq!(open.status.code(), Some(2), "{}", text(&open));
    assert!(text(&open).contains("still open") && text(&open).contains("once it closes"), "{}", text(&open));
    let stranger = packet_check(&carol);
    assert_eq!(stranger.status.code(), Some(2), "carol may not see the packet: {}", text(&stranger));
    assert!(
        text(&stranger).contains("could not get the log") && !text(&stranger).contains("INVALID"),
        "{}",
        text(&stranger)
    );

    assert!(client(&served, &root, &["clock", "86400"]).status.success());
    let closed = packet_check(&bob);
    assert!(closed.status.success() && text(&closed).starts_with("VALID"), "{}", text(&closed));
    let as_json = client(&served, &bob, &["verify", "packet", &packet, "--public-key", &key, "--json"]);
    assert_eq!(json_of(&as_json)["result"], "valid");

    // The server goes away: a consistency check cannot be made, which is not tampering.
    let elsewhere = tempfile::tempdir().unwrap();
    let old = elsewhere.path().join("old.checkpoint");
    std::fs::write(&old, checkpoint["checkpoint"].as_str().unwrap()).unwrap();
    let url = crate::served_url(&served);
    drop(served);
    let down =
        verify(&["consistency", old.to_str().unwrap(), old.to_str().unwrap(), "--public-key", &key, "--url", &url]);
    assert_eq!(down.status.code(), Some(2), "{}", text(&down));
    assert!(text(&down).contains("could not get the consistency proof"), "{}", text(&down));
}

#[test]
fn output_into_a_closed_pipe_ends_the_command_quietly_instead_of_a_panic() {
    let served = serve();
    let root = served.credentials.clone();
    let alice = served.data_dir.path().join("alice.json");
    assert!(client(&served, &root, &["user", "create", "alice", "--save", alice.to_str().unwrap()]).status.success());
    // `hongbao history | head` where head has already gone: every write fails with EPIPE.
    for args in [&["history"][..], &["me"], &["audit", "checkpoint"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = Command::new(env!("CARGO_BIN_EXE_hongbao"))
            .args(args)
            .arg("--credentials")
            .arg(&alice)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success() && stderr.is_empty(), "{args:?}: {:?} {stderr}", output.status);
    }
}
