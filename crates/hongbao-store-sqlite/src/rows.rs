//! Rows to entities and back: the one place that knows how a column encodes a value.
//!
//! Reading is strict. A value that does not decode (a NULL where one is not allowed, a blob that
//! is not a UUID, an enum text this version does not know, a count out of range) is
//! [`StoreError::Corrupt`] naming the table, the row and the column, never a default.

use std::sync::Arc;

use hongbao_core::Fen;
use hongbao_core::packet::Packet;
use hongbao_store::StoreError;
pub(crate) use hongbao_store::columns::{owner_columns, phase_columns};
use sqlx::Sqlite;
use sqlx::sqlite::SqliteRow;

// The columns of the decoders whose queries differ by dialect, as macros so that `concat!` builds
// every query as a `&'static str`; the other tables' lists are `hongbao_store::columns`'.
macro_rules! claim_columns {
    () => {
        "id, packet_id, user_id, seq, amount, claimed_at, status, arrives_at, transfer_id"
    };
}
macro_rules! principal_columns {
    () => {
        "key_id, secret, user_id, operator_name, roles, created_at"
    };
}

hongbao_store::driver_row!(SqliteRow, Sqlite, {
    fn shares(&self, column: &str) -> Result<Arc<[Fen]>, StoreError> {
        let json = self.text(column)?;
        let shares: Vec<i64> =
            serde_json::from_str(&json).map_err(|e| self.fail(column, format_args!("not a JSON array of fen: {e}")))?;
        Ok(shares.into_iter().map(Fen::new).collect())
    }

    /// A flag stored as 0 or 1.
    fn flag(&self, column: &str) -> Result<bool, StoreError> {
        match self.int(column)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(self.fail(column, format_args!("{other} is not 0 or 1"))),
        }
    }
});

hongbao_store::decoders!(SqliteRow, Row::new);

/// The JSON text of a packet's shares, `[100,250,…]`. Written by hand because a list of
/// integers cannot fail to encode, and a serializer's error path would need a meaningless branch.
pub(crate) fn shares_json(packet: &Packet) -> String {
    let fen: Vec<String> = packet.shares.iter().map(|s| s.get().to_string()).collect();
    format!("[{}]", fen.join(","))
}
