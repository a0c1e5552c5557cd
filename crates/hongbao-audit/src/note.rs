//! Signed notes (c2sp.org/signed-note) with Ed25519 keys, and the checkpoints
//! (c2sp.org/tlog-checkpoint) they carry.
//!
//! A note is a text ending in a newline, a blank line, then one or more lines
//! `— <key name> base64(key id || signature)`. Keys are known to a verifier by their name and
//! 4-byte id; signatures by any other key are ignored, as the spec requires, so a log can rotate
//! keys and witnesses can cosign without breaking old clients.
//!
//! **Boundary:** only signature type `0x01` (plain Ed25519) is implemented. Cosignatures
//! (`0x04`), ECDSA and post-quantum signatures are simply unknown keys here and are ignored.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::hash::Hash;

/// The largest note [`open`] accepts, in bytes. The spec asks verifiers to bound notes and to
/// accept at least 16 signatures of up to ~5 kB (post-quantum); 1 MiB leaves room for
/// [`SIGNATURES_MAX`] of those while keeping the work done on hostile input small.
pub const NOTE_SIZE_BYTES_MAX: usize = 1 << 20;

/// The most signature lines [`open`] accepts; the spec's floor is 16, Go's `sumdb/note` uses 100.
pub const SIGNATURES_MAX: usize = 100;

/// Signature type identifier of plain Ed25519 (signed-note, "Signature types").
const ALGORITHM_ED25519: u8 = 0x01;

/// Em dash (U+2014) and a space: how every signature line starts.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Bytes in a key id, stored big-endian in front of every signature.
const KEY_ID_BYTES: usize = 4;

/// Why a key name or an encoded verifier key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Key names must be non-empty and hold no Unicode space, no `+` and no control character.
    #[error("key name {0:?} is empty or holds a space, a plus sign or a control character")]
    InvalidName(String),
    /// A verifier key is `<name>+<key id>+<key>`.
    #[error("verifier key is not of the form <name>+<key id>+<key>")]
    MalformedVerifierKey,
    /// The key id part is not 8 lowercase hexadecimal digits.
    #[error("verifier key id {0:?} is not 8 lowercase hexadecimal digits")]
    BadKeyId(String),
    /// The key part is not standard padded base64.
    #[error("verifier key data is not valid base64")]
    BadKeyEncoding,
    /// The key is not of signature type `0x01` followed by 32 bytes.
    #[error("verifier key is not an Ed25519 key (type 0x01 and 32 bytes)")]
    NotEd25519,
    /// The 32 bytes are not a valid Ed25519 point.
    #[error("verifier key is not a valid Ed25519 public key")]
    InvalidPublicKey,
    /// A small-order key: any signature by it could be forged, so it can vouch for nothing.
    #[error("verifier key is a weak (small-order) Ed25519 key")]
    WeakKey,
    /// The stated key id is not the one derived from the name and the key.
    #[error("verifier key id {stated:08x} does not match the id {computed:08x} derived from its name and key")]
    KeyIdMismatch {
        /// The id written in the verifier key.
        stated: u32,
        /// The id computed from the name and the key.
        computed: u32,
    },
}

/// What is wrong with one signature line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureFault {
    /// Every signature line starts with an em dash (U+2014) and a space.
    #[error("it does not start with an em dash and a space")]
    NoEmDash,
    /// The key name and the signature are separated by a space.
    #[error("it has no space between key name and signature")]
    NoSpace,
    /// The key name is empty or holds a space, a plus sign or a control character.
    #[error("its key name is invalid")]
    BadKeyName,
    /// The signature is not standard padded base64.
    #[error("its signature is not valid base64")]
    NotBase64,
    /// The signature is shorter than a key id and one byte.
    #[error("its signature is shorter than 5 bytes")]
    TooShort,
    /// The last signature line does not end with a newline.
    #[error("it does not end with a newline")]
    Unterminated,
}

