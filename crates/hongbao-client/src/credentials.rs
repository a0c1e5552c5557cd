//! Credentials files: `{"url", "key_id", "secret"}`, as `hongbao serve` writes the root
//! operator's to `<data-dir>/root-credentials.json`, and `{"url", "user_id", "key_id",
//! "secret"}` as `hongbao user create --save` writes a user's.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use hongbao_core::principal::Secret;
use hongbao_core::{KeyId, UserId};
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::ClientError;

/// A credentials file is three short strings; anything much larger is not one.
const CREDENTIALS_BYTES_MAX: u64 = 64 * 1024;

/// Where the service is and who signs. `Debug` shows the key id but never the secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub url: String,
    /// The user these credentials sign as; absent for an operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    pub key_id: KeyId,
    pub secret: Secret,
}

impl Credentials {
    /// Reads a credentials file.
    ///
    /// # Errors
    /// [`ClientError::CredentialsIo`] when it cannot be read (or is over 64 KiB),
    /// [`ClientError::CredentialsFormat`] when it is not the expected JSON object.
    pub fn load(path: impl AsRef<Path>) -> Result<Credentials, ClientError> {
        let path = path.as_ref();
        let io = |source| ClientError::CredentialsIo { path: path.to_owned(), source };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut text = Vec::new();
        file.take(CREDENTIALS_BYTES_MAX + 1).read_to_end(&mut text).map_err(io)?;
        if text.len() as u64 > CREDENTIALS_BYTES_MAX {
            return Err(io(std::io::Error::new(std::io::ErrorKind::InvalidData, "larger than 64 KiB")));
        }
        serde_json::from_slice(&text).map_err(|source| ClientError::CredentialsFormat { path: path.to_owned(), source })
    }

    /// Writes a new credentials file readable only by its owner (mode 0600 on Unix). Refuses
    /// to replace an existing file: overwriting someone's only copy of a secret loses it.
    ///
    /// # Errors
    /// [`ClientError::CredentialsIo`], also when `path` already exists.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), ClientError> {
        let path = path.as_ref();
        let io = |source| ClientError::CredentialsIo { path: PathBuf::from(path), source };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(io)?;
        let mut text = serde_json::to_vec_pretty(self).map_err(|e| io(std::io::Error::other(e)))?;
        text.push(b'\n');
        file.write_all(&text).and_then(|()| file.sync_all()).map_err(io)
    }

    /// A client signing as these credentials, at their URL.
    ///
    /// # Errors
    /// As [`Client::new`].
    pub fn client(&self) -> Result<Client, ClientError> {
        Client::new(&self.url, self.key_id, self.secret.expose())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "key_0190f0a0b0c0d0e0f000000000000000";

    #[test]
    fn credentials_round_trip_through_a_private_file_and_never_show_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alice.json");
        let credentials = Credentials {
            url: "http://127.0.0.1:8080".to_owned(),
            user_id: Some("usr_0190f0a0b0c0d0e0f000000000000000".parse().unwrap()),
            key_id: KEY.parse().unwrap(),
            secret: Secret::from_stored("hbs_very_secret".to_owned()),
        };
        credentials.save(&path).unwrap();
        assert_eq!(Credentials::load(&path).unwrap(), credentials);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert!(matches!(credentials.save(&path), Err(ClientError::CredentialsIo { .. })), "no overwrite");
        let shown = format!("{credentials:?}");
        assert!(!shown.contains("hbs_very_secret") && shown.contains(KEY), "{shown}");
    }

    #[test]
    fn a_file_of_another_shape_is_a_format_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.json");
        std::fs::write(&path, r#"{"url": "http://127.0.0.1:1"}"#).unwrap();
        assert!(matches!(Credentials::load(&path), Err(ClientError::CredentialsFormat { .. })));
        assert!(matches!(Credentials::load(dir.path().join("missing.json")), Err(ClientError::CredentialsIo { .. })));
    }
}
