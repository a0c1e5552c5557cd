//! Red packets: `send normal | lucky | exclusive`, `packet` (look without touching), `open`,
//! `claim`, `recall`, and `return` (a claimed amount given back to the sender).

use clap::{Args, Subcommand};
use hongbao_client::PacketOptions;
use hongbao_core::ops::{ClaimDetail, PacketSpec};
use hongbao_core::{ClaimId, Fen, GroupId, PacketId, UserId};

use super::args::{Delay, parse_yuan};
use super::render::{render_claim, render_claim_detail, render_packet, render_recalled};
use super::send::{connect, show, show_moving, show_paying};
use super::{Conn, Idem};

/// `hongbao send …`.
#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    cmd: SendCmd,
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

/// What every kind of packet takes besides its shares.
#[derive(Debug, Args)]
pub(crate) struct PacketArgs {
    /// At most 64 characters [default: 恭喜发财，大吉大利]
    #[arg(long, value_name = "TEXT")]
    greeting: Option<String>,
    /// Claimed money arrives later (revocable until then)
    #[arg(long, value_name = "DELAY")]
    delay: Option<Delay>,
    /// An exclusive packet: go on when its recipient needs your confirmation (a reported payee);
    /// without it you are asked on a terminal, and refused elsewhere
    #[arg(long)]
    confirm_risk: bool,
    #[command(flatten)]
    idem: Idem,
}

/// One packet, for `packet` and `open`.
#[derive(Debug, Args)]
pub(crate) struct PacketTarget {
    #[command(flatten)]
    conn: Conn,
    /// The packet (pkt_…)
    #[arg(value_name = "PACKET_ID")]
    packet: PacketId,
}

/// One packet and the key that makes moving its money safe to repeat, for `claim` and `recall`.
#[derive(Debug, Args)]
pub(crate) struct PacketMove {
    #[command(flatten)]
    target: PacketTarget,
    #[command(flatten)]
    idem: Idem,
}

/// `hongbao return CLAIM_ID`.
#[derive(Debug, Args)]
pub(crate) struct ReturnArgs {
    #[command(flatten)]
    conn: Conn,
    /// Your claim (clm_…)
    #[arg(value_name = "CLAIM_ID")]
    claim: ClaimId,
    #[command(flatten)]
    idem: Idem,
}

impl SendArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let SendArgs { conn, cmd } = self;
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
        let options = PacketOptions {
            greeting: args.greeting,
            arrival_delay_seconds: args.delay.map(Delay::seconds),
            risk_confirmation: None,
        };
        let call = |token: Option<String>| {
            let options = PacketOptions { risk_confirmation: token, ..options.clone() };
            client.send_packet(&spec, &options)
        };
        show_paying(&conn, &client, call, (args.idem, args.confirm_risk), render_packet).await
    }
}

impl PacketTarget {
    /// `hongbao packet`: the packet as the caller may see it, without touching it.
    pub(super) async fn show(self) -> anyhow::Result<()> {
        let client = connect(&self.conn)?;
        show(&self.conn, client.packet(self.packet), render_packet).await
    }

    /// `hongbao open`: the packet, which a recipient opening it touches.
    pub(super) async fn open(self) -> anyhow::Result<()> {
        let client = connect(&self.conn)?;
        show(&self.conn, client.open(self.packet), render_packet).await
    }
}

impl PacketMove {
    /// `hongbao claim`: one share of the packet.
    pub(super) async fn claim(self) -> anyhow::Result<()> {
        let PacketMove { target: PacketTarget { conn, packet }, idem } = self;
        let client = connect(&conn)?;
        show_moving(&conn, &client, client.claim(packet), idem, render_claim).await
    }

    /// `hongbao recall`: the sender takes back an untouched packet.
    pub(super) async fn recall(self) -> anyhow::Result<()> {
        let PacketMove { target: PacketTarget { conn, packet }, idem } = self;
        let client = connect(&conn)?;
        show_moving(&conn, &client, client.recall(packet), idem, render_recalled).await
    }
}

impl ReturnArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let ReturnArgs { conn, claim, idem } = self;
        let client = connect(&conn)?;
        let render = |c: &ClaimDetail| render_claim_detail("returned", c);
        show_moving(&conn, &client, client.return_claim(claim), idem, render).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_cmd::ClientCmd;
    use crate::client_cmd::tests::parse;

    const GROUP: &str = "grp_0190f0a0b0c0d0e0f000000000000000";

    #[test]
    fn send_lucky_takes_its_total_in_yuan_and_a_delay() {
        let cmd =
            parse(&["send", "lucky", "--group", GROUP, "--count", "3", "--total", "10.5", "--delay", "2h"]).unwrap();
        let ClientCmd::Send(SendArgs { cmd: SendCmd::Lucky { group, count, total, packet }, .. }) = cmd else {
            panic!("{cmd:?}");
        };
        assert_eq!((group.to_string(), count, total), (GROUP.to_owned(), 3, Fen::new(1_050)));
        assert_eq!(packet.delay.map(Delay::seconds), Some(7_200));
        assert!(parse(&["send", "lucky", "--group", GROUP, "--count", "3", "--total", "1", "--delay", "1h"]).is_err());
    }
}
