//! `group create` and `group show`: the groups whose members may claim a packet.

use clap::{Args, Subcommand};
use hongbao_core::{GroupId, UserId};

use super::render::render_group;
use super::send::{connect, show, with_key};
use super::{Conn, Idem};

/// `hongbao group …`.
#[derive(Debug, Args)]
pub(crate) struct GroupArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    cmd: GroupCmd,
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

impl GroupArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let GroupArgs { conn, cmd } = self;
        let client = connect(&conn)?;
        match cmd {
            GroupCmd::Create { name, members, idem } => {
                show(&conn, with_key(client.create_group(&name, &members), idem), render_group).await
            }
            GroupCmd::Show { group } => show(&conn, client.group(group), render_group).await,
        }
    }
}
