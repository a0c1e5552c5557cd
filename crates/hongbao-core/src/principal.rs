//! Who may call: principals (users and operators), their keys and roles.
//!
//! Every principal has a key id and a secret. The secret signs requests (HMAC-SHA256, in the
//! API layer); it is minted here from the caller's CSPRNG, shown once in the creation answer,
//! and never printed: its `Debug` is redacted.

use std::fmt;

use rand::CryptoRng;
use serde::{Deserialize, Serialize};

use crate::error::CoreError;
use crate::id::{KeyId, UserId};
use crate::time::Timestamp;

/// A signing secret. `Debug` and `Display` never show it; only [`Secret::expose`] does.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// 32 bytes from a CSPRNG, as 64 lowercase hex digits after the prefix `hbs_`.
    pub fn mint(rng: &mut impl CryptoRng) -> Secret {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        Secret(format!("hbs_{}", crate::hex::hex(&bytes)))
    }

    /// A secret as stored.
    pub fn from_stored(text: String) -> Secret {
        Secret(text)
    }

    /// The secret itself, for signing and for the one answer that hands it out.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// What an operator may do. Users have no roles: they act for themselves only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    Admin,
    RiskOfficer,
    LegalOfficer,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::RiskOfficer, Role::LegalOfficer, Role::Auditor];

    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::RiskOfficer => "risk_officer",
            Role::LegalOfficer => "legal_officer",
            Role::Auditor => "auditor",
        }
    }
}

/// On whose behalf a key signs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Owner {
    User { user_id: UserId },
    Operator { name: String, roles: Vec<Role> },
}

/// A key that may sign requests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub key_id: KeyId,
    pub secret: Secret,
    pub owner: Owner,
    pub created_at: Timestamp,
}

impl Principal {
    /// The user this key acts for, if it is a user's key.
    pub fn user(&self) -> Option<UserId> {
        match self.owner {
            Owner::User { user_id } => Some(user_id),
            Owner::Operator { .. } => None,
        }
    }

    pub fn has_role(&self, role: Role) -> bool {
        matches!(&self.owner, Owner::Operator { roles, .. } if roles.contains(&role))
    }
}

/// Checks and normalises an operator's roles: at least one, sorted, no repeats.
///
/// # Errors
/// [`CoreError::InvalidRequest`] for an empty list.
pub fn normalise_roles(roles: &[Role]) -> Result<Vec<Role>, CoreError> {
    let mut roles = roles.to_vec();
    roles.sort_unstable();
    roles.dedup();
    if roles.is_empty() {
        return Err(CoreError::invalid("an operator needs at least one role"));
    }
    Ok(roles)
}

/// A fresh key id and secret.
pub fn mint_credentials(now: Timestamp, rng: &mut impl CryptoRng) -> (KeyId, Secret) {
    (KeyId::mint(now, rng), Secret::mint(rng))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::ChaCha8Rng;

    use super::*;

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let secret = Secret::mint(&mut ChaCha8Rng::seed_from_u64(3));
        assert_eq!(secret.expose().len(), 68);
        let principal = Principal {
            key_id: KeyId::mint(Timestamp::from_millis(0), &mut ChaCha8Rng::seed_from_u64(4)),
            secret: secret.clone(),
            owner: Owner::Operator { name: "root".to_owned(), roles: Role::ALL.to_vec() },
            created_at: Timestamp::from_millis(0),
        };
        let shown = format!("{principal:?}");
        assert!(!shown.contains(secret.expose()), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
