//! Rows to entities, once for every SQL store: the decoders read a row through [`Columns`],
//! which each backend implements over its driver's row type for the few kinds of value it
//! stores differently (a uuid, a flag, a packet's shares); everything built on those — times,
//! amounts, counts, enum texts, and the checks that make a row whole — is here.
//!
//! Reading is strict. A value that does not decode (a NULL where one is not allowed, an enum
//! text this version does not know, a count out of range) is [`StoreError::Corrupt`] naming the
//! table, the row and the column, never a default. Messages about a principal never carry its
//! secret. [`decoders!`](crate::decoders) gives a backend one `fn(&Row) -> Result<T>` per
//! entity, each naming its table.

use std::fmt::Display;
use std::sync::Arc;

use hongbao_core::case::{Case, Report};
use hongbao_core::document::Document;
use hongbao_core::event::Event;
use hongbao_core::evidence::EvidenceFile;
use hongbao_core::fairness::Salt;
use hongbao_core::freeze::{Freeze, FreezeTally};
use hongbao_core::ledger::{Account, Balances, PendingStatus, PendingTransfer, Phase, Transfer};
use hongbao_core::packet::{Audience, Claim, Packet};
use hongbao_core::principal::{Owner, Principal, Role, Secret};
use hongbao_core::returns::ReturnRequest;
use hongbao_core::seizure::{Seizure, SeizureTarget};
use hongbao_core::signal::Logins;
use hongbao_core::user::{Group, User};
use hongbao_core::{
    AccountId, ClaimId, DocumentId, EvidenceId, Fen, FreezeId, GroupId, KeyId, PacketId, SeizureId, Timestamp,
    TransferId, UserId,
};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{CheckpointRow, IdempotencyRecord, LogRow, NonceRecord, StoreError};

/// Which row is being read: its table and, once its key is read, the key, for the messages.
#[derive(Debug)]
pub struct Place {
    table: &'static str,
    id: Option<String>,
}

impl Place {
    pub fn new(table: &'static str) -> Place {
        Place { table, id: None }
    }

    /// The error for a bad value of `column` of this row.
    pub fn fail(&self, column: &str, why: impl Display) -> StoreError {
        match &self.id {
            Some(id) => StoreError::Corrupt(format!("{}.{column} of row {id}: {why}", self.table)),
            None => StoreError::Corrupt(format!("{}.{column}: {why}", self.table)),
        }
    }
}

/// One row being decoded. A backend implements the values its driver reads (each failing with
/// [`Place::fail`]); the rest is derived from them.
pub trait Columns {
    fn place(&self) -> &Place;
    fn place_mut(&mut self) -> &mut Place;
    fn uuid(&self, column: &str) -> Result<Uuid, StoreError>;
    fn opt_uuid(&self, column: &str) -> Result<Option<Uuid>, StoreError>;
    fn int(&self, column: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError>;
    fn flag(&self, column: &str) -> Result<bool, StoreError>;
    fn text(&self, column: &str) -> Result<String, StoreError>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError>;
    fn bytes(&self, column: &str) -> Result<Vec<u8>, StoreError>;
    fn opt_bytes(&self, column: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// A packet's shares, as the backend stores a list of amounts.
    fn shares(&self, column: &str) -> Result<Arc<[Fen]>, StoreError>;

    fn fail(&self, column: &str, why: impl Display) -> StoreError {
        self.place().fail(column, why)
    }

    /// Names the row in the messages of later columns.
    fn name_row(&mut self, id: String) {
        self.place_mut().id = Some(id);
    }

    /// Reads the row's key and remembers it for the messages of later columns.
    fn key(&mut self, column: &str) -> Result<Uuid, StoreError> {
        let id = self.uuid(column)?;
        self.name_row(id.to_string());
        Ok(id)
    }

    fn time(&self, column: &str) -> Result<Timestamp, StoreError> {
        self.int(column).map(Timestamp::from_millis)
    }

    fn opt_time(&self, column: &str) -> Result<Option<Timestamp>, StoreError> {
        Ok(self.opt_int(column)?.map(Timestamp::from_millis))
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
        let Some(bytes) = self.opt_bytes(column)? else { return Ok(None) };
        let len = bytes.len();
        <[u8; 32]>::try_from(bytes).map(Some).map_err(|_| self.fail(column, format_args!("{len} bytes, not 32")))
    }

    /// An enum stored as its `as_str()` text. Decoded through serde, whose snake_case names are
    /// the same texts, so a variant added to the core is readable without a change here.
    fn variant<T: DeserializeOwned>(&self, column: &str) -> Result<T, StoreError> {
        let text = self.text(column)?;
        serde_json::from_value(serde_json::Value::String(text.clone()))
            .map_err(|_| self.fail(column, format_args!("unknown value {text:?}")))
    }
}

/// Defines, in a backend's `rows` module, `Row`: one row of its driver (`$row`, of the sqlx
/// database `$db`) being decoded, with its [`Place`], implementing [`Columns`] with the values
/// the driver reads as they are (uuids, integers, texts, bytes, and their NULLs). The backend
/// gives the rest of [`Columns`] (`shares` and `flag`, which each stores its own way) as
/// `$own`. The backend's crate must depend on `sqlx` and `uuid`.
#[macro_export]
macro_rules! driver_row {
    ($row:ty, $db:ty, { $($own:tt)* }) => {
        /// One row being decoded, with what is needed to say precisely which value is bad.
        pub(crate) struct Row<'r> {
            row: &'r $row,
            place: $crate::columns::Place,
        }

        impl<'r> Row<'r> {
            pub(crate) fn new(row: &'r $row, table: &'static str) -> Row<'r> {
                Row { row, place: $crate::columns::Place::new(table) }
            }

            fn get<T: ::sqlx::Decode<'r, $db> + ::sqlx::Type<$db>>(
                &self,
                column: &str,
            ) -> ::std::result::Result<T, $crate::StoreError> {
                ::sqlx::Row::try_get(self.row, column).map_err(|e| $crate::columns::Columns::fail(self, column, e))
            }
        }

