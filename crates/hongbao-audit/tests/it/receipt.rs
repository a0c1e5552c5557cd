//! End-to-end receipts: a log signs a checkpoint, hands out tlog-proofs, a client checks them.

use hongbao_audit::note::{self, Checkpoint, NoteError};
use hongbao_audit::{ProofError, ReceiptError, Tree, Verified, leaf_hash, proof, verify_receipt};
use proptest::prelude::*;

use crate::common::{entry, signing_key, tree_of, verifier};

const LOG: &str = "hongbao.example/log";
const LOG_SIZE: u64 = 37;

struct Log {
    tree: Tree,
    note: String,
}

fn log() -> Log {
    let tree = tree_of(LOG_SIZE);
    let checkpoint = Checkpoint::new(LOG, tree.len(), tree.root()).unwrap();
    let note = note::sign(&checkpoint, LOG, &signing_key(1));
    Log { tree, note }
}

impl Log {
    fn receipt(&self, index: u64) -> String {
        proof::format(index, &self.tree.inclusion_proof(index, self.tree.len()).unwrap(), &self.note)
    }
}

#[test]
fn a_receipt_for_every_entry_of_a_signed_log_verifies() {
    let log = log();
    let trusted = verifier(LOG, &signing_key(1));
    for index in 0..LOG_SIZE {
        let verified = verify_receipt(&entry(index), &log.receipt(index), &trusted).unwrap();
        assert_eq!(verified.index, index);
        assert_eq!(verified.checkpoint.size, LOG_SIZE);
        assert_eq!(verified.checkpoint.root, log.tree.root());
    }
    // Extra data is carried but not trusted, so it does not change the verdict.
    let proof = log.tree.inclusion_proof(3, LOG_SIZE).unwrap();
    let with_extra = proof::format_with_extra(b"anything", 3, &proof, &log.note);
    assert!(matches!(verify_receipt(&entry(3), &with_extra, &trusted), Ok(Verified { index: 3, .. })));
}

#[test]
fn a_receipt_checked_with_another_key_is_refused_as_not_signed_by_the_log() {
    let log = log();
    let other = verifier(LOG, &signing_key(2));
    let result = verify_receipt(&entry(0), &log.receipt(0), &other);
    assert!(matches!(result, Err(ReceiptError::Checkpoint(NoteError::NoKnownSignature { .. }))), "{result:?}");
}

#[test]
fn a_receipt_whose_signature_was_altered_is_refused_as_badly_signed() {
    let log = log();
    let receipt = log.receipt(0);
    // Flip one base64 character in the middle of the signature line.
    let at = receipt.rfind(' ').unwrap() + 30;
    let mut tampered = receipt.clone();
    let replacement = if &receipt[at..=at] == "A" { "B" } else { "A" };
    tampered.replace_range(at..=at, replacement);
    let result = verify_receipt(&entry(0), &tampered, &verifier(LOG, &signing_key(1)));
    assert!(matches!(result, Err(ReceiptError::Checkpoint(NoteError::InvalidSignature { .. }))), "{result:?}");
}

#[test]
fn a_receipt_does_not_prove_another_entry() {
    let log = log();
    let result = verify_receipt(b"a packet never logged", &log.receipt(4), &verifier(LOG, &signing_key(1)));
    assert_eq!(result, Err(ReceiptError::NotIncluded(ProofError::RootMismatch)));
    let result = verify_receipt(&entry(5), &log.receipt(4), &verifier(LOG, &signing_key(1)));
    assert_eq!(result, Err(ReceiptError::NotIncluded(ProofError::RootMismatch)));
}

#[test]
fn a_receipt_with_a_moved_index_does_not_prove_inclusion() {
    let log = log();
    let proof = log.tree.inclusion_proof(4, LOG_SIZE).unwrap();
    let moved = proof::format(5, &proof, &log.note);
    let result = verify_receipt(&entry(4), &moved, &verifier(LOG, &signing_key(1)));
    assert_eq!(result, Err(ReceiptError::NotIncluded(ProofError::RootMismatch)));
}

#[test]
fn a_receipt_with_an_index_beyond_the_checkpoint_is_refused() {
    let log = log();
    let beyond = proof::format(LOG_SIZE, &[], &log.note);
    let result = verify_receipt(&entry(LOG_SIZE), &beyond, &verifier(LOG, &signing_key(1)));
    assert_eq!(result, Err(ReceiptError::IndexOutOfRange { index: LOG_SIZE, size: LOG_SIZE }));
}

#[test]
fn a_receipt_with_an_altered_hash_does_not_lead_to_the_root() {
    let log = log();
    let mut proof = log.tree.inclusion_proof(6, LOG_SIZE).unwrap();
    proof[2][31] ^= 1;
    let altered = proof::format(6, &proof, &log.note);
    let result = verify_receipt(&entry(6), &altered, &verifier(LOG, &signing_key(1)));
    assert_eq!(result, Err(ReceiptError::NotIncluded(ProofError::RootMismatch)));
    proof.pop();
    let short = proof::format(6, &proof, &log.note);
    let result = verify_receipt(&entry(6), &short, &verifier(LOG, &signing_key(1)));
    assert!(matches!(result, Err(ReceiptError::NotIncluded(ProofError::ProofTooShort { .. }))), "{result:?}");
}

