//! `freeze place|release|list|show` (officers) and `holds` (a user's own): docs/API.md
//! "Freezes". Amounts are in yuan, converted exactly.

use clap::{Args, Subcommand};
use hongbao_client::wire::{ConvertFreezeRequest, PlaceFreezeRequest, ReleaseFreezeRequest, RenewFreezeRequest};
use hongbao_core::freeze::{FreezeStatus, FreezeView, HoldView};
use hongbao_core::risk::FreezeKind;
use hongbao_core::{DocumentId, Fen, FreezeId, Timestamp, UserId};

use super::args::parse_yuan;
use super::render::yuan;
use super::send::{connect, show, show_moving};
use super::{Conn, Idem};

/// `hongbao freeze …`.
#[derive(Debug, Args)]
pub(crate) struct FreezeArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    cmd: FreezeCmd,
}

#[derive(Debug, Subcommand)]
enum FreezeCmd {
    /// Freeze a user's money: court, police and emergency_stop (legal_officer, citing documents),
    /// precautionary (risk_officer)
    Place {
        /// The user (usr_…)
        #[arg(value_name = "USER_ID")]
        user: UserId,
        /// court, police, emergency_stop or precautionary
        #[arg(long, value_parser = parse_kind)]
        kind: FreezeKind,
        /// How much, in yuan [default: the whole wallet and everything that arrives]
        #[arg(long, value_name = "YUAN", value_parser = parse_yuan)]
        amount: Option<Fen>,
        /// Why, 1 to 500 characters (never shown to the user)
        #[arg(long)]
        reason: String,
        /// A registered document it cites (doc_…); repeat for each
        #[arg(long = "document", value_name = "DOCUMENT_ID")]
        documents: Vec<DocumentId>,
        /// When it ends, RFC 3339 [default: the longest term of its kind]
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        expires_at: Option<Timestamp>,
        /// A police freeze in a major case (a year)
        #[arg(long)]
        major_case: bool,
        #[command(flatten)]
        idem: Idem,
    },
    /// Release a freeze, or part of what it holds
    Release {
        /// The freeze (frz_…)
        #[arg(value_name = "FREEZE_ID")]
        freeze: FreezeId,
        /// Why, 1 to 500 characters
        #[arg(long)]
        reason: String,
        /// Only this much, in yuan [default: all it holds]
        #[arg(long, value_name = "YUAN", value_parser = parse_yuan)]
        amount: Option<Fen>,
        /// A registered document (a court or police freeze needs a release_notice); repeat
        #[arg(long = "document", value_name = "DOCUMENT_ID")]
        documents: Vec<DocumentId>,
        #[command(flatten)]
        idem: Idem,
    },
    /// Renew a freeze before it ends (a court, police or emergency one by a new document)
    Renew {
        /// The freeze (frz_…)
        #[arg(value_name = "FREEZE_ID")]
        freeze: FreezeId,
        /// The new end, RFC 3339: at most one term of its kind past the current one
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        expires_at: Timestamp,
        /// Why, 1 to 500 characters
        #[arg(long)]
        reason: String,
        /// A registered document it now cites; repeat
        #[arg(long = "document", value_name = "DOCUMENT_ID")]
        documents: Vec<DocumentId>,
        #[command(flatten)]
        idem: Idem,
    },
    /// Turn a precautionary or emergency freeze into a court or police one (legal_officer)
    Convert {
        /// The freeze (frz_…)
        #[arg(value_name = "FREEZE_ID")]
        freeze: FreezeId,
        /// court or police
        #[arg(long, value_parser = parse_kind)]
        kind: FreezeKind,
        /// Why, 1 to 500 characters
        #[arg(long)]
        reason: String,
        /// A registered document the new kind needs; repeat
        #[arg(long = "document", value_name = "DOCUMENT_ID", required = true)]
        documents: Vec<DocumentId>,
        /// When the new freeze ends, RFC 3339 [default: the longest term of its kind]
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        expires_at: Option<Timestamp>,
        #[command(flatten)]
        idem: Idem,
    },
    /// A user's freezes, or the newest 100 of everyone's, newest first (risk_officer,
    /// legal_officer, auditor)
    List {
        /// The user (usr_…) [default: every user]
        #[arg(value_name = "USER_ID")]
        user: Option<UserId>,
        /// Only active, released, expired, seized or converted ones
        #[arg(long, value_parser = parse_status)]
        status: Option<FreezeStatus>,
        /// Only this kind
        #[arg(long, value_parser = parse_kind)]
        kind: Option<FreezeKind>,
    },
    /// One freeze, with its documents
    Show {
        /// The freeze (frz_…)
        #[arg(value_name = "FREEZE_ID")]
        freeze: FreezeId,
    },
}

fn parse_kind(text: &str) -> Result<FreezeKind, String> {
    FreezeKind::ALL.into_iter().find(|k| k.as_str() == text).ok_or_else(|| {
        let names: Vec<&str> = FreezeKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("one of {}", names.join(", "))
    })
}

fn parse_status(text: &str) -> Result<FreezeStatus, String> {
    serde_json::from_value(serde_json::Value::from(text))
        .map_err(|_| "one of active, released, expired, seized, converted".to_owned())
}

fn parse_time(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse_rfc3339(text)
}

fn target(amount: Option<Fen>) -> String {
    amount.map_or_else(|| "the whole wallet".to_owned(), yuan)
}

