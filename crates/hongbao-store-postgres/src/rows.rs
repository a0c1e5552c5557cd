//! Rows to entities and back: the one place that knows how a column encodes a value.
//!
//! Reading is strict. A value that does not decode (a NULL where one is not allowed, an enum
//! text this version does not know, a count out of range) is [`StoreError::Corrupt`] naming the
//! table, the row and the column, never a default. JSON columns (`jsonb`) are selected as text
//! (`::text`) and decoded here, so the store needs no JSON support from the driver.

use std::fmt::Display;
use std::sync::Arc;

use hongbao_core::event::Event;
use hongbao_core::fairness::Salt;
use hongbao_core::ledger::{Account, Balances, PendingStatus, PendingTransfer, Phase, Transfer};
use hongbao_core::packet::{Audience, Claim, Packet};
use hongbao_core::principal::{Owner, Principal, Role, Secret};
use hongbao_core::user::{Group, User};
use hongbao_core::{AccountId, ClaimId, Fen, GroupId, KeyId, PacketId, Timestamp, TransferId, UserId};
use hongbao_store::{CheckpointRow, IdempotencyRecord, LogRow, StoreError};
use serde::de::DeserializeOwned;
use sqlx::postgres::PgRow;
use sqlx::{Decode, Postgres, Row as _, Type};
use uuid::Uuid;

// The columns each decoder below reads (by name), as macros so that `concat!` builds every
// query as a `&'static str` that selects exactly those.
macro_rules! user_columns {
    () => {
        "id, name, status, created_at"
    };
}
macro_rules! account_columns {
    () => {
        "id, kind, debits_posted, credits_posted, debits_pending, credits_pending, frozen"
    };
}
macro_rules! group_columns {
    () => {
        "id, name, owner, created_at"
    };
}
macro_rules! packet_columns {
    () => {
        "id, kind, sender, group_id, recipient, total, shares, greeting, arrival_delay_s, created_at, expires_at, \
         status, claimed_count, claimed_amount, touched, salt"
    };
}
macro_rules! claim_columns {
    () => {
        "c.id AS id, c.packet_id AS packet_id, c.user_id AS user_id, c.seq AS seq, c.amount AS amount, \
         c.claimed_at AS claimed_at, c.status AS status, c.arrives_at AS arrives_at, c.transfer_id AS transfer_id"
    };
}
/// Qualified with `t.` because transfers are joined with their pending record.
macro_rules! transfer_columns {
    () => {
        "t.id AS id, t.debit AS debit, t.credit AS credit, t.amount AS amount, t.kind AS kind, t.phase AS phase, \
         t.deadline AS deadline, t.pending_id AS pending_id, t.packet_id AS packet_id, t.claim_id AS claim_id, \
         t.note AS note, t.created_at AS created_at"
    };
}
macro_rules! principal_columns {
    () => {
        "key_id, secret, user_id, operator_name, roles::text AS roles, created_at"
    };
}
macro_rules! idempotency_columns {
    () => {
        "principal, key, fingerprint, outcome, created_at"
    };
}
macro_rules! log_columns {
    () => {
        "idx, entry, transfer_id, packet_id"
    };
}
macro_rules! checkpoint_columns {
    () => {
        "size, note, created_at"
    };
}

/// One row being decoded, with what is needed to say precisely which value is bad.
pub(crate) struct Row<'r> {
    row: &'r PgRow,
    table: &'static str,
    id: Option<String>,
}

