//! `clock`: the development clock moved forward (`serve --dev-clock`), and what fell due run.

use clap::Args;
use hongbao_client::wire::DevClockAnswer;

use super::Conn;
use super::send::{connect, show};

/// `hongbao clock SECONDS`.
#[derive(Debug, Args)]
pub(crate) struct ClockArgs {
    #[command(flatten)]
    conn: Conn,
    /// Seconds to move forward, e.g. 86400 for a day
    #[arg(value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(1..))]
    advance_seconds: u32,
}

impl ClockArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let client = connect(&self.conn)?;
        show(&self.conn, client.dev_clock(self.advance_seconds), |c: &DevClockAnswer| {
            format!("the business clock is now {}; everything due has run", c.now)
        })
        .await
    }
}
