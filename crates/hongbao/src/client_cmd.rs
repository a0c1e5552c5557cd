//! The client commands (`hongbao me`, `hongbao send lucky …`): parse, call the API through
//! `hongbao-client`, and print a short summary in yuan, or the server's JSON with `--json`.
//!
//! This file lists the commands and holds what every one of them shares: `Conn` (where the
//! service is and who signs) and `Idem` (the `Idempotency-Key`). Each area has a room of its
//! own, with its commands' arguments and what running them does: `users.rs` (users,
//! operators), `money.rs` (deposits, withdrawals, balances, history), `groups.rs`,
//! `packets.rs` (sending, showing, opening, claiming, recalling and returning), `transfers.rs`
//! (transfers, and revoking a pending claim or transfer), `audit.rs` (receipts), `evidence.rs`
//! (evidence files), `documents.rs` (legal documents), `freezes.rs` (freezes and your holds), `seizures.rs` (forced transfers), `cases.rs` (reports and cases), `returns.rs` (return requests), `dev.rs` (the development clock). `args.rs` has the values several take (yuan, delays), `send.rs` how a
//! command reaches the service, `render.rs` what it prints.
//!
//! Amounts are typed in yuan and converted exactly (`Fen::from_yuan`, no floats). Secrets are
//! printed only when the server hands them out (`user create`, `operator create`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use hongbao_client::signing;

mod args;
mod audit;
mod cases;
mod dev;
mod documents;
mod evidence;
mod freezes;
mod groups;
mod money;
mod packets;
mod render;
mod returns;
mod seizures;
mod send;
mod transfers;
mod users;

/// Where the service is and who signs; accepted before or after a subcommand's own arguments.
#[derive(Debug, Args)]
pub(crate) struct Conn {
    /// The service's URL [default: the `url` of the credentials file, else http://127.0.0.1:8080
    /// for the public log]
    #[arg(long, value_name = "URL", env = "HONGBAO_URL", global = true, help_heading = "Connection")]
    url: Option<String>,
    /// A credentials file {"url", "key_id", "secret"}, such as <data-dir>/root-credentials.json
    #[arg(long, value_name = "FILE", env = "HONGBAO_CREDENTIALS", global = true, help_heading = "Connection")]
    credentials: Option<PathBuf>,
    /// Print the server's JSON answer instead of a summary
    #[arg(long, global = true, help_heading = "Connection")]
    pub(crate) json: bool,
    /// PEM certificate(s) to trust for an https server, instead of the system's roots
    #[arg(long, value_name = "FILE", env = "HONGBAO_CA_CERT", global = true, help_heading = "Connection")]
    ca_cert: Option<PathBuf>,
    /// The longest one attempt may take, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600), global = true, help_heading = "Connection")]
    timeout: u64,
    /// How many times a money-moving command is sent again, with the same Idempotency-Key,
    /// when no answer came (a refused connection, a timeout)
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=10), global = true, help_heading = "Connection")]
    retries: u32,
}

/// Makes a POST safe to repeat: the same key and body answer the first response again.
/// Money-moving commands make up a key when none is given, and say it if they give up.
#[derive(Debug, Args)]
pub(crate) struct Idem {
    /// Idempotency-Key: 1 to 255 printable ASCII characters [default for commands that move
    /// money: a fresh random key]
    #[arg(long, value_name = "KEY", value_parser = parse_idempotency_key)]
    idempotency_key: Option<String>,
}

