//! `document register …` and `document reveal DOC_ID --reason …` (legal_officer, risk_officer):
//! the legal documents freezes, releases and seizures cite (docs/API.md "A freeze proves its
//! warrant"). A reveal is checked here too: the salt and file hash printed must open the
//! commitment the log recorded.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use hongbao_client::wire::{DocumentRegistered, DocumentRevealed, RegisterDocumentRequest};
use hongbao_core::document::{DocumentKind, commitment};
use hongbao_core::hex::{hex, parse_sha256};
use hongbao_core::{DocumentId, EvidenceId, Timestamp};
use sha2::{Digest, Sha256};

use super::send::{connect, show_moving};
use super::{Conn, Idem};

/// `hongbao document …`.
#[derive(Debug, Args)]
pub(crate) struct DocumentArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    cmd: DocumentCmd,
}

#[derive(Debug, Subcommand)]
enum DocumentCmd {
    /// Register a legal document; prints its id and the commitment the log recorded
    Register {
        /// court_ruling, assistance_notice, stop_payment_order, release_notice, transfer_order
        /// or other
        #[arg(long, value_parser = parse_kind)]
        kind: DocumentKind,
        /// Who issued it (1 to 200 characters)
        #[arg(long)]
        authority: String,
        /// Its number, as the authority wrote it (1 to 200 characters)
        #[arg(long)]
        reference: String,
        /// When it was issued, RFC 3339 (2026-12-01T09:30:00Z)
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        issued_at: Timestamp,
        /// The scan, whose SHA-256 is computed here (or give --sha256)
        #[arg(long, value_name = "FILE", conflicts_with = "sha256", required_unless_present = "sha256")]
        file: Option<PathBuf>,
        /// The scan's SHA-256, 64 hex digits
        #[arg(long, value_name = "HEX", value_parser = parse_hash)]
        sha256: Option<[u8; 32]>,
        /// The scan as an evidence file you uploaded (evd_…), with the same SHA-256
        #[arg(long = "evidence", value_name = "EVIDENCE_ID")]
        evidence_id: Option<EvidenceId>,
        /// Withhold the authority and reference from the user it concerns
        #[arg(long)]
        confidential: bool,
        #[command(flatten)]
        idem: Idem,
    },
    /// Reveal a document's salt in the log, so anyone can check its commitment
    Reveal {
        /// The document (doc_…)
        #[arg(value_name = "DOCUMENT_ID")]
        document: DocumentId,
        /// Why, 1 to 500 characters: the log records it with your key id
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        idem: Idem,
    },
}

fn parse_kind(text: &str) -> Result<DocumentKind, String> {
    DocumentKind::parse(text).ok_or_else(|| {
        let names: Vec<&str> = DocumentKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("one of {}", names.join(", "))
    })
}

fn parse_time(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse_rfc3339(text)
}

fn parse_hash(text: &str) -> Result<[u8; 32], String> {
    parse_sha256("--sha256", text).map_err(|e| e.to_string())
}

/// What a reveal shows, with the commitment recomputed from it.
fn render_revealed(r: &DocumentRevealed) -> String {
    let opens = parse_sha256("sha256", &r.sha256).is_ok_and(|file| commitment(&r.salt, &file) == r.commitment);
    let check = if opens { "opens the commitment" } else { "DOES NOT open the commitment" };
    format!(
        "{} revealed at {}\nsalt       {}\nsha256     {}\ncommitment {} ({check})",
        r.document_id, r.revealed_at, r.salt, r.sha256, r.commitment
    )
}

impl DocumentArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let DocumentArgs { conn, cmd } = self;
        let client = connect(&conn)?;
        match cmd {
            DocumentCmd::Register {
                kind,
                authority,
                reference,
                issued_at,
                file,
                sha256,
                evidence_id,
                confidential,
                idem,
            } => {
                let sha256 = match (file, sha256) {
                    (_, Some(sha256)) => sha256,
                    (Some(file), None) => {
                        let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
                        Sha256::digest(&bytes).into()
                    }
                    (None, None) => bail!("give the scan with --file or its --sha256"),
                };
                let body = RegisterDocumentRequest {
                    kind,
                    authority,
                    reference,
                    issued_at,
                    sha256: hex(&sha256),
                    evidence_id,
                    confidential,
                };
                show_moving(&conn, &client, client.register_document(&body), idem, |r: &DocumentRegistered| {
                    format!("{}\ncommitment {}", r.document_id, r.commitment)
                })
                .await
            }
            DocumentCmd::Reveal { document, reason, idem } => {
                show_moving(&conn, &client, client.reveal_document(document, &reason), idem, render_revealed).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use hongbao_core::fairness::Salt;

    use super::*;
    use crate::client_cmd::tests::parse;

    const DOC: &str = "doc_0190f0a0b0c0d0e0f000000000000000";

    #[test]
    fn a_registration_needs_its_kind_its_paper_and_the_scan_once() {
        let base = ["document", "register", "--kind", "court_ruling", "--authority", "court", "--reference", "1"];
        let with = |more: &[&str]| parse(&[&base[..], &["--issued-at", "2026-12-01T09:30:00Z"], more].concat());
        assert!(with(&["--sha256", &"ab".repeat(32)]).is_ok());
        assert!(with(&["--file", "scan.pdf"]).is_ok());
        assert!(with(&[]).is_err(), "the scan is required");
        assert!(with(&["--file", "scan.pdf", "--sha256", &"ab".repeat(32)]).is_err(), "only one of them");
        assert!(with(&["--sha256", "abc"]).is_err());
        let mut bad = base.to_vec();
        bad[3] = "court";
        assert!(
            parse(&[&bad[..], &["--issued-at", "2026-12-01T09:30:00Z", "--sha256", &"ab".repeat(32)]].concat())
                .is_err()
        );
        assert!(parse(&["document", "reveal", DOC, "--reason", "the court asked"]).is_ok());
        assert!(parse(&["document", "reveal", DOC]).is_err(), "a reason is required");
    }

    #[test]
    fn a_reveal_says_whether_its_salt_opens_the_commitment() {
        let (salt, file) = (Salt([1; 32]), [2u8; 32]);
        let revealed = DocumentRevealed {
            document_id: DOC.parse().unwrap(),
            commitment: commitment(&salt, &file),
            salt,
            sha256: hex(&file),
            revealed_at: Timestamp::from_millis(0),
        };
        assert!(render_revealed(&revealed).contains("(opens the commitment)"));
        let forged = DocumentRevealed { salt: Salt([3; 32]), ..revealed };
        assert!(render_revealed(&forged).contains("DOES NOT open"));
    }
}