fn until(at: Option<Timestamp>) -> String {
    at.map_or_else(|| "until released".to_owned(), |at| format!("until {at}"))
}

fn render_freeze(f: &FreezeView) -> String {
    let documents: Vec<String> =
        f.documents.iter().map(|d| format!("{} ({})", d.document_id, d.kind.as_str())).collect();
    format!(
        "{} {} freeze of {}: {} held of {}, {}, {}\ndocuments: {}",
        f.freeze_id,
        f.kind.as_str(),
        f.user_id,
        yuan(f.held),
        target(f.amount),
        f.status.as_str(),
        until(f.expires_at),
        if documents.is_empty() { "none".to_owned() } else { documents.join(", ") }
    )
}

fn render_freezes(list: &[FreezeView]) -> String {
    if list.is_empty() {
        return "no freezes".to_owned();
    }
    list.iter().map(render_freeze).collect::<Vec<_>>().join("\n")
}

/// `hongbao holds`: your own freezes.
pub(super) fn render_holds(list: &[HoldView]) -> String {
    if list.is_empty() {
        return "nothing of yours is frozen".to_owned();
    }
    let line = |h: &HoldView| {
        let by: Vec<String> = h
            .documents
            .iter()
            .map(|d| match (&d.authority, &d.reference) {
                (Some(authority), Some(reference)) => format!("{authority} {reference}"),
                _ => format!("a confidential {}", d.kind.as_str()),
            })
            .collect();
        let by = if by.is_empty() { String::new() } else { format!(" ({})", by.join("; ")) };
        format!(
            "{} held of {} by a {} freeze, {}{by}",
            yuan(h.held),
            target(h.amount),
            h.kind.as_str(),
            until(h.expires_at)
        )
    };
    list.iter().filter(|h| h.status == FreezeStatus::Active).map(line).collect::<Vec<_>>().join("\n")
}

impl FreezeArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let FreezeArgs { conn, cmd } = self;
        let client = connect(&conn)?;
        match cmd {
            FreezeCmd::Place { user, kind, amount, reason, documents, expires_at, major_case, idem } => {
                let body = PlaceFreezeRequest {
                    user_id: user,
                    kind,
                    amount: amount.map(Fen::get),
                    reason,
                    documents,
                    expires_at,
                    major_case,
                };
                show_moving(&conn, &client, client.place_freeze(&body), idem, render_freeze).await
            }
            FreezeCmd::Release { freeze, reason, amount, documents, idem } => {
                let body = ReleaseFreezeRequest { reason, amount: amount.map(Fen::get), documents };
                show_moving(&conn, &client, client.release_freeze(freeze, &body), idem, render_freeze).await
            }
            FreezeCmd::Renew { freeze, expires_at, reason, documents, idem } => {
                let body = RenewFreezeRequest { reason: Some(reason), documents, expires_at };
                show_moving(&conn, &client, client.renew_freeze(freeze, &body), idem, render_freeze).await
            }
            FreezeCmd::Convert { freeze, kind, reason, documents, expires_at, idem } => {
                let body = ConvertFreezeRequest { kind, reason: Some(reason), documents, expires_at };
                show_moving(&conn, &client, client.convert_freeze(freeze, &body), idem, render_freeze).await
            }
            FreezeCmd::List { user, status, kind } => {
                show(&conn, client.freezes(user, status, kind), |l: &Vec<FreezeView>| render_freezes(l)).await
            }
            FreezeCmd::Show { freeze } => show(&conn, client.freeze(freeze), render_freeze).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::client_cmd::tests::parse;

    const USER: &str = "usr_0190f0a0b0c0d0e0f000000000000000";
    const DOC: &str = "doc_0190f0a0b0c0d0e0f000000000000001";

    #[test]
    fn a_freeze_names_its_user_kind_and_reason_in_yuan() {
        let place = ["freeze", "place", USER, "--kind", "court", "--reason", "order", "--document", DOC];
        assert!(parse(&[&place[..], &["--amount", "50.25"]].concat()).is_ok());
        assert!(parse(&place).is_ok(), "no amount: the whole wallet");
        assert!(parse(&[&place[..], &["--amount", "0.001"]].concat()).is_err());
        assert!(parse(&["freeze", "place", USER, "--kind", "melt", "--reason", "r"]).is_err());
        assert!(parse(&["freeze", "place", USER, "--kind", "court"]).is_err(), "a reason is required");
        assert!(parse(&["freeze", "release", "frz_0190f0a0b0c0d0e0f000000000000002", "--reason", "lifted"]).is_ok());
        assert!(parse(&["freeze", "list", USER, "--status", "active"]).is_ok());
        assert!(parse(&["freeze", "list", USER, "--status", "melted"]).is_err());
        assert!(parse(&["holds"]).is_ok());
        let frz = "frz_0190f0a0b0c0d0e0f000000000000002";
        assert!(parse(&["freeze", "renew", frz, "--expires-at", "2027-01-01T00:00:00Z", "--reason", "r"]).is_ok());
        assert!(parse(&["freeze", "renew", frz, "--reason", "r"]).is_err(), "the new end is required");
        assert!(parse(&["freeze", "convert", frz, "--kind", "court", "--reason", "r", "--document", DOC]).is_ok());
        assert!(parse(&["freeze", "convert", frz, "--kind", "court", "--reason", "r"]).is_err(), "documents");
    }
}