        impl $crate::columns::Columns for Row<'_> {
            fn place(&self) -> &$crate::columns::Place {
                &self.place
            }

            fn place_mut(&mut self) -> &mut $crate::columns::Place {
                &mut self.place
            }

            $crate::driver_row!(@get self;
                uuid => ::uuid::Uuid,
                opt_uuid => ::std::option::Option<::uuid::Uuid>,
                int => i64,
                opt_int => ::std::option::Option<i64>,
                text => ::std::string::String,
                opt_text => ::std::option::Option<::std::string::String>,
                bytes => ::std::vec::Vec<u8>,
                opt_bytes => ::std::option::Option<::std::vec::Vec<u8>>,
            );

            $($own)*
        }
    };
    (@get $self:ident; $($name:ident => $out:ty,)*) => {
        $(
            fn $name(&$self, column: &str) -> ::std::result::Result<$out, $crate::StoreError> {
                $self.get(column)
            }
        )*
    };
}

/// Defines, in a backend's `rows` module, one `pub(crate) fn NAME(row: &$row) -> Result<T,
/// StoreError>` per decoder of this module, reading through `$new(row, table)`.
#[macro_export]
macro_rules! decoders {
    ($row:ty, $new:path) => {
        $crate::decoders!(@each $row, $new;
            user "users" => ::hongbao_core::user::User,
            account "accounts" => ::hongbao_core::ledger::Account,
            group "groups" => ::hongbao_core::user::Group,
            member "group_members" => (::hongbao_core::GroupId, ::hongbao_core::UserId),
            packet "packets" => ::hongbao_core::packet::Packet,
            claim "claims" => ::hongbao_core::packet::Claim,
            transfer "transfers" => ::hongbao_core::ledger::Transfer,
            pending "pendings" => ::hongbao_core::ledger::PendingTransfer,
            principal "principals" => ::hongbao_core::principal::Principal,
            idempotency "idempotency" => $crate::IdempotencyRecord,
            opt_pending_status "pendings" => ::std::option::Option<::hongbao_core::ledger::PendingStatus>,
            log_index "log_entries" => u64,
            log_row "log_entries" => $crate::LogRow,
            checkpoint "checkpoints" => $crate::CheckpointRow,
            event "events" => ::hongbao_core::event::Event,
            nonce "nonces" => $crate::NonceRecord,
            stored_secret "principals" => (::hongbao_core::KeyId, ::std::string::String),
            evidence "evidence" => ::hongbao_core::evidence::EvidenceFile,
            document "documents" => ::hongbao_core::document::Document,
            freeze "freezes" => ::hongbao_core::freeze::Freeze,
            seizure "seizures" => ::hongbao_core::seizure::Seizure,
            report "reports" => ::hongbao_core::case::Report,
            case "cases" => ::hongbao_core::case::Case,
            return_request "return_requests" => ::hongbao_core::returns::ReturnRequest,
        );
    };
    (@each $row:ty, $new:path; $($name:ident $table:literal => $out:ty,)*) => {
        $(
            pub(crate) fn $name(row: &$row) -> ::std::result::Result<$out, $crate::StoreError> {
                $crate::columns::$name(&mut $new(row, $table))
            }
        )*
    };
}

