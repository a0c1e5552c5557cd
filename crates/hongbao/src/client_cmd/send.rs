//! How a client command reaches the service: the client `Conn` describes, one send for reads,
//! and for commands that move money an `Idempotency-Key` with bounded retries under it; refusals
//! shown in yuan; credentials written once, never a secret lost.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use hongbao_client::{Call, Client, ClientError, ClientOptions, Credentials, RawRequest, RawResponse, signing};
use hongbao_core::{Fen, KeyId, UserId};
use serde::de::DeserializeOwned;

use crate::out::outln;

use super::render::yuan;
use super::{Conn, Idem};

pub(super) fn connect(conn: &Conn) -> anyhow::Result<Client> {
    conn.signed_client()
}

/// Where the log is when nothing says: `hongbao serve`'s default address.
pub(super) const URL_DEFAULT: &str = "http://127.0.0.1:8080";

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

pub(super) fn with_key<T: DeserializeOwned>(call: Call<'_, T>, idem: Idem) -> Call<'_, T> {
    match idem.idempotency_key {
        Some(key) => call.idempotency_key(key),
        None => call,
    }
}

/// Sends `call` once and prints the JSON answer (`--json`) or `render` of it.
pub(super) async fn show<T: DeserializeOwned>(
    conn: &Conn,
    call: Call<'_, T>,
    render: impl FnOnce(&T) -> String,
) -> anyhow::Result<()> {
    print_answer::<T>(conn, call.send_raw().await?, render)
}

/// Sends a call that moves money with an `Idempotency-Key` (the one given, else a fresh one),
/// again with the same key when no answer came, and prints the answer as [`show`] does.
pub(super) async fn show_moving<T: DeserializeOwned>(
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

/// As [`show_moving`], for a payment the payee rating may ask to confirm (分级预警): on `409
/// risk_confirmation_required` the warnings are shown and, with `confirm` (`--confirm-risk`) or a
/// yes typed on a terminal, the same payment is sent again with the token (and a fresh
/// Idempotency-Key: the refusal is kept under the first).
pub(super) async fn show_paying<'c, T: DeserializeOwned>(
    conn: &Conn,
    client: &'c Client,
    call: impl Fn(Option<String>) -> Call<'c, T>,
    (idem, confirm): (Idem, bool),
    render: impl FnOnce(&T) -> String,
) -> anyhow::Result<()> {
    let key = match idem.idempotency_key {
        Some(key) => key,
        None => fresh_idempotency_key()?,
    };
    let request = call(None).idempotency_key(key.clone()).into_request()?;
    let raw = send_retrying(client, request, &key, conn.retries).await?;
    if raw.status.as_u16() != 409 {
        return print_answer::<T>(conn, raw, render);
    }
    let body: serde_json::Value = serde_json::from_slice(&raw.body).unwrap_or_default();
    let error = &body["error"];
    let Some(token) = error["confirmation_token"].as_str().filter(|_| error["code"] == "risk_confirmation_required")
    else {
        return print_answer::<T>(conn, raw, render);
    };
    eprintln!("before you pay:");
    for warning in error["warnings"].as_array().into_iter().flatten() {
        eprintln!("  - {}", warning["message"].as_str().unwrap_or_default());
    }
    if !confirm && !ask_yes("go on and pay?")? {
        bail!("not paid: the payee needs your confirmation (run it again with --confirm-risk to go on)");
    }
    let key = fresh_idempotency_key()?;
    let request = call(Some(token.to_owned())).idempotency_key(key.clone()).into_request()?;
    let raw = send_retrying(client, request, &key, conn.retries).await?;
    print_answer::<T>(conn, raw, render)
}

/// Whether a person at the terminal answers yes to `question`; never, without a terminal.
fn ask_yes(question: &str) -> anyhow::Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "是"))
}

pub(super) fn print_answer<T: DeserializeOwned>(
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
pub(super) const RETRY_PAUSE_FIRST: Duration = Duration::from_millis(250);
pub(super) const RETRY_PAUSE_MAX: Duration = Duration::from_secs(4);

/// Sends `request` (which carries the Idempotency-Key `key`) up to `retries` more times while
/// no answer comes. Each attempt is signed afresh (a new nonce and timestamp); the key makes
/// the server carry the request out at most once. Giving up, it says the key and the command
/// that repeats the request safely.
pub(super) async fn send_retrying(
    client: &Client,
    request: RawRequest,
    key: &str,
    retries: u32,
) -> anyhow::Result<RawResponse> {
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
pub(super) fn cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut deepest: &dyn std::error::Error = err;
    while let Some(source) = deepest.source() {
        deepest = source;
    }
    deepest.to_string()
}

/// `cli-` and 32 hex digits from the operating system's generator.
pub(super) fn fresh_idempotency_key() -> anyhow::Result<String> {
    use rand::TryRng as _;
    let mut bytes = [0u8; 16];
    rand::rngs::SysRng.try_fill_bytes(&mut bytes).map_err(|e| anyhow!("the random generator failed: {e}"))?;
    Ok(format!("cli-{}", signing::to_hex(&bytes)))
}

/// The command line as typed, with `--idempotency-key KEY` added unless it has one, quoted for
/// a POSIX shell.
pub(super) fn command_with_key(args: impl IntoIterator<Item = String>, key: &str) -> String {
    let mut args: Vec<String> = args.into_iter().collect();
    if !args.iter().any(|a| a == "--idempotency-key" || a.starts_with("--idempotency-key=")) {
        args.extend(["--idempotency-key".to_owned(), key.to_owned()]);
    }
    args.iter().map(|a| shell_quoted(a)).collect::<Vec<_>>().join(" ")
}

pub(super) fn shell_quoted(arg: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) { arg.to_owned() } else { format!("'{}'", arg.replace('\'', "'\\''")) }
}

/// An API refusal with its amounts in yuan, as the person typed them: the API speaks fen
/// (`share 200 fen is above 100 fen`), the command line yuan (`¥2.00 … ¥1.00`).
pub(super) fn in_yuan(err: ClientError) -> anyhow::Error {
    match err {
        ClientError::Api { .. } => anyhow!("{}", fen_to_yuan(&err.to_string())),
        other => other.into(),
    }
}

/// Rewrites every `<digits> fen` in `text` as `¥<yuan>`.
pub(super) fn fen_to_yuan(text: &str) -> String {
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
pub(super) async fn credentials_out<'c, T: DeserializeOwned>(
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

pub(super) fn print_created(conn: &Conn, raw: &str, summary: &str) -> anyhow::Result<()> {
    if conn.json {
        outln!("{raw}");
    } else {
        outln!("{summary}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "usr_0190f0a0b0c0d0e0f000000000000000";

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
}
