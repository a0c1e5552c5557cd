//! The client commands (`hongbao me`, `hongbao send lucky …`): parse, call the API through
//! `hongbao-client`, and print a short summary in yuan, or the server's JSON with `--json`.
//!
//! Amounts are typed in yuan and converted exactly (`Fen::from_yuan`, no floats). Secrets are
//! printed only when the server hands them out (`user create`, `operator create`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use hongbao_client::{
    Call, Client, ClientError, ClientOptions, Credentials, PacketOptions, RawRequest, RawResponse, TransactionPage,
    TransferOptions, signing,
};
use hongbao_core::money::MoneyError;
use hongbao_core::ops::{ClaimDetail, Moved, OperatorCreated, PacketSpec, Recalled, TransferReceipt, UserCreated};
use hongbao_core::packet::{ClaimReceipt, PacketView};
use hongbao_core::principal::Role;
use hongbao_core::user::{GroupView, MeView};
use hongbao_core::{ClaimId, Fen, GroupId, KeyId, PacketId, TransferId, UserId};
use serde::de::DeserializeOwned;

use crate::out::outln;

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
        #[arg(value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=u64::from(u32::MAX)))]
        advance_seconds: u64,
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
            show(&conn, client.dev_clock(advance_seconds), |c: &hongbao_client::DevClock| {
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

fn connect(conn: &Conn) -> anyhow::Result<Client> {
    conn.signed_client()
}

/// Where the log is when nothing says: `hongbao serve`'s default address.
const URL_DEFAULT: &str = "http://127.0.0.1:8080";

impl Conn {
    /// A client signing with the credentials file, at `--url` or else the file's URL.
    pub(crate) fn signed_client(&self) -> anyhow::Result<Client> {
        let path = self
            .credentials
            .as_deref()
            .ok_or_else(|| anyhow!("no credentials: pass --credentials FILE or set HONGBAO_CREDENTIALS"))?;
        let credentials = Credentials::load(path)?;
        let url = self.url.as_deref().unwrap_or(&credentials.url);
        Ok(Client::with_options(url, credentials.key_id, credentials.secret.expose(), &client_options(self)?)?)
    }

    /// A client for public endpoints, at `--url`, else the credentials file's URL, else
    /// [`URL_DEFAULT`]. It never signs.
    pub(crate) fn unsigned_client(&self) -> anyhow::Result<Client> {
        let url = match (&self.url, &self.credentials) {
            (Some(url), _) => url.clone(),
            (None, Some(path)) => Credentials::load(path)?.url,
            (None, None) => URL_DEFAULT.to_owned(),
        };
        Ok(Client::with_options(&url, "key_00000000000000000000000000000000", "", &client_options(self)?)?)
    }
}

/// The time limit and TLS roots of `conn`, for every client the CLI makes.
pub(crate) fn client_options(conn: &Conn) -> anyhow::Result<ClientOptions> {
    let ca_cert_pem = match &conn.ca_cert {
        Some(path) => {
            Some(std::fs::read(path).with_context(|| format!("cannot read the CA certificate {}", path.display()))?)
        }
        None => None,
    };
    Ok(ClientOptions { timeout: Some(Duration::from_secs(conn.timeout)), ca_cert_pem })
}

fn with_key<T: DeserializeOwned>(call: Call<'_, T>, idem: Idem) -> Call<'_, T> {
    match idem.idempotency_key {
        Some(key) => call.idempotency_key(key),
        None => call,
    }
}

/// Sends `call` once and prints the JSON answer (`--json`) or `render` of it.
async fn show<T: DeserializeOwned>(
    conn: &Conn,
    call: Call<'_, T>,
    render: impl FnOnce(&T) -> String,
) -> anyhow::Result<()> {
    print_answer::<T>(conn, call.send_raw().await?, render)
}

/// Sends a call that moves money with an `Idempotency-Key` (the one given, else a fresh one),
/// again with the same key when no answer came, and prints the answer as [`show`] does.
async fn show_moving<T: DeserializeOwned>(
    conn: &Conn,
    client: &Client,
    call: Call<'_, T>,
    idem: Idem,
    render: impl FnOnce(&T) -> String,
) -> anyhow::Result<()> {
    let key = match idem.idempotency_key {
        Some(key) => key,
        None => fresh_idempotency_key()?,
    };
    let request = call.idempotency_key(key.clone()).into_request()?;
    let raw = send_retrying(client, request, &key, conn.retries).await?;
    print_answer::<T>(conn, raw, render)
}

fn print_answer<T: DeserializeOwned>(
    conn: &Conn,
    raw: RawResponse,
    render: impl FnOnce(&T) -> String,
) -> anyhow::Result<()> {
    let raw = raw.error_for_status().map_err(in_yuan)?;
    if conn.json {
        outln!("{}", raw.text());
    } else {
        outln!("{}", render(&raw.json::<T>()?));
    }
    Ok(())
}

/// The first pause before sending again, doubled each time up to [`RETRY_PAUSE_MAX`].
const RETRY_PAUSE_FIRST: Duration = Duration::from_millis(250);
const RETRY_PAUSE_MAX: Duration = Duration::from_secs(4);

/// Sends `request` (which carries the Idempotency-Key `key`) up to `retries` more times while
/// no answer comes. Each attempt is signed afresh (a new nonce and timestamp); the key makes
/// the server carry the request out at most once. Giving up, it says the key and the command
/// that repeats the request safely.
async fn send_retrying(client: &Client, request: RawRequest, key: &str, retries: u32) -> anyhow::Result<RawResponse> {
    let attempts = retries.saturating_add(1);
    let mut pause = RETRY_PAUSE_FIRST;
    let mut attempt = 1;
    loop {
        match client.send(request.clone()).await {
            Err(err) if err.is_no_answer() && attempt < attempts => {
                eprintln!(
                    "no answer from {} (attempt {attempt} of {attempts}: {}); sending again with Idempotency-Key {key}",
                    client.url(),
                    cause(&err)
                );
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(RETRY_PAUSE_MAX);
                attempt += 1;
            }
            Err(err) if err.is_no_answer() => {
                let again = command_with_key(std::env::args().skip(1), key);
                bail!(
                    "no answer from {} after {attempts} attempt(s): {}\n\
                     the request may or may not have been carried out; it had Idempotency-Key {key}.\n\
                     Run it again with that key: the server carries a key out at most once, so this is safe:\n  \
                     hongbao {again}",
                    client.url(),
                    cause(&err)
                );
            }
            other => return Ok(other?),
        }
    }
}

/// The innermost cause of an error, which says what happened ("connection refused").
fn cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut deepest: &dyn std::error::Error = err;
    while let Some(source) = deepest.source() {
        deepest = source;
    }
    deepest.to_string()
}

/// `cli-` and 32 hex digits from the operating system's generator.
fn fresh_idempotency_key() -> anyhow::Result<String> {
    use rand::TryRng as _;
    let mut bytes = [0u8; 16];
    rand::rngs::SysRng.try_fill_bytes(&mut bytes).map_err(|e| anyhow!("the random generator failed: {e}"))?;
    Ok(format!("cli-{}", signing::to_hex(&bytes)))
}

/// The command line as typed, with `--idempotency-key KEY` added unless it has one, quoted for
/// a POSIX shell.
fn command_with_key(args: impl IntoIterator<Item = String>, key: &str) -> String {
    let mut args: Vec<String> = args.into_iter().collect();
    if !args.iter().any(|a| a == "--idempotency-key" || a.starts_with("--idempotency-key=")) {
        args.extend(["--idempotency-key".to_owned(), key.to_owned()]);
    }
    args.iter().map(|a| shell_quoted(a)).collect::<Vec<_>>().join(" ")
}

fn shell_quoted(arg: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) { arg.to_owned() } else { format!("'{}'", arg.replace('\'', "'\\''")) }
}

/// An API refusal with its amounts in yuan, as the person typed them: the API speaks fen
/// (`share 200 fen is above 100 fen`), the command line yuan (`¥2.00 … ¥1.00`).
fn in_yuan(err: ClientError) -> anyhow::Error {
    match err {
        ClientError::Api { .. } => anyhow!("{}", fen_to_yuan(&err.to_string())),
        other => other.into(),
    }
}

/// Rewrites every `<digits> fen` in `text` as `¥<yuan>`.
fn fen_to_yuan(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(" fen") {
        let (before, after) = rest.split_at(at);
        let digits = before.len() - before.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let ends_word = !after[4..].starts_with(|c: char| c.is_alphanumeric() || c == '_');
        let starts_word =
            !before[..before.len() - digits].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '-');
        match before[before.len() - digits..].parse::<i64>() {
            Ok(fen) if digits > 0 && ends_word && starts_word => {
                out.push_str(&before[..before.len() - digits]);
                out.push_str(&yuan(Fen::new(fen)));
            }
            _ => {
                out.push_str(before);
                out.push_str(" fen");
            }
        }
        rest = &after[4..];
    }
    out.push_str(rest);
    out
}