pub fn user(r: &mut impl Columns) -> Result<User, StoreError> {
    Ok(User {
        id: UserId::from_uuid(r.key("id")?),
        name: r.text("name")?,
        status: r.variant("status")?,
        created_at: r.time("created_at")?,
        logins: match r.opt_text("logins")? {
            Some(text) => serde_json::from_str(&text).map_err(|e| r.fail("logins", e))?,
            None => Logins::default(),
        },
    })
}

pub fn account(r: &mut impl Columns) -> Result<Account, StoreError> {
    let id = AccountId::from_uuid(r.key("id")?);
    let balances = Balances {
        debits_posted: r.fen("debits_posted")?,
        credits_posted: r.fen("credits_posted")?,
        debits_pending: r.fen("debits_pending")?,
        credits_pending: r.fen("credits_pending")?,
        frozen: r.fen("frozen")?,
    };
    Ok(Account::restore(id, r.variant("kind")?, balances, r.flag("holding")?))
}

/// A freeze. Its documents are the JSON text of the array of their ids.
pub fn freeze(r: &mut impl Columns) -> Result<Freeze, StoreError> {
    let id = FreezeId::from_uuid(r.key("id")?);
    let documents_json = r.text("documents")?;
    let documents: Vec<DocumentId> = serde_json::from_str(&documents_json)
        .map_err(|_| r.fail("documents", format_args!("{documents_json:?} is not a JSON array of document ids")))?;
    Ok(Freeze {
        id,
        user_id: UserId::from_uuid(r.uuid("user_id")?),
        seq: r.count("seq")?,
        kind: r.variant("kind")?,
        amount: r.opt_int("amount")?.map(Fen::new),
        held: r.fen("held")?,
        status: r.variant("status")?,
        documents,
        reason: r.text("reason")?,
        major_case: r.flag("major_case")?,
        created_by: r.opt_uuid("created_by")?.map(KeyId::from_uuid),
        created_at: r.time("created_at")?,
        expires_at: r.opt_time("expires_at")?,
        renewals: r.count("renewals")?,
        ended_at: r.opt_time("ended_at")?,
        tally: FreezeTally {
            ever_held: r.fen("ever_held")?,
            released: r.fen("released")?,
            expired: r.fen("expired")?,
            seized: r.fen("seized")?,
            converted: r.fen("converted")?,
        },
    })
}

/// A proposed forced transfer; `to_user` NULL means out of the system.
pub fn seizure(r: &mut impl Columns) -> Result<Seizure, StoreError> {
    let id = SeizureId::from_uuid(r.key("id")?);
    let documents_json = r.text("documents")?;
    let documents: Vec<DocumentId> = serde_json::from_str(&documents_json)
        .map_err(|_| r.fail("documents", format_args!("{documents_json:?} is not a JSON array of document ids")))?;
    Ok(Seizure {
        id,
        freeze_id: FreezeId::from_uuid(r.uuid("freeze_id")?),
        user_id: UserId::from_uuid(r.uuid("user_id")?),
        amount: r.fen("amount")?,
        to: r.opt_uuid("to_user")?.map_or(SeizureTarget::External, |u| SeizureTarget::User(UserId::from_uuid(u))),
        reason: r.text("reason")?,
        documents,
        status: r.variant("status")?,
        proposed_by: KeyId::from_uuid(r.uuid("proposed_by")?),
        proposed_at: r.time("proposed_at")?,
        expires_at: r.time("expires_at")?,
        decided_by: r.opt_uuid("decided_by")?.map(KeyId::from_uuid),
        decided_at: r.opt_time("decided_at")?,
        transfer_id: r.opt_uuid("transfer_id")?.map(TransferId::from_uuid),
        rejection: r.opt_text("rejection")?,
    })
}

/// A report, kept whole as the JSON text of `body`; its other columns only index it.
pub fn report(r: &mut impl Columns) -> Result<Report, StoreError> {
    json_body(r, |report: &Report| report.id.uuid())
}

/// A case, kept whole as the JSON text of `body` (its items and timeline are lists that grow);
/// its other columns only index it.
pub fn case(r: &mut impl Columns) -> Result<Case, StoreError> {
    json_body(r, |case: &Case| case.id.uuid())
}

/// A return request, kept whole as the JSON text of `body` (its notes are a list that grows);
/// its other columns only index it.
pub fn return_request(r: &mut impl Columns) -> Result<ReturnRequest, StoreError> {
    json_body(r, |request: &ReturnRequest| request.id.uuid())
}