/// Why a checkpoint was refused or could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// A checkpoint has an origin, a size and a root, each on its own line.
    #[error("checkpoint has {found} lines, needs at least 3")]
    MissingLines {
        /// The number of lines found.
        found: usize,
    },
    /// The text of a note always ends with a newline.
    #[error("checkpoint does not end with a newline")]
    NoFinalNewline,
    /// The origin must be non-empty.
    #[error("checkpoint origin is empty")]
    EmptyOrigin,
    /// The origin is a single line of printable text.
    #[error("checkpoint origin holds a control character")]
    OriginControlCharacter,
    /// The size is ASCII decimal with no sign and no leading zero, and fits in 64 bits.
    #[error("checkpoint size {0:?} is not a decimal number without leading zeros")]
    BadSize(String),
    /// The root is standard padded base64 of exactly 32 bytes.
    #[error("checkpoint root {0:?} is not base64 of 32 bytes")]
    BadRoot(String),
    /// Extension lines are optional but must not be empty.
    #[error("checkpoint extension line {line} is empty")]
    EmptyExtensionLine {
        /// The 1-based line number in the checkpoint.
        line: usize,
    },
}

/// Why a signed note was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The note is longer than [`NOTE_SIZE_BYTES_MAX`].
    #[error("note is {len} bytes, more than the {max} accepted")]
    TooLarge {
        /// The note's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Notes hold no ASCII control character but the newline.
    #[error("note holds a control character at byte {offset}")]
    ControlCharacter {
        /// The byte offset of the first one.
        offset: usize,
    },
    /// A note can only be signed under a valid key name (see [`is_valid_key_name`]).
    #[error("key name {0:?} is empty or holds a space, a plus sign or a control character")]
    InvalidKeyName(String),
    /// A text to sign must end with a newline.
    #[error("note text does not end with a newline")]
    TextWithoutFinalNewline,
    /// The text and the signatures are separated by a blank line.
    #[error("note has no blank line before its signatures")]
    NoSignatureBlock,
    /// A note carries at least one signature line.
    #[error("note has no signature lines")]
    NoSignatures,
    /// A signature line could not be parsed.
    #[error("signature line {line} is malformed: {fault}")]
    MalformedSignature {
        /// The 1-based line number within the signature block.
        line: usize,
        /// What is wrong with it.
        fault: SignatureFault,
    },
    /// The note has more than [`SIGNATURES_MAX`] signature lines.
    #[error("note has more than {max} signature lines")]
    TooManySignatures {
        /// The limit.
        max: usize,
    },
    /// A signature by the known key does not verify: the note was altered or forged.
    #[error("signature by known key {name}+{key_id:08x} does not verify")]
    InvalidSignature {
        /// The key's name.
        name: String,
        /// The key's id.
        key_id: u32,
    },
    /// No signature line is from the known key (same name and id): signed by someone else.
    #[error("note has no signature by key {name}+{key_id:08x}")]
    NoKnownSignature {
        /// The known key's name.
        name: String,
        /// The known key's id.
        key_id: u32,
    },
    /// The signed text is not a valid checkpoint.
    #[error("signed text is not a valid checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
}

/// Whether `name` can be a key name: non-empty, with no Unicode space, no `+` and no control
/// character (a name that a signature line could not carry unambiguously).
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+' || is_forbidden_control(c))
}

/// The note format forbids ASCII control characters other than newline.
fn is_forbidden_control(c: char) -> bool {
    c < ' ' && c != '\n'
}

