//! Integration tests of `hongbao-core`, in one binary so linking stays fast.
//!
//! - `anomaly`: the `anomaly_receipts_new_region` rule at its thresholds, in either order;
//! - `authority`: who may issue each command and read the log, as a table;
//! - `sim`: a seeded simulation of every command against a fake clock, invariants after each step;
//! - `recall`: the recall policy of docs/DESIGN.md as a table;
//! - `bad_input`: every malformed request is refused with its typed error and changes nothing;
//! - `reports`: fraud reports, the `fraud_reports` rule at its threshold, closing a case;
//! - `returns`: return requests: asked, given back (always to the payer), partial, expiring;
//! - `scenarios`: delayed arrival, revoking, returning, expiry, best luck, a crowd on one packet.

mod anomaly;
mod authority;
mod bad_input;
mod recall;
mod reports;
mod returns;
mod scenarios;
mod sim;
mod support;
