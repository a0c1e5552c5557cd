//! How the store uses the server ([`PostgresOptions`]) and what it does about the schema
//! ([`Schema`]).

use std::fmt::{self, Display};

use serde::{Deserialize, Serialize};

/// What [`PostgresStore::connect`] does about the schema.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schema {
    /// Bring the schema up to date (what `hongbao migrate` does), under the migration lock. The
    /// default.
    #[default]
    Migrate,
    /// Only check that every migration of this version is applied, and refuse to start
    /// otherwise: for deployments that migrate as a separate step, with other rights.
    Verify,
}

impl Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Schema::Migrate => "migrate",
            Schema::Verify => "verify",
        })
    }
}

/// How the store uses the server: its pool and its bounds. Every field has a default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostgresOptions {
    /// Connections this node opens at most: one for its writer (the engine's batches), the
    /// others for reads (the API, the log's catch-up while a batch is open) and single statements.
    pub connections_max: u32,
    /// How long a request waits for a connection before failing with
    /// [`StoreError::Unavailable`]. Short, so that an outage is an error at once, not a hang.
    pub acquire_timeout_ms: u64,
    /// The longest a statement may run, waiting for a lock included (PostgreSQL's
    /// `statement_timeout`); past it the statement fails and its batch is rolled back.
    pub statement_timeout_ms: u64,
    /// The longest a transaction may sit idle (`idle_in_transaction_session_timeout`): a node
    /// that stalls mid-batch then loses its locks instead of blocking every other node.
    pub idle_in_transaction_timeout_ms: u64,
    pub schema: Schema,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            connections_max: 10,
            acquire_timeout_ms: 2_000,
            statement_timeout_ms: 30_000,
            idle_in_transaction_timeout_ms: 60_000,
            schema: Schema::Migrate,
        }
    }
}

/// An option of [`PostgresOptions`] that cannot work.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid PostgreSQL option {field}: {why}")]
pub struct InvalidOption {
    pub field: &'static str,
    pub why: &'static str,
}

impl PostgresOptions {
    /// Checks every bound is usable: at least two connections, and every timeout at least 1 ms
    /// (PostgreSQL reads 0 as "no limit", and every wait needs one) and at most `i32::MAX` ms.
    ///
    /// # Errors
    /// [`InvalidOption`] naming the first field that is not.
    pub fn validate(&self) -> Result<(), InvalidOption> {
        let fail = |field, why| Err(InvalidOption { field, why });
        if self.connections_max < 2 {
            // The engine's write transaction holds the writer's while it reads the log through another.
            return fail("connections_max", "at least two connections are needed: the writer's, and one to read with");
        }
        for (field, value) in [
            ("acquire_timeout_ms", self.acquire_timeout_ms),
            ("statement_timeout_ms", self.statement_timeout_ms),
            ("idle_in_transaction_timeout_ms", self.idle_in_transaction_timeout_ms),
        ] {
            if value == 0 {
                return fail(field, "0 would mean waiting forever: give a bound in milliseconds");
            }
            if i32::try_from(value).is_err() {
                return fail(field, "PostgreSQL takes at most 2147483647 ms");
            }
        }
        Ok(())
    }
}