fn parse_idempotency_key(text: &str) -> Result<String, String> {
    if signing::is_valid_idempotency_key(text) {
        Ok(text.to_owned())
    } else {
        Err("an idempotency key is 1 to 255 printable ASCII characters".to_owned())
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum ClientCmd {
    /// Create users (admin)
    User(users::UserArgs),
    /// Create operators (admin)
    Operator(users::OperatorArgs),
    /// Put money arriving from a bank card into a user's wallet (admin)
    Deposit(money::DepositArgs),
    /// Take money out of your wallet to a bank card
    Withdraw(money::WithdrawArgs),
    /// Move the development clock forward and run what fell due (admin; `serve --dev-clock`)
    Clock(dev::ClockArgs),
    /// Fetch the receipt of one of your transfers: proof that it is in the transparency log
    Receipt(audit::ReceiptArgs),
    /// Show your balances
    Me(Conn),
    /// List your transactions, newest first
    History(money::HistoryArgs),
    /// Create and show groups
    Group(groups::GroupArgs),
    /// Send a red packet (红包)
    Send(packets::SendArgs),
    /// Show a packet without opening it (a recipient looking does not touch it)
    Packet(packets::PacketTarget),
    /// Open a packet: shows it and, for a recipient, counts as touching it
    Open(packets::PacketTarget),
    /// Claim a share of a packet
    Claim(packets::PacketMove),
    /// Take back a packet nobody has touched (撤回)
    Recall(packets::PacketMove),
    /// Revoke a pending claim of your packet (clm_…) or a pending transfer you sent (trf_…)
    Revoke(transfers::RevokeArgs),
    /// Give a claimed amount back to the packet's sender
    Return(packets::ReturnArgs),
    /// Send money to another user (转账)
    Transfer(transfers::TransferArgs),
    /// Upload evidence files (screenshots, scans, texts) and download your own
    Evidence(evidence::EvidenceArgs),
    /// Register and reveal the legal documents freezes cite (legal_officer, risk_officer)
    Document(documents::DocumentArgs),
    /// Place, release, renew, convert and read freezes of users' money (risk and legal officers;
    /// auditors read)
    Freeze(freezes::FreezeArgs),
    /// Show what of your money is frozen, and by what
    Holds(Conn),
    /// Propose, approve (four eyes), reject and list forced transfers of frozen money
    Seizure(seizures::SeizureArgs),
    /// Report a user who defrauded you (举报), citing what you paid them and your evidence
    Report(cases::ReportArgs),
    /// Read, note and close cases, and read the reports on a user (risk and legal officers;
    /// auditors read)
    Case(cases::CaseArgs),
    /// Ask the payee of a transfer or claimed share to give it back (协商退还): nothing moves
    /// until they accept
    AskReturn(returns::AskReturnArgs),
    /// List your return requests (as payer, payee or mediator), and accept, decline, withdraw or
    /// note one
    ReturnRequests(returns::ReturnRequestsArgs),
}

/// Runs one client command. API refusals come back as errors whose text is
/// `<code>: <message>` (plus the reason), for `main` to print after `error: `.
pub(crate) async fn run(cmd: ClientCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        ClientCmd::User(cmd) => cmd.run().await?,
        ClientCmd::Operator(cmd) => cmd.run().await?,
        ClientCmd::Deposit(cmd) => cmd.run().await?,
        ClientCmd::Withdraw(cmd) => cmd.run().await?,
        ClientCmd::Clock(cmd) => cmd.run().await?,
        ClientCmd::Receipt(cmd) => cmd.run().await?,
        ClientCmd::Me(conn) => money::me(&conn).await?,
        ClientCmd::History(cmd) => cmd.run().await?,
        ClientCmd::Group(cmd) => cmd.run().await?,
        ClientCmd::Send(cmd) => cmd.run().await?,
        ClientCmd::Packet(cmd) => cmd.show().await?,
        ClientCmd::Open(cmd) => cmd.open().await?,
        ClientCmd::Claim(cmd) => cmd.claim().await?,
        ClientCmd::Recall(cmd) => cmd.recall().await?,
        ClientCmd::Revoke(cmd) => cmd.run().await?,
        ClientCmd::Return(cmd) => cmd.run().await?,
        ClientCmd::Transfer(cmd) => cmd.run().await?,
        ClientCmd::Evidence(cmd) => cmd.run().await?,
        ClientCmd::Document(cmd) => cmd.run().await?,
        ClientCmd::Freeze(cmd) => cmd.run().await?,
        ClientCmd::Seizure(cmd) => cmd.run().await?,
        ClientCmd::Report(cmd) => cmd.run().await?,
        ClientCmd::Case(cmd) => cmd.run().await?,
        ClientCmd::AskReturn(cmd) => cmd.run().await?,
        ClientCmd::ReturnRequests(cmd) => cmd.run().await?,
        ClientCmd::Holds(conn) => {
            let client = send::connect(&conn)?;
            send::show(&conn, client.my_holds(), |l: &Vec<_>| freezes::render_holds(l)).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::ClientCmd;
    use crate::{Cli, Cmd};

    /// `hongbao <args>` parsed, for the areas' tests of their arguments.
    pub(super) fn parse(args: &[&str]) -> Result<ClientCmd, clap::Error> {
        let cli = Cli::try_parse_from(std::iter::once("hongbao").chain(args.iter().copied()))?;
        match cli.command {
            Cmd::Client(cmd) => Ok(cmd),
            other => panic!("not a client command: {other:?}"),
        }
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn an_idempotency_key_must_be_printable_ascii() {
        assert!(parse(&["claim", "pkt_0190f0a0b0c0d0e0f000000000000000", "--idempotency-key", "k-1"]).is_ok());
        assert!(parse(&["claim", "pkt_0190f0a0b0c0d0e0f000000000000000", "--idempotency-key", "ключ"]).is_err());
    }
}