/// The key id of an Ed25519 key: the first 4 bytes, big-endian, of
/// `SHA-256(key name || 0x0A || 0x01 || 32-byte public key)`.
///
/// The name is hashed as given; [`Verifier::new`] and [`Verifier::parse`] refuse invalid names.
pub fn key_id(name: &str, key: &VerifyingKey) -> u32 {
    let digest: [u8; 32] = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([b'\n', ALGORITHM_ED25519])
        .chain_update(key.as_bytes())
        .finalize()
        .into();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// The Go `sumdb/note` verifier key text: `<name>+<8 lowercase hex key id>+<base64(0x01 || key)>`.
///
/// The name is written as given: [`Verifier::parse`] refuses the text if the name is not a valid
/// key name (see [`is_valid_key_name`]).
pub fn vkey(name: &str, key: &VerifyingKey) -> String {
    let mut typed = Vec::with_capacity(33);
    typed.push(ALGORITHM_ED25519);
    typed.extend_from_slice(key.as_bytes());
    format!("{name}+{:08x}+{}", key_id(name, key), BASE64.encode(typed))
}

/// A public key trusted to sign notes: its name, its id and the Ed25519 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl Verifier {
    /// A verifier for `key` under `name`.
    ///
    /// # Errors
    ///
    /// [`KeyError::InvalidName`] when `name` is not a valid key name (see [`is_valid_key_name`]);
    /// [`KeyError::WeakKey`] for a small-order key.
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, KeyError> {
        if !is_valid_key_name(name) {
            return Err(KeyError::InvalidName(name.to_owned()));
        }
        if key.is_weak() {
            return Err(KeyError::WeakKey);
        }
        Ok(Self { name: name.to_owned(), key_id: key_id(name, &key), key })
    }

    /// Parses a verifier key written by [`vkey`] or by Go's `note.GenerateKey`.
    ///
    /// # Errors
    ///
    /// [`KeyError::MalformedVerifierKey`], [`KeyError::InvalidName`], [`KeyError::BadKeyId`],
    /// [`KeyError::BadKeyEncoding`], [`KeyError::NotEd25519`], [`KeyError::InvalidPublicKey`],
    /// [`KeyError::WeakKey`] or [`KeyError::KeyIdMismatch`], whichever check fails first.
    pub fn parse(vkey: &str) -> Result<Self, KeyError> {
        // Names hold no '+', so the first two '+' are the separators; base64 may hold more.
        let (name, rest) = vkey.split_once('+').ok_or(KeyError::MalformedVerifierKey)?;
        let (id_hex, key_b64) = rest.split_once('+').ok_or(KeyError::MalformedVerifierKey)?;
        if !is_valid_key_name(name) {
            return Err(KeyError::InvalidName(name.to_owned()));
        }
        let stated = parse_key_id(id_hex).ok_or_else(|| KeyError::BadKeyId(id_hex.to_owned()))?;
        let typed = BASE64.decode(key_b64).map_err(|_| KeyError::BadKeyEncoding)?;
        let key_bytes: &[u8; 32] = match typed.split_first() {
            Some((&ALGORITHM_ED25519, key)) => key.try_into().map_err(|_| KeyError::NotEd25519)?,
            _ => return Err(KeyError::NotEd25519),
        };
        let key = VerifyingKey::from_bytes(key_bytes).map_err(|_| KeyError::InvalidPublicKey)?;
        let verifier = Self::new(name, key)?;
        if verifier.key_id != stated {
            return Err(KeyError::KeyIdMismatch { stated, computed: verifier.key_id });
        }
        Ok(verifier)
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key's id, as derived by [`key_id`].
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The Ed25519 public key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }
}

/// Writes the verifier key text, as [`vkey`] does.
impl fmt::Display for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&vkey(&self.name, &self.key))
    }
}

fn parse_key_id(hex: &str) -> Option<u32> {
    let lowercase_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if hex.len() != 8 || !hex.bytes().all(lowercase_hex) {
        return None;
    }
    u32::from_str_radix(hex, 16).ok()
}

/// A log's signed statement of its size and root (c2sp.org/tlog-checkpoint).
///
/// The fields are public for ease of use; [`Checkpoint::new`] and [`Checkpoint::check`] hold the
/// rule that makes [`Checkpoint::body`] a valid note text: the origin is non-empty and holds no
/// control character (in particular no newline, which would shift the lines after it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, by convention its key name.
    pub origin: String,
    /// The number of leaves in the tree.
    pub size: u64,
    /// The RFC 6962 root of the tree of `size` leaves.
    pub root: Hash,
}

impl Checkpoint {
    /// A checkpoint whose origin has been checked.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::EmptyOrigin`] or [`CheckpointError::OriginControlCharacter`].
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Result<Self, CheckpointError> {
        let checkpoint = Self { origin: origin.into(), size, root };
        checkpoint.check()?;
        Ok(checkpoint)
    }

    /// Checks that the checkpoint can be written as a note text.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::EmptyOrigin`] or [`CheckpointError::OriginControlCharacter`].
    pub fn check(&self) -> Result<(), CheckpointError> {
        check_origin(&self.origin)
    }

