//! What each SQL query of an entity selects, named once for both SQL stores.

// The columns the decoders of `columns` read (by name), for the SQL stores' queries: macros,
// so that `concat!` builds every query as a `&'static str` selecting exactly those. Those that
// differ by dialect (claims, principals) stay with their backend.

#[macro_export]
macro_rules! evidence_columns {
    () => {
        "id, uploader, content_type, sha256, bytes, created_at"
    };
}

#[macro_export]
macro_rules! document_columns {
    () => {
        "id, kind, authority, reference, issued_at, sha256, evidence_id, confidential, salt, registered_by, \
         created_at, revealed_at"
    };
}

#[macro_export]
macro_rules! freeze_columns {
    () => {
        "id, user_id, seq, kind, amount, held, status, documents, reason, major_case, created_by, created_at, \
         expires_at, renewals, ended_at, ever_held, released, expired, seized, converted"
    };
}

#[macro_export]
macro_rules! seizure_columns {
    () => {
        "id, freeze_id, user_id, amount, to_user, reason, documents, status, proposed_by, proposed_at, expires_at, \
         decided_by, decided_at, transfer_id, rejection"
    };
}

#[macro_export]
macro_rules! report_columns {
    () => {
        "id, body"
    };
}

#[macro_export]
macro_rules! return_request_columns {
    () => {
        "id, body"
    };
}

#[macro_export]
macro_rules! case_columns {
    () => {
        "id, body"
    };
}

#[macro_export]
macro_rules! user_columns {
    () => {
        "id, name, status, created_at, logins"
    };
}

#[macro_export]
macro_rules! account_columns {
    () => {
        "id, kind, debits_posted, credits_posted, debits_pending, credits_pending, frozen, holding"
    };
}

#[macro_export]
macro_rules! group_columns {
    () => {
        "id, name, owner, created_at"
    };
}

#[macro_export]
macro_rules! packet_columns {
    () => {
        "id, kind, sender, group_id, recipient, total, shares, greeting, arrival_delay_s, created_at, expires_at, \
         status, claimed_count, claimed_amount, touched, salt"
    };
}

/// Qualified with `t.` because transfers are joined with their pending record.
#[macro_export]
macro_rules! transfer_columns {
    () => {
        "t.id AS id, t.debit AS debit, t.credit AS credit, t.amount AS amount, t.kind AS kind, t.phase AS phase, \
         t.deadline AS deadline, t.pending_id AS pending_id, t.packet_id AS packet_id, t.claim_id AS claim_id, \
         t.note AS note, t.created_at AS created_at"
    };
}

#[macro_export]
macro_rules! idempotency_columns {
    () => {
        "principal, key, fingerprint, outcome, created_at"
    };
}

#[macro_export]
macro_rules! log_columns {
    () => {
        "idx, entry, transfer_id, packet_id"
    };
}

#[macro_export]
macro_rules! checkpoint_columns {
    () => {
        "size, note, created_at"
    };
}
