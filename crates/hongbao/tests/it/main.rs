//! The `hongbao` binary as a person runs it: the demo, check, the CLI against a served API,
//! and several nodes over one PostgreSQL database.

mod bench;
mod faults;
mod nodes;
mod procs;
mod retry;
mod security;
mod settings;
mod tls;
mod transport;
mod verify;

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
        "lucky packets can never be recalled (reason: lucky_packet)",
        "a recipient has already opened this packet (reason: touched)",
        "refused (packet_expired",
        "refused (not_pending",
        "Revoked before arrival",
        "the third with evidence within 7 days opens case cas_",
        "The rule holds ¥60.00 at once",
        "Zhou Pian tries to withdraw it: refused (account_frozen",
        "stopped before any money moves (risk_blocked",
        "The case is closed upheld",
        "becomes a court freeze",
        "(1 withheld)",
        "refused (forbidden",
        "four_eyes",
        "The court freeze is seized (¥60.00 moved, in three transfers); Zhou Pian has ¥0.00",
        "all nine invariants hold",
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
    assert!(text(&clean).contains("all nine invariants hold"));

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
        // And schedule an expiry for a packet that does not exist.
        sqlx::query("INSERT INTO deadlines (kind, id, due_at) VALUES ('packet_expiry', zeroblob(16), 0)")
            .execute(&mut conn)
            .await
            .unwrap();
    });

    let tampered = hongbao(&["check", "--database", db_arg]);
    let out = text(&tampered);
    assert_eq!(tampered.status.code(), Some(1), "{out}");
    assert!(out.contains("invariant 1: posted balances sum to 1 fen, not 0"), "{out}");
    assert!(out.contains("but its transfers add up to"), "{out}");
    assert!(out.contains("invariant 6: packet_expiry for 00000000-0000-0000-0000-000000000000"), "{out}");
    assert!(out.contains("but nothing is due"), "{out}");
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

/// `hongbao serve` as a child process, read until it says where it serves.
struct Served {
    child: std::process::Child,
    data_dir: tempfile::TempDir,
    credentials: std::path::PathBuf,
}

impl Drop for Served {
    /// A failing test must not leave a server running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn serve() -> Served {
    serve_with_env(&[])
}

/// `hongbao serve` with these environment variables set.
fn serve_with_env(env: &[(&str, &str)]) -> Served {
    use std::io::{BufRead, BufReader};
    let data_dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hongbao"))
        .args(["serve", "--dev-clock", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir.path())
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("serve starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with("created the operator root; its credentials are in"), "{first}");
    assert!(!first.contains("hbs_"), "the secret is never printed: {first}");
    let second = lines.next().unwrap().unwrap();
    assert!(second.starts_with("hongbao serving on http://127.0.0.1:"), "{second}");
    let credentials = data_dir.path().join("root-credentials.json");
    Served { child, data_dir, credentials }
}

/// The URL `served` serves on, from its root credentials.
fn served_url(served: &Served) -> String {
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&served.credentials).unwrap()).unwrap();
    saved["url"].as_str().unwrap().to_owned()
}

/// A client command signed with `credentials` (the URL comes from that file).
fn client(_served: &Served, credentials: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hongbao"))
        .args(args)
        .arg("--credentials")
        .arg(credentials)
        .output()
        .expect("the client runs")
}

fn json_of(output: &Output) -> serde_json::Value {
    assert!(output.status.success(), "{}", text(output));
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(output)))
}

