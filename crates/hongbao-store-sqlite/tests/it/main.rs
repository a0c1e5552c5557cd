//! The SQLite store's one integration-test binary: the shared store contract on a new database
//! file per test, and what only SQLite has (its pragmas, its migrations, its foreign keys).

mod contract;
mod sqlite;

use hongbao_store_sqlite::{Durability, SqliteStore};
use tempfile::TempDir;

/// A new store in a new temporary directory, which lives as long as the returned guard.
pub async fn fresh_store() -> (SqliteStore, TempDir) {
    fresh_store_with(Durability::Full).await
}

pub async fn fresh_store_with(durability: Durability) -> (SqliteStore, TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(&dir.path().join("hongbao.db"), durability).await.expect("a new store opens");
    (store, dir)
}
