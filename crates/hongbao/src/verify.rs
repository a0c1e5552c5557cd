//! `hongbao verify`: checks receipts, checkpoints and lucky packets against the log's public
//! key alone, offline where the question allows it. Every check says what it proves, or
//! precisely why it fails (exit 1).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
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

#[derive(Debug, Subcommand)]
pub enum VerifyCmd {
    /// Verify a receipt (from `GET /v1/receipts/{transfer_id}`) offline, with only the public key.
    Receipt {
        /// The receipt file: {"entry", "proof", "decoded"}.
        file: PathBuf,
        /// The log's verifier key (`name+keyid+base64`), or a file holding it.
        #[arg(long, env = "HONGBAO_LOG_KEY")]
        public_key: String,
    },
    /// Check that a later checkpoint extends an earlier one (asks the log for the proof).
    Consistency {
        /// The earlier signed checkpoint (a file).
        old: PathBuf,
        /// The later signed checkpoint (a file).
        new: PathBuf,
        #[arg(long, env = "HONGBAO_LOG_KEY")]
        public_key: String,
        /// The server to ask for the consistency proof.
        #[arg(long, env = "HONGBAO_URL", default_value = "http://127.0.0.1:8080")]
        url: String,
    },
    /// Check that a lucky packet's shares were fixed when it was sent (nobody re-dealt them).
    /// The packet's log is shown to its sender, those who may claim it and auditors only, so
    /// this signs with their credentials (the server is the credentials file's).
    Packet {
        packet_id: PacketId,
        #[arg(long, env = "HONGBAO_LOG_KEY")]
        public_key: String,
        /// Credentials of the sender, a possible claimant or an auditor.
        #[arg(long, value_name = "FILE", env = "HONGBAO_CREDENTIALS")]
        credentials: PathBuf,
    },
}

/// Reads of the public transparency log (no credentials needed).
#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Print the log's verifier key (name+keyid+base64): all a verifier needs.
    PublicKey {
        #[arg(long, env = "HONGBAO_URL", default_value = "http://127.0.0.1:8080")]
        url: String,
    },
    /// Print the latest signed checkpoint (save it to check consistency later).
    Checkpoint {
        #[arg(long, env = "HONGBAO_URL", default_value = "http://127.0.0.1:8080")]
        url: String,
    },
}