    /// The note text: `origin\nsize\nbase64(root)\n`.
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, BASE64.encode(self.root))
    }

    /// Parses a checkpoint from a note's text. The text is trusted only once its signature has
    /// been checked, which is why this is not public: [`open`] is the way in.
    ///
    /// Extension lines are checked (non-empty) and dropped: the spec advises against them, since
    /// monitors cannot audit them, and hongbao gives them no meaning.
    fn parse_body(text: &str) -> Result<Self, CheckpointError> {
        let text = text.strip_suffix('\n').ok_or(CheckpointError::NoFinalNewline)?;
        let lines: Vec<&str> = text.split('\n').collect();
        let [origin, size, root, extensions @ ..] = lines.as_slice() else {
            return Err(CheckpointError::MissingLines { found: lines.len() });
        };
        check_origin(origin)?;
        let size = crate::parse_decimal(size).ok_or_else(|| CheckpointError::BadSize((*size).to_owned()))?;
        let root = decode_hash(root).ok_or_else(|| CheckpointError::BadRoot((*root).to_owned()))?;
        if let Some(i) = extensions.iter().position(|line| line.is_empty()) {
            return Err(CheckpointError::EmptyExtensionLine { line: i + 4 });
        }
        Ok(Self { origin: (*origin).to_owned(), size, root })
    }
}

fn check_origin(origin: &str) -> Result<(), CheckpointError> {
    if origin.is_empty() {
        return Err(CheckpointError::EmptyOrigin);
    }
    if origin.chars().any(|c| c < ' ') {
        return Err(CheckpointError::OriginControlCharacter);
    }
    Ok(())
}

/// Decodes standard padded base64 of exactly 32 bytes, refusing non-canonical encodings.
pub(crate) fn decode_hash(b64: &str) -> Option<Hash> {
    // 32 bytes are 44 base64 characters; checking first keeps hostile lines from being decoded.
    if b64.len() != 44 {
        return None;
    }
    BASE64.decode(b64).ok()?.try_into().ok()
}

pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

pub(crate) fn decode_base64(b64: &str) -> Option<Vec<u8>> {
    BASE64.decode(b64).ok()
}

/// Signs a checkpoint and returns the whole signed note: its body, a blank line and one
/// signature line by `name`.
///
/// The checkpoint must pass [`Checkpoint::check`] and `name` must be a valid key name; hongbao's
/// origin is its key name, and [`Verifier::parse`] of the log's own verifier key checks both at
/// start-up. Debug builds assert this. A release build signs what it is given: an invalid name
/// gives a note that [`open`] refuses as malformed.
pub fn sign(checkpoint: &Checkpoint, name: &str, key: &SigningKey) -> String {
    debug_assert!(checkpoint.check().is_ok(), "signing an invalid checkpoint: {checkpoint:?}");
    debug_assert!(is_valid_key_name(name), "signing with an invalid key name: {name:?}");
    sign_valid_text(&checkpoint.body(), name, key)
}

/// Signs any note text and returns the signed note.
///
/// # Errors
///
/// [`NoteError::InvalidKeyName`], [`NoteError::TextWithoutFinalNewline`] or
/// [`NoteError::ControlCharacter`]: notes a verifier would refuse.
pub fn sign_text(text: &str, name: &str, key: &SigningKey) -> Result<String, NoteError> {
    if !is_valid_key_name(name) {
        return Err(NoteError::InvalidKeyName(name.to_owned()));
    }
    if !text.ends_with('\n') {
        return Err(NoteError::TextWithoutFinalNewline);
    }
    check_control_characters(text)?;
    Ok(sign_valid_text(text, name, key))
}

fn sign_valid_text(text: &str, name: &str, key: &SigningKey) -> String {
    let signature: Signature = key.sign(text.as_bytes());
    let mut raw = Vec::with_capacity(KEY_ID_BYTES + Signature::BYTE_SIZE);
    raw.extend_from_slice(&key_id(name, &key.verifying_key()).to_be_bytes());
    raw.extend_from_slice(&signature.to_bytes());
    format!("{text}\n{SIGNATURE_PREFIX}{name} {}\n", BASE64.encode(raw))
}

/// Opens a signed checkpoint: checks the note against `verifier` as [`open_text`] does, then
/// parses its text strictly as a checkpoint.
///
/// It does not compare the checkpoint's origin with the key name: a caller that expects one log
/// should (as [`crate::verify_receipt`] does).
///
/// # Errors
///
/// Any error of [`open_text`], or [`NoteError::Checkpoint`] when the signed text is not a valid
/// checkpoint.
pub fn open(note: &str, verifier: &Verifier) -> Result<Checkpoint, NoteError> {
    let text = open_text(note, verifier)?;
    Ok(Checkpoint::parse_body(text)?)
}