/// Creates a principal and, with `--save`, writes its credentials. The file is checked first
/// so that a secret is never minted into a file that cannot be written; if writing still
/// fails, the secret is printed rather than lost.
async fn credentials_out<'c, T: DeserializeOwned>(
    client: &'c Client,
    call: Call<'c, T>,
    save: Option<&Path>,
    secret_of: impl Fn(&T) -> (Option<UserId>, KeyId, &str),
) -> anyhow::Result<(String, T)> {
    if let Some(path) = save
        && path.exists()
    {
        bail!("{} already exists: not replacing a credentials file", path.display());
    }
    let raw = call.send_raw().await?.error_for_status().map_err(in_yuan)?;
    let created: T = raw.json()?;
    if let Some(path) = save {
        let (user_id, key_id, secret) = secret_of(&created);
        let credentials = Credentials {
            url: client.url().to_owned(),
            user_id,
            key_id,
            secret: hongbao_core::principal::Secret::from_stored(secret.to_owned()),
        };
        if let Err(err) = credentials.save(path) {
            // The secret exists only in this answer now: show it rather than lose it.
            outln!("{}", raw.text());
            return Err(anyhow::Error::new(err)
                .context("created, but could not save the credentials: the answer above holds the secret"));
        }
    }
    Ok((raw.text(), created))
}

