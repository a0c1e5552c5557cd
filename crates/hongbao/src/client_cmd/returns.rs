//! `ask-return` (a payer asks for money back) and `return-requests` (list, accept, decline,
//! withdraw, note): docs/API.md "Return requests". Nobody can take money back: only the payee
//! accepting moves it, to the original payer. Amounts in yuan.

use clap::{Args, Subcommand};
use hongbao_client::wire::{OpenReturnRequestBody, ReturnRequest, ReturnRequestsPage, ReturnRole};
use hongbao_core::case::Payment;
use hongbao_core::{Fen, ReturnRequestId, UserId};

use super::args::parse_yuan;
use super::cases::{parse_payment, parse_variant};
use super::render::yuan;
use super::send::{connect, show, show_moving};
use super::{Conn, Idem};

/// `hongbao ask-return TARGET --message TEXT [--amount YUAN] [--mediator USER]`.
#[derive(Debug, Args)]
pub(crate) struct AskReturnArgs {
    #[command(flatten)]
    conn: Conn,
    /// The transfer you made (trf_…) or the claim made on your packet (clm_…)
    #[arg(value_name = "TARGET", value_parser = parse_payment)]
    target: Payment,
    /// What you ask back, in yuan [default: all that has not come back]
    #[arg(long, value_name = "YUAN", value_parser = parse_yuan)]
    amount: Option<Fen>,
    /// To the payee, 1 to 2 000 characters
    #[arg(long)]
    message: String,
    /// A common friend in a group with both of you, who sees the request and may add notes
    #[arg(long, value_name = "USER_ID")]
    mediator: Option<UserId>,
    #[command(flatten)]
    idem: Idem,
}

/// `hongbao return-requests [--role R]`, or one of its actions.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct ReturnRequestsArgs {
    #[command(flatten)]
    conn: Conn,
    /// Only those you asked (payer), were asked (payee) or mediate (mediator)
    #[arg(long, value_parser = parse_variant::<ReturnRole>)]
    role: Option<ReturnRole>,
    /// At most this many
    #[arg(long, value_name = "N")]
    limit: Option<u32>,
    /// Continue after a previous page (its `next_cursor`)
    #[arg(long, value_name = "CURSOR")]
    cursor: Option<String>,
    #[command(subcommand)]
    cmd: Option<ReturnCmd>,
}

#[derive(Debug, Subcommand)]
enum ReturnCmd {
    /// Give the money back at once, to the one who asked (the payee)
    Accept {
        #[arg(value_name = "REQUEST_ID")]
        request: ReturnRequestId,
        #[command(flatten)]
        idem: Idem,
    },
    /// Decline, with a word to the payer (the payee)
    Decline {
        #[arg(value_name = "REQUEST_ID")]
        request: ReturnRequestId,
        /// 1 to 2 000 characters
        #[arg(long)]
        message: String,
        #[command(flatten)]
        idem: Idem,
    },
    /// Withdraw your request (the payer)
    Withdraw {
        #[arg(value_name = "REQUEST_ID")]
        request: ReturnRequestId,
        #[command(flatten)]
        idem: Idem,
    },
    /// Add a note (the payer, the payee or the mediator)
    Note {
        #[arg(value_name = "REQUEST_ID")]
        request: ReturnRequestId,
        /// 1 to 2 000 characters
        text: String,
        #[command(flatten)]
        idem: Idem,
    },
}

fn render_request(r: &ReturnRequest) -> String {
    let mediator = r.mediator.map(|m| format!(", mediated by {m}")).unwrap_or_default();
    let mut out = format!(
        "{} {}: {} asks {} to give back {} of {}{mediator}; open until {}",
        r.id,
        r.status.as_str(),
        r.payer,
        r.payee,
        yuan(r.amount),
        r.target,
        r.expires_at
    );
    if let Some(transfer) = r.return_transfer_id {
        out.push_str(&format!("\nreturned by {transfer}"));
    }
    if let Some(message) = &r.decline_message {
        out.push_str(&format!("\ndeclined: {message}"));
    }
    for note in &r.notes {
        out.push_str(&format!("\n{} {}: {}", note.at, note.by, note.text));
    }
    out
}

fn render_page(page: &ReturnRequestsPage) -> String {
    let mut lines: Vec<String> = page.items.iter().map(render_request).collect();
    if lines.is_empty() {
        lines.push("no return requests".to_owned());
    }
    if let Some(cursor) = &page.next_cursor {
        lines.push(format!("more: hongbao return-requests --cursor {cursor}"));
    }
    lines.join("\n")
}

impl AskReturnArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let AskReturnArgs { conn, target, amount, message, mediator, idem } = self;
        let client = connect(&conn)?;
        let body = OpenReturnRequestBody { target, amount: amount.map(Fen::get), message, mediator };
        show_moving(&conn, &client, client.open_return_request(&body), idem, render_request).await
    }
}

impl ReturnRequestsArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let ReturnRequestsArgs { conn, role, limit, cursor, cmd } = self;
        let client = connect(&conn)?;
        let (call, idem) = match cmd {
            None => return show(&conn, client.return_requests(role, limit, cursor.as_deref()), render_page).await,
            Some(ReturnCmd::Accept { request, idem }) => (client.accept_return_request(request), idem),
            Some(ReturnCmd::Decline { request, message, idem }) => {
                (client.decline_return_request(request, &message), idem)
            }
            Some(ReturnCmd::Withdraw { request, idem }) => (client.withdraw_return_request(request), idem),
            Some(ReturnCmd::Note { request, text, idem }) => (client.note_return_request(request, &text), idem),
        };
        show_moving(&conn, &client, call, idem, render_request).await
    }
}

#[cfg(test)]
mod tests {
    use crate::client_cmd::tests::parse;

    const TRF: &str = "trf_0190f0a0b0c0d0e0f000000000000003";
    const RET: &str = "ret_0190f0a0b0c0d0e0f000000000000005";

    #[test]
    fn a_return_is_asked_for_a_payment_and_acted_on_by_its_id() {
        assert!(parse(&["ask-return", TRF, "--message", "sent by mistake"]).is_ok());
        assert!(
            parse(&[
                "ask-return",
                TRF,
                "--amount",
                "10.50",
                "--message",
                "m",
                "--mediator",
                "usr_0190f0a0b0c0d0e0f000000000000002"
            ])
            .is_ok()
        );
        assert!(parse(&["ask-return", TRF, "--amount", "1.234", "--message", "m"]).is_err());
        assert!(parse(&["ask-return", "pkt_0190f0a0b0c0d0e0f000000000000004", "--message", "m"]).is_err());
        assert!(parse(&["ask-return", TRF]).is_err(), "a message is needed");
        assert!(parse(&["return-requests"]).is_ok());
        assert!(parse(&["return-requests", "--role", "mediator", "--limit", "5"]).is_ok());
        assert!(parse(&["return-requests", "--role", "owner"]).is_err());
        assert!(parse(&["return-requests", "accept", RET]).is_ok());
        assert!(parse(&["return-requests", "decline", RET, "--message", "rent"]).is_ok());
        assert!(parse(&["return-requests", "decline", RET]).is_err());
        assert!(parse(&["return-requests", "withdraw", RET]).is_ok());
        assert!(parse(&["return-requests", "note", RET, "我来调解"]).is_ok());
        assert!(parse(&["return-requests", "accept", TRF]).is_err(), "a request's id");
    }
}