impl<'r> Row<'r> {
    pub(crate) fn new(row: &'r PgRow, table: &'static str) -> Row<'r> {
        Row { row, table, id: None }
    }

    fn fail(&self, column: &str, why: impl Display) -> StoreError {
        match &self.id {
            Some(id) => StoreError::Corrupt(format!("{}.{column} of row {id}: {why}", self.table)),
            None => StoreError::Corrupt(format!("{}.{column}: {why}", self.table)),
        }
    }

    fn get<T: Decode<'r, Postgres> + Type<Postgres>>(&self, column: &str) -> Result<T, StoreError> {
        self.row.try_get(column).map_err(|e| self.fail(column, e))
    }

    /// Reads the row's key and remembers it for the messages of later columns.
    fn key(&mut self, column: &str) -> Result<Uuid, StoreError> {
        let id = self.uuid(column)?;
        self.id = Some(id.to_string());
        Ok(id)
    }

    fn uuid(&self, column: &str) -> Result<Uuid, StoreError> {
        self.get(column)
    }

    fn opt_uuid(&self, column: &str) -> Result<Option<Uuid>, StoreError> {
        self.get(column)
    }

    fn int(&self, column: &str) -> Result<i64, StoreError> {
        self.get(column)
    }

    fn time(&self, column: &str) -> Result<Timestamp, StoreError> {
        self.int(column).map(Timestamp::from_millis)
    }

    fn opt_time(&self, column: &str) -> Result<Option<Timestamp>, StoreError> {
        Ok(self.get::<Option<i64>>(column)?.map(Timestamp::from_millis))
    }

    fn fen(&self, column: &str) -> Result<Fen, StoreError> {
        self.int(column).map(Fen::new)
    }

    fn count(&self, column: &str) -> Result<u32, StoreError> {
        let value = self.int(column)?;
        u32::try_from(value).map_err(|_| self.fail(column, format_args!("{value} is not a count")))
    }

    /// A count or position that is never negative.
    fn unsigned(&self, column: &str) -> Result<u64, StoreError> {
        let value = self.int(column)?;
        u64::try_from(value).map_err(|_| self.fail(column, format_args!("{value} is negative")))
    }

    /// A fixed-size byte string, such as a hash or a salt.
    fn bytes32(&self, column: &str) -> Result<Option<[u8; 32]>, StoreError> {
        let Some(bytes) = self.get::<Option<Vec<u8>>>(column)? else { return Ok(None) };
        let len = bytes.len();
        <[u8; 32]>::try_from(bytes).map(Some).map_err(|_| self.fail(column, format_args!("{len} bytes, not 32")))
    }

    fn flag(&self, column: &str) -> Result<bool, StoreError> {
        self.get(column)
    }

    fn text(&self, column: &str) -> Result<String, StoreError> {
        self.get(column)
    }

    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        self.get(column)
    }

    /// An enum stored as its `as_str()` text. Decoded through serde, whose snake_case names are
    /// the same texts, so a variant added to the core is readable without a change here.
    fn variant<T: DeserializeOwned>(&self, column: &str) -> Result<T, StoreError> {
        let text = self.text(column)?;
        serde_json::from_value(serde_json::Value::String(text.clone()))
            .map_err(|_| self.fail(column, format_args!("unknown value {text:?}")))
    }
}

pub(crate) fn user(row: &PgRow) -> Result<User, StoreError> {
    let mut r = Row::new(row, "users");
    Ok(User {
        id: UserId::from_uuid(r.key("id")?),
        name: r.text("name")?,
        status: r.variant("status")?,
        created_at: r.time("created_at")?,
    })
}

pub(crate) fn account(row: &PgRow) -> Result<Account, StoreError> {
    let mut r = Row::new(row, "accounts");
    let id = AccountId::from_uuid(r.key("id")?);
    let balances = Balances {
        debits_posted: r.fen("debits_posted")?,
        credits_posted: r.fen("credits_posted")?,
        debits_pending: r.fen("debits_pending")?,
        credits_pending: r.fen("credits_pending")?,
        frozen: r.fen("frozen")?,
    };
    Ok(Account::restore(id, r.variant("kind")?, balances))
}

/// A group without its members, which live in their own table.
pub(crate) fn group(row: &PgRow) -> Result<Group, StoreError> {
    let mut r = Row::new(row, "groups");
    Ok(Group {
        id: GroupId::from_uuid(r.key("id")?),
        name: r.text("name")?,
        owner: UserId::from_uuid(r.uuid("owner")?),
        members: Vec::new(),
        created_at: r.time("created_at")?,
    })
}

/// One `(group_id, user_id)` row of `group_members`.
pub(crate) fn member(row: &PgRow) -> Result<(GroupId, UserId), StoreError> {
    let mut r = Row::new(row, "group_members");
    let group = GroupId::from_uuid(r.key("group_id")?);
    Ok((group, UserId::from_uuid(r.uuid("user_id")?)))
}

pub(crate) fn packet(row: &PgRow) -> Result<Packet, StoreError> {
    let mut r = Row::new(row, "packets");
    let id = PacketId::from_uuid(r.key("id")?);
    let audience = match (r.opt_uuid("group_id")?, r.opt_uuid("recipient")?) {
        (Some(group), None) => Audience::Group(GroupId::from_uuid(group)),
        (None, Some(user)) => Audience::Recipient(UserId::from_uuid(user)),
        (group, recipient) => {
            return Err(r.fail(
                "group_id",
                format_args!("a packet needs a group or a recipient, not group {group:?} and recipient {recipient:?}"),
            ));
        }
    };
    let shares: Vec<Option<i64>> = r.get("shares")?;
    let shares = shares
        .into_iter()
        .map(|share| share.map(Fen::new).ok_or_else(|| r.fail("shares", "a NULL share")))
        .collect::<Result<Arc<[Fen]>, _>>()?;
    Ok(Packet {
        id,
        kind: r.variant("kind")?,
        sender: UserId::from_uuid(r.uuid("sender")?),
        audience,
        total: r.fen("total")?,
        shares,
        greeting: r.text("greeting")?,
        arrival_delay_s: r.count("arrival_delay_s")?,
        created_at: r.time("created_at")?,
        expires_at: r.time("expires_at")?,
        status: r.variant("status")?,
        claimed_count: r.count("claimed_count")?,
        claimed_amount: r.fen("claimed_amount")?,
        touched: r.flag("touched")?,
        salt: r.bytes32("salt")?.map(Salt),
    })
}