fn print_created(conn: &Conn, raw: &str, summary: &str) -> anyhow::Result<()> {
    if conn.json {
        outln!("{raw}");
    } else {
        outln!("{summary}");
    }
    Ok(())
}

fn yuan(amount: Fen) -> String {
    format!("¥{}", amount.to_yuan())
}

fn secret_lines(key_id: KeyId, secret: &str, saved: Option<&Path>) -> String {
    match saved {
        Some(path) => format!("key id:  {key_id}\ncredentials saved to {} (mode 0600)", path.display()),
        None => format!("key id:  {key_id}\nsecret:  {secret}\nthe secret is shown only this once: keep it safe"),
    }
}

fn render_user_created(user: &UserCreated, saved: Option<&Path>) -> String {
    format!("created user {} ({})\n{}", user.name, user.user_id, secret_lines(user.key_id, user.secret.expose(), saved))
}

fn render_operator_created(operator: &OperatorCreated, saved: Option<&Path>) -> String {
    let roles: Vec<&str> = operator.roles.iter().map(|r| r.as_str()).collect();
    format!(
        "created operator {} with roles {}\n{}",
        operator.name,
        roles.join(", "),
        secret_lines(operator.key_id, operator.secret.expose(), saved)
    )
}

fn render_moved(what: &str, moved: &Moved) -> String {
    format!("{what} ({}); balance {}", moved.transfer_id, yuan(moved.balance))
}

fn render_me(me: &MeView) -> String {
    format!(
        "{} ({}), {}\nbalance      {}\navailable    {}\npending in   {}\npending out  {}\nfrozen       {}",
        me.name,
        me.user_id,
        me.status.as_str(),
        yuan(me.balance),
        yuan(me.available),
        yuan(me.pending_in),
        yuan(me.pending_out),
        yuan(me.frozen)
    )
}

fn render_history(page: &TransactionPage) -> String {
    let mut lines: Vec<String> = page
        .items
        .iter()
        .map(|t| {
            let sign = match t.direction {
                hongbao_client::Direction::In => '+',
                hongbao_client::Direction::Out => '-',
            };
            let packet = t.packet_id.map(|p| format!(" {p}")).unwrap_or_default();
            format!(
                "{}  {sign}{:>10}  {:<13}  {:<8}  {}{packet}",
                t.created_at,
                yuan(t.amount),
                t.kind.as_str(),
                t.status,
                t.transfer_id
            )
        })
        .collect();
    if lines.is_empty() {
        lines.push("no transactions".to_owned());
    }
    if let Some(cursor) = &page.next_cursor {
        lines.push(format!("more: hongbao history --cursor {cursor}"));
    }
    lines.join("\n")
}