pub async fn audit(cmd: AuditCmd) -> anyhow::Result<ExitCode> {
    let (url, path) = match &cmd {
        AuditCmd::PublicKey { url } => (url, "/v1/audit/public-key"),
        AuditCmd::Checkpoint { url } => (url, "/v1/audit/checkpoint"),
    };
    let response = unsigned(url)?.send(RawRequest::get(path.to_owned()).signing(Signing::Unsigned)).await?;
    print!("{}", response.error_for_status()?.text());
    Ok(ExitCode::SUCCESS)
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
    let outcome = match cmd {
        VerifyCmd::Receipt { file, public_key } => receipt(&file, &verifier(&public_key)?),
        VerifyCmd::Consistency { old, new, public_key, url } => {
            consistency(&old, &new, &verifier(&public_key)?, &url).await
        }
        VerifyCmd::Packet { packet_id, public_key, credentials } => {
            let client = hongbao_client::Credentials::load(&credentials)
                .with_context(|| format!("cannot read the credentials {}", credentials.display()))?
                .client()?;
            packet(packet_id, &verifier(&public_key)?, &client).await
        }
    };
    match outcome {
        Ok(proved) => {
            println!("VALID: {proved}");
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => {
            println!("INVALID: {why:#}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn receipt(file: &Path, verifier: &Verifier) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let receipt: ReceiptFile =
        serde_json::from_str(&text).context("not a receipt {\"entry\", \"proof\", \"decoded\"}")?;
    let entry = STANDARD.decode(receipt.entry.trim()).context("the entry is not base64")?;
    let verified = verify_receipt(&entry, &receipt.proof, verifier).context("the proof does not hold")?;
    let logged = decode(&entry).map_err(|e| anyhow::anyhow!("the entry is not a hongbao log entry: {e}"))?;
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

fn open_checkpoint(path: &Path, verifier: &Verifier) -> anyhow::Result<Checkpoint> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    note::open(&text, verifier)
        .with_context(|| format!("{} is not a checkpoint signed by {}", path.display(), verifier.name()))
}

fn unsigned(url: &str) -> anyhow::Result<Client> {
    // Public endpoints: the key is never used.
    Ok(Client::new(url, "key_00000000000000000000000000000000", "")?)
}

async fn get_json<T: serde::de::DeserializeOwned>(url: &str, path: &str) -> anyhow::Result<T> {
    let response = unsigned(url)?.send(RawRequest::get(path.to_owned()).signing(Signing::Unsigned)).await?;
    let response = response.error_for_status()?;
    Ok(response.json()?)
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

async fn consistency(old: &Path, new: &Path, verifier: &Verifier, url: &str) -> anyhow::Result<String> {
    let (old, new) = (open_checkpoint(old, verifier)?, open_checkpoint(new, verifier)?);
    if old.origin != new.origin {
        bail!("the checkpoints are of different logs ({} and {})", old.origin, new.origin);
    }
    if old.size > new.size {
        bail!("the \"old\" checkpoint (size {}) is larger than the \"new\" one ({})", old.size, new.size);
    }
    let answer: ConsistencyAnswer =
        get_json(url, &format!("/v1/audit/proofs/consistency?old={}&new={}", old.size, new.size)).await?;
    verify_consistency(old.size, new.size, &old.root, &new.root, &hashes(&answer.hashes)?)
        .context("the later checkpoint does not extend the earlier one: the log was rewritten")?;
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

async fn packet(packet_id: PacketId, verifier: &Verifier, client: &Client) -> anyhow::Result<String> {
    let response = client.send(RawRequest::get(format!("/v1/audit/packets/{packet_id}"))).await?;
    let log: PacketLog = response.error_for_status()?.json()?;
    if !log.complete {
        bail!("the log returned only part of the packet's entries");
    }
    let (mut committed, mut revealed, mut claimed) = (None, None, Vec::new());
    for proven in &log.entries {
        let entry = STANDARD.decode(proven.entry.trim()).context("an entry is not base64")?;
        let verified = verify_receipt(&entry, &proven.proof, verifier).context("an entry's proof does not hold")?;
        let record = decode(&entry).map_err(|e| anyhow::anyhow!("entry #{}: {e}", verified.index))?.record;
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
    let Some((commitment, total)) = committed else { bail!("the log has no record of this packet being sent") };
    let Some(commitment) = commitment else { bail!("this is not a lucky packet: its shares are fixed by its kind") };
    let Some((salt, shares)) = revealed else {
        bail!("the packet is still open: its commitment {commitment} is logged, the reveal comes when it closes")
    };
    if fairness::commitment(&salt, &shares) != commitment {
        bail!("the revealed shares do not match the commitment made when the packet was sent: they were re-dealt");
    }
    if Fen::checked_sum(shares.iter().copied())? != total {
        bail!("the revealed shares do not add up to the packet's total");
    }
    for (position, (claim, share)) in claimed.iter().zip(shares.iter()).enumerate() {
        if claim != share {
            bail!(
                "claim #{} took ¥{} but the committed share at that position is ¥{}",
                position + 1,
                claim.to_yuan(),
                share.to_yuan()
            );
        }
    }
    if claimed.len() > shares.len() {
        bail!("more claims than shares");
    }
    Ok(format!(
        "packet {packet_id}: the {} shares (¥{} in all) were committed to when it was sent, and each of the {} claim(s) took the share at its position",
        shares.len(),
        total.to_yuan(),
        claimed.len()
    ))
}
