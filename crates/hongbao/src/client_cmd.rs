//! The client commands (`hongbao me`, `hongbao send lucky …`): parse, call the API through
//! `hongbao-client`, and print a short summary in yuan, or the server's JSON with `--json`.
//!
//! Amounts are typed in yuan and converted exactly (`Fen::from_yuan`, no floats). Secrets are
//! printed only when the server hands them out (`user create`, `operator create`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use hongbao_client::{PacketOptions, TransferOptions, signing};
use hongbao_core::money::MoneyError;
use hongbao_core::ops::{ClaimDetail, Moved, OperatorCreated, PacketSpec, TransferReceipt, UserCreated};
use hongbao_core::principal::Role;
use hongbao_core::{ClaimId, Fen, GroupId, PacketId, TransferId, UserId};

use crate::out::outln;

mod render;
mod send;

use render::{
    render_claim, render_claim_detail, render_group, render_history, render_me, render_moved, render_operator_created,
    render_packet, render_recalled, render_transfer, render_transfer_revoked, render_user_created, yuan,
};
use send::{connect, credentials_out, print_created, show, show_moving, with_key};

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

#[derive(Debug, Subcommand)]
pub(crate) enum ClientCmd {
    /// Create users (admin)
    User {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: UserCmd,
    },
    /// Create operators (admin)
    Operator {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: OperatorCmd,
    },
    /// Put money arriving from a bank card into a user's wallet (admin)
    Deposit {
        #[command(flatten)]
        conn: Conn,
        /// The user (usr_…)
        #[arg(value_name = "USER_ID")]
        user: UserId,
        /// In yuan: 10, 10.5, 10.05
        #[arg(value_parser = parse_yuan, allow_negative_numbers = true)]
        amount: Fen,
        #[command(flatten)]
        idem: Idem,
    },
    /// Take money out of your wallet to a bank card
    Withdraw {
        #[command(flatten)]
        conn: Conn,
        /// In yuan: 10, 10.5, 10.05
        #[arg(value_parser = parse_yuan, allow_negative_numbers = true)]
        amount: Fen,
        #[command(flatten)]
        idem: Idem,
    },
    /// Move the development clock forward and run what fell due (admin; `serve --dev-clock`)
    Clock {
        #[command(flatten)]
        conn: Conn,
        /// Seconds to move forward, e.g. 86400 for a day
        #[arg(value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(1..))]
        advance_seconds: u32,
    },
    /// Fetch the receipt of one of your transfers: proof that it is in the transparency log
    Receipt {
        #[command(flatten)]
        conn: Conn,
        /// The transfer (trf_…), from `history`
        #[arg(value_name = "TRANSFER_ID")]
        transfer: TransferId,
        /// Write the receipt to this file (for `hongbao verify receipt`) instead of printing it
        #[arg(long, value_name = "FILE")]
        save: Option<PathBuf>,
    },
    /// Show your balances
    Me {
        #[command(flatten)]
        conn: Conn,
    },
    /// List your transactions, newest first
    History {
        #[command(flatten)]
        conn: Conn,
        /// At most this many
        #[arg(long, value_name = "N")]
        limit: Option<u32>,
        /// Continue after a previous page (its `next_cursor`)
        #[arg(long, value_name = "CURSOR")]
        cursor: Option<String>,
    },
    /// Create and show groups
    Group {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: GroupCmd,
    },
    /// Send a red packet (红包)
    Send {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: SendCmd,
    },
    /// Show a packet without opening it (a recipient looking does not touch it)
    Packet {
        #[command(flatten)]
        conn: Conn,
        /// The packet (pkt_…)
        #[arg(value_name = "PACKET_ID")]
        packet: PacketId,
    },
    /// Open a packet: shows it and, for a recipient, counts as touching it
    Open {
        #[command(flatten)]
        conn: Conn,
        /// The packet (pkt_…)
        #[arg(value_name = "PACKET_ID")]
        packet: PacketId,
    },
    /// Claim a share of a packet
    Claim {
        #[command(flatten)]
        conn: Conn,
        /// The packet (pkt_…)
        #[arg(value_name = "PACKET_ID")]
        packet: PacketId,
        #[command(flatten)]
        idem: Idem,
    },
    /// Take back a packet nobody has touched (撤回)
    Recall {
        #[command(flatten)]
        conn: Conn,
        /// The packet (pkt_…)
        #[arg(value_name = "PACKET_ID")]
        packet: PacketId,
        #[command(flatten)]
        idem: Idem,
    },
    /// Revoke a pending claim of your packet (clm_…) or a pending transfer you sent (trf_…)
    Revoke {
        #[command(flatten)]
        conn: Conn,
        /// A claim id (clm_…) or a transfer id (trf_…)
        #[arg(value_name = "ID", value_parser = parse_revocable)]
        id: Revocable,
        #[command(flatten)]
        idem: Idem,
    },
    /// Give a claimed amount back to the packet's sender
    Return {
        #[command(flatten)]
        conn: Conn,
        /// Your claim (clm_…)
        #[arg(value_name = "CLAIM_ID")]
        claim: ClaimId,
        #[command(flatten)]
        idem: Idem,
    },
    /// Send money to another user (转账)
    Transfer {
        #[command(flatten)]
        conn: Conn,
        /// The recipient (usr_…)
        #[arg(long, value_name = "USER_ID")]
        to: UserId,
        /// In yuan: 10, 10.5, 10.05
        #[arg(long, value_name = "YUAN", value_parser = parse_yuan, allow_negative_numbers = true)]
        amount: Fen,
        /// A note for the recipient
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
        /// Arrive later (revocable until then)
        #[arg(long, value_name = "DELAY")]
        delay: Option<Delay>,
        #[command(flatten)]
        idem: Idem,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserCmd {
    /// Create a user; prints their key id and secret, which is shown only this once
    Create {
        /// 1 to 64 characters
        name: String,
        /// Write the new credentials to this file (mode 0600) instead of printing the secret
        #[arg(long, value_name = "FILE", conflicts_with = "json")]
        save: Option<PathBuf>,
        #[command(flatten)]
        idem: Idem,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum OperatorCmd {
    /// Create an operator; prints its key id and secret, which is shown only this once
    Create {
        /// 1 to 64 characters
        name: String,
        /// Repeat or separate with commas
        #[arg(long = "role", value_name = "ROLE", required = true, value_delimiter = ',')]
        roles: Vec<RoleArg>,
        /// Write the new credentials to this file (mode 0600) instead of printing the secret
        #[arg(long, value_name = "FILE", conflicts_with = "json")]
        save: Option<PathBuf>,
        #[command(flatten)]
        idem: Idem,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum GroupCmd {
    /// Create a group; you are always a member
    Create {
        /// 1 to 64 characters
        name: String,
        /// Another member (repeat for each)
        #[arg(long = "member", value_name = "USER_ID")]
        members: Vec<UserId>,
        #[command(flatten)]
        idem: Idem,
    },
    /// Show a group you belong to
    Show {
        /// The group (grp_…)
        #[arg(value_name = "GROUP_ID")]
        group: GroupId,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum SendCmd {
    /// 普通红包: every share the same
    Normal {
        /// The group whose members may claim it (grp_…)
        #[arg(long, value_name = "GROUP_ID")]
        group: GroupId,
        /// How many shares
        #[arg(long, value_name = "N")]
        count: u32,
        /// Each share, in yuan
        #[arg(long, value_name = "YUAN", value_parser = parse_yuan, allow_negative_numbers = true)]
        each: Fen,
        #[command(flatten)]
        packet: PacketArgs,
    },
    /// 拼手气红包: random shares of a total
    Lucky {
        /// The group whose members may claim it (grp_…)
        #[arg(long, value_name = "GROUP_ID")]
        group: GroupId,
        /// How many shares
        #[arg(long, value_name = "N")]
        count: u32,
        /// The whole packet, in yuan
        #[arg(long, value_name = "YUAN", value_parser = parse_yuan, allow_negative_numbers = true)]
        total: Fen,
        #[command(flatten)]
        packet: PacketArgs,
    },
    /// 专属红包: for one person
    Exclusive {
        /// The one person who may claim it (usr_…)
        #[arg(long, value_name = "USER_ID")]
        to: UserId,
        /// In yuan
        #[arg(long, value_name = "YUAN", value_parser = parse_yuan, allow_negative_numbers = true)]
        amount: Fen,
        #[command(flatten)]
        packet: PacketArgs,
    },
}

#[derive(Debug, Args)]
pub(crate) struct PacketArgs {
    /// At most 64 characters [default: 恭喜发财，大吉大利]
    #[arg(long, value_name = "TEXT")]
    greeting: Option<String>,
    /// Claimed money arrives later (revocable until then)
    #[arg(long, value_name = "DELAY")]
    delay: Option<Delay>,
    #[command(flatten)]
    idem: Idem,
}

/// When the money arrives: the API allows exactly these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Delay {
    #[value(name = "0")]
    Now,
    #[value(name = "2h")]
    TwoHours,
    #[value(name = "24h")]
    OneDay,
}

impl Delay {
    const fn seconds(self) -> u32 {
        match self {
            Delay::Now => 0,
            Delay::TwoHours => 7_200,
            Delay::OneDay => 86_400,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum RoleArg {
    #[value(name = "admin")]
    Admin,
    #[value(name = "risk_officer")]
    RiskOfficer,
    #[value(name = "legal_officer")]
    LegalOfficer,
    #[value(name = "auditor")]
    Auditor,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::Admin => Role::Admin,
            RoleArg::RiskOfficer => Role::RiskOfficer,
            RoleArg::LegalOfficer => Role::LegalOfficer,
            RoleArg::Auditor => Role::Auditor,
        }
    }
}

/// What `revoke` can take back, told apart by the id's prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Revocable {
    Claim(ClaimId),
    Transfer(TransferId),
}

const YUAN_RULE: &str = "a positive amount in yuan with at most two decimals, like 10, 10.5 or 10.05";

/// Parses a yuan amount typed by a person, exactly: `10`, `10.5`, `10.05`; at least ¥0.01.
fn parse_yuan(text: &str) -> Result<Fen, String> {
    match Fen::from_yuan(text) {
        Ok(fen) if fen.is_positive() => Ok(fen),
        Ok(_) => Err(format!("`{text}` is not {YUAN_RULE} (the least is 0.01)")),
        Err(MoneyError::Overflow) => Err(format!("`{text}` is too large an amount")),
        Err(_) => Err(format!("`{text}` is not {YUAN_RULE}")),
    }
}

fn parse_idempotency_key(text: &str) -> Result<String, String> {
    if signing::is_valid_idempotency_key(text) {
        Ok(text.to_owned())
    } else {
        Err("an idempotency key is 1 to 255 printable ASCII characters".to_owned())
    }
}

fn parse_revocable(text: &str) -> Result<Revocable, String> {
    if text.starts_with(ClaimId::PREFIX) {
        text.parse().map(Revocable::Claim).map_err(|e| e.to_string())
    } else if text.starts_with(TransferId::PREFIX) {
        text.parse().map(Revocable::Transfer).map_err(|e| e.to_string())
    } else {
        Err(format!("expected a claim id ({}_…) or a transfer id ({}_…)", ClaimId::PREFIX, TransferId::PREFIX))
    }
}

/// Runs one client command. API refusals come back as errors whose text is
/// `<code>: <message>` (plus the reason), for `main` to print after `error: `.
pub(crate) async fn run(cmd: ClientCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        ClientCmd::User { conn, cmd: UserCmd::Create { name, save, idem } } => {
            let client = connect(&conn)?;
            let call = with_key(client.create_user(&name), idem);
            let (raw, user) = credentials_out(&client, call, save.as_deref(), |u: &UserCreated| {
                (Some(u.user_id), u.key_id, u.secret.expose())
            })
            .await?;
            print_created(&conn, &raw, &render_user_created(&user, save.as_deref()))?;
        }
        ClientCmd::Operator { conn, cmd: OperatorCmd::Create { name, roles, save, idem } } => {
            let client = connect(&conn)?;
            let roles: Vec<Role> = roles.into_iter().map(Role::from).collect();
            let call = with_key(client.create_operator(&name, &roles), idem);
            let (raw, operator) = credentials_out(&client, call, save.as_deref(), |o: &OperatorCreated| {
                (None, o.key_id, o.secret.expose())
            })
            .await?;
            print_created(&conn, &raw, &render_operator_created(&operator, save.as_deref()))?;
        }
        ClientCmd::Deposit { conn, user, amount, idem } => {
            let client = connect(&conn)?;
            let render = |m: &Moved| render_moved(&format!("deposited {} to {user}", yuan(amount)), m);
            show_moving(&conn, &client, client.deposit(user, amount), idem, render).await?;
        }
        ClientCmd::Withdraw { conn, amount, idem } => {
            let client = connect(&conn)?;
            let render = |m: &Moved| render_moved(&format!("withdrew {}", yuan(amount)), m);
            show_moving(&conn, &client, client.withdraw(amount), idem, render).await?;
        }
        ClientCmd::Clock { conn, advance_seconds } => {
            let client = connect(&conn)?;
            show(&conn, client.dev_clock(advance_seconds), |c: &hongbao_client::wire::DevClockAnswer| {
                format!("the business clock is now {}; everything due has run", c.now)
            })
            .await?;
        }
        ClientCmd::Receipt { conn, transfer, save } => {
            let client = connect(&conn)?;
            let receipt = client.receipt(transfer).send().await?;
            let json = serde_json::to_string_pretty(&receipt)?;
            match save {
                Some(path) => {
                    std::fs::write(&path, format!("{json}\n"))
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    outln!(
                        "receipt for {transfer} saved to {}; check it with `hongbao verify receipt`",
                        path.display()
                    );
                }
                None => outln!("{json}"),
            }
        }
        ClientCmd::Me { conn } => {
            let client = connect(&conn)?;
            show(&conn, client.me(), render_me).await?;
        }
        ClientCmd::History { conn, limit, cursor } => {
            let client = connect(&conn)?;
            show(&conn, client.transactions(limit, cursor.as_deref()), render_history).await?;
        }
        ClientCmd::Group { conn, cmd } => {
            let client = connect(&conn)?;
            match cmd {
                GroupCmd::Create { name, members, idem } => {
                    show(&conn, with_key(client.create_group(&name, &members), idem), render_group).await?;
                }
                GroupCmd::Show { group } => show(&conn, client.group(group), render_group).await?,
            }
        }
        ClientCmd::Send { conn, cmd } => {
            let client = connect(&conn)?;
            let (spec, args) = match cmd {
                SendCmd::Normal { group, count, each, packet } => {
                    (PacketSpec::Normal { group_id: group, count, amount_each: each }, packet)
                }
                SendCmd::Lucky { group, count, total, packet } => {
                    (PacketSpec::Lucky { group_id: group, count, total }, packet)
                }
                SendCmd::Exclusive { to, amount, packet } => (PacketSpec::Exclusive { recipient: to, amount }, packet),
            };
            let options =
                PacketOptions { greeting: args.greeting, arrival_delay_seconds: args.delay.map(Delay::seconds) };
            show_moving(&conn, &client, client.send_packet(&spec, &options), args.idem, render_packet).await?;
        }
        ClientCmd::Packet { conn, packet } => {
            let client = connect(&conn)?;
            show(&conn, client.packet(packet), render_packet).await?;
        }
        ClientCmd::Open { conn, packet } => {
            let client = connect(&conn)?;
            show(&conn, client.open(packet), render_packet).await?;
        }
        ClientCmd::Claim { conn, packet, idem } => {
            let client = connect(&conn)?;
            show_moving(&conn, &client, client.claim(packet), idem, render_claim).await?;
        }
        ClientCmd::Recall { conn, packet, idem } => {
            let client = connect(&conn)?;
            show_moving(&conn, &client, client.recall(packet), idem, render_recalled).await?;
        }
        ClientCmd::Revoke { conn, id, idem } => {
            let client = connect(&conn)?;
            match id {
                Revocable::Claim(claim) => {
                    let render = |c: &ClaimDetail| render_claim_detail("revoked", c);
                    show_moving(&conn, &client, client.revoke_claim(claim), idem, render).await?;
                }
                Revocable::Transfer(transfer) => {
                    show_moving(&conn, &client, client.revoke_transfer(transfer), idem, render_transfer_revoked)
                        .await?;
                }
            }
        }
        ClientCmd::Return { conn, claim, idem } => {
            let client = connect(&conn)?;
            let render = |c: &ClaimDetail| render_claim_detail("returned", c);
            show_moving(&conn, &client, client.return_claim(claim), idem, render).await?;
        }
        ClientCmd::Transfer { conn, to, amount, note, delay, idem } => {
            let client = connect(&conn)?;
            let options = TransferOptions { note, arrival_delay_seconds: delay.map(Delay::seconds) };
            let render = |t: &TransferReceipt| render_transfer(amount, to, t);
            show_moving(&conn, &client, client.transfer(to, amount, &options), idem, render).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use hongbao_core::user::MeView;

    use super::send::{command_with_key, fen_to_yuan, fresh_idempotency_key, shell_quoted};
    use clap::{CommandFactory, Parser};

    use super::*;
    use crate::{Cli, Cmd};

    const USER: &str = "usr_0190f0a0b0c0d0e0f000000000000000";
    const GROUP: &str = "grp_0190f0a0b0c0d0e0f000000000000000";

    fn parse(args: &[&str]) -> Result<ClientCmd, clap::Error> {
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
    fn refusals_say_their_amounts_in_yuan() {
        assert_eq!(
            fen_to_yuan("share 200 fen is above the limit of 100 fen"),
            "share ¥2.00 is above the limit of ¥1.00"
        );
        assert_eq!(fen_to_yuan("balance 5 fen, asked 1234 fen."), "balance ¥0.05, asked ¥12.34.");
        for unchanged in ["amount must be at least 1 fens", "share_max_fen is 100", "no amounts here", "x200 fen"] {
            assert_eq!(fen_to_yuan(unchanged), unchanged);
        }
    }

    #[test]
    fn the_command_to_run_again_carries_the_key_and_survives_a_shell() {
        let args = |list: &[&str]| list.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            command_with_key(args(&["transfer", "--to", USER, "--note", "rent for 12B", "--amount", "1"]), "cli-1"),
            format!("transfer --to {USER} --note 'rent for 12B' --amount 1 --idempotency-key cli-1")
        );
        let given = args(&["claim", "pkt_x", "--idempotency-key", "mine"]);
        assert_eq!(command_with_key(given, "mine"), "claim pkt_x --idempotency-key mine");
        assert_eq!(shell_quoted("it's"), "'it'\\''s'");
        assert_eq!(shell_quoted(""), "''");
    }

    #[test]
    fn fresh_idempotency_keys_are_valid_and_differ() {
        let (a, b) = (fresh_idempotency_key().unwrap(), fresh_idempotency_key().unwrap());
        assert_ne!(a, b);
        assert!(a.starts_with("cli-") && a.len() == 36 && signing::is_valid_idempotency_key(&a), "{a}");
    }

    #[test]
    fn yuan_amounts_convert_exactly() {
        assert_eq!(parse_yuan("10"), Ok(Fen::new(1_000)));
        assert_eq!(parse_yuan("10.5"), Ok(Fen::new(1_050)));
        assert_eq!(parse_yuan("10.05"), Ok(Fen::new(1_005)));
        assert_eq!(parse_yuan("0.01"), Ok(Fen::new(1)));
    }

    #[test]
    fn malformed_or_non_positive_yuan_amounts_are_rejected_naming_the_rule() {
        for bad in ["1.234", "-1", "abc", "1e3", "0", "0.00", "", "1.", ".5", "¥1"] {
            let err = parse_yuan(bad).unwrap_err();
            assert!(err.contains("at most two decimals"), "{bad:?}: {err}");
        }
        assert!(parse_yuan("92233720368547758.08").unwrap_err().contains("too large"));
    }

    #[test]
    fn a_negative_amount_reaches_the_yuan_rule_rather_than_looking_like_a_flag() {
        let err = parse(&["withdraw", "-1"]).unwrap_err().to_string();
        assert!(err.contains("at most two decimals"), "{err}");
    }

    #[test]
    fn send_lucky_takes_its_total_in_yuan_and_a_delay() {
        let cmd =
            parse(&["send", "lucky", "--group", GROUP, "--count", "3", "--total", "10.5", "--delay", "2h"]).unwrap();
        let ClientCmd::Send { cmd: SendCmd::Lucky { group, count, total, packet }, .. } = cmd else {
            panic!("{cmd:?}");
        };
        assert_eq!((group.to_string(), count, total), (GROUP.to_owned(), 3, Fen::new(1_050)));
        assert_eq!(packet.delay.map(Delay::seconds), Some(7_200));
        assert!(parse(&["send", "lucky", "--group", GROUP, "--count", "3", "--total", "1", "--delay", "1h"]).is_err());
    }

    #[test]
    fn connection_options_go_before_or_after_the_subcommand() {
        for args in [
            &["user", "--url", "http://127.0.0.1:1", "create", "bob", "--json"][..],
            &["user", "create", "bob", "--url", "http://127.0.0.1:1", "--json"][..],
        ] {
            let ClientCmd::User { conn, cmd: UserCmd::Create { name, .. } } = parse(args).unwrap() else {
                panic!("{args:?}");
            };
            assert_eq!((conn.url.as_deref(), conn.json, name.as_str()), (Some("http://127.0.0.1:1"), true, "bob"));
        }
    }

    #[test]
    fn saving_credentials_and_printing_the_json_answer_exclude_each_other() {
        assert!(parse(&["user", "create", "bob", "--save", "bob.json"]).is_ok());
        assert!(parse(&["user", "create", "bob", "--save", "bob.json", "--json"]).is_err());
    }

    #[test]
    fn revoke_tells_claims_from_transfers_by_prefix() {
        let claim = "clm_0190f0a0b0c0d0e0f000000000000000";
        let transfer = "trf_0190f0a0b0c0d0e0f000000000000000";
        assert_eq!(parse_revocable(claim), Ok(Revocable::Claim(claim.parse().unwrap())));
        assert_eq!(parse_revocable(transfer), Ok(Revocable::Transfer(transfer.parse().unwrap())));
        assert!(parse_revocable(USER).unwrap_err().contains("claim id"));
        assert!(parse_revocable("clm_xyz").is_err());
    }

    #[test]
    fn operator_roles_use_the_api_names_and_are_required() {
        let cmd = parse(&["operator", "create", "ops", "--role", "admin,risk_officer", "--role", "auditor"]).unwrap();
        let ClientCmd::Operator { cmd: OperatorCmd::Create { roles, .. }, .. } = cmd else { panic!("{cmd:?}") };
        assert_eq!(roles, [RoleArg::Admin, RoleArg::RiskOfficer, RoleArg::Auditor]);
        assert!(parse(&["operator", "create", "ops"]).is_err());
    }

    #[test]
    fn an_idempotency_key_must_be_printable_ascii() {
        assert!(parse(&["claim", "pkt_0190f0a0b0c0d0e0f000000000000000", "--idempotency-key", "k-1"]).is_ok());
        assert!(parse(&["claim", "pkt_0190f0a0b0c0d0e0f000000000000000", "--idempotency-key", "ключ"]).is_err());
    }

    #[test]
    fn balances_show_in_yuan() {
        let me: MeView = serde_json::from_value(serde_json::json!({
            "user_id": USER, "name": "alice", "balance": 1050, "available": 1000,
            "pending_in": 0, "pending_out": 50, "frozen": 0, "status": "active"
        }))
        .unwrap();
        let text = render_me(&me);
        assert!(text.contains("balance      ¥10.50") && text.contains("pending out  ¥0.50"), "{text}");
    }

    #[test]
    fn a_saved_secret_is_not_printed() {
        let user: UserCreated = serde_json::from_value(serde_json::json!({
            "user_id": USER, "name": "alice", "key_id": "key_0190f0a0b0c0d0e0f000000000000000", "secret": "hbs_s3cret"
        }))
        .unwrap();
        assert!(render_user_created(&user, None).contains("hbs_s3cret"));
        let saved = render_user_created(&user, Some(Path::new("alice.json")));
        assert!(!saved.contains("hbs_s3cret") && saved.contains("alice.json"), "{saved}");
    }
}
