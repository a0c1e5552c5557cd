//! Published RFC 6962 test vectors.
//!
//! They come from github.com/transparency-dev/merkle (the Merkle code of Trillian and of
//! Certificate Transparency's Go tools): the leaf inputs and roots from `testonly/constants.go`
//! (`LeafInputs`, `RootHashes`, `NodeHashes`), and the proofs from `proof/verify_test.go`
//! (`inclusionProofs`, `consistencyProofs`, whose leaf numbers are 1-based there).

use hongbao_audit::{Hash, Tree, empty_root, leaf_hash, verify_consistency, verify_inclusion};

use crate::common::{hex, hex32};

fn leaf_inputs() -> Vec<Vec<u8>> {
    ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
        .into_iter()
        .map(hex)
        .collect()
}

/// Roots of the trees of the first 0..=8 leaf inputs.
fn roots() -> Vec<Hash> {
    [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
    .into_iter()
    .map(hex32)
    .collect()
}

fn vector_tree() -> Tree {
    let mut tree = Tree::new();
    for input in leaf_inputs() {
        tree.push(leaf_hash(&input));
    }
    tree
}

#[test]
fn published_roots_match_for_sizes_0_to_8() {
    let tree = vector_tree();
    let roots = roots();
    assert_eq!(roots[0], empty_root());
    for (size, expected) in roots.iter().enumerate() {
        assert_eq!(tree.root_at(u64::try_from(size).unwrap()), Ok(*expected), "size {size}");
    }
}

#[test]
fn published_leaf_hashes_match() {
    // `NodeHashes()[0]`: the level-0 hashes of the leaf inputs.
    let expected = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ];
    for (input, expected) in leaf_inputs().iter().zip(expected) {
        assert_eq!(leaf_hash(input), hex32(expected));
    }
}

#[test]
fn published_inclusion_proofs_are_reproduced_and_verify() {
    // (0-based index, size, proof)
    let vectors: [(u64, u64, &[&str]); 5] = [
        (0, 1, &[]),
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    let tree = vector_tree();
    let roots = roots();
    let inputs = leaf_inputs();
    for (index, size, expected) in vectors {
        let expected: Vec<Hash> = expected.iter().copied().map(hex32).collect();
        assert_eq!(tree.inclusion_proof(index, size), Ok(expected.clone()), "index {index} size {size}");
        let leaf = leaf_hash(&inputs[usize::try_from(index).unwrap()]);
        let root = roots[usize::try_from(size).unwrap()];
        assert_eq!(verify_inclusion(&leaf, index, size, &expected, &root), Ok(()), "index {index} size {size}");
    }
}

#[test]
fn published_consistency_proofs_are_reproduced_and_verify() {
    let vectors: [(u64, u64, &[&str]); 5] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            6,
            7,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    let tree = vector_tree();
    let roots = roots();
    for (old_size, new_size, expected) in vectors {
        let expected: Vec<Hash> = expected.iter().copied().map(hex32).collect();
        let case = format!("{old_size} -> {new_size}");
        assert_eq!(tree.consistency_proof(old_size, new_size), Ok(expected.clone()), "{case}");
        let old_root = roots[usize::try_from(old_size).unwrap()];
        let new_root = roots[usize::try_from(new_size).unwrap()];
        assert_eq!(verify_consistency(old_size, new_size, &old_root, &new_root, &expected), Ok(()), "{case}");
    }
}