#[test]
fn the_cli_drives_a_served_api_and_the_server_stops_cleanly_on_sigterm() {
    let mut served = serve();
    let root = served.credentials.clone();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&root).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "root credentials are private");
    }
    let alice_file = served.data_dir.path().join("alice.json");
    let bob_file = served.data_dir.path().join("bob.json");
    let created = client(&served, &root, &["user", "create", "alice", "--save", alice_file.to_str().unwrap()]);
    assert!(created.status.success() && !text(&created).contains("hbs_"), "{}", text(&created));
    assert!(client(&served, &root, &["user", "create", "bob", "--save", bob_file.to_str().unwrap()]).status.success());
    let alice = json_of(&client(&served, &alice_file, &["me", "--json"]))["user_id"].as_str().unwrap().to_owned();
    let bob = json_of(&client(&served, &bob_file, &["me", "--json"]))["user_id"].as_str().unwrap().to_owned();

    let deposit = client(&served, &root, &["deposit", &alice, "100.05"]);
    assert!(text(&deposit).contains("¥100.05"), "{}", text(&deposit));
    let group = json_of(&client(&served, &alice_file, &["group", "create", "friends", "--member", &bob, "--json"]));
    let group = group["group_id"].as_str().unwrap().to_owned();
    let args = ["send", "normal", "--group", &group, "--count", "2", "--each", "1.50", "--json"];
    let packet = json_of(&client(&served, &alice_file, &args));
    assert_eq!(packet["total"], 300, "1.50 yuan × 2 is exactly 300 fen");
    let packet = packet["packet_id"].as_str().unwrap().to_owned();
    let claim = json_of(&client(&served, &bob_file, &["claim", &packet, "--json"]));
    assert_eq!(claim["amount"], 150);

    let refused = client(&served, &alice_file, &["recall", &packet]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused).contains("error: recall_not_allowed") && text(&refused).contains("reason: claimed"));
    let bad_amount = client(&served, &alice_file, &["withdraw", "1.234"]);
    assert!(!bad_amount.status.success() && text(&bad_amount).contains("two decimals"), "{}", text(&bad_amount));

    // Evidence: uploaded from a file, its type from the name, and downloaded byte for byte.
    let screenshot = served.data_dir.path().join("chat.png");
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n".iter().copied().chain((0..=255u8).cycle().take(5_000)).collect();
    std::fs::write(&screenshot, &png).unwrap();
    let uploaded =
        json_of(&client(&served, &alice_file, &["evidence", "upload", screenshot.to_str().unwrap(), "--json"]));
    assert_eq!((uploaded["content_type"].as_str(), uploaded["size"].as_u64()), (Some("image/png"), Some(5_008)));
    let copy = served.data_dir.path().join("copy.png");
    let evidence = uploaded["evidence_id"].as_str().unwrap();
    let got = client(&served, &alice_file, &["evidence", "get", evidence, "--save", copy.to_str().unwrap()]);
    assert!(got.status.success(), "{}", text(&got));
    assert_eq!(std::fs::read(&copy).unwrap(), png);
    let theirs = client(&served, &bob_file, &["evidence", "get", evidence, "--save", copy.to_str().unwrap()]);
    assert!(!theirs.status.success() && text(&theirs).contains("not_found"), "{}", text(&theirs));

    // A legal document: its scan hashed here, the commitment logged, and the reveal checked.
    let scan = screenshot.to_str().unwrap();
    let paper = [
        "document",
        "register",
        "--kind",
        "assistance_notice",
        "--authority",
        "南山区人民法院",
        "--reference",
        "(2026)粤0305执保1号",
        "--issued-at",
        "2026-01-05T09:30:00Z",
        "--confidential",
    ];
    let registered = json_of(&client(&served, &root, &[&paper[..], &["--file", scan, "--json"]].concat()));
    let document = registered["document_id"].as_str().unwrap();
    let revealed = client(&served, &root, &["document", "reveal", document, "--reason", "published"]);
    assert!(text(&revealed).contains("(opens the commitment)"), "{}", text(&revealed));
    assert!(text(&revealed).contains(registered["commitment"].as_str().unwrap()), "{}", text(&revealed));
    let cited = client(&served, &root, &[&paper[..], &["--file", scan, "--evidence", evidence]].concat());
    assert!(!cited.status.success() && text(&cited).contains("not_found"), "alice's file: {}", text(&cited));

    // A police freeze of bob's money under that notice, in yuan; bob sees it without its reference.
    let args = ["freeze", "place", &bob, "--kind", "police", "--amount", "0.50", "--reason", "fraud", "--json"];
    let placed = json_of(&client(&served, &root, &[&args[..], &["--document", document]].concat()));
    assert_eq!((placed["held"].as_i64(), placed["amount"].as_i64()), (Some(50), Some(50)), "{placed}");
    let holds = client(&served, &bob_file, &["holds"]);
    assert!(text(&holds).contains("¥0.50 held of ¥0.50 by a police freeze"), "{}", text(&holds));
    assert!(text(&holds).contains("a confidential assistance_notice"), "{}", text(&holds));
    let listed = client(&served, &root, &["freeze", "list", &bob, "--status", "active"]);
    assert!(text(&listed).contains(placed["freeze_id"].as_str().unwrap()), "{}", text(&listed));

    // Four eyes: root proposes moving 0.30 of it to alice; root cannot approve, a second legal
    // officer does.
    let second = served.data_dir.path().join("legal.json");
    let made = client(
        &served,
        &root,
        &["operator", "create", "legal two", "--role", "legal_officer", "--save", second.to_str().unwrap()],
    );
    assert!(made.status.success(), "{}", text(&made));
    let order = [&paper[..3], &["transfer_order", "--authority", "南山区人民法院", "--reference", "执1号"]].concat();
    let order = json_of(&client(
        &served,
        &root,
        &[&order[..], &["--issued-at", "2026-01-05T09:30:00Z", "--sha256", &"ef".repeat(32), "--json"]].concat(),
    ));
    let freeze = placed["freeze_id"].as_str().unwrap();
    let args = ["seizure", "propose", freeze, "--amount", "0.30", "--to", &alice, "--reason", "judgment", "--json"];
    let proposed = json_of(&client(
        &served,
        &root,
        &[&args[..], &["--document", order["document_id"].as_str().unwrap()]].concat(),
    ));
    let seizure = proposed["seizure_id"].as_str().unwrap();
    let own = client(&served, &root, &["seizure", "approve", seizure]);
    assert!(!own.status.success() && text(&own).contains("four_eyes"), "{}", text(&own));
    let approved = client(&served, &second, &["seizure", "approve", seizure]);
    assert!(text(&approved).contains("executed: ¥0.30"), "{}", text(&approved));

    // Alice asks bob for 0.50 of his share back; bob finds it as payee and accepts: it comes to her.
    let share = claim["claim_id"].as_str().unwrap();
    let args = ["ask-return", share, "--amount", "0.50", "--message", "发错了 sent by mistake", "--json"];
    let asked = json_of(&client(&served, &alice_file, &args));
    assert_eq!((asked["status"].as_str(), asked["amount"].as_i64()), (Some("open"), Some(50)), "{asked}");
    let request = asked["request_id"].as_str().unwrap();
    let listed = client(&served, &bob_file, &["return-requests", "--role", "payee"]);
    assert!(
        text(&listed).contains(&format!("{request} open: {alice} asks {bob} to give back ¥0.50")),
        "{}",
        text(&listed)
    );
    let own = client(&served, &alice_file, &["return-requests", "accept", request]);
    assert!(!own.status.success() && text(&own).contains("forbidden"), "{}", text(&own));
    let accepted = client(&served, &bob_file, &["return-requests", "accept", request]);
    assert!(
        text(&accepted).contains("accepted") && text(&accepted).contains("returned by trf_"),
        "{}",
        text(&accepted)
    );

    assert!(client(&served, &root, &["clock", "86400"]).status.success());
    let me = json_of(&client(&served, &alice_file, &["me", "--json"]));
    assert_eq!(
        me["balance"],
        10_005 - 150 + 30 + 50,
        "the unclaimed share came back at expiry, the seized 0.30 and the returned 0.50"
    );

    let pid = served.child.id().to_string();
    let term = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(term.success());
    let status = served.child.wait().unwrap();
    assert!(status.success(), "SIGTERM ends serve with exit 0, got {status}");
    let check = hongbao(&["check", "--data-dir", served.data_dir.path().to_str().unwrap()]);
    assert!(check.status.success() && text(&check).contains("all nine invariants hold"), "{}", text(&check));
}

