//! `seizure propose|approve|reject|list` (legal officers; auditors list): forced transfers of
//! frozen money under four eyes (docs/API.md "Four eyes"). Amounts in yuan.

use clap::{Args, Subcommand};
use hongbao_client::wire::ProposeSeizureRequest;
use hongbao_core::seizure::{SeizureStatus, SeizureTarget, SeizureView};
use hongbao_core::{DocumentId, Fen, FreezeId, SeizureId};

use super::args::parse_yuan;
use super::render::yuan;
use super::send::{connect, show, show_moving};
use super::{Conn, Idem};

/// `hongbao seizure …`.
#[derive(Debug, Args)]
pub(crate) struct SeizureArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    cmd: SeizureCmd,
}

#[derive(Debug, Subcommand)]
enum SeizureCmd {
    /// Propose moving frozen money of a court or police freeze; another legal officer approves
    Propose {
        /// The freeze (frz_…)
        #[arg(value_name = "FREEZE_ID")]
        freeze: FreezeId,
        /// How much, in yuan
        #[arg(long, value_name = "YUAN", value_parser = parse_yuan)]
        amount: Fen,
        /// A user id (the victim), or external
        #[arg(long, value_parser = parse_target)]
        to: SeizureTarget,
        /// Why, 1 to 500 characters
        #[arg(long)]
        reason: String,
        /// A registered document (a transfer_order among them); repeat
        #[arg(long = "document", value_name = "DOCUMENT_ID", required = true)]
        documents: Vec<DocumentId>,
        #[command(flatten)]
        idem: Idem,
    },
    /// Approve and execute a proposal (not your own)
    Approve {
        /// The proposal (szr_…)
        #[arg(value_name = "SEIZURE_ID")]
        seizure: SeizureId,
        #[command(flatten)]
        idem: Idem,
    },
    /// Reject a proposal
    Reject {
        /// The proposal (szr_…)
        #[arg(value_name = "SEIZURE_ID")]
        seizure: SeizureId,
        /// Why, 1 to 500 characters
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        idem: Idem,
    },
    /// The proposals, newest first [--status awaiting_approval: the approvals inbox]
    List {
        #[arg(long, value_parser = parse_status)]
        status: Option<SeizureStatus>,
    },
}

fn parse_target(text: &str) -> Result<SeizureTarget, String> {
    serde_json::from_value(serde_json::Value::from(text)).map_err(|e| e.to_string())
}

fn parse_status(text: &str) -> Result<SeizureStatus, String> {
    serde_json::from_value(serde_json::Value::from(text))
        .map_err(|_| "one of awaiting_approval, executed, rejected, expired".to_owned())
}

fn render_seizure(s: &SeizureView) -> String {
    let to = match s.to {
        SeizureTarget::User(user) => user.to_string(),
        SeizureTarget::External => "external".to_owned(),
    };
    let mut line = format!(
        "{} {}: {} of freeze {} to {}, proposed by {} until {}",
        s.seizure_id,
        s.status.as_str(),
        yuan(s.amount),
        s.freeze_id,
        to,
        s.proposed_by,
        s.expires_at
    );
    if let (Some(by), Some(transfer)) = (s.approved_by, s.transfer_id) {
        line.push_str(&format!("\napproved by {by}: transfer {transfer}"));
    }
    if let Some(by) = s.rejected_by {
        line.push_str(&format!("\nrejected by {by}"));
    }
    line
}

fn render_list(list: &[SeizureView]) -> String {
    if list.is_empty() {
        return "no forced transfers".to_owned();
    }
    list.iter().map(render_seizure).collect::<Vec<_>>().join("\n")
}

impl SeizureArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let SeizureArgs { conn, cmd } = self;
        let client = connect(&conn)?;
        match cmd {
            SeizureCmd::Propose { freeze, amount, to, reason, documents, idem } => {
                let body = ProposeSeizureRequest { freeze_id: freeze, amount: amount.get(), to, reason, documents };
                show_moving(&conn, &client, client.propose_seizure(&body), idem, render_seizure).await
            }
            SeizureCmd::Approve { seizure, idem } => {
                show_moving(&conn, &client, client.approve_seizure(seizure), idem, render_seizure).await
            }
            SeizureCmd::Reject { seizure, reason, idem } => {
                show_moving(&conn, &client, client.reject_seizure(seizure, &reason), idem, render_seizure).await
            }
            SeizureCmd::List { status } => {
                show(&conn, client.seizures(status), |l: &Vec<SeizureView>| render_list(l)).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::client_cmd::tests::parse;

    const FRZ: &str = "frz_0190f0a0b0c0d0e0f000000000000002";
    const DOC: &str = "doc_0190f0a0b0c0d0e0f000000000000001";

    #[test]
    fn a_proposal_names_its_freeze_amount_destination_and_order() {
        let base = ["seizure", "propose", FRZ, "--amount", "12.50", "--reason", "order", "--document", DOC];
        assert!(parse(&[&base[..], &["--to", "external"]].concat()).is_ok());
        assert!(parse(&[&base[..], &["--to", "usr_0190f0a0b0c0d0e0f000000000000003"]].concat()).is_ok());
        assert!(parse(&[&base[..], &["--to", "the bank"]].concat()).is_err());
        assert!(parse(&["seizure", "propose", FRZ, "--amount", "1", "--to", "external", "--reason", "r"]).is_err());
        assert!(parse(&["seizure", "approve", "szr_0190f0a0b0c0d0e0f000000000000004"]).is_ok());
        assert!(parse(&["seizure", "reject", "szr_0190f0a0b0c0d0e0f000000000000004"]).is_err(), "a reason");
        assert!(parse(&["seizure", "list", "--status", "awaiting_approval"]).is_ok());
    }
}
