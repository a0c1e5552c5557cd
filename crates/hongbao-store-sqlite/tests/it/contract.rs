//! The backend-independent store contract, run on SQLite.

hongbao_store::contract_tests!(crate::fresh_store);