fn render_group(group: &GroupView) -> String {
    let mut text = format!("group {} ({}), {} members:", group.name, group.group_id, group.members.len());
    for member in &group.members {
        text.push_str(&format!("\n  {member}"));
    }
    text
}

fn delay_text(delay_s: u32) -> String {
    match delay_s {
        0 => "none".to_owned(),
        s if s.is_multiple_of(3_600) => format!("{}h", s / 3_600),
        s => format!("{s}s"),
    }
}

fn render_packet(p: &PacketView) -> String {
    let to = match (p.group_id, p.recipient) {
        (Some(group), _) => format!("group {group}"),
        (None, Some(user)) => user.to_string(),
        (None, None) => "nobody".to_owned(),
    };
    let mut text = format!(
        "{} packet {} from {} to {to}: {}\nstatus {}: {} of {} shares left ({} of {})\nsent {}, expires {}, arrival delay {}",
        p.kind.as_str(),
        p.packet_id,
        p.sender,
        p.greeting,
        p.status.as_str(),
        p.remaining_count,
        p.count,
        yuan(p.remaining_amount),
        yuan(p.total),
        p.created_at,
        p.expires_at,
        delay_text(p.arrival_delay_seconds)
    );
    if p.touched {
        text.push_str("\nopened by a recipient");
    }
    if !p.claims.is_empty() {
        text.push_str("\nclaims:");
        for c in &p.claims {
            let when = if c.status == hongbao_core::packet::ClaimStatus::Pending {
                format!("arrives {}", c.arrives_at)
            } else {
                format!("claimed {}", c.claimed_at)
            };
            text.push_str(&format!(
                "\n  {} {} {} {}, {when}",
                c.claim_id,
                c.user_id,
                yuan(c.amount),
                c.status.as_str()
            ));
        }
    }
    if let Some(best) = p.best_luck {
        text.push_str(&format!("\nbest luck (手气最佳): {best}"));
    }
    text
}

fn arrival(status: &str, pending: bool, arrives_at: hongbao_core::Timestamp) -> String {
    if pending { format!("{status}, arrives {arrives_at}") } else { status.to_owned() }
}

fn render_claim(c: &ClaimReceipt) -> String {
    let pending = c.status == hongbao_core::packet::ClaimStatus::Pending;
    format!(
        "claimed {} from {} (claim {}): {}",
        yuan(c.amount),
        c.packet_id,
        c.claim_id,
        arrival(c.status.as_str(), pending, c.arrives_at)
    )
}

fn render_recalled(r: &Recalled) -> String {
    format!("recalled {}: {} back to your wallet", r.packet_id, yuan(r.refunded))
}

fn render_claim_detail(verb: &str, c: &ClaimDetail) -> String {
    format!(
        "{verb} claim {} of {} ({} claimed by {}): now {}",
        c.claim_id,
        c.packet_id,
        yuan(c.amount),
        c.user_id,
        c.status.as_str()
    )
}

fn transfer_status(status: hongbao_core::ops::TransferStatus) -> &'static str {
    match status {
        hongbao_core::ops::TransferStatus::Arrived => "arrived",
        hongbao_core::ops::TransferStatus::Pending => "pending",
        hongbao_core::ops::TransferStatus::Revoked => "revoked",
    }
}

fn render_transfer(amount: Fen, to: UserId, t: &TransferReceipt) -> String {
    let pending = t.status == hongbao_core::ops::TransferStatus::Pending;
    format!(
        "sent {} to {to} ({}): {}",
        yuan(amount),
        t.transfer_id,
        arrival(transfer_status(t.status), pending, t.arrives_at)
    )
}

fn render_transfer_revoked(t: &TransferReceipt) -> String {
    format!("transfer {}: {}", t.transfer_id, transfer_status(t.status))
}

#[cfg(test)]
mod tests {
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
