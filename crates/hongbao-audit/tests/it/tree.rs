//! Exhaustive checks of `Tree` against the definition and against the RFC 9162 verifiers.

use hongbao_audit::{Hash, ProofError, Tree, empty_root, leaf_hash, verify_consistency, verify_inclusion};

use crate::common::{SIZE_MAX, entry, naive_root, tree_of, with_flipped_bit};

#[test]
fn the_root_equals_the_recursive_definition_for_every_size_up_to_300() {
    let full = tree_of(SIZE_MAX);
    let mut growing = Tree::new();
    let mut leaves = Vec::new();
    assert_eq!(growing.root(), empty_root());
    for i in 0..SIZE_MAX {
        leaves.push(leaf_hash(&entry(i)));
        assert_eq!(growing.push(leaf_hash(&entry(i))), i);
        let size = i + 1;
        let expected = naive_root(&leaves);
        assert_eq!(growing.root(), expected, "root of a tree grown to {size}");
        assert_eq!(full.root_at(size), Ok(expected), "root_at({size}) of a larger tree");
    }
    assert_eq!(full.root_at(0), Ok(empty_root()));
}

#[test]
fn every_inclusion_proof_up_to_size_300_verifies_and_every_tampering_fails() {
    let tree = tree_of(SIZE_MAX);
    let roots: Vec<Hash> = (0..=SIZE_MAX).map(|size| tree.root_at(size).unwrap()).collect();
    let root = |size: u64| roots[usize::try_from(size).unwrap()];
    for size in 1..=SIZE_MAX {
        for index in 0..size {
            let leaf = tree.leaf(index).unwrap();
            let proof = tree.inclusion_proof(index, size).unwrap();
            let case = format!("index {index} of size {size}");
            assert_eq!(verify_inclusion(&leaf, index, size, &proof, &root(size)), Ok(()), "{case}");
            assert!(proof.len() <= 9, "{case}: a tree of at most 300 leaves is 9 levels deep");

            for i in 0..proof.len() {
                let tampered = with_flipped_bit(&proof, i);
                assert!(verify_inclusion(&leaf, index, size, &tampered, &root(size)).is_err(), "{case}: hash {i}");
            }
            let other_leaf = leaf_hash(b"not in the log");
            assert!(verify_inclusion(&other_leaf, index, size, &proof, &root(size)).is_err(), "{case}: leaf");
            for other_index in [index.wrapping_sub(1), index + 1, index ^ 2, index ^ 1] {
                if other_index != index && other_index < size {
                    let result = verify_inclusion(&leaf, other_index, size, &proof, &root(size));
                    assert!(result.is_err(), "{case}: moved to index {other_index}");
                }
            }
            // Another size is only meaningful with that size's root; see
            // `an_inclusion_proof_alone_does_not_bind_the_tree_size` for why.
            for other_size in [size - 1, size + 1, size * 2, size / 2] {
                if other_size != size && other_size <= SIZE_MAX {
                    let result = verify_inclusion(&leaf, index, other_size, &proof, &root(other_size));
                    assert!(result.is_err(), "{case}: claimed for size {other_size}");
                }
            }
            if let Some((_, shorter)) = proof.split_last() {
                assert!(verify_inclusion(&leaf, index, size, shorter, &root(size)).is_err(), "{case}: truncated");
            }
            let mut longer = proof.clone();
            longer.push(root(size));
            assert!(verify_inclusion(&leaf, index, size, &longer, &root(size)).is_err(), "{case}: extended");
            let mut prefixed = vec![leaf];
            prefixed.extend_from_slice(&proof);
            assert!(verify_inclusion(&leaf, index, size, &prefixed, &root(size)).is_err(), "{case}: prefixed");
        }
    }
}