/// An entity stored as the JSON text of its `body`, which must be the row of its `id`.
fn json_body<T: DeserializeOwned>(r: &mut impl Columns, id_of: impl Fn(&T) -> Uuid) -> Result<T, StoreError> {
    let id = r.key("id")?;
    let body = r.text("body")?;
    let entity: T = serde_json::from_str(&body).map_err(|e| r.fail("body", e))?;
    if id_of(&entity) != id {
        return Err(r.fail("body", "is another row's"));
    }
    Ok(entity)
}

/// How a report, case or a user's logins is stored: the JSON text of the whole of it.
///
/// # Panics
/// Never: the entities serialize to JSON without fail (no maps with non-string keys).
pub fn json_text<T: serde::Serialize>(entity: &T) -> String {
    serde_json::to_string(entity).expect("a report, case or logins serializes")
}

/// How a user's logins are stored: the JSON text, or NULL when there are none (most users, and
/// every user before an app sends signals).
pub fn logins_json(user: &User) -> Option<String> {
    (!user.logins.is_empty()).then(|| json_text(&user.logins))
}

/// How a list of document ids is stored: the JSON text of the array.
pub fn ids_json(ids: &[DocumentId]) -> String {
    serde_json::Value::Array(ids.iter().map(|id| serde_json::Value::from(id.to_string())).collect()).to_string()
}

/// Where seized money goes, as stored: the user's id, or NULL for out of the system.
pub fn to_user(seizure: &Seizure) -> Option<Uuid> {
    match seizure.to {
        SeizureTarget::User(user) => Some(user.uuid()),
        SeizureTarget::External => None,
    }
}

/// How a freeze's documents are stored: the JSON text of the array of their ids.
pub fn documents_json(freeze: &Freeze) -> String {
    let ids = freeze.documents.iter().map(|id| serde_json::Value::from(id.to_string())).collect();
    serde_json::Value::Array(ids).to_string()
}

/// A group without its members, which live in their own table.
pub fn group(r: &mut impl Columns) -> Result<Group, StoreError> {
    Ok(Group {
        id: GroupId::from_uuid(r.key("id")?),
        name: r.text("name")?,
        owner: UserId::from_uuid(r.uuid("owner")?),
        members: Vec::new(),
        created_at: r.time("created_at")?,
    })
}

/// One `(group_id, user_id)` row of `group_members`.
pub fn member(r: &mut impl Columns) -> Result<(GroupId, UserId), StoreError> {
    let group = GroupId::from_uuid(r.key("group_id")?);
    Ok((group, UserId::from_uuid(r.uuid("user_id")?)))
}

