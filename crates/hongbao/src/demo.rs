//! `hongbao demo`: a narrated evening among five friends (and a scammer), over real signed HTTP
//! requests to an in-process server on a fresh database, ending with the invariant check.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use hongbao_client::wire::{ConvertFreezeRequest, FileReportRequest, ProposeSeizureRequest, RegisterDocumentRequest};
use hongbao_client::{Client, ClientError, Credentials, PacketOptions, TransferOptions};
use hongbao_core::case::{CaseOutcome, Payment};
use hongbao_core::document::DocumentKind;
use hongbao_core::evidence::ContentType;
use hongbao_core::hex::hex;
use hongbao_core::ops::PacketSpec;
use hongbao_core::packet::{PacketStatus, PacketView};
use hongbao_core::principal::Role;
use hongbao_core::risk::FreezeKind;
use hongbao_core::seizure::SeizureTarget;
use hongbao_core::{DocumentId, Fen, Limits, Timestamp, UserId};
use hongbao_server::run::{LOG_KEY_FILE, Options, Settings, read_log_key, start};
use hongbao_store_sqlite::{Durability, SqliteStore};
use sha2::{Digest, Sha256};

use crate::out::outln;

struct Friend {
    name: &'static str,
    id: UserId,
    client: Client,
}

fn yuan(fen: Fen) -> String {
    format!("¥{}", fen.to_yuan())
}

fn fen(yuan: &str) -> anyhow::Result<Fen> {
    Fen::from_yuan(yuan).with_context(|| format!("the demo's amount {yuan:?}"))
}

/// A public endpoint's text answer.
async fn unsigned_text(url: &str, path: &str) -> anyhow::Result<String> {
    let client = Client::new(url, "key_00000000000000000000000000000000", "")?;
    let request = hongbao_client::RawRequest::get(path.to_owned()).signing(hongbao_client::Signing::Unsigned);
    Ok(client.send(request).await?.error_for_status()?.text())
}

/// A refusal the story expects: its code and reason, in words.
fn refusal(result: Result<impl std::fmt::Debug, ClientError>) -> anyhow::Result<String> {
    match result {
        Err(err @ ClientError::Api { .. }) => Ok(err.to_string()),
        Err(err) => Err(err).context("the server did not answer"),
        Ok(answer) => bail!("expected a refusal, got {answer:?}"),
    }
}

struct Demo {
    friends: Vec<Friend>,
}

impl Demo {
    fn name(&self, user: UserId) -> &'static str {
        self.friends.iter().find(|f| f.id == user).map_or("someone", |f| f.name)
    }

    async fn send(&self, who: usize, spec: PacketSpec, greeting: &str) -> anyhow::Result<PacketView> {
        let options = PacketOptions::default().greeting(greeting);
        Ok(self.friends[who].client.send_packet(&spec, &options).send().await?)
    }

    async fn balance(&self, who: usize) -> anyhow::Result<Fen> {
        Ok(self.friends[who].client.me().send().await?.balance)
    }
}

/// A registered document of `kind`, as a legal officer registers a scanned paper.
async fn document(
    officer: &Client,
    kind: DocumentKind,
    reference: &str,
    confidential: bool,
) -> anyhow::Result<DocumentId> {
    let body = RegisterDocumentRequest {
        kind,
        authority: "深圳市南山区人民法院".to_owned(),
        reference: reference.to_owned(),
        issued_at: Timestamp::parse_rfc3339("2026-01-05T09:30:00Z").map_err(|e| anyhow::anyhow!(e))?,
        sha256: hex(&Sha256::digest(reference.as_bytes())),
        evidence_id: None,
        confidential,
    };
    Ok(officer.register_document(&body).send().await?.document_id)
}

