//! Cross-checks against independent implementations: the `ct-merkle` crate for RFC 6962 trees
//! and proofs, and Cloudflare's `signed_note` crate (a port of Go's `sumdb/note`) for notes.

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use hongbao_audit::note::{self, Checkpoint};
use hongbao_audit::{Hash, Tree, leaf_hash, verify_consistency, verify_inclusion};
use sha2::Sha256;
use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};

use crate::common::{SIZE_MAX, entry, signing_key, verifier};

type Digest = ct_merkle::digest::Output<Sha256>;

fn digest(hash: &Hash) -> Digest {
    Digest::from(*hash)
}

fn concatenated(hashes: &[Hash]) -> Vec<u8> {
    hashes.concat()
}

fn split(bytes: &[u8]) -> Vec<Hash> {
    bytes.chunks(32).map(|chunk| chunk.try_into().unwrap()).collect()
}

#[test]
fn roots_and_proofs_match_ct_merkle_for_every_size_up_to_300_and_each_verifies_the_others() {
    let mut theirs = MemoryBackedTree::<Sha256, Vec<u8>>::new();
    let mut ours = Tree::new();
    let mut old_roots: Vec<Hash> = Vec::new();
    for i in 0..SIZE_MAX {
        theirs.push(entry(i));
        ours.push(leaf_hash(&entry(i)));
        let size = i + 1;
        let root = ours.root();
        assert_eq!(theirs.root().as_bytes().as_slice(), root.as_slice(), "root of size {size}");
        old_roots.push(root);
        let their_root = RootHash::<Sha256>::new(digest(&root), size);

        for index in 0..size {
            let their_proof = theirs.prove_inclusion(usize::try_from(index).unwrap());
            let our_proof = ours.inclusion_proof(index, size).unwrap();
            assert_eq!(their_proof.as_bytes(), concatenated(&our_proof), "inclusion of {index} in {size}");
            // Each side's proof through the other side's verifier.
            let leaf = leaf_hash(&entry(index));
            assert_eq!(verify_inclusion(&leaf, index, size, &split(their_proof.as_bytes()), &root), Ok(()));
            let ours_for_them =
                InclusionProof::<Sha256>::from_digests(our_proof.iter().map(digest).collect::<Vec<_>>().iter());
            assert!(their_root.verify_inclusion(&entry(index), index, &ours_for_them).is_ok(), "{index} in {size}");
        }

        // ct-merkle proves consistency from a strict, non-empty prefix of its current tree.
        for old_size in 1..size {
            let additions = usize::try_from(size - old_size).unwrap();
            let their_proof = theirs.prove_consistency(additions);
            let our_proof = ours.consistency_proof(old_size, size).unwrap();
            let case = format!("consistency {old_size} -> {size}");
            assert_eq!(their_proof.as_bytes(), concatenated(&our_proof), "{case}");
            let old_root = old_roots[usize::try_from(old_size - 1).unwrap()];
            let their_proof_hashes = split(their_proof.as_bytes());
            assert_eq!(verify_consistency(old_size, size, &old_root, &root, &their_proof_hashes), Ok(()), "{case}");
            let ours_for_them =
                ConsistencyProof::<Sha256>::from_digests(our_proof.iter().map(digest).collect::<Vec<_>>().iter());
            let their_old_root = RootHash::<Sha256>::new(digest(&old_root), old_size);
            assert!(their_root.verify_consistency(&their_old_root, &ours_for_them).is_ok(), "{case}");
        }
    }
}

/// Go's private key text: `PRIVATE+KEY+<name>+<key id>+base64(0x01 || 32-byte seed)`.
fn go_private_key(name: &str, seed: u8) -> String {
    let key = signing_key(seed);
    let vkey = note::vkey(name, &key.verifying_key());
    let key_id = vkey.split('+').nth(1).unwrap().to_owned();
    let mut typed = vec![0x01];
    typed.extend_from_slice(key.as_bytes());
    use base64::Engine as _;
    format!("PRIVATE+KEY+{name}+{key_id}+{}", base64::engine::general_purpose::STANDARD.encode(typed))
}

#[test]
fn cloudflare_signed_note_accepts_our_checkpoints_and_we_accept_its_notes() {
    let name = "hongbao.example/log";
    let key = signing_key(7);
    let checkpoint = Checkpoint::new(name, 12_345, leaf_hash(b"root")).unwrap();

    // Ours, checked by theirs, with the verifier parsed from our vkey text.
    let signed = note::sign(&checkpoint, name, &key);
    let their_verifier = StandardVerifier::new(&note::vkey(name, &key.verifying_key())).unwrap();
    let parsed = Note::from_bytes(signed.as_bytes()).unwrap();
    let (verified, unverified) = parsed.verify(&VerifierList::new(vec![Box::new(their_verifier)])).unwrap();
    assert_eq!((verified.len(), unverified.len()), (1, 0));
    assert_eq!(parsed.text(), checkpoint.body().as_bytes());

    // Theirs, signed from the same seed, checked by ours: byte for byte the same note, since
    // Ed25519 signatures are deterministic.
    let their_signer = StandardSigner::new(&go_private_key(name, 7)).unwrap();
    let mut their_note = Note::new(checkpoint.body().as_bytes(), &[]).unwrap();
    their_note.add_sigs(&[&their_signer]).unwrap();
    let their_text = String::from_utf8(their_note.to_bytes()).unwrap();
    assert_eq!(their_text, signed);
    assert_eq!(note::open(&their_text, &verifier(name, &key)), Ok(checkpoint));
}

#[test]
fn cloudflare_signed_note_and_we_agree_on_which_tampered_notes_fail() {
    let name = "hongbao.example/log";
    let key = signing_key(9);
    let checkpoint = Checkpoint::new(name, 3, leaf_hash(b"root")).unwrap();
    let signed = note::sign(&checkpoint, name, &key);
    let ours = verifier(name, &key);
    let theirs = || {
        let v = StandardVerifier::new(&note::vkey(name, &key.verifying_key())).unwrap();
        VerifierList::new(vec![Box::new(v)])
    };
    let chars: Vec<char> = signed.chars().collect();
    for i in 0..chars.len() {
        let mut tampered = chars.clone();
        tampered[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let tampered: String = tampered.into_iter().collect();
        let their_verdict = Note::from_bytes(tampered.as_bytes()).and_then(|n| n.verify(&theirs()).map(|_| ()));
        assert!(their_verdict.is_err(), "signed_note accepted a change at char {i}");
        assert!(note::open_text(&tampered, &ours).is_err(), "we accepted a change at char {i}");
    }
}
