//! `transfer` (money to another user, at once or later) and `revoke`, which takes back a
//! pending transfer the caller sent or a pending claim of the caller's packet.

use clap::Args;
use hongbao_client::TransferOptions;
use hongbao_core::ops::{ClaimDetail, TransferReceipt};
use hongbao_core::{ClaimId, Fen, TransferId, UserId};

use super::args::{Delay, parse_yuan};
use super::render::{render_claim_detail, render_transfer, render_transfer_revoked};
use super::send::{connect, show_moving, show_paying};
use super::{Conn, Idem};

/// `hongbao transfer --to USER_ID --amount YUAN`.
#[derive(Debug, Args)]
pub(crate) struct TransferArgs {
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
    /// Go on when the payee needs your confirmation (a large amount, a reported payee); without
    /// it you are asked on a terminal, and refused elsewhere
    #[arg(long)]
    confirm_risk: bool,
    #[command(flatten)]
    idem: Idem,
}

/// `hongbao revoke ID`.
#[derive(Debug, Args)]
pub(crate) struct RevokeArgs {
    #[command(flatten)]
    conn: Conn,
    /// A claim id (clm_…) or a transfer id (trf_…)
    #[arg(value_name = "ID", value_parser = parse_revocable)]
    id: Revocable,
    #[command(flatten)]
    idem: Idem,
}

/// What `revoke` can take back, told apart by the id's prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Revocable {
    Claim(ClaimId),
    Transfer(TransferId),
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

impl TransferArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let TransferArgs { conn, to, amount, note, delay, confirm_risk, idem } = self;
        let client = connect(&conn)?;
        let options =
            TransferOptions { note, arrival_delay_seconds: delay.map(Delay::seconds), risk_confirmation: None };
        let render = |t: &TransferReceipt| render_transfer(amount, to, t);
        let call = |token: Option<String>| {
            let options = TransferOptions { risk_confirmation: token, ..options.clone() };
            client.transfer(to, amount, &options)
        };
        show_paying(&conn, &client, call, (idem, confirm_risk), render).await
    }
}

impl RevokeArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let RevokeArgs { conn, id, idem } = self;
        let client = connect(&conn)?;
        match id {
            Revocable::Claim(claim) => {
                let render = |c: &ClaimDetail| render_claim_detail("revoked", c);
                show_moving(&conn, &client, client.revoke_claim(claim), idem, render).await
            }
            Revocable::Transfer(transfer) => {
                show_moving(&conn, &client, client.revoke_transfer(transfer), idem, render_transfer_revoked).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoke_tells_claims_from_transfers_by_prefix() {
        let claim = "clm_0190f0a0b0c0d0e0f000000000000000";
        let transfer = "trf_0190f0a0b0c0d0e0f000000000000000";
        assert_eq!(parse_revocable(claim), Ok(Revocable::Claim(claim.parse().unwrap())));
        assert_eq!(parse_revocable(transfer), Ok(Revocable::Transfer(transfer.parse().unwrap())));
        assert!(parse_revocable("usr_0190f0a0b0c0d0e0f000000000000000").unwrap_err().contains("claim id"));
        assert!(parse_revocable("clm_xyz").is_err());
    }
}