pub fn packet(r: &mut impl Columns) -> Result<Packet, StoreError> {
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
    let shares = r.shares("shares")?;
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

pub fn claim(r: &mut impl Columns) -> Result<Claim, StoreError> {
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
pub fn phase_columns(phase: Phase) -> (&'static str, Option<i64>, Option<Uuid>) {
    match phase {
        Phase::Posted => ("posted", None, None),
        Phase::Pending { deadline } => ("pending", Some(deadline.millis()), None),
        Phase::PostPending { pending_id } => ("post_pending", None, Some(pending_id.uuid())),
        Phase::VoidPending { pending_id } => ("void_pending", None, Some(pending_id.uuid())),
    }
}

pub fn transfer(r: &mut impl Columns) -> Result<Transfer, StoreError> {
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
pub fn pending(r: &mut impl Columns) -> Result<PendingTransfer, StoreError> {
    let transfer = transfer(r)?;
    if !matches!(transfer.phase, Phase::Pending { .. }) {
        return Err(r.fail("transfer_id", "the pending record wraps a transfer that is not pending"));
    }
    Ok(PendingTransfer { transfer, status: r.variant("pending_status")?, resolved_at: r.opt_time("resolved_at")? })
}

/// A principal. Failures name the key id and the column, never the secret: its column only
/// fails to decode as a type mismatch or a NULL, and those messages carry no value.
pub fn principal(r: &mut impl Columns) -> Result<Principal, StoreError> {
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
/// array of their names. Built as a JSON value because a list of
/// names cannot fail to encode, and a serializer's error path would need a meaningless branch.
pub fn owner_columns(owner: &Owner) -> (Option<Uuid>, Option<&str>, String) {
    match owner {
        Owner::User { user_id } => (Some(user_id.uuid()), None, "[]".to_owned()),
        Owner::Operator { name, roles } => {
            let names = roles.iter().map(|role| serde_json::Value::from(role.as_str())).collect();
            (None, Some(name.as_str()), serde_json::Value::Array(names).to_string())
        }
    }
}

pub fn idempotency(r: &mut impl Columns) -> Result<IdempotencyRecord, StoreError> {
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
pub fn opt_pending_status(r: &mut impl Columns) -> Result<Option<PendingStatus>, StoreError> {
    match r.opt_text("pending_status")? {
        None => Ok(None),
        Some(_) => r.variant("pending_status").map(Some),
    }
}

/// The `idx` of a log entry, alone.
pub fn log_index(r: &mut impl Columns) -> Result<u64, StoreError> {
    r.unsigned("idx")
}

pub fn log_row(r: &mut impl Columns) -> Result<LogRow, StoreError> {
    let index = r.unsigned("idx")?;
    r.name_row(index.to_string());
    Ok(LogRow {
        index,
        entry: r.bytes("entry")?,
        transfer_id: r.opt_uuid("transfer_id")?.map(TransferId::from_uuid),
        packet_id: r.opt_uuid("packet_id")?.map(PacketId::from_uuid),
    })
}

/// A nonce record: its key, its 16-byte digest and its expiry in seconds.
pub fn nonce(r: &mut impl Columns) -> Result<NonceRecord, StoreError> {
    let key = KeyId::from_uuid(r.key("key_id")?);
    let digest = r.bytes("digest")?;
    let digest: [u8; 16] =
        digest.try_into().map_err(|d: Vec<u8>| r.fail("digest", format_args!("{} bytes, not 16", d.len())))?;
    Ok(NonceRecord { key, digest, expires_at_s: r.int("expires_at")? })
}

/// A principal's key id and its secret as stored (sealed, or in the clear by an older version).
/// Like [`principal`], a failure never carries the secret.
pub fn stored_secret(r: &mut impl Columns) -> Result<(KeyId, String), StoreError> {
    let key = KeyId::from_uuid(r.key("key_id")?);
    Ok((key, r.text("secret")?))
}

pub fn checkpoint(r: &mut impl Columns) -> Result<CheckpointRow, StoreError> {
    let size = r.unsigned("size")?;
    r.name_row(size.to_string());
    Ok(CheckpointRow { size, note: r.text("note")?, created_at: r.time("created_at")? })
}

/// An evidence file, whose bytes must still hash to its stored SHA-256.
pub fn evidence(r: &mut impl Columns) -> Result<EvidenceFile, StoreError> {
    let id = EvidenceId::from_uuid(r.key("id")?);
    let sha256 = r.bytes32("sha256")?.ok_or_else(|| r.fail("sha256", "missing"))?;
    let bytes = r.bytes("bytes")?;
    if <[u8; 32]>::from(Sha256::digest(&bytes)) != sha256 {
        return Err(r.fail("bytes", "the bytes no longer match the stored SHA-256"));
    }
    Ok(EvidenceFile {
        id,
        uploader: KeyId::from_uuid(r.uuid("uploader")?),
        content_type: r.variant("content_type")?,
        sha256,
        bytes,
        created_at: r.time("created_at")?,
    })
}

/// A registered document. Failures name the document and the column, never the salt.
pub fn document(r: &mut impl Columns) -> Result<Document, StoreError> {
    let id = DocumentId::from_uuid(r.key("id")?);
    let sha256 = r.bytes32("sha256")?.ok_or_else(|| r.fail("sha256", "NULL where a value is required"))?;
    let salt = r.bytes32("salt")?.ok_or_else(|| r.fail("salt", "NULL where a value is required"))?;
    Ok(Document {
        id,
        kind: r.variant("kind")?,
        authority: r.text("authority")?,
        reference: r.text("reference")?,
        issued_at: r.time("issued_at")?,
        sha256,
        evidence_id: r.opt_uuid("evidence_id")?.map(EvidenceId::from_uuid),
        confidential: r.flag("confidential")?,
        salt: Salt(salt),
        registered_by: KeyId::from_uuid(r.uuid("registered_by")?),
        created_at: r.time("created_at")?,
        revealed_at: r.opt_time("revealed_at")?,
    })
}

/// A stored event: its JSON body (as text), decoded. `seq` names the
/// row in the message of a body that does not decode.
pub fn event(r: &mut impl Columns) -> Result<Event, StoreError> {
    let seq = r.int("seq")?;
    r.name_row(seq.to_string());
    let body = r.text("body")?;
    serde_json::from_str(&body).map_err(|e| r.fail("body", format_args!("not an event: {e}")))
}
