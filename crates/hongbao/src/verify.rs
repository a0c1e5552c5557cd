//! `hongbao verify`: checks receipts, checkpoints and lucky packets against the log's public
//! key alone, offline where the question allows it. Every check ends in one of three answers:
//! VALID (exit 0) with what it proves, INVALID (exit 1) when something does not hold — a proof,
//! a signature, a commitment: what tampering looks like — or COULD NOT CHECK (exit 2) with what
//! is missing: an unreadable file, a server that does not answer or refuses, a lucky packet not
//! yet revealed. Only INVALID says anything is wrong with the log.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::Subcommand;
use hongbao_audit::note::{self, Checkpoint, Verifier};
use hongbao_audit::{Hash, verify_consistency, verify_receipt};
use hongbao_client::{Client, RawRequest, Signing};
use hongbao_core::event::EventKind;
use hongbao_core::fairness;
use hongbao_core::log::{LogRecord, decode};
use hongbao_core::{Fen, PacketId};
use serde::Deserialize;

use crate::client_cmd::Conn;
use crate::out::{out, outln};

#[derive(Debug, Subcommand)]
pub enum VerifyCmd {
    /// Verify a receipt (from `GET /v1/receipts/{transfer_id}`) offline, with only the public key.
    Receipt {
        /// The receipt file: {"entry", "proof", "decoded"}.
        file: PathBuf,
        /// The log's verifier key (`name+keyid+base64`), or a file holding it.
        #[arg(long, env = "HONGBAO_LOG_KEY")]
        public_key: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Check that a later checkpoint extends an earlier one (asks the log for the proof).
    Consistency {
        /// The earlier signed checkpoint (a file).
        old: PathBuf,
        /// The later signed checkpoint (a file).
        new: PathBuf,
        #[arg(long, env = "HONGBAO_LOG_KEY")]
        public_key: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Check that a lucky packet's shares were fixed when it was sent (nobody re-dealt them).
    /// The packet's log is shown to its sender, those who may claim it and auditors only, so
    /// this signs with their credentials (--credentials).
    Packet {
        packet_id: PacketId,
        #[arg(long, env = "HONGBAO_LOG_KEY")]
        public_key: String,
        #[command(flatten)]
        conn: Conn,
    },
}

/// Reads of the public transparency log (no signature needed; the server is --url, else the
/// credentials file's, else http://127.0.0.1:8080).
#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Print the log's verifier key (name+keyid+base64): all a verifier needs.
    PublicKey {
        #[command(flatten)]
        conn: Conn,
    },
    /// Print the latest signed checkpoint (save it to check consistency later).
    Checkpoint {
        #[command(flatten)]
        conn: Conn,
    },
}

pub async fn audit(cmd: AuditCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCmd::PublicKey { conn } => {
            let key = public_text(&conn, "/v1/audit/public-key").await?;
            if conn.json {
                outln!("{}", serde_json::json!({ "public_key": key.trim() }));
            } else {
                out!("{key}");
            }
        }
        AuditCmd::Checkpoint { conn } => {
            let checkpoint = public_text(&conn, "/v1/audit/checkpoint").await?;
            if conn.json {
                // Opened with the log's own key, so the numbers shown are the signed ones.
                let key = verifier(&public_text(&conn, "/v1/audit/public-key").await?)?;
                let opened = note::open(&checkpoint, &key).context("the server's checkpoint does not verify")?;
                let answer = serde_json::json!({
                    "origin": opened.origin,
                    "size": opened.size,
                    "root": root_b64(&opened.root),
                    "checkpoint": checkpoint,
                });
                outln!("{answer}");
            } else {
                out!("{checkpoint}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn public_text(conn: &Conn, path: &str) -> anyhow::Result<String> {
    let client = conn.unsigned_client()?;
    let response = client.send(RawRequest::get(path.to_owned()).signing(Signing::Unsigned)).await?;
    Ok(response.error_for_status()?.text())
}

/// A key given inline or as a file.
pub fn verifier(text: &str) -> anyhow::Result<Verifier> {
    let path = Path::new(text);
    let text = if !text.contains('+') && path.exists() {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?
    } else {
        text.to_owned()
    };
    Verifier::parse(text.trim()).map_err(|e| anyhow::anyhow!("not a verifier key (name+keyid+base64): {e}"))
}

/// Why a check did not end VALID.
#[derive(Debug)]
enum Failure {
    /// Something that must hold does not: exit 1.
    Invalid(anyhow::Error),
    /// The check could not be made: exit 2.
    Unchecked(anyhow::Error),
}

fn invalid(why: impl Into<anyhow::Error>) -> Failure {
    Failure::Invalid(why.into())
}

fn unchecked(why: impl Into<anyhow::Error>) -> Failure {
    Failure::Unchecked(why.into())
}

/// `Err(Failure::Invalid(…))` with a formatted message.
macro_rules! invalid {
    ($($arg:tt)*) => { return Err(Failure::Invalid(anyhow::anyhow!($($arg)*))) };
}

/// `Err(Failure::Unchecked(…))` with a formatted message.
macro_rules! unchecked {
    ($($arg:tt)*) => { return Err(Failure::Unchecked(anyhow::anyhow!($($arg)*))) };
}

/// Exit code of COULD NOT CHECK.
const EXIT_UNCHECKED: u8 = 2;

#[derive(Debug, Deserialize)]
struct ReceiptFile {
    entry: String,
    proof: String,
    #[serde(default)]
    decoded: serde_json::Value,
}

fn describe(record: &LogRecord) -> String {
    match record {
        LogRecord::Transfer(t) => format!(
            "transfer {} of ¥{} ({}) from {} to {} at {}",
            t.id,
            t.amount.to_yuan(),
            t.kind.as_str(),
            t.debit,
            t.credit,
            t.created_at
        ),
        LogRecord::Event(e) => format!("event {} at {}", e.what.name(), e.at),
    }
}

fn root_b64(root: &Hash) -> String {
    STANDARD.encode(root)
}

pub async fn run(cmd: VerifyCmd) -> anyhow::Result<ExitCode> {
    let (outcome, json) = match cmd {
        VerifyCmd::Receipt { file, public_key, conn } => {
            let outcome = match verifier(&public_key) {
                Ok(key) => receipt(&file, &key),
                Err(err) => Err(unchecked(err)),
            };
            (outcome, conn.json)
        }
        VerifyCmd::Consistency { old, new, public_key, conn } => {
            let outcome = match verifier(&public_key) {
                Ok(key) => consistency(&old, &new, &key, &conn).await,
                Err(err) => Err(unchecked(err)),
            };
            (outcome, conn.json)
        }
        VerifyCmd::Packet { packet_id, public_key, conn } => {
            let outcome = match (verifier(&public_key), conn.signed_client()) {
                (Ok(key), Ok(client)) => packet(packet_id, &key, &client).await,
                (Err(err), _) | (_, Err(err)) => Err(unchecked(err)),
            };
            (outcome, conn.json)
        }
    };
    let (result, message, code) = match &outcome {
        Ok(proved) => ("valid", proved.clone(), ExitCode::SUCCESS),
        Err(Failure::Invalid(why)) => ("invalid", format!("{why:#}"), ExitCode::FAILURE),
        Err(Failure::Unchecked(why)) => ("unchecked", format!("{why:#}"), ExitCode::from(EXIT_UNCHECKED)),
    };
    if json {
        outln!("{}", serde_json::json!({ "result": result, "message": message }));
    } else {
        let head = match result {
            "valid" => "VALID",
            "invalid" => "INVALID",
            _ => "COULD NOT CHECK (nothing is known to be wrong)",
        };
        outln!("{head}: {message}");
    }
    Ok(code)
}

fn receipt(file: &Path, verifier: &Verifier) -> Result<String, Failure> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display())).map_err(unchecked)?;
    let receipt: ReceiptFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a receipt {{\"entry\", \"proof\", \"decoded\"}}", file.display()))
        .map_err(unchecked)?;
    let entry = STANDARD.decode(receipt.entry.trim()).context("the entry is not base64").map_err(invalid)?;
    let verified =
        verify_receipt(&entry, &receipt.proof, verifier).context("the proof does not hold").map_err(invalid)?;
    let logged = decode(&entry).map_err(|e| invalid(anyhow::anyhow!("the entry is not a hongbao log entry: {e}")))?;
    // `decoded` is a convenience for people and is not signed: say so if it disagrees.
    let readable = serde_json::to_value(&logged).unwrap_or_default();
    let note = if !receipt.decoded.is_null() && receipt.decoded != readable {
        "\n  warning: the receipt's \"decoded\" field does not match its entry; only the entry is proven"
    } else {
        ""
    };
    Ok(format!(
        "{} is entry #{} of the log {}, included in its checkpoint of size {} (root {}) signed by {}.{note}",
        describe(&logged.record),
        verified.index,
        verified.checkpoint.origin,
        verified.checkpoint.size,
        root_b64(&verified.checkpoint.root),
        verifier.name()
    ))
}

fn open_checkpoint(path: &Path, verifier: &Verifier) -> Result<Checkpoint, Failure> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display())).map_err(unchecked)?;
    note::open(&text, verifier)
        .with_context(|| format!("{} is not a checkpoint signed by {}", path.display(), verifier.name()))
        .map_err(invalid)
}

