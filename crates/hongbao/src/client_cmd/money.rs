//! A wallet's money: `deposit` (admin) and `withdraw`, which move it in from and out to a
//! bank card, `me` (its balances) and `history` (its transactions).

use clap::Args;
use hongbao_core::ops::Moved;
use hongbao_core::{Fen, UserId};

use super::args::parse_yuan;
use super::render::{render_history, render_me, render_moved, yuan};
use super::send::{connect, show, show_moving};
use super::{Conn, Idem};

/// `hongbao deposit USER_ID AMOUNT`.
#[derive(Debug, Args)]
pub(crate) struct DepositArgs {
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
}

/// `hongbao withdraw AMOUNT`.
#[derive(Debug, Args)]
pub(crate) struct WithdrawArgs {
    #[command(flatten)]
    conn: Conn,
    /// In yuan: 10, 10.5, 10.05
    #[arg(value_parser = parse_yuan, allow_negative_numbers = true)]
    amount: Fen,
    #[command(flatten)]
    idem: Idem,
}

/// `hongbao history`.
#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    #[command(flatten)]
    conn: Conn,
    /// At most this many
    #[arg(long, value_name = "N")]
    limit: Option<u32>,
    /// Continue after a previous page (its `next_cursor`)
    #[arg(long, value_name = "CURSOR")]
    cursor: Option<String>,
}

impl DepositArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let DepositArgs { conn, user, amount, idem } = self;
        let client = connect(&conn)?;
        let render = |m: &Moved| render_moved(&format!("deposited {} to {user}", yuan(amount)), m);
        show_moving(&conn, &client, client.deposit(user, amount), idem, render).await
    }
}

impl WithdrawArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let WithdrawArgs { conn, amount, idem } = self;
        let client = connect(&conn)?;
        let render = |m: &Moved| render_moved(&format!("withdrew {}", yuan(amount)), m);
        show_moving(&conn, &client, client.withdraw(amount), idem, render).await
    }
}

/// `hongbao me`: the caller's balances.
pub(super) async fn me(conn: &Conn) -> anyhow::Result<()> {
    let client = connect(conn)?;
    show(conn, client.me(), render_me).await
}

impl HistoryArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let HistoryArgs { conn, limit, cursor } = self;
        let client = connect(&conn)?;
        show(&conn, client.transactions(limit, cursor.as_deref()), render_history).await
    }
}
