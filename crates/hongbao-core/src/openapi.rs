//! OpenAPI schemas for the types that serialise by hand (money, ids, times, secrets), so the
//! server's generated document describes exactly what goes over the wire. Derives and
//! descriptions only: nothing here runs in a decision.

use std::borrow::Cow;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::id::{
    AccountId, CaseId, ClaimId, DocumentId, EvidenceId, FreezeId, GroupId, KeyId, PacketId, ReportId, ReturnRequestId,
    SeizureId, TransferId, UserId,
};
use crate::money::Fen;
use crate::principal::Secret;
use crate::time::Timestamp;

impl PartialSchema for Fen {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .description(Some("An amount in fen (1 yuan = 100 fen), a JSON integer: never a float or a string"))
            .examples([1000])
            .into()
    }
}

impl ToSchema for Fen {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Fen")
    }
}

impl PartialSchema for Timestamp {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some("An RFC 3339 time in UTC with millisecond precision"))
            .examples(["2026-11-26T18:00:00.000Z"])
            .into()
    }
}

impl ToSchema for Timestamp {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Timestamp")
    }
}

impl PartialSchema for Secret {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("A signing secret: shown once, in the answer that creates it"))
            .into()
    }
}

impl ToSchema for Secret {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Secret")
    }
}

macro_rules! id_schema {
    ($($name:ident, $what:literal;)*) => {$(
        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(format!("^{}_[0-9a-f]{{32}}$", $name::PREFIX)))
                    .description(Some(concat!("The opaque id of ", $what)))
                    .examples([format!("{}_0193f0a0b0c07d0e8f00112233445566", $name::PREFIX)])
                    .into()
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    )*};
}

id_schema! {
    UserId, "a user";
    GroupId, "a group";
    PacketId, "a red packet";
    ClaimId, "a claim (one share taken)";
    TransferId, "a ledger transfer";
    AccountId, "a ledger account";
    KeyId, "a signing key";
    EvidenceId, "an evidence file";
    DocumentId, "a registered legal document";
    FreezeId, "a freeze";
    SeizureId, "a proposed forced transfer";
    ReportId, "a fraud report";
    CaseId, "a case officers work on";
    ReturnRequestId, "a return request";
}
