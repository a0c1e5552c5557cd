//! The backend-independent store contract, run on PostgreSQL (skipped without a server, see the
//! crate's test binary).

hongbao_store::contract_tests!(optional crate::fresh_store);
