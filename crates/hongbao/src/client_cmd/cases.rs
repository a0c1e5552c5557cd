//! `report` (a user reports who defrauded them) and `case list|show|note|close|reports` (risk
//! and legal officers; auditors read): docs/API.md "Reports (举报) and cases". Amounts in yuan.

use clap::{Args, Subcommand};
use hongbao_client::wire::FileReportRequest;
use hongbao_core::case::{Case, CaseItem, CaseKind, CaseOutcome, CaseStatus, Payment, Report};
use hongbao_core::{CaseId, EvidenceId, UserId};

use super::render::yuan;
use super::send::{connect, show, show_moving};
use super::{Conn, Idem};

/// `hongbao report SUBJECT --paid ID … --description TEXT [--evidence EVD …]`.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    #[command(flatten)]
    conn: Conn,
    /// The user you report (usr_…)
    #[arg(value_name = "USER_ID")]
    subject: UserId,
    /// A transfer you sent them (trf_…) or a claim they made on your packet (clm_…); repeat
    #[arg(long = "paid", value_name = "ID", required = true, value_parser = parse_payment)]
    payments: Vec<Payment>,
    /// What happened, 1 to 2 000 characters
    #[arg(long)]
    description: String,
    /// An evidence file you uploaded (`hongbao evidence upload`); repeat
    #[arg(long = "evidence", value_name = "EVIDENCE_ID")]
    evidence: Vec<EvidenceId>,
    #[command(flatten)]
    idem: Idem,
}

/// `hongbao case …`.
#[derive(Debug, Args)]
pub(crate) struct CaseArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    cmd: CaseCmd,
}

#[derive(Debug, Subcommand)]
enum CaseCmd {
    /// The cases, newest first
    List {
        /// open or closed
        #[arg(long, value_parser = parse_variant::<CaseStatus>)]
        status: Option<CaseStatus>,
        /// fraud, anomaly, aml or dispute
        #[arg(long, value_parser = parse_variant::<CaseKind>)]
        kind: Option<CaseKind>,
    },
    /// One case with its items and timeline
    Show {
        #[arg(value_name = "CASE_ID")]
        case: CaseId,
    },
    /// Write a note on a case's timeline
    Note {
        #[arg(value_name = "CASE_ID")]
        case: CaseId,
        /// 1 to 2 000 characters
        text: String,
        #[command(flatten)]
        idem: Idem,
    },
    /// Close a case: upheld, or dismissed (which releases its precautionary freezes)
    Close {
        #[arg(value_name = "CASE_ID")]
        case: CaseId,
        /// upheld or dismissed
        #[arg(long, value_parser = parse_variant::<CaseOutcome>)]
        outcome: CaseOutcome,
        /// Why, 1 to 500 characters
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        idem: Idem,
    },
    /// The reports on a user, newest first
    Reports {
        #[arg(value_name = "USER_ID")]
        subject: UserId,
    },
}

pub(super) fn parse_payment(text: &str) -> Result<Payment, String> {
    serde_json::from_value(serde_json::Value::from(text)).map_err(|e| e.to_string())
}

pub(super) fn parse_variant<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::from(text)).map_err(|e| e.to_string())
}

fn render_report(r: &Report) -> String {
    let mut line = format!(
        "{} {}: {} reported {} for {} ({} transfer(s), {} evidence file(s)) at {}",
        r.id,
        r.status.as_str(),
        r.reporter,
        r.subject,
        yuan(r.amount),
        r.transfers.len(),
        r.evidence.len(),
        r.created_at
    );
    if let Some(case) = r.case_id {
        line.push_str(&format!("\nin case {case}"));
    }
    line
}

fn render_reports(list: &[Report]) -> String {
    if list.is_empty() {
        return "no reports".to_owned();
    }
    list.iter().map(render_report).collect::<Vec<_>>().join("\n")
}

fn render_case_line(c: &Case) -> String {
    let outcome = c.outcome.map(|o| format!(" ({})", o.as_str())).unwrap_or_default();
    format!(
        "{} {} case about {}: {}{outcome}, {} report(s), {} freeze(s), opened {}",
        c.id,
        c.kind.as_str(),
        c.subject,
        c.status.as_str(),
        c.reports().count(),
        c.freezes().count(),
        c.created_at
    )
}

fn render_case(c: &Case) -> String {
    let mut out = render_case_line(c);
    for item in &c.items {
        out.push_str(&match item {
            CaseItem::Report { report_id } => format!("\n  report {report_id}"),
            CaseItem::Freeze { freeze_id } => format!("\n  freeze {freeze_id}"),
            CaseItem::RuleHit { rule, at, detail } => format!("\n  rule {rule} at {at}: {detail}"),
        });
    }
    for entry in &c.timeline {
        out.push_str(&format!("\n{} {} {}: {}", entry.at, entry.actor, entry.action, entry.reason));
    }
    out
}

fn render_cases(list: &[Case]) -> String {
    if list.is_empty() {
        return "no cases".to_owned();
    }
    list.iter().map(render_case_line).collect::<Vec<_>>().join("\n")
}

impl ReportArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let ReportArgs { conn, subject, payments, description, evidence, idem } = self;
        let client = connect(&conn)?;
        let body = FileReportRequest { subject, transfers: payments, description, evidence };
        show_moving(&conn, &client, client.file_report(&body), idem, render_report).await
    }
}

impl CaseArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let CaseArgs { conn, cmd } = self;
        let client = connect(&conn)?;
        match cmd {
            CaseCmd::List { status, kind } => {
                show(&conn, client.cases(status, kind), |l: &Vec<Case>| render_cases(l)).await
            }
            CaseCmd::Show { case } => show(&conn, client.case(case), render_case).await,
            CaseCmd::Note { case, text, idem } => {
                show_moving(&conn, &client, client.note_case(case, &text), idem, render_case).await
            }
            CaseCmd::Close { case, outcome, reason, idem } => {
                show_moving(&conn, &client, client.close_case(case, outcome, &reason), idem, render_case).await
            }
            CaseCmd::Reports { subject } => {
                show(&conn, client.reports(subject), |l: &Vec<Report>| render_reports(l)).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::client_cmd::tests::parse;

    const USR: &str = "usr_0190f0a0b0c0d0e0f000000000000002";
    const CAS: &str = "cas_0190f0a0b0c0d0e0f000000000000005";

    #[test]
    fn a_report_cites_transfers_or_claims_and_a_case_closes_with_an_outcome() {
        let trf = "trf_0190f0a0b0c0d0e0f000000000000003";
        let clm = "clm_0190f0a0b0c0d0e0f000000000000004";
        assert!(parse(&["report", USR, "--paid", trf, "--paid", clm, "--description", "scam"]).is_ok());
        assert!(
            parse(&["report", USR, "--paid", "pkt_0190f0a0b0c0d0e0f000000000000004", "--description", "x"]).is_err()
        );
        assert!(parse(&["report", USR, "--description", "no payment"]).is_err());
        assert!(parse(&["case", "list", "--status", "open", "--kind", "fraud"]).is_ok());
        assert!(parse(&["case", "list", "--kind", "theft"]).is_err());
        assert!(parse(&["case", "close", CAS, "--outcome", "dismissed", "--reason", "sold goods"]).is_ok());
        assert!(parse(&["case", "close", CAS, "--outcome", "maybe", "--reason", "r"]).is_err());
        assert!(parse(&["case", "note", CAS, "called him"]).is_ok());
        assert!(parse(&["case", "reports", USR]).is_ok());
    }
}
