//! How hard SQLite works to keep a commit ([`Durability`]), by name and in words.

use std::fmt::{self, Display};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sqlx::sqlite::SqliteSynchronous;

/// How hard SQLite works to keep a commit through a crash. The journal is always WAL.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Durability {
    /// `synchronous=FULL`: a commit is on disk before it is acknowledged. The default.
    #[default]
    Full,
    /// `synchronous=NORMAL`: a commit survives a crash of the process, but the last ones may be
    /// lost if the machine loses power.
    Normal,
    /// `synchronous=OFF`: for benchmarks only. A power failure may lose commits and damage the file.
    Off,
}

impl Durability {
    pub const fn as_str(self) -> &'static str {
        match self {
            Durability::Full => "full",
            Durability::Normal => "normal",
            Durability::Off => "off",
        }
    }

    pub(crate) fn synchronous(self) -> SqliteSynchronous {
        match self {
            Durability::Full => SqliteSynchronous::Full,
            Durability::Normal => SqliteSynchronous::Normal,
            Durability::Off => SqliteSynchronous::Off,
        }
    }

    /// What the setting promises, in words, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Durability::Full => "sqlite WAL, synchronous=FULL: every commit is on disk before it is acknowledged",
            Durability::Normal => {
                "sqlite WAL, synchronous=NORMAL: commits survive a crash of the process, \
                 but the last ones may be lost on power failure"
            }
            Durability::Off => {
                "sqlite WAL, synchronous=OFF (benchmarks only): commits may be lost \
                 and the file damaged on power failure"
            }
        }
    }
}

impl Display for Durability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A durability name that is not `full`, `normal` or `off`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown durability {0:?}: expected full, normal or off")]
pub struct UnknownDurability(pub String);

impl FromStr for Durability {
    type Err = UnknownDurability;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [Durability::Full, Durability::Normal, Durability::Off]
            .into_iter()
            .find(|d| d.as_str() == text)
            .ok_or_else(|| UnknownDurability(text.to_owned()))
    }
}