#[test]
fn every_consistency_proof_up_to_size_300_verifies_and_every_tampering_fails() {
    let tree = tree_of(SIZE_MAX);
    let roots: Vec<Hash> = (0..=SIZE_MAX).map(|size| tree.root_at(size).unwrap()).collect();
    let root = |size: u64| roots[usize::try_from(size).unwrap()];
    for new_size in 1..=SIZE_MAX {
        for old_size in 0..=new_size {
            let proof = tree.consistency_proof(old_size, new_size).unwrap();
            let (old_root, new_root) = (root(old_size), root(new_size));
            let case = format!("{old_size} -> {new_size}");
            assert_eq!(verify_consistency(old_size, new_size, &old_root, &new_root, &proof), Ok(()), "{case}");

            let mut longer = proof.clone();
            longer.push(new_root);
            assert!(verify_consistency(old_size, new_size, &old_root, &new_root, &longer).is_err(), "{case}: extended");
            if old_size == 0 || old_size == new_size {
                assert!(proof.is_empty(), "{case}: nothing to prove");
                if old_size == new_size {
                    let other = root(new_size - 1);
                    assert!(verify_consistency(old_size, new_size, &other, &new_root, &proof).is_err(), "{case}");
                }
                continue;
            }

            for i in 0..proof.len() {
                let tampered = with_flipped_bit(&proof, i);
                let result = verify_consistency(old_size, new_size, &old_root, &new_root, &tampered);
                assert!(result.is_err(), "{case}: hash {i}");
            }
            for other_old in [old_size - 1, old_size + 1] {
                if other_old != 0 && other_old <= new_size {
                    let result = verify_consistency(other_old, new_size, &root(other_old), &new_root, &proof);
                    assert!(result.is_err(), "{case}: claimed from {other_old}");
                }
            }
            for other_new in [new_size - 1, new_size + 1] {
                if other_new >= old_size && other_new <= SIZE_MAX {
                    let result = verify_consistency(old_size, other_new, &old_root, &root(other_new), &proof);
                    assert!(result.is_err(), "{case}: claimed to {other_new}");
                }
            }
            assert!(verify_consistency(old_size, new_size, &new_root, &old_root, &proof).is_err(), "{case}: swapped");
            let other_old_root = root(old_size - 1);
            assert!(verify_consistency(old_size, new_size, &other_old_root, &new_root, &proof).is_err(), "{case}");
            let (_, shorter) = proof.split_last().unwrap();
            assert!(
                verify_consistency(old_size, new_size, &old_root, &new_root, shorter).is_err(),
                "{case}: truncated"
            );
            let mut prefixed = vec![old_root];
            prefixed.extend_from_slice(&proof);
            assert!(verify_consistency(old_size, new_size, &old_root, &new_root, &prefixed).is_err(), "{case}");
        }
    }
}

#[test]
fn an_inclusion_proof_alone_does_not_bind_the_tree_size() {
    // RFC 9162's verifier derives the path's shape from (index, size), and different sizes can
    // share a shape: the proof of leaf 0 in a tree of 3 is also a well-shaped proof for a tree of
    // 4, and it rebuilds the size-3 root. Only a signed (size, root) pair, a checkpoint, pins the
    // size; this test records the property so no caller relies on the proof alone.
    let tree = tree_of(4);
    let proof = tree.inclusion_proof(0, 3).unwrap();
    let root_3 = tree.root_at(3).unwrap();
    let leaf = tree.leaf(0).unwrap();
    assert_eq!(verify_inclusion(&leaf, 0, 3, &proof, &root_3), Ok(()));
    assert_eq!(verify_inclusion(&leaf, 0, 4, &proof, &root_3), Ok(()));
    assert_eq!(verify_inclusion(&leaf, 0, 4, &proof, &tree.root_at(4).unwrap()), Err(ProofError::RootMismatch));
}