/// Scene 7: three friends pay a scammer and report him with screenshots; the third report opens
/// a fraud case and holds the money by itself (the `fraud_reports` rule), a fourth friend is
/// stopped before paying him, a court's order turns the hold into a court freeze, and two legal
/// officers send each victim's money back.
async fn scam(root: &Client, demo: &Demo) -> anyhow::Result<()> {
    let operator = |name: &'static str, role: Role| async move {
        let created = root.create_operator(name, &[role]).send().await?;
        anyhow::Ok(root.for_operator(&created))
    };
    let (risk, legal, second) = (
        operator("risk desk 风控", Role::RiskOfficer).await?,
        operator("legal desk 法务 1", Role::LegalOfficer).await?,
        operator("legal desk 法务 2", Role::LegalOfficer).await?,
    );
    let scammer = root.create_user("Zhou Pian 周骗").send().await?;
    let scammer_client = root.for_user(&scammer);
    let victims = [2, 3, 4];
    outln!("\n7. \"Zhou Pian 周骗\" sells concert tickets that do not exist. Three friends pay ¥20.00 each:");
    let mut paid = Vec::new();
    for &who in &victims {
        let options = TransferOptions::default().note("演唱会门票");
        let receipt = demo.friends[who].client.transfer(scammer.user_id, fen("20.00")?, &options).send().await?;
        let notices: Vec<&str> = receipt.warnings.iter().map(|w| w.code.as_str()).collect();
        outln!("   {} → Zhou Pian ¥20.00 (notices: {})", demo.friends[who].name, notices.join(", "));
        paid.push(receipt.transfer_id);
    }
    outln!("   No tickets come. Each reports him (举报) with a screenshot of the chat:");
    let mut case_id = None;
    for (&who, &transfer) in victims.iter().zip(&paid) {
        let friend = &demo.friends[who];
        let png = [&b"\x89PNG\r\n\x1a\n"[..], friend.name.as_bytes()].concat();
        let screenshot = friend.client.upload_evidence(ContentType::Png, png).send().await?;
        let report = FileReportRequest {
            subject: scammer.user_id,
            transfers: vec![Payment::Transfer(transfer)],
            description: "卖演唱会门票，收钱后拉黑 — took the money for tickets and blocked me".to_owned(),
            evidence: vec![screenshot.evidence_id],
        };
        let filed = friend.client.file_report(&report).send().await?;
        match filed.case_id {
            None => outln!("   {}: report {} filed", friend.name, filed.id),
            Some(case) => {
                outln!("   {}: report filed — the third with evidence within 7 days opens case {case}", friend.name);
                case_id = Some(case);
            }
        }
    }
    let case_id = case_id.context("three reporters with evidence open a case")?;
    let case = risk.case(case_id).send().await?;
    let hold_id = case.freezes().next().context("the rule holds the reported money")?;
    let hold = risk.freeze(hold_id).send().await?;
    let why = refusal(scammer_client.withdraw(fen("60.00")?).send().await)?;
    outln!(
        "   The rule holds {} at once (风控冻结, placed by no officer). Zhou Pian tries to withdraw it: refused ({why}).",
        yuan(hold.held)
    );
    let stopped = refusal(
        demo.friends[1].client.transfer(scammer.user_id, fen("20.00")?, &TransferOptions::default()).send().await,
    )?;
    outln!("   {} wants tickets too; paying him is stopped before any money moves ({stopped}).", demo.friends[1].name);

    let ruling = document(&legal, DocumentKind::CourtRuling, "(2026)粤0305民初88号", false).await?;
    let notice = document(&legal, DocumentKind::AssistanceNotice, "(2026)粤0305执保88号", true).await?;
    let convert = ConvertFreezeRequest {
        kind: FreezeKind::Court,
        reason: Some("the court ordered the money preserved".to_owned()),
        documents: vec![ruling, notice],
        expires_at: None,
    };
    let court = legal.convert_freeze(hold.freeze_id, &convert).send().await?;
    risk.note_case(case_id, &format!("converted into court freeze {}", court.freeze_id)).send().await?;
    let holds = scammer_client.my_holds().send().await?;
    let shown = holds.iter().find(|h| h.freeze_id == court.freeze_id).context("the court freeze is his hold")?;
    let secret = shown.documents.iter().filter(|d| d.reference.is_none()).count();
    outln!(
        "   A court rules: the hold becomes a court freeze (法院冻结) of the same {}, for a year.",
        yuan(court.held)
    );
    outln!("   Zhou Pian sees the freeze and its ruling, but not the confidential notice ({secret} withheld).");

    let order = document(&legal, DocumentKind::TransferOrder, "(2026)粤0305执88号之一", false).await?;
    outln!("   The court orders the money returned (划转). One legal officer proposes, another approves:");
    for &who in &victims {
        let proposal = ProposeSeizureRequest {
            freeze_id: court.freeze_id,
            amount: fen("20.00")?.get(),
            to: SeizureTarget::User(demo.friends[who].id),
            reason: "return to the victim".to_owned(),
            documents: vec![order],
        };
        let proposed = legal.propose_seizure(&proposal).send().await?;
        let own = refusal(legal.approve_seizure(proposed.seizure_id).send().await)?;
        let done = second.approve_seizure(proposed.seizure_id).send().await?;
        outln!(
            "   ¥20.00 back to {}: the proposer's own approval is refused ({own}); the second officer's {}.",
            demo.friends[who].name,
            done.status.as_str()
        );
    }
    let after = legal.freeze(court.freeze_id).send().await?;
    let left = scammer_client.me().send().await?;
    outln!(
        "   The court freeze is {} ({} moved, in three transfers); Zhou Pian has {}.",
        after.status.as_str(),
        yuan(after.tally.seized),
        yuan(left.balance)
    );
    if after.tally.seized != fen("60.00")? || left.balance != Fen::ZERO {
        bail!("the victims' ¥60.00 did not all come back");
    }
    let closed =
        risk.close_case(case_id, CaseOutcome::Upheld, "the money went back under the court's order").send().await?;
    outln!(
        "   The case is closed {}: {} entries on its timeline.",
        closed.outcome.map_or("", |o| o.as_str()),
        closed.timeline.len()
    );
    Ok(())
}

