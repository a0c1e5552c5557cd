//! `hongbao check`: every invariant of DESIGN.md against what a store holds.

use std::fmt;

use hongbao_core::invariants::{self, Violation};
use hongbao_core::ops::Reply;
use hongbao_core::{CoreError, Limits, World};
use hongbao_store::{Store, StoreError};

/// What the check found.
#[derive(Clone, Debug, Default)]
pub struct CheckReport {
    pub backend: &'static str,
    pub users: usize,
    pub accounts: usize,
    pub packets: usize,
    pub claims: usize,
    pub transfers: usize,
    pub events: u64,
    pub idempotency_records: usize,
    pub violations: Vec<Violation>,
}

impl CheckReport {
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "checked {} store: {} users, {} accounts, {} packets, {} claims, {} transfers, {} events, {} idempotency records",
            self.backend,
            self.users,
            self.accounts,
            self.packets,
            self.claims,
            self.transfers,
            self.events,
            self.idempotency_records
        )?;
        if self.violations.is_empty() {
            return write!(f, "all five invariants hold");
        }
        writeln!(f, "{} violation(s):", self.violations.len())?;
        for violation in &self.violations {
            writeln!(f, "  - {violation}")?;
        }
        Ok(())
    }
}

/// Loads everything from `store` and checks the five invariants: double entry (against the
/// transfers, independently of the stored totals), no negative wallet, escrow equal to what is
/// unclaimed, shares and claims that add up, and every stored idempotent answer backed by
/// what it names.
///
/// # Errors
/// [`StoreError`] when the store cannot be read.
pub async fn check(store: &dyn Store, limits: &Limits) -> Result<CheckReport, StoreError> {
    let dump = store.dump().await?;
    let world = World::complete_from(dump.facts);
    let mut violations = invariants::check(&world, limits);
    let mut replies = Vec::new();
    for record in &dump.idempotency {
        match serde_json::from_str::<Result<Reply, CoreError>>(&record.outcome) {
            Ok(Ok(reply)) => replies.push(reply),
            Ok(Err(_)) => {}
            Err(err) => violations.push(Violation {
                invariant: 5,
                message: format!(
                    "the stored answer for key {:?} of {} is unreadable: {err}",
                    record.key, record.principal
                ),
            }),
        }
    }
    violations.extend(invariants::check_replies(&world, &replies));
    Ok(CheckReport {
        backend: store.backend(),
        users: world.users().count(),
        accounts: world.accounts().count(),
        packets: world.packets().count(),
        claims: world.claims().count(),
        transfers: world.transfers().count(),
        events: dump.events,
        idempotency_records: dump.idempotency.len(),
        violations,
    })
}
