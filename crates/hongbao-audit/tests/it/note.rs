//! Signed notes and checkpoints, including the published vectors of Go's
//! `golang.org/x/mod/sumdb/note` (`note_test.go`: `TestNewVerifier`, `TestSign`, `TestOpen`).

use ed25519_dalek::SigningKey;
use hongbao_audit::leaf_hash;
use hongbao_audit::note::{
    self, Checkpoint, CheckpointError, KeyError, NOTE_SIZE_BYTES_MAX, NoteError, SIGNATURES_MAX, SignatureFault,
    Verifier,
};
use sha2::{Digest, Sha256};

use crate::common::{signing_key, verifier};

const LOG: &str = "hongbao.example/log";

fn checkpoint() -> Checkpoint {
    Checkpoint::new(LOG, 42, leaf_hash(b"root")).unwrap()
}

#[test]
fn a_signed_checkpoint_opens_to_the_same_checkpoint() {
    let key = signing_key(1);
    let signed = note::sign(&checkpoint(), LOG, &key);
    assert!(signed.starts_with(&checkpoint().body()));
    assert!(signed.contains("\n\n\u{2014} hongbao.example/log "));
    assert!(signed.ends_with('\n'));
    assert_eq!(note::open(&signed, &verifier(LOG, &key)), Ok(checkpoint()));
}

#[test]
fn the_checkpoint_body_is_exactly_the_c2sp_format() {
    let root = [0u8; 32];
    let checkpoint = Checkpoint::new("example.com/log", 0, root).unwrap();
    assert_eq!(checkpoint.body(), "example.com/log\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
    assert_eq!(Checkpoint::new("", 0, root), Err(CheckpointError::EmptyOrigin));
    assert_eq!(Checkpoint::new("a\nb", 0, root), Err(CheckpointError::OriginControlCharacter));
    let unchecked = Checkpoint { origin: "a\tb".to_owned(), size: 0, root };
    assert_eq!(unchecked.check(), Err(CheckpointError::OriginControlCharacter));
}

#[test]
fn changing_any_one_character_of_a_signed_note_makes_it_fail() {
    let key = signing_key(2);
    let signed = note::sign(&checkpoint(), LOG, &key);
    let trusted = verifier(LOG, &key);
    let chars: Vec<char> = signed.chars().collect();
    for i in 0..chars.len() {
        for replacement in ['A', 'z', '0', '/', ' ', '\n', '\u{2014}'] {
            if chars[i] == replacement {
                continue;
            }
            let mut tampered = chars.clone();
            tampered[i] = replacement;
            let tampered: String = tampered.into_iter().collect();
            assert!(note::open(&tampered, &trusted).is_err(), "char {i} replaced by {replacement:?}");
        }
        let mut shorter = chars.clone();
        shorter.remove(i);
        let shorter: String = shorter.into_iter().collect();
        assert!(note::open(&shorter, &trusted).is_err(), "char {i} removed");
    }
}

#[test]
fn a_signature_by_an_unknown_key_is_ignored() {
    let log_key = signing_key(3);
    let witness_key = signing_key(4);
    let body = checkpoint().body();
    let by_log = note::sign(&checkpoint(), LOG, &log_key);
    let by_witness = note::sign_text(&body, "witness.example", &witness_key).unwrap();
    let witness_line = by_witness.strip_prefix(&format!("{body}\n")).unwrap();
    let log_line = by_log.strip_prefix(&format!("{body}\n")).unwrap();

    for both in [format!("{by_log}{witness_line}"), format!("{body}\n{witness_line}{log_line}")] {
        assert_eq!(note::open(&both, &verifier(LOG, &log_key)), Ok(checkpoint()));
    }
    // The witness line alone is signed by nobody the verifier knows.
    assert!(matches!(note::open(&by_witness, &verifier(LOG, &log_key)), Err(NoteError::NoKnownSignature { .. })));
}

#[test]
fn a_signature_under_the_known_name_by_another_key_is_ignored_so_the_note_has_no_known_signature() {
    let real = signing_key(5);
    let impostor = signing_key(6);
    // Same name, different key: the key id differs, so the line is an unknown key's.
    let signed = note::sign(&checkpoint(), LOG, &impostor);
    let trusted = verifier(LOG, &real);
    assert_eq!(
        note::open(&signed, &trusted),
        Err(NoteError::NoKnownSignature { name: LOG.to_owned(), key_id: trusted.key_id() })
    );
}

#[test]
fn a_signature_claiming_the_known_key_that_does_not_verify_fails_the_whole_note() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let real = signing_key(7);
    let impostor = signing_key(8);
    let trusted = verifier(LOG, &real);
    let body = checkpoint().body();
    // The impostor's signature, relabelled with the real key's id.
    let forged = note::sign(&checkpoint(), LOG, &impostor);
    let line = forged.lines().last().unwrap();
    let (_, sig_b64) = line.rsplit_once(' ').unwrap();
    let mut raw = b64.decode(sig_b64).unwrap();
    raw[..4].copy_from_slice(&trusted.key_id().to_be_bytes());
    let forged_line = format!("\u{2014} {LOG} {}\n", b64.encode(&raw));
    let invalid = Err(NoteError::InvalidSignature { name: LOG.to_owned(), key_id: trusted.key_id() });

    assert_eq!(note::open(&format!("{body}\n{forged_line}"), &trusted), invalid);
    // A valid signature next to it does not save the note: a known key's failure is a forgery.
    let genuine = note::sign(&checkpoint(), LOG, &real);
    assert_eq!(note::open(&format!("{genuine}{forged_line}"), &trusted), invalid);
}

