use serde_json::Value;
use std::collections::BTreeSet;

fn doc() -> Value {
    serde_json::from_str(super::served()).unwrap()
}

/// Every (METHOD, path, operation) in the document.
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if method != "parameters" {
                ops.push((method.to_uppercase(), path.clone(), op));
            }
        }
    }
    ops
}

#[test]
fn document_matches_the_route_table() {
    let doc = doc();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    let served: BTreeSet<(String, String)> = crate::routes::table()
        .into_iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let missing: Vec<_> = served.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "routes without documentation: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "documented routes the router lacks: {stale:?}"
    );
}

/// The schema of one body must be a reference to a component that exists.
fn assert_component(doc: &Value, schema: &Value, what: &str) {
    let r = schema["$ref"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: body schema is not a component: {schema}"));
    let name = r
        .strip_prefix("#/components/schemas/")
        .unwrap_or_else(|| panic!("{what}: {r} is not a component schema"));
    assert!(
        doc["components"]["schemas"][name].is_object(),
        "{what}: no component {name}"
    );
}

#[test]
fn every_body_has_a_component_schema() {
    let doc = doc();
    let mut bodies = 0;
    for (method, path, op) in operations(&doc) {
        assert!(
            op["operationId"].is_string(),
            "{method} {path}: no operationId"
        );
        assert!(op["summary"].is_string(), "{method} {path}: no summary");
        if let Some(body) = op.get("requestBody") {
            assert_eq!(
                body["required"], false,
                "{method} {path}: empty bodies are allowed"
            );
            let content = body["content"].as_object().unwrap();
            assert_eq!(content.len(), 1);
            // JSON, or the raw bytes of an upload (the `Binary` component).
            let (_, media) = content.iter().next().unwrap();
            assert_component(&doc, &media["schema"], &format!("{method} {path} request"));
            bodies += 1;
        }
        let responses = op["responses"].as_object().unwrap();
        assert!(!responses.is_empty(), "{method} {path}: no responses");
        for (status, resp) in responses {
            let what = format!("{method} {path} {status}");
            // 101: a WebSocket upgrade (its frames are described in the operation's text).
            if status == "204" || status == "101" {
                assert!(
                    resp.get("content").is_none(),
                    "{what}: {status} has no body"
                );
                continue;
            }
            // The metrics are Prometheus text, and event streams are SSE text, not JSON.
            let text = ["application/openmetrics-text", "text/event-stream"]
                .iter()
                .find_map(|t| resp["content"].get(*t));
            if let Some(text) = text {
                assert_eq!(text["schema"]["type"], "string", "{what}");
                continue;
            }
            // Server-sent events are text; downloads are the `Binary` component.
            if let Some(text) = resp["content"].get("text/event-stream") {
                assert_eq!(text["schema"]["type"], "string", "{what}");
                continue;
            }
            for bytes in ["application/octet-stream", "application/x-tar"] {
                if let Some(media) = resp["content"].get(bytes) {
                    assert_component(&doc, &media["schema"], &format!("{what} {bytes}"));
                }
            }
            if resp["content"].get("application/x-tar").is_some() {
                continue;
            }
            let schema = &resp["content"]["application/json"]["schema"];
            assert_component(&doc, schema, &what);
            // Every error carries the envelope (`/readyz` answers 503 with its report instead;
            // the E2B routes answer E2B's error body).
            let e2b = op["tags"][0] == "e2b";
            if (status.starts_with('4') || status.starts_with('5')) && path != "/readyz" {
                let want = if e2b { "E2bError" } else { "Error" };
                let want = format!("#/components/schemas/{want}");
                assert_eq!(schema["$ref"], want.as_str(), "{what}");
            }
            bodies += 1;
        }
    }
    assert!(bodies > 100, "only {bodies} bodies");
}

fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v.as_str()) {
                    ("$ref", Some(r)) => out.push(r),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves() {
    let doc = doc();
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.len() > 20);
    for r in found {
        let pointer = r.strip_prefix('#').expect("local reference");
        assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
    }
}

#[test]
fn security_allows_no_token_a_bearer_token_or_an_api_key_header() {
    let doc = doc();
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(
        (
            schemes["api_key"]["in"].as_str(),
            schemes["api_key"]["name"].as_str()
        ),
        (Some("header"), Some("X-API-KEY"))
    );
    assert_eq!(
        doc["security"],
        serde_json::json!([{}, {"bearer": []}, {"api_key": []}])
    );
}

#[test]
fn preview_tokens_and_their_error_codes_are_documented() {
    let doc = doc();
    let path = &doc["paths"]["/v1/sandboxes/{id}/preview-tokens"];
    assert_eq!(path["post"]["operationId"], "createPreviewToken");
    assert_eq!(path["delete"]["operationId"], "revokePreviewTokens");
    let codes = doc["components"]["schemas"]["ErrorCode"]["enum"].to_string();
    for code in ["preview_token_required", "preview_token_invalid"] {
        assert!(codes.contains(code), "{code} missing from {codes}");
    }
    let sandbox = &doc["components"]["schemas"]["Sandbox"]["properties"]["preview"];
    assert!(sandbox.is_object(), "Sandbox.preview: {sandbox}");
}