#[derive(Debug, Deserialize)]
struct ConsistencyAnswer {
    hashes: Vec<String>,
}

fn hashes(texts: &[String]) -> anyhow::Result<Vec<Hash>> {
    texts
        .iter()
        .map(|t| {
            let bytes = STANDARD.decode(t).context("a proof hash is not base64")?;
            Hash::try_from(bytes.as_slice()).map_err(|_| anyhow::anyhow!("a proof hash is not 32 bytes"))
        })
        .collect()
}

async fn consistency(old: &Path, new: &Path, verifier: &Verifier, conn: &Conn) -> Result<String, Failure> {
    let (old, new) = (open_checkpoint(old, verifier)?, open_checkpoint(new, verifier)?);
    if old.origin != new.origin {
        unchecked!(
            "the checkpoints are of different logs ({} and {}): there is nothing to compare",
            old.origin,
            new.origin
        );
    }
    if old.size > new.size {
        unchecked!(
            "the \"old\" checkpoint (size {}) is larger than the \"new\" one ({}): swap them",
            old.size,
            new.size
        );
    }
    let path = format!("/v1/audit/proofs/consistency?old={}&new={}", old.size, new.size);
    let answer = async {
        let client = conn.unsigned_client()?;
        let response = client.send(RawRequest::get(path).signing(Signing::Unsigned)).await?;
        anyhow::Ok(response.error_for_status()?.json::<ConsistencyAnswer>()?)
    };
    let answer = answer.await.context("could not get the consistency proof from the log").map_err(unchecked)?;
    let hashes = hashes(&answer.hashes).map_err(invalid)?;
    verify_consistency(old.size, new.size, &old.root, &new.root, &hashes)
        .context("the later checkpoint does not extend the earlier one: the log was rewritten")
        .map_err(invalid)?;
    Ok(format!(
        "the checkpoint of size {} extends the checkpoint of size {} of {}: nothing logged before was changed",
        new.size, old.size, old.origin
    ))
}