#[test]
fn the_verifier_key_text_round_trips_and_its_key_id_is_the_spec_formula() {
    for seed in 0u8..20 {
        let key = signing_key(seed).verifying_key();
        let name = format!("log{seed}.example/path");
        let text = note::vkey(&name, &key);
        let parsed = Verifier::parse(&text).unwrap();
        assert_eq!(parsed.name(), name);
        assert_eq!(parsed.verifying_key(), &key);
        assert_eq!(parsed.to_string(), text);

        // key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4], big-endian.
        let mut preimage = name.as_bytes().to_vec();
        preimage.extend_from_slice(&[0x0a, 0x01]);
        preimage.extend_from_slice(key.as_bytes());
        let digest = Sha256::digest(&preimage);
        let expected = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
        assert_eq!(parsed.key_id(), expected);
        assert_eq!(note::key_id(&name, &key), expected);
        assert_eq!(text.split('+').nth(1).unwrap(), format!("{expected:08x}"));
    }
}

#[test]
fn verifier_keys_that_are_not_exactly_right_are_refused() {
    let good = note::vkey("a.example", &signing_key(1).verifying_key());
    let (name, rest) = good.split_once('+').unwrap();
    let (id, key) = rest.split_once('+').unwrap();
    let upper = id.to_uppercase();
    let cases = [
        (String::new(), KeyError::MalformedVerifierKey),
        ("a.example".to_owned(), KeyError::MalformedVerifierKey),
        (format!("{name}+{id}"), KeyError::MalformedVerifierKey),
        (format!("+{id}+{key}"), KeyError::InvalidName(String::new())),
        (format!("{name}+{upper}+{key}"), KeyError::BadKeyId(upper.clone())),
        (format!("{name}+{}+{key}", &id[1..]), KeyError::BadKeyId(id[1..].to_owned())),
        (format!("{name}+{id}+{}", &key[1..]), KeyError::BadKeyEncoding),
        (format!("{name}+{id}+Ag{}", &key[2..]), KeyError::NotEd25519),
        (format!("{name}+{id}+AQ=="), KeyError::NotEd25519),
        // The identity point: a valid encoding of a small-order key.
        (format!("{name}+{id}+AQEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), KeyError::WeakKey),
    ];
    for (text, expected) in cases {
        assert_eq!(Verifier::parse(&text), Err(expected), "{text:?}");
    }
    let other_id = format!("{:08x}", u32::from_str_radix(id, 16).unwrap() ^ 1);
    assert!(matches!(Verifier::parse(&format!("{name}+{other_id}+{key}")), Err(KeyError::KeyIdMismatch { .. })));
    assert!(matches!(Verifier::parse(&format!("b.example+{id}+{key}")), Err(KeyError::KeyIdMismatch { .. })));
}

#[test]
fn notes_that_break_the_format_are_refused_before_any_signature_is_checked() {
    let key = signing_key(9);
    let trusted = verifier(LOG, &key);
    let signed = note::sign(&checkpoint(), LOG, &key);
    let body = checkpoint().body();
    let line = signed.strip_prefix(&format!("{body}\n")).unwrap();
    let cases = [
        (body.clone(), NoteError::NoSignatureBlock),
        (format!("{body}\n"), NoteError::NoSignatures),
        (signed.trim_end().to_owned(), NoteError::MalformedSignature { line: 1, fault: SignatureFault::Unterminated }),
        (format!("{body}\n{line}\n"), NoteError::NoSignatures),
        (
            format!("{body}\n{line}extra text\n"),
            NoteError::MalformedSignature { line: 2, fault: SignatureFault::NoEmDash },
        ),
        (signed.replacen('\n', "\r\n", 1), NoteError::ControlCharacter { offset: LOG.len() }),
        (format!("\t{signed}"), NoteError::ControlCharacter { offset: 0 }),
        (format!("{body}\n{}", line.repeat(SIGNATURES_MAX + 1)), NoteError::TooManySignatures { max: SIGNATURES_MAX }),
    ];
    for (text, expected) in cases {
        assert_eq!(note::open(&text, &trusted), Err(expected), "{text:?}");
    }
    let huge = format!("{}{signed}", "x".repeat(NOTE_SIZE_BYTES_MAX));
    assert_eq!(note::open(&huge, &trusted), Err(NoteError::TooLarge { len: huge.len(), max: NOTE_SIZE_BYTES_MAX }));
    // Exactly the limit of signatures is fine when every one of them verifies.
    let many = format!("{body}\n{}", line.repeat(SIGNATURES_MAX));
    assert_eq!(note::open(&many, &trusted), Ok(checkpoint()));
}

#[test]
fn a_validly_signed_text_that_is_not_a_strict_checkpoint_is_refused() {
    let key = signing_key(10);
    let trusted = verifier(LOG, &key);
    let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    let cases = [
        (format!("{LOG}\n007\n{root}\n"), CheckpointError::BadSize("007".to_owned())),
        (format!("{LOG}\n7\n{root}\n\n"), CheckpointError::EmptyExtensionLine { line: 4 }),
        (format!("{LOG}\n7\n"), CheckpointError::MissingLines { found: 2 }),
        (format!("{LOG}\n7\nnot a root\n"), CheckpointError::BadRoot("not a root".to_owned())),
    ];
    for (body, expected) in cases {
        let signed = note::sign_text(&body, LOG, &key).unwrap();
        assert_eq!(note::open(&signed, &trusted), Err(NoteError::Checkpoint(expected)), "{body:?}");
    }
    let with_extension = note::sign_text(&format!("{LOG}\n7\n{root}\nextension\n"), LOG, &key).unwrap();
    let root = hongbao_audit::Hash::try_from(decode_base64(root)).unwrap();
    assert_eq!(note::open(&with_extension, &trusted), Ok(Checkpoint { origin: LOG.to_owned(), size: 7, root }));
}

fn decode_base64(b64: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(b64).unwrap()
}

#[test]
fn texts_a_verifier_would_refuse_cannot_be_signed() {
    let key = signing_key(11);
    assert_eq!(note::sign_text("a\n", "a b", &key), Err(NoteError::InvalidKeyName("a b".to_owned())));
    assert_eq!(note::sign_text("no newline", LOG, &key), Err(NoteError::TextWithoutFinalNewline));
    assert_eq!(note::sign_text("a\u{7}b\n", LOG, &key), Err(NoteError::ControlCharacter { offset: 1 }));
}

// Go's `sumdb/note` vectors. The signer key there is
// PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz,
// that is type 0x01 followed by the 32-byte Ed25519 seed.
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_SEED_B64: &str = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const GO_TEXT: &str =
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str =
    "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

fn peter_signing_key() -> SigningKey {
    use base64::Engine as _;
    let typed = base64::engine::general_purpose::STANDARD.decode(PETER_SEED_B64).unwrap();
    assert_eq!(typed[0], 0x01);
    SigningKey::from_bytes(&typed[1..].try_into().unwrap())
}

#[test]
fn go_sumdb_note_keys_and_signatures_are_reproduced_exactly() {
    let key = peter_signing_key();
    let name = "PeterNeumann";
    assert_eq!(note::vkey(name, &key.verifying_key()), PETER_VKEY);
    assert_eq!(Verifier::parse(PETER_VKEY).unwrap().key_id(), 0xc74f_20a3);
    // Ed25519 is deterministic, so our note must be Go's byte for byte (TestSign).
    assert_eq!(note::sign_text(GO_TEXT, name, &key).unwrap(), format!("{GO_TEXT}\n{PETER_SIG}"));
}

#[test]
fn go_sumdb_note_signed_notes_open_as_go_opens_them() {
    let peter = Verifier::parse(PETER_VKEY).unwrap();
    let enoch = Verifier::parse(ENOCH_VKEY).unwrap();
    assert_eq!(enoch.key_id(), 0xaf0c_fe78);
    let both = format!("{GO_TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    assert_eq!(note::open_text(&both, &peter), Ok(GO_TEXT));
    assert_eq!(note::open_text(&both, &enoch), Ok(GO_TEXT));

    // TestOpen's "Invalid signature": four characters inserted into Peter's signature.
    let corrupted = format!("{GO_TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    assert_eq!(
        note::open_text(&corrupted, &peter),
        Err(NoteError::InvalidSignature { name: "PeterNeumann".to_owned(), key_id: 0xc74f_20a3 })
    );
    // TestOpen's "too many signatures": 101 copies.
    let too_many = format!("{GO_TEXT}\n{}", PETER_SIG.repeat(101));
    assert_eq!(note::open_text(&too_many, &peter), Err(NoteError::TooManySignatures { max: 100 }));
    // TestOpen's wrong-hash line ("x08g" replaced by "xxxx") is another key's: ignored.
    let wrong_hash = format!("{GO_TEXT}\n{}", PETER_SIG.replace("x08g", "xxxx"));
    assert!(matches!(note::open_text(&wrong_hash, &peter), Err(NoteError::NoKnownSignature { .. })));

    // TestOpen's badMsgs: every one is malformed.
    let bad_messages = [
        GO_TEXT.to_owned(),
        format!("{GO_TEXT}\n"),
        format!("{GO_TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
        format!("\u{1}{GO_TEXT}\n{PETER_SIG}"),
        format!(
            "{GO_TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
        ),
        format!("{GO_TEXT}\n{PETER_SIG}Unexpected line.\n"),
    ];
    for message in bad_messages {
        let result = note::open_text(&message, &peter);
        assert!(
            matches!(
                result,
                Err(NoteError::NoSignatureBlock
                    | NoteError::NoSignatures
                    | NoteError::MalformedSignature { .. }
                    | NoteError::ControlCharacter { .. })
            ),
            "{message:?}: {result:?}"
        );
    }
}

#[test]
fn go_sumdb_note_verifier_key_manglings_are_all_refused() {
    // TestNewVerifier: every proper substring and every single-byte increment must fail.
    let bytes = PETER_VKEY.as_bytes();
    for i in 0..=bytes.len() {
        for j in i + 1..=bytes.len() {
            if (i, j) != (0, bytes.len()) {
                let part = &PETER_VKEY[i..j];
                assert!(Verifier::parse(part).is_err(), "{part:?}");
            }
        }
    }
    for i in 0..bytes.len() {
        let mut mangled = bytes.to_vec();
        mangled[i] += 1;
        let mangled = String::from_utf8(mangled).unwrap();
        assert!(Verifier::parse(&mangled).is_err(), "{mangled:?}");
    }
    // Wrong key length and unknown algorithm, each with a key id adjusted to match.
    // Go's decoder ignores the non-zero padding bits of "EY==" in the first; ours refuses them.
    let cases = [
        ("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==", KeyError::BadKeyEncoding),
        ("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", KeyError::NotEd25519),
    ];
    for (bad, expected) in cases {
        assert_eq!(Verifier::parse(bad), Err(expected), "{bad:?}");
    }
}