#[test]
fn a_saved_receipt_and_checkpoints_verify_offline_with_only_the_public_key() {
    let mut served = serve();
    let root = served.credentials.clone();
    let dir = served.data_dir.path().to_owned();
    let url = serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&root).unwrap()).unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let audit = |what: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_hongbao")).args(["audit", what, "--url", &url]).output().unwrap();
        assert!(output.status.success(), "{}", text(&output));
        String::from_utf8(output.stdout).unwrap()
    };
    let public_key = audit("public-key").trim().to_owned();
    let first_checkpoint = dir.join("first.checkpoint");
    std::fs::write(&first_checkpoint, audit("checkpoint")).unwrap();

    let (alice_file, bob_file) = (dir.join("alice.json"), dir.join("bob.json"));
    for (name, file) in [("alice", &alice_file), ("bob", &bob_file)] {
        assert!(client(&served, &root, &["user", "create", name, "--save", file.to_str().unwrap()]).status.success());
    }
    let alice = json_of(&client(&served, &alice_file, &["me", "--json"]))["user_id"].as_str().unwrap().to_owned();
    let bob = json_of(&client(&served, &bob_file, &["me", "--json"]))["user_id"].as_str().unwrap().to_owned();
    assert!(client(&served, &root, &["deposit", &alice, "20"]).status.success());
    let sent = json_of(&client(&served, &alice_file, &["transfer", "--to", &bob, "--amount", "12.34", "--json"]));
    let transfer = sent["transfer_id"].as_str().unwrap().to_owned();
    let receipt = dir.join("receipt.json");
    let saved = client(&served, &bob_file, &["receipt", &transfer, "--save", receipt.to_str().unwrap()]);
    assert!(saved.status.success(), "{}", text(&saved));
    let later_checkpoint = dir.join("later.checkpoint");
    std::fs::write(&later_checkpoint, audit("checkpoint")).unwrap();
    let consistent = Command::new(env!("CARGO_BIN_EXE_hongbao"))
        .args(["verify", "consistency"])
        .args([&first_checkpoint, &later_checkpoint])
        .args(["--public-key", &public_key, "--url", &url])
        .output()
        .unwrap();
    assert!(consistent.status.success() && text(&consistent).starts_with("VALID"), "{}", text(&consistent));

    // The server goes away: the receipt still verifies, with nothing but the public key.
    let pid = served.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert!(served.child.wait().unwrap().success());
    let verify = |file: &Path| {
        Command::new(env!("CARGO_BIN_EXE_hongbao"))
            .args(["verify", "receipt"])
            .arg(file)
            .args(["--public-key", &public_key])
            .output()
            .unwrap()
    };
    let valid = verify(&receipt);
    let out = text(&valid);
    assert!(valid.status.success(), "{out}");
    assert!(out.starts_with("VALID: transfer") && out.contains("¥12.34") && out.contains(&transfer), "{out}");

    // One digit of the amount changed in the saved entry: the proof no longer holds.
    let mut forged: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&receipt).unwrap()).unwrap();
    let entry = base64_decode(forged["entry"].as_str().unwrap());
    let forged_entry = String::from_utf8(entry).unwrap().replace("\"amount\":1234", "\"amount\":9234");
    forged["entry"] = base64_encode(forged_entry.as_bytes()).into();
    let forged_file = dir.join("forged.json");
    std::fs::write(&forged_file, forged.to_string()).unwrap();
    let invalid = verify(&forged_file);
    assert_eq!(invalid.status.code(), Some(1));
    assert!(text(&invalid).starts_with("INVALID"), "{}", text(&invalid));
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn a_large_transfer_from_the_cli_is_paid_only_with_confirm_risk_and_is_shown_its_warning() {
    let served = serve();
    let root = served.credentials.clone();
    let dir = served.data_dir.path().to_owned();
    let (alice_file, bob_file) = (dir.join("alice.json"), dir.join("bob.json"));
    for (name, file) in [("alice", &alice_file), ("bob", &bob_file)] {
        assert!(client(&served, &root, &["user", "create", name, "--save", file.to_str().unwrap()]).status.success());
    }
    let bob = json_of(&client(&served, &bob_file, &["me", "--json"]))["user_id"].as_str().unwrap().to_owned();
    let alice = json_of(&client(&served, &alice_file, &["me", "--json"]))["user_id"].as_str().unwrap().to_owned();
    assert!(client(&served, &root, &["deposit", &alice, "6000"]).status.success());

    // No terminal to ask on, and no --confirm-risk: shown the warning, not paid.
    let asked = client(&served, &alice_file, &["transfer", "--to", &bob, "--amount", "5000"]);
    assert!(!asked.status.success(), "{}", text(&asked));
    assert!(text(&asked).contains("large amount") && text(&asked).contains("--confirm-risk"), "{}", text(&asked));
    assert_eq!(json_of(&client(&served, &bob_file, &["me", "--json"]))["balance"], 0);

    let paid = client(&served, &alice_file, &["transfer", "--to", &bob, "--amount", "5000", "--confirm-risk"]);
    assert!(paid.status.success(), "{}", text(&paid));
    assert_eq!(json_of(&client(&served, &bob_file, &["me", "--json"]))["balance"], 500_000);
}
