//! `evidence upload FILE` and `evidence get ID --save FILE`: the files reports, disputes and
//! documents cite (docs/API.md "Evidence files").

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use hongbao_core::EvidenceId;
use hongbao_core::evidence::{ContentType, EVIDENCE_BYTES_MAX, EvidenceView};

use super::Conn;
use super::send::{connect, in_yuan, print_answer};
use crate::out::outln;

/// `hongbao evidence …`.
#[derive(Debug, Args)]
pub(crate) struct EvidenceArgs {
    #[command(subcommand)]
    cmd: EvidenceCmd,
}

#[derive(Debug, Subcommand)]
enum EvidenceCmd {
    /// Upload a file (PNG, JPEG, PDF or UTF-8 text, at most 5 MiB); prints its id and SHA-256
    Upload {
        #[command(flatten)]
        conn: Conn,
        /// The file
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Its type [default: from the file's extension: .png, .jpg/.jpeg, .pdf, .txt]
        #[arg(long = "type", value_name = "MIME", value_parser = parse_type)]
        content_type: Option<ContentType>,
    },
    /// Download a file you uploaded
    Get {
        #[command(flatten)]
        conn: Conn,
        /// The file (evd_…)
        #[arg(value_name = "EVIDENCE_ID")]
        evidence: EvidenceId,
        /// Where to write it
        #[arg(long, value_name = "FILE")]
        save: PathBuf,
    },
}

fn parse_type(text: &str) -> Result<ContentType, String> {
    ContentType::parse(text).map_err(|e| e.to_string())
}

/// The type a file's name says, if it says one.
fn type_of(path: &Path) -> Option<ContentType> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    ContentType::ALL.into_iter().find(|t| t.extensions().contains(&extension.as_str()))
}

impl EvidenceArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        match self.cmd {
            EvidenceCmd::Upload { conn, file, content_type } => {
                let Some(content_type) = content_type.or_else(|| type_of(&file)) else {
                    bail!("cannot tell the type of {} from its name: give --type", file.display());
                };
                let size = std::fs::metadata(&file).with_context(|| format!("cannot read {}", file.display()))?.len();
                if size > EVIDENCE_BYTES_MAX as u64 {
                    bail!("{} has {size} bytes; an evidence file is at most {EVIDENCE_BYTES_MAX}", file.display());
                }
                let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
                let client = connect(&conn)?;
                // Uploads are idempotent by content: sending it again would answer the same file.
                let raw = client.upload_evidence(content_type, bytes).send_raw().await?;
                print_answer::<EvidenceView>(&conn, raw, |v| {
                    format!("{} ({}, {} bytes)\nsha256 {}", v.evidence_id, v.content_type, v.size, v.sha256)
                })
            }
            EvidenceCmd::Get { conn, evidence, save } => {
                let client = connect(&conn)?;
                let bytes = client.evidence(evidence).await.map_err(in_yuan)?;
                std::fs::write(&save, &bytes).with_context(|| format!("cannot write {}", save.display()))?;
                outln!("{evidence}: {} bytes saved to {}", bytes.len(), save.display());
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_cmd::tests::parse;

    #[test]
    fn the_type_comes_from_the_flag_or_the_extension() {
        assert_eq!(type_of(Path::new("chat.PNG")), Some(ContentType::Png));
        assert_eq!(type_of(Path::new("scan.jpeg")), Some(ContentType::Jpeg));
        assert_eq!(type_of(Path::new("notes")), None);
        assert!(parse(&["evidence", "upload", "notes", "--type", "text/plain"]).is_ok());
        assert!(parse(&["evidence", "upload", "page.html", "--type", "text/html"]).is_err());
        assert!(parse(&["evidence", "get", "evd_0190f0a0b0c0d0e0f000000000000000"]).is_err(), "--save is needed");
    }
}