/// Runs the scenario; fails (exit 1) if any step does not behave as the rules say.
pub async fn run(keep: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let temp = tempfile::tempdir().context("cannot create a temporary directory")?;
    let dir = keep.unwrap_or_else(|| temp.path().to_owned());
    let database = dir.join("hongbao-demo.db");
    if database.exists() {
        bail!("{} already exists; the demo needs a fresh database", database.display());
    }
    let options = Options {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: dir.clone(),
        database: Some(hongbao_server::run::Database::Sqlite(database.clone())),
        dev_clock: true,
        tls: None,
        settings: Settings::default(),
    };
    let server = start(options).await.context("cannot start the demo server")?;
    let credentials = server.root_credentials.clone().context("a fresh database creates the root operator")?;
    let root = Credentials::load(&credentials)?.client()?;
    outln!("hongbao demo — red packets over a double-entry ledger");
    outln!(
        "(an in-process server at {}, database {}; every step below is a signed HTTP request)\n",
        server.url,
        database.display()
    );

    let mut demo = Demo { friends: Vec::new() };
    for name in ["Wang Fang 王芳", "Li Lei 李雷", "Han Meimei 韩梅梅", "Zhang Wei 张伟", "Liu Yang 刘洋"] {
        let created = root.create_user(name).send().await?;
        root.deposit(created.user_id, fen("100.00")?).send().await?;
        demo.friends.push(Friend { name, id: created.user_id, client: root.for_user(&created) });
    }
    outln!("The operator creates five users, and each tops up ¥100.00 from a bank card.");
    let ids: Vec<UserId> = demo.friends.iter().map(|f| f.id).collect();
    let group = demo.friends[0].client.create_group("Spring Festival 春节", &ids[1..]).send().await?.group_id;
    outln!("{} starts the group chat \"Spring Festival 春节\" with all five.\n", demo.friends[0].name);

    // 1. A lucky packet claimed by everyone.
    outln!("1. {} sends a lucky packet (拼手气红包): ¥10.00 in 5 shares.", demo.friends[0].name);
    let lucky =
        demo.send(0, PacketSpec::Lucky { group_id: group, count: 5, total: fen("10.00")? }, "新年快乐!").await?;
    for who in [1, 2, 3, 4, 0] {
        let claim = demo.friends[who].client.claim(lucky.packet_id).send().await?;
        outln!("   {} grabs {}", demo.friends[who].name, yuan(claim.amount));
    }
    let view = demo.friends[0].client.packet(lucky.packet_id).send().await?;
    let best = view.best_luck.context("a finished lucky packet has a best-luck claimant")?;
    let sum = Fen::checked_sum(view.claims.iter().map(|c| c.amount))?;
    outln!("   All 5 shares taken ({} in all); 手气最佳 (best luck): {}.", yuan(sum), demo.name(best));
    if sum != lucky.total || view.status != PacketStatus::Exhausted {
        bail!("the lucky packet's shares do not add up");
    }

    // 2. A normal packet half claimed, then refunded at expiry.
    outln!("\n2. {} sends a normal packet (普通红包): 4 shares of ¥2.00.", demo.friends[1].name);
    let normal =
        demo.send(1, PacketSpec::Normal { group_id: group, count: 4, amount_each: fen("2.00")? }, "喝茶钱").await?;
    for who in [2, 3] {
        let claim = demo.friends[who].client.claim(normal.packet_id).send().await?;
        outln!("   {} claims {}", demo.friends[who].name, yuan(claim.amount));
    }
    let before = demo.balance(1).await?;
    outln!("   Nobody else claims. The operator moves the development clock 24 hours ahead...");
    let now = root.dev_clock(24 * 3600).send().await?.now;
    let refunded = demo.balance(1).await?.checked_sub(before)?;
    let view = demo.friends[1].client.packet(normal.packet_id).send().await?;
    outln!(
        "   It is now {now}. The packet is {}: the unclaimed {} went back to {} by itself.",
        view.status.as_str(),
        yuan(refunded),
        demo.friends[1].name
    );
    if refunded != fen("4.00")? || view.status != PacketStatus::Expired {
        bail!("expected ¥4.00 refunded at expiry, got {}", yuan(refunded));
    }
    let late = refusal(demo.friends[4].client.claim(normal.packet_id).send().await)?;
    outln!("   {} tries to claim it now: refused ({late}).", demo.friends[4].name);

    // 3. An exclusive packet recalled before anyone touched it.
    outln!("\n3. {} sends {} an exclusive packet (专属红包) of ¥8.88...", demo.friends[2].name, demo.friends[3].name);
    let exclusive = demo.send(2, PacketSpec::Exclusive { recipient: ids[3], amount: fen("8.88")? }, "生日快乐").await?;
    outln!("   ...and thinks better of it before {} opens it.", demo.friends[3].name);
    let recalled = demo.friends[2].client.recall(exclusive.packet_id).send().await?;
    outln!("   Recalled (撤回): {} back to {}.", yuan(recalled.refunded), demo.friends[2].name);

    // 4. Recalls the rules refuse.
    outln!("\n4. Recalls the rules refuse:");
    let lucky2 = demo.send(3, PacketSpec::Lucky { group_id: group, count: 3, total: fen("6.00")? }, "抢!").await?;
    let why = refusal(demo.friends[3].client.recall(lucky2.packet_id).send().await)?;
    outln!("   {} tries to recall a lucky packet nobody has touched: refused ({why}).", demo.friends[3].name);
    let touched =
        demo.send(4, PacketSpec::Normal { group_id: group, count: 2, amount_each: fen("5.00")? }, "请客").await?;
    demo.friends[0].client.open(touched.packet_id).send().await?;
    let why = refusal(demo.friends[4].client.recall(touched.packet_id).send().await)?;
    outln!(
        "   {} opens {}'s normal packet without claiming; {} tries to recall it: refused ({why}).",
        demo.friends[0].name,
        demo.friends[4].name,
        demo.friends[4].name
    );

    // 5. A delayed transfer revoked before it arrives.
    outln!(
        "\n5. {} transfers ¥50.00 to {} with a 2-hour delayed arrival (延时到账).",
        demo.friends[4].name,
        demo.friends[1].name
    );
    let options = TransferOptions::default().note("房租").arrival_delay_seconds(7200);
    let transfer = demo.friends[4].client.transfer(ids[1], fen("50.00")?, &options).send().await?;
    outln!(
        "   It is {} until {}. {} realises it went to the wrong person.",
        transfer.status.as_str(),
        transfer.arrives_at,
        demo.friends[4].name
    );
    let revoked = demo.friends[4].client.revoke_transfer(transfer.transfer_id).send().await?;
    outln!("   Revoked before arrival: the transfer is {} and the ¥50.00 never left.", revoked.status.as_str());
    root.dev_clock(3 * 3600).send().await?;
    let too_late = refusal(demo.friends[4].client.revoke_transfer(transfer.transfer_id).send().await)?;
    outln!("   Revoking it again three hours later: refused ({too_late}).");

    // 6. A receipt anyone can check.
    outln!("\n6. Every transfer is in a tamper-evident log (a Merkle tree with signed checkpoints).");
    let history = demo.friends[1].client.transactions(Some(50), None).send().await?;
    let claim = history
        .items
        .iter()
        .find(|t| t.packet_id == Some(lucky.packet_id))
        .context("Li Lei's lucky share is in his history")?;
    let receipt = demo.friends[1].client.receipt(claim.transfer_id).send().await?;
    let vkey = unsigned_text(&server.url, "/v1/audit/public-key").await?;
    let verifier = hongbao_audit::note::Verifier::parse(vkey.trim()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let entry = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &receipt.entry)?;
    let verified =
        hongbao_audit::verify_receipt(&entry, &receipt.proof, &verifier).context("the receipt must verify")?;
    outln!(
        "   {} asks for a receipt of his lucky share: entry #{} of the log, under a checkpoint of {} entries",
        demo.friends[1].name,
        verified.index,
        verified.checkpoint.size
    );
    outln!("   signed by {}. It verifies with nothing but that public key.", verifier.name());
    let mut forged = entry.clone();
    let amount = forged.windows(9).position(|w| w == b"\"amount\":").context("a transfer entry has an amount")? + 9;
    forged[amount] = if forged[amount] == b'9' { b'1' } else { forged[amount] + 1 };
    let refused = hongbao_audit::verify_receipt(&forged, &receipt.proof, &verifier);
    outln!(
        "   Change one digit of the logged amount and it no longer verifies ({}).",
        refused.err().map_or_else(|| "it did verify: a bug".to_owned(), |e| e.to_string())
    );

    // 7. A scam: the money held, a court's order, and four eyes returning it.
    scam(&root, &demo).await?;

    let mut balances = Vec::new();
    for who in 0..demo.friends.len() {
        balances.push(format!("{} {}", demo.friends[who].name, yuan(demo.balance(who).await?)));
    }
    outln!("\nBalances now: {}.", balances.join(", "));
    server.stop().await.context("the demo server did not stop cleanly")?;

    outln!("\nFinally, `hongbao check` on the demo database:");
    let store = SqliteStore::open(&database, Durability::Full).await?;
    let log_key = read_log_key(&dir.join(LOG_KEY_FILE))?.verifying_key();
    let report = hongbao_engine::check(&store, &Limits::default(), Some(&log_key)).await?;
    outln!("{report}");
    Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