/// A packet's shares as a PostgreSQL array literal, `{100,250,…}`: bound as text and cast to
/// `bigint[]`, because a batch's packets are bound as one array per column and an array of
/// arrays would be flattened.
pub(crate) fn shares_literal(packet: &Packet) -> String {
    let fen: Vec<String> = packet.shares.iter().map(|s| s.get().to_string()).collect();
    format!("{{{}}}", fen.join(","))
}

pub(crate) fn claim(row: &PgRow) -> Result<Claim, StoreError> {
    let mut r = Row::new(row, "claims");
    Ok(Claim {
        id: ClaimId::from_uuid(r.key("id")?),
        packet_id: PacketId::from_uuid(r.uuid("packet_id")?),
        user_id: UserId::from_uuid(r.uuid("user_id")?),
        seq: r.count("seq")?,
        amount: r.fen("amount")?,
        claimed_at: r.time("claimed_at")?,
        status: r.variant("status")?,
        arrives_at: r.time("arrives_at")?,
        transfer_id: TransferId::from_uuid(r.uuid("transfer_id")?),
    })
}

/// How a [`Phase`] is stored: its name, the deadline of a pending transfer, and the transfer a
/// resolution resolves.
pub(crate) fn phase_columns(phase: Phase) -> (&'static str, Option<i64>, Option<Uuid>) {
    match phase {
        Phase::Posted => ("posted", None, None),
        Phase::Pending { deadline } => ("pending", Some(deadline.millis()), None),
        Phase::PostPending { pending_id } => ("post_pending", None, Some(pending_id.uuid())),
        Phase::VoidPending { pending_id } => ("void_pending", None, Some(pending_id.uuid())),
    }
}

pub(crate) fn transfer(row: &PgRow) -> Result<Transfer, StoreError> {
    transfer_in(&mut Row::new(row, "transfers"))
}

fn transfer_in(r: &mut Row<'_>) -> Result<Transfer, StoreError> {
    let id = TransferId::from_uuid(r.key("id")?);
    let name = r.text("phase")?;
    let deadline = r.opt_time("deadline")?;
    let pending_id = r.opt_uuid("pending_id")?.map(TransferId::from_uuid);
    let phase = match (name.as_str(), deadline, pending_id) {
        ("posted", None, None) => Phase::Posted,
        ("pending", Some(deadline), None) => Phase::Pending { deadline },
        ("post_pending", None, Some(pending_id)) => Phase::PostPending { pending_id },
        ("void_pending", None, Some(pending_id)) => Phase::VoidPending { pending_id },
        _ => {
            return Err(r.fail(
                "phase",
                format_args!("phase {name:?} does not fit deadline {deadline:?} and pending_id {pending_id:?}"),
            ));
        }
    };
    Ok(Transfer {
        id,
        debit: AccountId::from_uuid(r.uuid("debit")?),
        credit: AccountId::from_uuid(r.uuid("credit")?),
        amount: r.fen("amount")?,
        kind: r.variant("kind")?,
        phase,
        packet_id: r.opt_uuid("packet_id")?.map(PacketId::from_uuid),
        claim_id: r.opt_uuid("claim_id")?.map(ClaimId::from_uuid),
        note: r.opt_text("note")?,
        created_at: r.time("created_at")?,
    })
}

/// A pending record joined with its transfer: `transfer_columns!()` plus `pending_status` and
/// `resolved_at`.
pub(crate) fn pending(row: &PgRow) -> Result<PendingTransfer, StoreError> {
    let mut r = Row::new(row, "pendings");
    let transfer = transfer_in(&mut r)?;
    if !matches!(transfer.phase, Phase::Pending { .. }) {
        return Err(r.fail("transfer_id", "the pending record wraps a transfer that is not pending"));
    }
    Ok(PendingTransfer { transfer, status: r.variant("pending_status")?, resolved_at: r.opt_time("resolved_at")? })
}

