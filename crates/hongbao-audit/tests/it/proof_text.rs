//! The c2sp.org/tlog-proof text format: writing, and strict reading.

use hongbao_audit::proof::{self, PROOF_HASHES_MAX, PROOF_TEXT_BYTES_MAX, ProofTextError, TlogProof};
use hongbao_audit::{Hash, leaf_hash};

const CHECKPOINT: &str =
    "example.com/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u{2014} example.com/log AAAA\n";

fn hashes(n: u8) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&[i])).collect()
}

#[test]
fn a_proof_is_written_exactly_as_the_spec_lays_it_out() {
    let text = proof::format(5, &[[0; 32], [0xff; 32]], CHECKPOINT);
    let expected = format!(
        "c2sp.org/tlog-proof@v1\nindex 5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\
         //////////////////////////////////////////8=\n\n{CHECKPOINT}"
    );
    assert_eq!(text, expected);
    let with_extra = proof::format_with_extra(b"hi", 0, &[], CHECKPOINT);
    assert_eq!(with_extra, format!("c2sp.org/tlog-proof@v1\nextra aGk=\nindex 0\n\n{CHECKPOINT}"));
}

#[test]
fn written_proofs_parse_back_to_the_same_values() {
    let cases = [
        TlogProof { extra: None, index: 0, hashes: Vec::new(), checkpoint: CHECKPOINT.to_owned() },
        TlogProof {
            extra: Some(b"opaque \x00\xff".to_vec()),
            index: 7,
            hashes: hashes(3),
            checkpoint: CHECKPOINT.to_owned(),
        },
        TlogProof { extra: Some(Vec::new()), index: u64::MAX, hashes: hashes(64), checkpoint: CHECKPOINT.to_owned() },
    ];
    for case in cases {
        assert_eq!(proof::parse(&case.to_text()), Ok(case.clone()));
    }
    let text = proof::format(9, &hashes(4), CHECKPOINT);
    assert_eq!(proof::parse(&text).map(|p| (p.index, p.hashes, p.extra)), Ok((9, hashes(4), None)));
}

#[test]
fn the_spec_example_parses() {
    // The example of c2sp.org/tlog-proof, signatures elided there as in the spec.
    let text = "c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

example.com/fancylog
109482
sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=

\u{2014} example.com/fancylog hI2DJw[...]1roloI=
";
    let parsed = proof::parse(text).unwrap();
    assert_eq!(parsed.index, 73_894);
    assert_eq!(parsed.hashes.len(), 5);
    let extra = parsed.extra.clone().unwrap();
    assert!(extra.starts_with(b"age-v1.2.1-darwin-arm64.tar.gz"));
    assert!(parsed.checkpoint.starts_with("example.com/fancylog\n109482\n"));
    assert_eq!(proof::format_with_extra(&extra, parsed.index, &parsed.hashes, &parsed.checkpoint), text);
}

#[test]
fn proof_texts_not_exactly_of_the_format_are_refused() {
    let h = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let header = "c2sp.org/tlog-proof@v1";
    let cases: Vec<(String, ProofTextError)> = vec![
        (String::new(), ProofTextError::BadHeader),
        (header.to_owned(), ProofTextError::BadHeader),
        (format!("c2sp.org/tlog-proof@v2\nindex 0\n\n{CHECKPOINT}"), ProofTextError::BadHeader),
        (format!(" {header}\nindex 0\n\n{CHECKPOINT}"), ProofTextError::BadHeader),
        (format!("{header}\r\nindex 0\r\n\r\n{CHECKPOINT}"), ProofTextError::BadHeader),
        (format!("{header}\n"), ProofTextError::MissingIndex),
        (format!("{header}\n\n\n{CHECKPOINT}"), ProofTextError::MissingIndex),
        (format!("{header}\nIndex 0\n\n{CHECKPOINT}"), ProofTextError::MissingIndex),
        (format!("{header}\nindex\t0\n\n{CHECKPOINT}"), ProofTextError::MissingIndex),
        (format!("{header}\nextra aGk=\n"), ProofTextError::MissingIndex),
        (format!("{header}\nindex 0\nextra aGk=\n\n{CHECKPOINT}"), ProofTextError::BadHash { line: 3 }),
        (format!("{header}\nextra !!notbase64!!\nindex 0\n\n{CHECKPOINT}"), ProofTextError::BadExtra),
        (format!("{header}\nextra aGk\nindex 0\n\n{CHECKPOINT}"), ProofTextError::BadExtra),
        (format!("{header}\nextra aGk=\nextra aGk=\nindex 0\n\n{CHECKPOINT}"), ProofTextError::MissingIndex),
        (format!("{header}\nindex notanumber\n\n{CHECKPOINT}"), ProofTextError::BadIndex("notanumber".to_owned())),
        (format!("{header}\nindex -5\n\n{CHECKPOINT}"), ProofTextError::BadIndex("-5".to_owned())),
        (format!("{header}\nindex 05\n\n{CHECKPOINT}"), ProofTextError::BadIndex("05".to_owned())),
        (format!("{header}\nindex +5\n\n{CHECKPOINT}"), ProofTextError::BadIndex("+5".to_owned())),
        (format!("{header}\nindex  5\n\n{CHECKPOINT}"), ProofTextError::BadIndex(" 5".to_owned())),
        (format!("{header}\nindex 5 \n\n{CHECKPOINT}"), ProofTextError::BadIndex("5 ".to_owned())),
        (
            format!("{header}\nindex 18446744073709551616\n\n{CHECKPOINT}"),
            ProofTextError::BadIndex("18446744073709551616".to_owned()),
        ),
        (format!("{header}\nindex 0\n!!notbase64!!\n\n{CHECKPOINT}"), ProofTextError::BadHash { line: 3 }),
        (format!("{header}\nindex 0\n{h}\n{h} \n\n{CHECKPOINT}"), ProofTextError::BadHash { line: 4 }),
        (format!("{header}\nindex 0\n{}\n\n{CHECKPOINT}", &h[..43]), ProofTextError::BadHash { line: 3 }),
        // 32 bytes with non-zero padding bits: not the one canonical encoding.
        (format!("{header}\nindex 0\n{}B=\n\n{CHECKPOINT}", &h[..42]), ProofTextError::BadHash { line: 3 }),
        // A 64-byte hash, as in transparency-dev/merkle's `TestVerifyTLogProofErrors`.
        (format!("{header}\nindex 0\n{h}{h}\n\n{CHECKPOINT}"), ProofTextError::BadHash { line: 3 }),
        (
            format!("{header}\nindex 0\n{}\n{CHECKPOINT}", [h; 65].join("\n")),
            ProofTextError::TooManyHashes { max: PROOF_HASHES_MAX },
        ),
        (format!("{header}\nindex 0\n{h}\n"), ProofTextError::MissingBlankLine),
        (format!("{header}\nindex 0\n{h}"), ProofTextError::MissingBlankLine),
        (format!("{header}\nindex 0\n{h}\n\n"), ProofTextError::MissingCheckpoint),
        (format!("{header}\nindex 0\n\n"), ProofTextError::MissingCheckpoint),
    ];
    for (text, expected) in cases {
        assert_eq!(proof::parse(&text), Err(expected), "{text:?}");
    }
    let huge = format!("{header}\nindex 0\n\n{}", "x".repeat(PROOF_TEXT_BYTES_MAX));
    assert_eq!(proof::parse(&huge), Err(ProofTextError::TooLarge { len: huge.len(), max: PROOF_TEXT_BYTES_MAX }));
}
