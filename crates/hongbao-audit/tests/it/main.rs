//! One integration-test binary for hongbao-audit, so the crate links once.

mod common;
mod cross_check;
mod note;
mod proof_text;
mod receipt;
mod tree;
mod vectors;
