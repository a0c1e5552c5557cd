//! Secrets in the engine: a new key's secret kept out of stored answers and never shown again,
//! the secrets key checked against the database, and secrets stored in the clear sealed at start.

use hongbao_core::ops::Reply;
use hongbao_core::{CoreError, KeyId};
use hongbao_store::Store;
use rand::rngs::StdRng;

use crate::config::EngineError;
use crate::seal::{SEALED_PREFIX, SecretsKey};

/// The answer as an idempotency record keeps it: a new key's secret is not kept (it is shown
/// once, in the first answer), and an empty one stands in its place.
pub(crate) fn without_secret(decided: &Result<Reply, CoreError>) -> std::borrow::Cow<'_, Result<Reply, CoreError>> {
    use hongbao_core::principal::Secret;
    match decided {
        Ok(Reply::User(created)) => {
            let created =
                hongbao_core::ops::UserCreated { secret: Secret::from_stored(String::new()), ..created.clone() };
            std::borrow::Cow::Owned(Ok(Reply::User(created)))
        }
        Ok(Reply::Operator(created)) => {
            let created =
                hongbao_core::ops::OperatorCreated { secret: Secret::from_stored(String::new()), ..created.clone() };
            std::borrow::Cow::Owned(Ok(Reply::Operator(created)))
        }
        other => std::borrow::Cow::Borrowed(other),
    }
}

/// A replayed answer that created a key: the key exists, and its secret is not shown again.
pub(crate) fn secret_not_again(reply: Reply) -> Result<Reply, EngineError> {
    match reply {
        Reply::User(created) => {
            Err(EngineError::SecretShownOnce { key_id: created.key_id, user_id: Some(created.user_id) })
        }
        Reply::Operator(created) => Err(EngineError::SecretShownOnce { key_id: created.key_id, user_id: None }),
        other => Ok(other),
    }
}

/// Principals sealed per round when a node seals the secrets an older version stored in the clear.
pub(crate) const SEAL_ROUND_MAX: u32 = 10_000;
/// Rounds of sealing at most: a billion principals.
pub(crate) const SEAL_ROUNDS_MAX: u32 = 100_000;

/// Checks that `secrets` opens the database's sealed secrets; without a key, refuses a database
/// whose secrets are sealed. Returns the key to seal with, if any.
///
/// # Errors
/// [`EngineError::Config`] when the key does not fit the database; [`EngineError::Unavailable`]
/// when the store fails.
pub(crate) async fn check_secrets_key<'k>(
    store: &dyn Store,
    secrets: Option<&'k SecretsKey>,
) -> Result<Option<&'k SecretsKey>, EngineError> {
    let sealed = store.secret_starting_with(SEALED_PREFIX).await?;
    match (secrets, sealed) {
        (None, Some(_)) => {
            Err(EngineError::Config("this database's secrets are sealed: give the node its secrets key".to_owned()))
        }
        (Some(secrets), Some((key, stored))) => {
            secrets.open(key, &hongbao_core::principal::Secret::from_stored(stored)).map_err(|_| {
                EngineError::Config(
                    "this node's secrets key does not open the database's secrets: give every node the same \
                     secrets key file (storage.secrets_key_file)"
                        .to_owned(),
                )
            })?;
            Ok(Some(secrets))
        }
        (secrets, None) => Ok(secrets),
    }
}

/// Checks that `secrets` opens the database's sealed secrets ([`check_secrets_key`]), and seals
/// those an older version stored in the clear.
///
/// # Errors
/// As [`check_secrets_key`].
pub(crate) async fn seal_stored_secrets(
    store: &dyn Store,
    secrets: Option<&SecretsKey>,
    rng: &mut StdRng,
) -> Result<(), EngineError> {
    let Some(secrets) = check_secrets_key(store, secrets).await? else { return Ok(()) };
    // Each round takes secrets still in the clear; one another node sealed meanwhile is left to
    // it (compare-and-set), so the rounds end when none is left.
    for _ in 0..SEAL_ROUNDS_MAX {
        let clear = store.secrets_not_starting_with(SEALED_PREFIX, SEAL_ROUND_MAX).await?;
        if clear.is_empty() {
            return Ok(());
        }
        let replaced: Vec<(KeyId, String, String)> = clear
            .into_iter()
            .map(|(key, old)| {
                let new = secrets.seal(key, &hongbao_core::principal::Secret::from_stored(old.clone()), rng);
                (key, old, new.expose().to_owned())
            })
            .collect();
        let count = store.replace_secrets(&replaced).await?;
        tracing::info!(sealed = count, "sealed secrets stored in the clear by an older version");
    }
    Err(EngineError::Unavailable(format!(
        "secrets are still stored in the clear after sealing {SEAL_ROUNDS_MAX} rounds of {SEAL_ROUND_MAX}"
    )))
}
