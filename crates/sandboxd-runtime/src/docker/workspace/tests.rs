use super::*;

#[test]
fn create_is_idempotent_and_seed_makes_workspace_dir() {
    let root = tempfile::tempdir().unwrap();
    let dir = path(root.path(), &SandboxId::parse_new("abc").unwrap());
    assert!(create(&dir).unwrap());
    assert!(!create(&dir).unwrap());
    fill(&dir, None).unwrap();
    assert!(dir.join("workspace").is_dir());
    remove_dir(&dir).unwrap();
    assert!(!dir.exists());
    remove_dir(&dir).unwrap();
}

#[test]
fn seed_unpacks_a_skeleton_archive() {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    let body = b"export PS1=x\n";
    header.set_size(body.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder
        .append_data(&mut header, "skel/.bashrc", &body[..])
        .unwrap();
    let bytes = builder.into_inner().unwrap();
    let root = tempfile::tempdir().unwrap();
    let dir = path(root.path(), &SandboxId::parse_new("abc").unwrap());
    create(&dir).unwrap();
    fill(&dir, Some(&bytes)).unwrap();
    assert_eq!(std::fs::read(dir.join(".bashrc")).unwrap(), body);
    assert!(dir.join("workspace").is_dir());
}