#[test]
fn a_checkpoint_signed_for_another_origin_is_refused() {
    let tree = tree_of(3);
    let checkpoint = Checkpoint::new("other.example/log", 3, tree.root()).unwrap();
    let note = note::sign(&checkpoint, LOG, &signing_key(1));
    let receipt = proof::format(0, &tree.inclusion_proof(0, 3).unwrap(), &note);
    let result = verify_receipt(&entry(0), &receipt, &verifier(LOG, &signing_key(1)));
    assert_eq!(
        result,
        Err(ReceiptError::OriginMismatch { origin: "other.example/log".to_owned(), key_name: LOG.to_owned() })
    );
}

#[test]
fn a_malformed_receipt_is_refused_as_malformed() {
    let log = log();
    let receipt = log.receipt(0).replacen("index 0", "index 00", 1);
    let result = verify_receipt(&entry(0), &receipt, &verifier(LOG, &signing_key(1)));
    assert_eq!(result, Err(ReceiptError::Malformed(proof::ProofTextError::BadIndex("00".to_owned()))));
    assert!(matches!(
        verify_receipt(&entry(0), "", &verifier(LOG, &signing_key(1))),
        Err(ReceiptError::Malformed(proof::ProofTextError::BadHeader))
    ));
}

#[test]
fn receipt_errors_say_what_failed() {
    let errors = [
        (ReceiptError::IndexOutOfRange { index: 9, size: 3 }, "entry index 9 is not below checkpoint size 3"),
        (
            ReceiptError::NotIncluded(ProofError::RootMismatch),
            "inclusion proof failed: proof does not lead to the expected root",
        ),
        (
            ReceiptError::Checkpoint(NoteError::InvalidSignature { name: LOG.to_owned(), key_id: 0xab }),
            "checkpoint refused: signature by known key hongbao.example/log+000000ab does not verify",
        ),
    ];
    for (error, message) in errors {
        assert_eq!(error.to_string(), message);
    }
}

/// One edit to a receipt: replace, insert or delete one character.
#[derive(Debug, Clone)]
enum Edit {
    Replace(usize, char),
    Insert(usize, char),
    Delete(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let chars = prop::sample::select(vec!['A', 'z', '0', '9', '+', '/', '=', ' ', '\n', '\u{2014}', 'é']);
    prop_oneof![
        (any::<prop::sample::Index>(), chars.clone()).prop_map(|(i, c)| Edit::Replace(i.index(usize::MAX), c)),
        (any::<prop::sample::Index>(), chars).prop_map(|(i, c)| Edit::Insert(i.index(usize::MAX), c)),
        any::<prop::sample::Index>().prop_map(|i| Edit::Delete(i.index(usize::MAX))),
    ]
}

proptest! {
    #[test]
    fn any_single_edit_of_a_receipt_without_extra_data_is_refused_and_never_panics(
        index in 0..LOG_SIZE,
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        let log = log();
        let original = log.receipt(index);
        let mut chars: Vec<char> = original.chars().collect();
        for edit in &edits {
            match *edit {
                Edit::Replace(at, c) => { let at = at % chars.len(); chars[at] = c; }
                Edit::Insert(at, c) => { let at = at % (chars.len() + 1); chars.insert(at, c); }
                Edit::Delete(at) => { let at = at % chars.len(); chars.remove(at); }
            }
        }
        let edited: String = chars.into_iter().collect();
        prop_assume!(edited != original);
        let result = verify_receipt(&entry(index), &edited, &verifier(LOG, &signing_key(1)));
        prop_assert!(result.is_err(), "edited receipt verified: {edited:?}");
    }

    #[test]
    fn arbitrary_text_is_refused_without_panicking(text in ".{0,400}", entry_bytes in prop::collection::vec(any::<u8>(), 0..40)) {
        let trusted = verifier(LOG, &signing_key(1));
        prop_assert!(verify_receipt(&entry_bytes, &text, &trusted).is_err());
        let with_header = format!("c2sp.org/tlog-proof@v1\nindex 0\n\n{text}");
        prop_assert!(verify_receipt(&entry_bytes, &with_header, &trusted).is_err());
    }
}

#[test]
fn an_empty_leaf_entry_can_be_logged_and_proven() {
    let mut tree = Tree::new();
    tree.push(leaf_hash(b""));
    let checkpoint = Checkpoint::new(LOG, 1, tree.root()).unwrap();
    let note = note::sign(&checkpoint, LOG, &signing_key(1));
    let receipt = proof::format(0, &[], &note);
    assert_eq!(verify_receipt(b"", &receipt, &verifier(LOG, &signing_key(1))), Ok(Verified { index: 0, checkpoint }));
}
