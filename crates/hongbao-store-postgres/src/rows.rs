//! Rows to entities and back: the one place that knows how a column encodes a value.
//!
//! Reading is strict. A value that does not decode (a NULL where one is not allowed, an enum
//! text this version does not know, a count out of range) is [`StoreError::Corrupt`] naming the
//! table, the row and the column, never a default. JSON columns (`jsonb`) are selected as text
//! (`::text`) and decoded here, so the store needs no JSON support from the driver.

use std::sync::Arc;

use hongbao_core::Fen;
use hongbao_core::packet::Packet;
use hongbao_store::StoreError;
use hongbao_store::columns::Columns;
pub(crate) use hongbao_store::columns::{owner_columns, phase_columns};
use sqlx::Postgres;
use sqlx::postgres::PgRow;
use uuid::Uuid;

// The columns of the decoders whose queries differ by dialect, as macros so that `concat!` builds
// every query as a `&'static str`; the other tables' lists are `hongbao_store::columns`'.
macro_rules! claim_columns {
    () => {
        "c.id AS id, c.packet_id AS packet_id, c.user_id AS user_id, c.seq AS seq, c.amount AS amount, \
         c.claimed_at AS claimed_at, c.status AS status, c.arrives_at AS arrives_at, c.transfer_id AS transfer_id"
    };
}
macro_rules! principal_columns {
    () => {
        "key_id, secret, user_id, operator_name, roles::text AS roles, created_at"
    };
}

hongbao_store::driver_row!(PgRow, Postgres, {
    fn shares(&self, column: &str) -> Result<Arc<[Fen]>, StoreError> {
        let shares: Vec<Option<i64>> = self.get(column)?;
        shares.into_iter().map(|share| share.map(Fen::new).ok_or_else(|| self.fail(column, "a NULL share"))).collect()
    }

    fn flag(&self, column: &str) -> Result<bool, StoreError> {
        self.get(column)
    }
});

hongbao_store::decoders!(PgRow, Row::new);

/// A packet's shares as a PostgreSQL array literal, `{100,250,…}`: bound as text and cast to
/// `bigint[]`, because a batch's packets are bound as one array per column and an array of
/// arrays would be flattened.
pub(crate) fn shares_literal(packet: &Packet) -> String {
    let fen: Vec<String> = packet.shares.iter().map(|s| s.get().to_string()).collect();
    format!("{{{}}}", fen.join(","))
}

/// A `uuid` column named `column` of a row of `table`, alone (for the jobs' work lists).
pub(crate) fn id(row: &PgRow, table: &'static str, column: &str) -> Result<Uuid, StoreError> {
    Row::new(row, table).uuid(column)
}
