//! People and groups.

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, FrozenReason};
use crate::id::{GroupId, UserId};
use crate::ledger::Account;
use crate::money::{Fen, MoneyError};
use crate::signal::Logins;
use crate::time::Timestamp;

/// Whether a person may move money out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum UserStatus {
    Active,
    /// Locked by risk control: nothing may leave the wallet and no packet may be claimed
    /// (423 `account_frozen`); deposits, refunds and transfers from others still arrive.
    Locked,
}

impl UserStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Locked => "locked",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub status: UserStatus,
    pub created_at: Timestamp,
    /// What risk control remembers of their logins (`POST /v1/risk/signals`).
    #[serde(default, skip_serializing_if = "Logins::is_empty")]
    pub logins: Logins,
}

impl User {
    /// # Errors
    /// [`CoreError::AccountFrozen`] when the user is locked.
    pub fn ensure_may_pay(&self) -> Result<(), CoreError> {
        match self.status {
            UserStatus::Active => Ok(()),
            UserStatus::Locked => Err(CoreError::AccountFrozen { reason: FrozenReason::Locked }),
        }
    }
}

/// A chat group. `members` is sorted and has no duplicates; the owner is a member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: GroupId,
    pub name: String,
    pub owner: UserId,
    pub members: Vec<UserId>,
    pub created_at: Timestamp,
}

impl Group {
    pub fn has_member(&self, user: UserId) -> bool {
        self.members.binary_search(&user).is_ok()
    }

    pub fn size(&self) -> u32 {
        u32::try_from(self.members.len()).unwrap_or(u32::MAX)
    }
}

/// What the API shows of a group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupView {
    pub group_id: GroupId,
    pub name: String,
    pub members: Vec<UserId>,
}

impl From<&Group> for GroupView {
    fn from(group: &Group) -> Self {
        GroupView { group_id: group.id, name: group.name.clone(), members: group.members.clone() }
    }
}

/// What `GET /v1/me` answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeView {
    pub user_id: UserId,
    pub name: String,
    pub balance: Fen,
    pub available: Fen,
    pub pending_in: Fen,
    pub pending_out: Fen,
    pub frozen: Fen,
    pub status: UserStatus,
}

impl MeView {
    /// # Errors
    /// Overflow only.
    pub fn new(user: &User, wallet: &Account) -> Result<MeView, MoneyError> {
        Ok(MeView {
            user_id: user.id,
            name: user.name.clone(),
            balance: wallet.balance()?,
            available: wallet.available()?,
            pending_in: wallet.pending_in(),
            pending_out: wallet.pending_out(),
            frozen: wallet.frozen(),
            status: user.status,
        })
    }
}

/// Checks a user or group name: 1 to `max_chars` characters, not blank, nothing hidden
/// ([`crate::text::is_hidden`]).
///
/// # Errors
/// [`CoreError::InvalidRequest`] naming the rule.
pub fn check_name(field: &str, name: &str, max_chars: u32) -> Result<(), CoreError> {
    let chars = name.chars().count();
    if chars == 0 || name.trim().is_empty() || chars > max_chars as usize {
        return Err(CoreError::invalid(format!("{field} must be 1 to {max_chars} characters and not blank")));
    }
    if let Some(hidden) = crate::text::first_hidden(name) {
        return Err(CoreError::invalid(format!(
            "{field} must not contain control, invisible or bidirectional-override characters ({hidden})"
        )));
    }
    Ok(())
}
