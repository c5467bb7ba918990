//! The shipped binary carries no test payload. Rule checked here: the `sandboxd` executable
//! holds none of the fixture app's bytes, and no crate of its normal or build dependency tree is
//! a test crate (`sandboxd-testkit` embeds the fixture; it is a dev-dependency only). The
//! executable checked is the one cargo built for these tests; it has the same dependency graph as
//! `cargo build --release -p sandboxd`, which is the only way the fixture could get in.

use std::process::Command;

/// The fixture's usage line: in its binary, and nowhere in sandboxd's own code.
const MARKER: &[u8] = b"usage: sandboxd-fixture PORT";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    let (first, rest) = needle.split_first().expect("non-empty needle");
    haystack
        .iter()
        .enumerate()
        .filter(|(_, b)| *b == first)
        .any(|(i, _)| haystack[i + 1..].starts_with(rest))
}

#[test]
fn the_sandboxd_binary_embeds_no_fixture() {
    let fixture = sandboxd_testkit::fixture::FIXTURE_BINARY;
    assert!(
        contains(fixture, MARKER),
        "the marker is not in the fixture binary, so its absence below would prove nothing"
    );
    let path = env!("CARGO_BIN_EXE_sandboxd");
    let bin = std::fs::read(path).expect("reading the sandboxd executable");
    assert!(
        !contains(&bin, MARKER),
        "{path} contains the test fixture ({} bytes)",
        fixture.len()
    );
}

#[test]
fn the_sandboxd_dependency_tree_has_no_test_crate() {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml");
    let out = Command::new(env!("CARGO"))
        .args(["tree", "--offline", "--manifest-path", manifest])
        .args(["-p", "sandboxd", "-e", "normal,build", "--prefix", "none"])
        .output()
        .expect("running cargo tree");
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        tree.lines().any(|l| l.starts_with("sandboxd-image v")),
        "{tree}"
    );
    for test_crate in ["sandboxd-testkit", "sandboxd-fixture", "sandboxd-bench"] {
        let found = tree
            .lines()
            .any(|l| l.starts_with(&format!("{test_crate} v")));
        assert!(!found, "sandboxd depends on {test_crate}:\n{tree}");
    }
}