/// Checks a signed note against one trusted key and returns its text (with its final newline).
///
/// Follows c2sp.org/signed-note: the note must be free of control characters other than newline
/// (UTF-8 is guaranteed by `&str`); the text ends at the last blank line; every signature line
/// must be well-formed; lines by keys other than `verifier` (by name and id) are ignored; every
/// line by `verifier` must verify (with `verify_strict`), and at least one must be there.
///
/// # Errors
///
/// [`NoteError::TooLarge`], [`NoteError::ControlCharacter`], [`NoteError::NoSignatureBlock`],
/// [`NoteError::NoSignatures`], [`NoteError::TooManySignatures`] and
/// [`NoteError::MalformedSignature`] for a note that is not well-formed;
/// [`NoteError::InvalidSignature`] when a signature by the known key fails;
/// [`NoteError::NoKnownSignature`] when none is by the known key.
pub fn open_text<'a>(note: &'a str, verifier: &Verifier) -> Result<&'a str, NoteError> {
    if note.len() > NOTE_SIZE_BYTES_MAX {
        return Err(NoteError::TooLarge { len: note.len(), max: NOTE_SIZE_BYTES_MAX });
    }
    check_control_characters(note)?;
    let split = note.rfind("\n\n").ok_or(NoteError::NoSignatureBlock)?;
    let (text, block) = (&note[..=split], &note[split + 2..]);
    if block.is_empty() {
        return Err(NoteError::NoSignatures);
    }
    // Count before parsing or verifying anything, so a hostile note costs little.
    if block.matches('\n').count() > SIGNATURES_MAX {
        return Err(NoteError::TooManySignatures { max: SIGNATURES_MAX });
    }
    let Some(block) = block.strip_suffix('\n') else {
        let line = block.matches('\n').count() + 1;
        return Err(NoteError::MalformedSignature { line, fault: SignatureFault::Unterminated });
    };
    // Parse every line before verifying any, so a malformed note is refused as malformed.
    let lines = block
        .split('\n')
        .enumerate()
        .map(|(i, line)| {
            parse_signature_line(line).map_err(|fault| NoteError::MalformedSignature { line: i + 1, fault })
        })
        .collect::<Result<Vec<_>, _>>()?;

    let mut verified = false;
    for (name, key_id, signature) in lines {
        if name != verifier.name || key_id != verifier.key_id {
            continue;
        }
        let invalid = || NoteError::InvalidSignature { name: name.to_owned(), key_id };
        let signature = Signature::from_slice(&signature).map_err(|_| invalid())?;
        verifier.key.verify_strict(text.as_bytes(), &signature).map_err(|_| invalid())?;
        verified = true;
    }
    if !verified {
        return Err(NoteError::NoKnownSignature { name: verifier.name.clone(), key_id: verifier.key_id });
    }
    Ok(text)
}

fn check_control_characters(text: &str) -> Result<(), NoteError> {
    // In UTF-8 bytes below 0x20 only ever encode those ASCII characters, so a byte scan is exact.
    match text.bytes().position(|b| b < b' ' && b != b'\n') {
        Some(offset) => Err(NoteError::ControlCharacter { offset }),
        None => Ok(()),
    }
}

