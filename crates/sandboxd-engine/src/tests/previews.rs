//! The engine's preview gates stay true: create installs a key before the sandbox runs, a
//! rotation replaces it, delete and a rolled-back create forget it, and an engine that has not
//! seen a sandbox yet (a restart) loads its gate from the store without overwriting newer ones.

use super::harness::{id, spec, Harness};
use crate::PreviewGate;
use sandboxd_core::{preview, Preview};
use sandboxd_runtime::fake::Op;
use sandboxd_runtime::RuntimeError;

fn key_of(gate: Option<PreviewGate>) -> std::sync::Arc<sandboxd_core::PreviewKey> {
    match gate {
        Some(PreviewGate::Private(Some(key))) => key,
        other => panic!("not a private gate with a key: {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn private_gates_follow_create_mint_rotate_and_delete() {
    let h = Harness::new().await;
    let mut sp = spec("p");
    sp.preview = Preview::Private;
    let sb = h.engine.create_sandbox(sp).await.unwrap();
    assert_eq!(sb.preview, Preview::Private);
    let key = key_of(h.engine.preview_gate(&id("p")));
    let minted = h
        .engine
        .mint_preview_token(&id("p"), 3000, 60)
        .await
        .unwrap();
    let now_s = h.engine.now_ms() / 1000;
    assert_eq!(minted.expires_at_ms / 1000, now_s + 60);
    let exp = preview::verify(&key, &minted.token, &id("p"), 3000, now_s).unwrap();
    assert_eq!(exp, now_s + 60);

    h.engine.rotate_preview_key(&id("p")).await.unwrap();
    let rotated = key_of(h.engine.preview_gate(&id("p")));
    assert!(preview::verify(&rotated, &minted.token, &id("p"), 3000, now_s).is_err());

    // A fresh view (as after a restart) is filled from the store, with the rotated key.
    h.engine.forget_preview(&id("p"));
    let loaded = key_of(h.engine.load_preview_gate(&id("p")).await.unwrap());
    assert_eq!(*loaded, *rotated);

    h.engine.delete_sandbox(&id("p"), false).await.unwrap();
    assert!(h.engine.preview_gate(&id("p")).is_none());
    assert!(h
        .engine
        .load_preview_gate(&id("p"))
        .await
        .unwrap()
        .is_none());
    assert!(h
        .engine
        .mint_preview_token(&id("p"), 3000, 60)
        .await
        .is_err());
    assert!(h
        .engine
        .load_preview_gate(&id("nobody"))
        .await
        .unwrap()
        .is_none());
    assert!(h.engine.preview_gate(&id("nobody")).is_none());
}

#[tokio::test(start_paused = true)]
async fn public_gates_and_rolled_back_creates() {
    let h = Harness::new().await;
    h.create("pub").await;
    assert!(matches!(
        h.engine.preview_gate(&id("pub")),
        Some(PreviewGate::Public)
    ));
    h.rt.fail(
        Op::Start,
        RuntimeError::Engine {
            status: 500,
            message: "injected".into(),
        },
        Some(1),
    );
    let mut sp = spec("gone");
    sp.preview = Preview::Private;
    assert!(h.engine.create_sandbox(sp).await.is_err());
    assert!(h.engine.preview_gate(&id("gone")).is_none());
}
