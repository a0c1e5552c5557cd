//! `user create` and `operator create` (admin): a new principal, whose secret is printed once
//! or saved to a credentials file, never lost; `user lock` and `user unlock` (risk_officer).

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use hongbao_core::UserId;
use hongbao_core::ops::{OperatorCreated, UserCreated};
use hongbao_core::principal::Role;

use super::render::{render_me, render_operator_created, render_user_created};
use super::send::{connect, credentials_out, print_created, show_moving, with_key};
use super::{Conn, Idem};

/// `hongbao user …`.
#[derive(Debug, Args)]
pub(crate) struct UserArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    cmd: UserCmd,
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
    /// Lock a user (risk_officer): they may still receive money, but cannot send, transfer,
    /// withdraw, return or claim until unlocked
    Lock(StatusArgs),
    /// Unlock a user (risk_officer)
    Unlock(StatusArgs),
}

/// `hongbao user lock|unlock USER_ID --reason …`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// The user (usr_…)
    #[arg(value_name = "USER_ID")]
    user: UserId,
    /// Why, 1 to 500 characters: the log records it with your key id; the user never sees it
    #[arg(long)]
    reason: String,
    #[command(flatten)]
    idem: Idem,
}

/// `hongbao operator …`.
#[derive(Debug, Args)]
pub(crate) struct OperatorArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    cmd: OperatorCmd,
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

impl UserArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let UserArgs { conn, cmd } = self;
        let (name, save, idem) = match cmd {
            UserCmd::Create { name, save, idem } => (name, save, idem),
            UserCmd::Lock(StatusArgs { user, reason, idem }) => {
                let client = connect(&conn)?;
                return show_moving(&conn, &client, client.lock_user(user, &reason), idem, render_me).await;
            }
            UserCmd::Unlock(StatusArgs { user, reason, idem }) => {
                let client = connect(&conn)?;
                return show_moving(&conn, &client, client.unlock_user(user, &reason), idem, render_me).await;
            }
        };
        let client = connect(&conn)?;
        let call = with_key(client.create_user(&name), idem);
        let (raw, user) = credentials_out(&client, call, save.as_deref(), |u: &UserCreated| {
            (Some(u.user_id), u.key_id, u.secret.expose())
        })
        .await?;
        print_created(&conn, &raw, &render_user_created(&user, save.as_deref()))
    }
}

impl OperatorArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let OperatorArgs { conn, cmd: OperatorCmd::Create { name, roles, save, idem } } = self;
        let client = connect(&conn)?;
        let roles: Vec<Role> = roles.into_iter().map(Role::from).collect();
        let call = with_key(client.create_operator(&name, &roles), idem);
        let (raw, operator) =
            credentials_out(&client, call, save.as_deref(), |o: &OperatorCreated| (None, o.key_id, o.secret.expose()))
                .await?;
        print_created(&conn, &raw, &render_operator_created(&operator, save.as_deref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_cmd::ClientCmd;
    use crate::client_cmd::tests::parse;

    #[test]
    fn connection_options_go_before_or_after_the_subcommand() {
        for args in [
            &["user", "--url", "http://127.0.0.1:1", "create", "bob", "--json"][..],
            &["user", "create", "bob", "--url", "http://127.0.0.1:1", "--json"][..],
        ] {
            let ClientCmd::User(UserArgs { conn, cmd: UserCmd::Create { name, .. } }) = parse(args).unwrap() else {
                panic!("{args:?}");
            };
            assert_eq!((conn.url.as_deref(), conn.json, name.as_str()), (Some("http://127.0.0.1:1"), true, "bob"));
        }
    }

    #[test]
    fn a_lock_needs_a_user_and_a_reason() {
        let cmd = parse(&["user", "lock", "usr_0190f0a0b0c0d0e0f000000000000000", "--reason", "reports"]).unwrap();
        let ClientCmd::User(UserArgs { cmd: UserCmd::Lock(StatusArgs { reason, .. }), .. }) = cmd else {
            panic!("{cmd:?}")
        };
        assert_eq!(reason, "reports");
        assert!(parse(&["user", "unlock", "usr_0190f0a0b0c0d0e0f000000000000000"]).is_err());
        assert!(parse(&["user", "lock", "bob", "--reason", "r"]).is_err());
    }

    #[test]
    fn saving_credentials_and_printing_the_json_answer_exclude_each_other() {
        assert!(parse(&["user", "create", "bob", "--save", "bob.json"]).is_ok());
        assert!(parse(&["user", "create", "bob", "--save", "bob.json", "--json"]).is_err());
    }

    #[test]
    fn operator_roles_use_the_api_names_and_are_required() {
        let cmd = parse(&["operator", "create", "ops", "--role", "admin,risk_officer", "--role", "auditor"]).unwrap();
        let ClientCmd::Operator(OperatorArgs { cmd: OperatorCmd::Create { roles, .. }, .. }) = cmd else {
            panic!("{cmd:?}")
        };
        assert_eq!(roles, [RoleArg::Admin, RoleArg::RiskOfficer, RoleArg::Auditor]);
        assert!(parse(&["operator", "create", "ops"]).is_err());
    }
}