/// Splits `— <name> <base64>` into the name, the key id and the signature bytes.
fn parse_signature_line(line: &str) -> Result<(&str, u32, Vec<u8>), SignatureFault> {
    let line = line.strip_prefix(SIGNATURE_PREFIX).ok_or(SignatureFault::NoEmDash)?;
    let (name, b64) = line.split_once(' ').ok_or(SignatureFault::NoSpace)?;
    if !is_valid_key_name(name) {
        return Err(SignatureFault::BadKeyName);
    }
    let raw = BASE64.decode(b64).map_err(|_| SignatureFault::NotBase64)?;
    if raw.len() <= KEY_ID_BYTES {
        return Err(SignatureFault::TooShort);
    }
    let (id, signature) = raw.split_at(KEY_ID_BYTES);
    let key_id = u32::from_be_bytes([id[0], id[1], id[2], id[3]]);
    Ok((name, key_id, signature.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example body of c2sp.org/tlog-checkpoint (its signature is by a key not published).
    const SPEC_EXAMPLE_BODY: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    #[test]
    fn the_spec_example_checkpoint_body_parses_and_prints_back_unchanged() {
        let checkpoint = Checkpoint::parse_body(SPEC_EXAMPLE_BODY).unwrap();
        assert_eq!(checkpoint.origin, "example.com/behind-the-sofa");
        assert_eq!(checkpoint.size, 20_852_163);
        assert_eq!(checkpoint.body(), SPEC_EXAMPLE_BODY);
    }

    #[test]
    fn checkpoint_bodies_that_break_the_format_are_refused() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        let cases: Vec<(String, CheckpointError)> = vec![
            (format!("o\n1\n{root}"), CheckpointError::NoFinalNewline),
            ("o\n1\n".to_owned(), CheckpointError::MissingLines { found: 2 }),
            (format!("\n1\n{root}\n"), CheckpointError::EmptyOrigin),
            (format!("o\n01\n{root}\n"), CheckpointError::BadSize("01".to_owned())),
            (format!("o\n+1\n{root}\n"), CheckpointError::BadSize("+1".to_owned())),
            (format!("o\n-1\n{root}\n"), CheckpointError::BadSize("-1".to_owned())),
            (format!("o\n 1\n{root}\n"), CheckpointError::BadSize(" 1".to_owned())),
            (format!("o\n\n{root}\n"), CheckpointError::BadSize(String::new())),
            (format!("o\n18446744073709551616\n{root}\n"), CheckpointError::BadSize("18446744073709551616".to_owned())),
            (
                "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n".to_owned(),
                CheckpointError::BadRoot(root[..43].to_owned()),
            ),
            // The same 32 bytes with non-zero padding bits: not the canonical encoding.
            (
                "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n".to_owned(),
                CheckpointError::BadRoot("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=".to_owned()),
            ),
            ("o\n1\nAAAA\n".to_owned(), CheckpointError::BadRoot("AAAA".to_owned())),
            (format!("o\n1\n{root}\n\n"), CheckpointError::EmptyExtensionLine { line: 4 }),
            (format!("o\n1\n{root}\next\n\n"), CheckpointError::EmptyExtensionLine { line: 5 }),
        ];
        for (body, expected) in cases {
            assert_eq!(Checkpoint::parse_body(&body), Err(expected), "body {body:?}");
        }
    }

    #[test]
    fn size_zero_and_the_largest_size_parse() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        assert_eq!(Checkpoint::parse_body(&format!("o\n0\n{root}\n")).unwrap().size, 0);
        let max = Checkpoint::parse_body(&format!("o\n18446744073709551615\n{root}\n")).unwrap();
        assert_eq!(max.size, u64::MAX);
    }

    #[test]
    fn non_empty_extension_lines_are_accepted_and_dropped() {
        let plain = "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let extended = format!("{plain}first ext\nsecond\n");
        assert_eq!(Checkpoint::parse_body(&extended), Checkpoint::parse_body(plain));
        assert_eq!(Checkpoint::parse_body(&extended).unwrap().body(), plain);
    }

    #[test]
    fn signature_lines_are_parsed_strictly() {
        let good = "\u{2014} name AAAAAAE=";
        assert_eq!(parse_signature_line(good), Ok(("name", 0, vec![1])));
        assert_eq!(parse_signature_line("- name AAAAAAE="), Err(SignatureFault::NoEmDash));
        assert_eq!(parse_signature_line("\u{2014} nameAAAAAAE="), Err(SignatureFault::NoSpace));
        assert_eq!(parse_signature_line("\u{2014}  AAAAAAE="), Err(SignatureFault::BadKeyName));
        assert_eq!(parse_signature_line("\u{2014} a+b AAAAAAE="), Err(SignatureFault::BadKeyName));
        assert_eq!(parse_signature_line("\u{2014} name AAAAAAE"), Err(SignatureFault::NotBase64));
        assert_eq!(parse_signature_line("\u{2014} name AAAAAAE= "), Err(SignatureFault::NotBase64));
        assert_eq!(parse_signature_line("\u{2014} name "), Err(SignatureFault::TooShort));
        assert_eq!(parse_signature_line("\u{2014} name AAAAAA=="), Err(SignatureFault::TooShort));
    }

    #[test]
    fn key_names_with_spaces_plus_signs_or_control_characters_are_refused() {
        for bad in ["", "a b", "a+b", "a\u{a0}b", "a\u{3000}b", "a\tb", "a\nb", "a\u{1}b"] {
            assert!(!is_valid_key_name(bad), "{bad:?}");
        }
        for good in ["hongbao.example/log", "PeterNeumann", "例子.example/日志"] {
            assert!(is_valid_key_name(good), "{good:?}");
        }
    }
}
