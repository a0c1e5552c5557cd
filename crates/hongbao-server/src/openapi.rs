//! What every operation of the OpenAPI document may also answer, added in one place: the
//! signature's 401s and replay's 409, the rate limit's 429, overload's and storage's 503, and for
//! a request with a body 408 and 413, for a request with an `Idempotency-Key` 422. A route
//! declares only the answers of its own rules; a client generated from the document still sees
//! every status it must handle.

use utoipa::openapi::path::Operation;
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, ResponseBuilder};

/// One answer a group of operations shares: its status and what it means.
struct Common {
    status: &'static str,
    code_and_meaning: &'static str,
}

const SIGNED: &[Common] = &[
    Common {
        status: "401",
        code_and_meaning: "`unauthenticated` (a signing header missing, malformed or given twice; an unknown key), \
            `signature_invalid`, `timestamp_skew` (more than 300 s from the server's clock)",
    },
    Common { status: "409", code_and_meaning: "`replayed_request`: this nonce was seen within its window" },
    Common { status: "429", code_and_meaning: "`rate_limited`: too many requests for this key; see `Retry-After`" },
];

const EVERY: &[Common] = &[Common {
    status: "503",
    code_and_meaning: "`overloaded` (too much work in flight: retry shortly) or `unavailable` (storage cannot be \
        reached: nothing was applied, retry shortly)",
}];

const WITH_BODY: &[Common] = &[
    Common { status: "408", code_and_meaning: "`request_timeout`: the body did not arrive in time" },
    Common { status: "413", code_and_meaning: "`payload_too_large`: the body is over `http.body_max_bytes` (64 KiB)" },
];

const IDEMPOTENT: &[Common] =
    &[Common { status: "422", code_and_meaning: "`idempotency_key_reused`: this key was used with another request" }];

/// Adds the shared answers to every `/v1/` operation of `api`.
pub(crate) fn add_common_responses(api: &mut OpenApi) {
    for (path, item) in &mut api.paths.paths {
        if !path.starts_with("/v1/") {
            continue;
        }
        for operation in [&mut item.get, &mut item.post, &mut item.put, &mut item.delete, &mut item.patch] {
            let Some(operation) = operation.as_mut() else { continue };
            let signed = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            let with_body = operation.request_body.is_some();
            let idempotent = operation.parameters.iter().flatten().any(|p| match p {
                RefOr::T(parameter) => parameter.name == "Idempotency-Key",
                RefOr::Ref(_) => false,
            });
            for (applies, answers) in
                [(signed, SIGNED), (true, EVERY), (with_body, WITH_BODY), (idempotent, IDEMPOTENT)]
            {
                if applies {
                    answers.iter().for_each(|answer| add(operation, answer));
                }
            }
        }
    }
}

/// Adds `answer` to `operation`, or its meaning to the operation's own answer of that status.
fn add(operation: &mut Operation, answer: &Common) {
    let responses = &mut operation.responses.responses;
    if let Some(RefOr::T(existing)) = responses.get_mut(answer.status) {
        let code = answer.code_and_meaning.split('`').nth(1).unwrap_or_default();
        if !existing.description.contains(code) {
            existing.description = format!("{}; or {}", existing.description, answer.code_and_meaning);
        }
        return;
    }
    let body = Content::new(Some(Ref::from_schema_name("ErrorBody")));
    let response =
        ResponseBuilder::new().description(answer.code_and_meaning).content("application/json", body).build();
    responses.insert(answer.status.to_owned(), RefOr::T(response));
}
