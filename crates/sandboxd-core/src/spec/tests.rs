use super::*;

fn limits() -> Limits {
    Limits {
        default: Resources {
            memory_mb: 2048,
            cpus: 1.0,
            pids: 1024,
            nofile: 8192,
            tmp_mb: 512,
        },
        max_memory_mb: 8192,
        max_cpus: 2.0,
        max_pids: 4096,
        default_image: "sandboxd/default:latest".into(),
        default_disk_mb: Some(1024),
        max_disk_mb: 4096,
        default_preview: crate::Preview::Public,
    }
}

fn parse(json: &str) -> Result<SandboxSpec, String> {
    let req: CreateRequest = serde_json::from_str(json).map_err(|e| e.to_string())?;
    req.validate(&limits()).map_err(|e| e.to_string())
}

#[test]
fn empty_body_gets_defaults() {
    let spec = parse("{}").unwrap();
    assert!(!spec.id_chosen);
    assert_eq!(spec.image, "sandboxd/default:latest");
    assert_eq!(spec.resources, limits().default);
    assert!(spec.ports.is_empty());
}

#[test]
fn ports_are_checked_and_deduplicated() {
    assert_eq!(
        parse(r#"{"ports":[3000,3000,8080]}"#).unwrap().ports,
        vec![3000, 8080]
    );
    assert!(parse(r#"{"ports":[0]}"#).unwrap_err().contains("ports[0]"));
    assert!(parse(r#"{"ports":[70000]}"#).unwrap_err().contains("70000"));
    assert!(parse(r#"{"ports":["3000"]}"#).is_err());
}

#[test]
fn env_keys_with_equals_or_nul_are_refused() {
    assert!(parse(r#"{"env":{"A=B":"x"}}"#).is_err());
    assert!(parse(r#"{"env":{"A\u0000":"x"}}"#).is_err());
    assert!(parse(r#"{"env":{"A":"x\u0000"}}"#).is_err());
    assert!(parse(r#"{"env":{"":"x"}}"#).is_err());
    assert_eq!(parse(r#"{"env":{"A":"b=c"}}"#).unwrap().env["A"], "b=c");
}

#[test]
fn ids_resources_and_unknown_fields() {
    let spec = parse(r#"{"id":"my-box","resources":{"memory_mb":512,"cpus":0.5}}"#).unwrap();
    assert!(spec.id_chosen);
    assert_eq!(spec.resources.memory_mb, 512);
    assert_eq!(spec.resources.cpus, 0.5);
    assert!(parse(r#"{"id":"My_Box"}"#).is_err());
    assert!(parse(r#"{"resources":{"memory_mb":999999}}"#).is_err());
    assert!(parse(r#"{"resources":{"cpus":8}}"#).is_err());
    assert!(parse(r#"{"prots":[3000]}"#)
        .unwrap_err()
        .contains("unknown field"));
    assert!(parse(r#"{"image":"-bad"}"#).is_err());
    assert!(parse(r#"{"idle_timeout_s":1}"#).is_err());
}

#[test]
fn freeze_after_is_checked() {
    assert_eq!(parse("{}").unwrap().freeze_after_s, None);
    assert_eq!(
        parse(r#"{"freeze_after_s":0}"#).unwrap().freeze_after_s,
        Some(0)
    );
    assert_eq!(
        parse(r#"{"freeze_after_s":1}"#).unwrap().freeze_after_s,
        Some(1)
    );
    let err = parse(r#"{"freeze_after_s":604801}"#).unwrap_err();
    assert!(err.contains("freeze_after_s"), "{err}");
    assert!(parse(r#"{"freeze_after_s":-1}"#).is_err());
}

#[test]
fn reference_shorthands_land_in_metadata() {
    let spec = parse(r#"{"external_user_id":"u1","idle_policy":"always_on"}"#).unwrap();
    assert_eq!(spec.metadata["external_user_id"], "u1");
    assert_eq!(spec.idle_policy, IdlePolicy::AlwaysOn);
}

#[test]
fn commands_are_checked() {
    assert!(validate_command(&[], "cmd").is_err());
    assert!(validate_command(&["".into()], "cmd").is_err());
    assert!(validate_command(&["a\0".into()], "cmd").is_err());
    assert!(validate_command(&["true".into()], "cmd").is_ok());
}

#[test]
fn disk_defaults_and_bounds() {
    assert_eq!(parse("{}").unwrap().disk_mb, Some(1024));
    assert_eq!(parse(r#"{"disk_mb":64}"#).unwrap().disk_mb, Some(64));
    assert_eq!(parse(r#"{"disk_mb":4096}"#).unwrap().disk_mb, Some(4096));
    for bad in [
        r#"{"disk_mb":0}"#,
        r#"{"disk_mb":63}"#,
        r#"{"disk_mb":4097}"#,
    ] {
        let e = parse(bad).unwrap_err();
        assert!(e.contains("disk_mb"), "{bad}: {e}");
    }
    assert!(parse(r#"{"disk_mb":"64"}"#).is_err());
    assert!(parse(r#"{"disk_mb":-1}"#).is_err());
}

#[test]
fn disk_refused_when_quotas_are_off() {
    let off = Limits {
        default_disk_mb: None,
        max_disk_mb: 0,
        ..limits()
    };
    let req: CreateRequest = serde_json::from_str(r#"{"disk_mb":64}"#).unwrap();
    let e = req.validate(&off).unwrap_err().to_string();
    assert!(e.contains("quotas are off"), "{e}");
    let req: CreateRequest = serde_json::from_str("{}").unwrap();
    assert_eq!(req.validate(&off).unwrap().disk_mb, None);
}

#[test]
fn preview_mode_defaults_to_the_configured_one() {
    assert_eq!(parse("{}").unwrap().preview, crate::Preview::Public);
    let private = parse(r#"{"preview":"private"}"#).unwrap();
    assert_eq!(private.preview, crate::Preview::Private);
    assert!(parse(r#"{"preview":"secret"}"#).is_err());
    let mut l = limits();
    l.default_preview = crate::Preview::Private;
    let req: CreateRequest = serde_json::from_str("{}").unwrap();
    assert_eq!(req.validate(&l).unwrap().preview, crate::Preview::Private);
    let req: CreateRequest = serde_json::from_str(r#"{"preview":"public"}"#).unwrap();
    assert_eq!(req.validate(&l).unwrap().preview, crate::Preview::Public);
}