/// A principal. Failures name the key id and the column, never the secret: its column only
/// fails to decode as a type mismatch or a NULL, and those messages carry no value.
pub(crate) fn principal(row: &PgRow) -> Result<Principal, StoreError> {
    let mut r = Row::new(row, "principals");
    let key_id = KeyId::from_uuid(r.key("key_id")?);
    let secret = Secret::from_stored(r.text("secret")?);
    let roles_json = r.text("roles")?;
    let roles: Vec<Role> = serde_json::from_str(&roles_json)
        .map_err(|_| r.fail("roles", format_args!("{roles_json:?} is not a JSON array of role names")))?;
    let owner = match (r.opt_uuid("user_id")?, r.opt_text("operator_name")?) {
        (Some(user), None) if roles.is_empty() => Owner::User { user_id: UserId::from_uuid(user) },
        (Some(_), None) => return Err(r.fail("roles", format_args!("a user's key has roles {roles_json}"))),
        (None, Some(name)) => Owner::Operator { name, roles },
        (user, name) => {
            return Err(r.fail(
                "user_id",
                format_args!("a key needs a user or an operator name, not user {user:?} and name {name:?}"),
            ));
        }
    };
    Ok(Principal { key_id, secret, owner, created_at: r.time("created_at")? })
}

/// How an owner is stored: `(user_id, operator_name, roles)`, the roles as the JSON text of the
/// array of their names (cast to `jsonb` by the insert). Built as a JSON value because a list of
/// names cannot fail to encode, and a serializer's error path would need a meaningless branch.
pub(crate) fn owner_columns(owner: &Owner) -> (Option<Uuid>, Option<&str>, String) {
    match owner {
        Owner::User { user_id } => (Some(user_id.uuid()), None, "[]".to_owned()),
        Owner::Operator { name, roles } => {
            let names = roles.iter().map(|role| serde_json::Value::from(role.as_str())).collect();
            (None, Some(name.as_str()), serde_json::Value::Array(names).to_string())
        }
    }
}

pub(crate) fn idempotency(row: &PgRow) -> Result<IdempotencyRecord, StoreError> {
    let r = Row::new(row, "idempotency");
    let Some(fingerprint) = r.bytes32("fingerprint")? else {
        return Err(r.fail("fingerprint", "NULL where a value is required"));
    };
    Ok(IdempotencyRecord {
        principal: r.text("principal")?,
        key: r.text("key")?,
        fingerprint,
        outcome: r.text("outcome")?,
        created_at: r.time("created_at")?,
    })
}

/// The status column of a history row: `None` when the transfer has no pending record.
pub(crate) fn opt_pending_status(row: &PgRow) -> Result<Option<PendingStatus>, StoreError> {
    let r = Row::new(row, "pendings");
    match r.opt_text("pending_status")? {
        None => Ok(None),
        Some(_) => r.variant("pending_status").map(Some),
    }
}

/// The `idx` of a log entry, alone.
pub(crate) fn log_index(row: &PgRow) -> Result<u64, StoreError> {
    Row::new(row, "log_entries").unsigned("idx")
}

pub(crate) fn log_row(row: &PgRow) -> Result<LogRow, StoreError> {
    let mut r = Row::new(row, "log_entries");
    let index = r.unsigned("idx")?;
    r.id = Some(index.to_string());
    Ok(LogRow {
        index,
        entry: r.get("entry")?,
        transfer_id: r.opt_uuid("transfer_id")?.map(TransferId::from_uuid),
        packet_id: r.opt_uuid("packet_id")?.map(PacketId::from_uuid),
    })
}

pub(crate) fn checkpoint(row: &PgRow) -> Result<CheckpointRow, StoreError> {
    let mut r = Row::new(row, "checkpoints");
    let size = r.unsigned("size")?;
    r.id = Some(size.to_string());
    Ok(CheckpointRow { size, note: r.text("note")?, created_at: r.time("created_at")? })
}

/// A stored event: its JSON body (selected as `body::text AS body`), decoded. `seq` names the
/// row in the message of a body that does not decode.
pub(crate) fn event(row: &PgRow) -> Result<Event, StoreError> {
    let mut r = Row::new(row, "events");
    r.id = Some(r.int("seq")?.to_string());
    let body = r.text("body")?;
    serde_json::from_str(&body).map_err(|e| r.fail("body", format_args!("not an event: {e}")))
}

/// A `uuid` column named `column` of a row of `table`, alone (for the jobs' work lists).
pub(crate) fn id(row: &PgRow, table: &'static str, column: &str) -> Result<Uuid, StoreError> {
    Row::new(row, table).uuid(column)
}