#[derive(Debug, Deserialize)]
struct PacketLog {
    entries: Vec<ProvenEntry>,
    complete: bool,
}

#[derive(Debug, Deserialize)]
struct ProvenEntry {
    entry: String,
    proof: String,
}

async fn packet(packet_id: PacketId, verifier: &Verifier, client: &Client) -> Result<String, Failure> {
    let log = async {
        let response = client.send(RawRequest::get(format!("/v1/audit/packets/{packet_id}"))).await?;
        anyhow::Ok(response.error_for_status()?.json::<PacketLog>()?)
    };
    let log = log
        .await
        .with_context(|| {
            format!(
                "could not get the log of {packet_id} (only its sender, those who may claim it and auditors may see it)"
            )
        })
        .map_err(unchecked)?;
    if !log.complete {
        unchecked!("the log returned only part of the packet's entries");
    }
    let (mut committed, mut revealed, mut claimed) = (None, None, Vec::new());
    for proven in &log.entries {
        let entry = STANDARD.decode(proven.entry.trim()).context("an entry is not base64").map_err(invalid)?;
        let verified = verify_receipt(&entry, &proven.proof, verifier)
            .context("an entry's proof does not hold")
            .map_err(invalid)?;
        let record = decode(&entry).map_err(|e| invalid(anyhow::anyhow!("entry #{}: {e}", verified.index)))?.record;
        if let LogRecord::Event(event) = record {
            match event.what {
                EventKind::PacketSent { packet_id: id, commitment, total, .. } if id == packet_id => {
                    committed = Some((commitment, total));
                }
                EventKind::LuckySharesRevealed { packet_id: id, salt, shares } if id == packet_id => {
                    revealed = Some((salt, shares));
                }
                EventKind::PacketClaimed { packet_id: id, amount, .. } if id == packet_id => claimed.push(amount),
                _ => {}
            }
        }
    }
    let Some((commitment, total)) = committed else {
        invalid!("the log shows entries of this packet but no record of it being sent")
    };
    let Some(commitment) = commitment else {
        unchecked!("this is not a lucky packet: its shares are fixed by its kind, there is no deal to check")
    };
    let Some((salt, shares)) = revealed else {
        unchecked!(
            "the packet is still open: its commitment {commitment} is logged, and the shares can be checked once it \
             closes (all claimed, or expired) and they are revealed"
        )
    };
    if fairness::commitment(&salt, &shares) != commitment {
        invalid!("the revealed shares do not match the commitment made when the packet was sent: they were re-dealt");
    }
    if Fen::checked_sum(shares.iter().copied()).map_err(invalid)? != total {
        invalid!("the revealed shares do not add up to the packet's total");
    }
    for (position, (claim, share)) in claimed.iter().zip(shares.iter()).enumerate() {
        if claim != share {
            invalid!(
                "claim #{} took ¥{} but the committed share at that position is ¥{}",
                position + 1,
                claim.to_yuan(),
                share.to_yuan()
            );
        }
    }
    if claimed.len() > shares.len() {
        invalid!("more claims than shares");
    }
    Ok(format!(
        "packet {packet_id}: the {} shares (¥{} in all) were committed to when it was sent, and each of the {} claim(s) took the share at its position",
        shares.len(),
        total.to_yuan(),
        claimed.len()
    ))
}
