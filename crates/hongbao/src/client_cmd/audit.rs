//! `receipt`: a transfer's proof of inclusion in the transparency log, printed or saved for
//! `hongbao verify receipt`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use hongbao_core::TransferId;

use super::Conn;
use super::send::connect;
use crate::out::outln;

/// `hongbao receipt TRANSFER_ID`.
#[derive(Debug, Args)]
pub(crate) struct ReceiptArgs {
    #[command(flatten)]
    conn: Conn,
    /// The transfer (trf_…), from `history`
    #[arg(value_name = "TRANSFER_ID")]
    transfer: TransferId,
    /// Write the receipt to this file (for `hongbao verify receipt`) instead of printing it
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
}

impl ReceiptArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let ReceiptArgs { conn, transfer, save } = self;
        let client = connect(&conn)?;
        let receipt = client.receipt(transfer).send().await?;
        let json = serde_json::to_string_pretty(&receipt)?;
        match save {
            Some(path) => {
                std::fs::write(&path, format!("{json}\n"))
                    .with_context(|| format!("cannot write {}", path.display()))?;
                outln!("receipt for {transfer} saved to {}; check it with `hongbao verify receipt`", path.display());
            }
            None => outln!("{json}"),
        }
        Ok(())
    }
}