#[test]
fn questions_outside_the_tree_are_refused() {
    let empty = Tree::new();
    assert!(empty.is_empty());
    assert_eq!(empty.leaf(0), None);
    assert_eq!(empty.inclusion_proof(0, 0), Err(ProofError::IndexOutOfRange { index: 0, size: 0 }));
    assert_eq!(empty.consistency_proof(0, 0), Ok(Vec::new()));

    let tree = tree_of(10);
    assert_eq!(tree.len(), 10);
    assert_eq!(tree.leaf(10), None);
    assert_eq!(tree.leaf(u64::MAX), None);
    assert_eq!(tree.root_at(11), Err(ProofError::SizeBeyondTree { size: 11, len: 10 }));
    assert_eq!(tree.inclusion_proof(5, 5), Err(ProofError::IndexOutOfRange { index: 5, size: 5 }));
    assert_eq!(tree.inclusion_proof(0, 11), Err(ProofError::SizeBeyondTree { size: 11, len: 10 }));
    assert_eq!(tree.inclusion_proof(u64::MAX, u64::MAX), Err(ProofError::SizeBeyondTree { size: u64::MAX, len: 10 }));
    assert_eq!(tree.consistency_proof(6, 5), Err(ProofError::OldSizeAboveNew { old_size: 6, new_size: 5 }));
    assert_eq!(tree.consistency_proof(1, 11), Err(ProofError::SizeBeyondTree { size: 11, len: 10 }));
}

#[test]
fn verifiers_refuse_impossible_sizes_and_say_why() {
    let leaf = leaf_hash(b"x");
    let empty = empty_root();
    assert_eq!(verify_inclusion(&leaf, 0, 0, &[], &empty), Err(ProofError::IndexOutOfRange { index: 0, size: 0 }));
    assert_eq!(verify_inclusion(&leaf, 3, 3, &[], &leaf), Err(ProofError::IndexOutOfRange { index: 3, size: 3 }));
    assert_eq!(verify_inclusion(&leaf, 0, 1, &[], &leaf), Ok(()));
    assert_eq!(verify_inclusion(&leaf, 0, 1, &[leaf], &leaf), Err(ProofError::ProofTooLong { len: 1 }));
    assert_eq!(verify_inclusion(&leaf, 0, 2, &[], &leaf), Err(ProofError::ProofTooShort { len: 0 }));
    assert_eq!(verify_inclusion(&leaf, u64::MAX - 1, u64::MAX, &[], &leaf), Err(ProofError::ProofTooShort { len: 0 }));
    let too_long = vec![leaf; 65];
    assert_eq!(verify_inclusion(&leaf, 0, u64::MAX, &too_long, &leaf), Err(ProofError::ProofTooLong { len: 65 }));

    let a = leaf_hash(b"a");
    let b = leaf_hash(b"b");
    assert_eq!(verify_consistency(2, 1, &a, &b, &[]), Err(ProofError::OldSizeAboveNew { old_size: 2, new_size: 1 }));
    assert_eq!(verify_consistency(0, 0, &empty, &empty, &[]), Ok(()));
    assert_eq!(verify_consistency(0, 7, &empty, &b, &[]), Ok(()));
    assert_eq!(verify_consistency(0, 7, &empty, &b, &[a]), Err(ProofError::UnexpectedProof { len: 1 }));
    assert_eq!(verify_consistency(0, 7, &a, &b, &[]), Err(ProofError::NotEmptyRoot));
    assert_eq!(verify_consistency(0, 0, &empty, &a, &[]), Err(ProofError::SameSizeRootsDiffer));
    assert_eq!(verify_consistency(5, 5, &a, &a, &[]), Ok(()));
    assert_eq!(verify_consistency(5, 5, &a, &b, &[]), Err(ProofError::SameSizeRootsDiffer));
    assert_eq!(verify_consistency(5, 5, &a, &a, &[a]), Err(ProofError::UnexpectedProof { len: 1 }));
    assert_eq!(verify_consistency(1, 2, &a, &b, &[]), Err(ProofError::EmptyProof));
    assert_eq!(verify_consistency(1, 2, &a, &node(&a, &b), &[b]), Ok(()));
    assert_eq!(verify_consistency(1, 2, &b, &node(&a, &b), &[b]), Err(ProofError::NewRootMismatch));
    assert_eq!(verify_consistency(3, 4, &a, &b, &[a]), Err(ProofError::ProofTooShort { len: 1 }));
    assert_eq!(verify_consistency(1, 2, &a, &b, &[a, a]), Err(ProofError::ProofTooLong { len: 2 }));
}

fn node(left: &Hash, right: &Hash) -> Hash {
    hongbao_audit::node_hash(left, right)
}
