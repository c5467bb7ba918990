//! The served OpenAPI document as a contract for live answers: every response a test receives
//! through [`Contract::call`] must have a status the operation declares and a body valid against
//! the schema declared for that status, with `#/components/schemas/...` resolved against the
//! document. Objects are checked twice: as the document declares them, and closed (a field the
//! document does not name is an error), so a renamed, retyped, missing or undocumented field
//! fails the test.

use anyhow::{anyhow, bail, Context, Result};
use sandboxd_testkit::TestServer;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::sync::Mutex;

pub struct Contract<'a> {
    server: &'a TestServer,
    pub doc: Value,
    /// (operationId, status) of every answer checked.
    pub seen: Mutex<BTreeSet<(String, u16)>>,
}

impl<'a> Contract<'a> {
    /// Fetch the document the server serves (that answer is checked too).
    pub async fn fetch(server: &'a TestServer) -> Result<Self> {
        let (status, doc) = server.call("GET", "/v1/openapi.json", None).await?;
        anyhow::ensure!(status == 200, "openapi.json: {status}");
        let c = Contract {
            server,
            doc,
            seen: Mutex::new(BTreeSet::new()),
        };
        c.check("GET", "/v1/openapi.json", 200, &c.doc)?;
        Ok(c)
    }

    /// Send a request and check its answer against the document; returns (status, body).
    pub async fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let (status, value) = self
            .server
            .call(method, path, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e:#}"));
        if let Err(e) = self.check(method, path, status, &value) {
            panic!("{method} {path} answered {status} against the document: {e:#}\nbody: {value}");
        }
        (status, value)
    }

    /// Like [`Contract::call`] for bodies that are not JSON (file and tar uploads): a JSON answer
    /// is checked as usual; any other must have a content type the operation documents for its
    /// status, and comes back as bytes (an event stream is not read past its headers).
    pub async fn call_raw(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, Vec<u8>) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let url = format!("{}{}", self.server.api, path);
        let mut req = self.server.client.request(m, url);
        if let Some(t) = &self.server.token {
            req = req.bearer_auth(t);
        }
        if let Some(ct) = content_type {
            req = req.header("content-type", ct).body(body);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .unwrap_or("")
            .trim()
            .to_string();
        if ct == "text/event-stream" {
            if let Err(e) = self.check_media(method, path, status, &ct) {
                panic!("{method} {path} answered {status}: {e:#}");
            }
            return (status, Vec::new());
        }
        let bytes = resp.bytes().await.expect("body").to_vec();
        let checked = if ct == "application/json" {
            let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            self.check(method, path, status, &value)
        } else {
            self.check_media(method, path, status, &ct)
        };
        if let Err(e) = checked {
            panic!("{method} {path} answered {status} against the document: {e:#}");
        }
        (status, bytes)
    }

    /// A non-JSON answer: its content type must be documented for its status.
    fn check_media(&self, method: &str, path: &str, status: u16, ct: &str) -> Result<()> {
        let (op, template) = self.operation(method, path)?;
        let id = op["operationId"].as_str().unwrap_or(&template).to_string();
        let resp = op["responses"]
            .get(status.to_string())
            .ok_or_else(|| anyhow!("{id}: status {status} is not documented"))?;
        anyhow::ensure!(
            resp["content"].get(ct).is_some(),
            "{id} {status}: content type {ct:?} is not documented"
        );
        self.seen.lock().unwrap().insert((id, status));
        Ok(())
    }

    /// The operation serving `method path` (a concrete path, query string allowed).
    fn operation(&self, method: &str, path: &str) -> Result<(&Value, String)> {
        let path = path.split('?').next().unwrap_or(path);
        let segs: Vec<&str> = path.split('/').collect();
        for (template, item) in self.doc["paths"].as_object().context("paths")? {
            let tsegs: Vec<&str> = template.split('/').collect();
            let fits = tsegs.len() == segs.len()
                && tsegs
                    .iter()
                    .zip(&segs)
                    .all(|(t, s)| t == s || (t.starts_with('{') && !s.is_empty()));
            if let (true, Some(op)) = (fits, item.get(method.to_lowercase())) {
                return Ok((op, template.clone()));
            }
        }
        bail!("no documented operation for {method} {path}")
    }

    /// Check one answer; an error says what does not match.
    pub fn check(&self, method: &str, path: &str, status: u16, body: &Value) -> Result<()> {
        let (op, template) = self.operation(method, path)?;
        let id = op["operationId"].as_str().unwrap_or(&template).to_string();
        let resp = op["responses"]
            .get(status.to_string())
            .ok_or_else(|| anyhow!("{id}: status {status} is not documented"))?;
        // A documented non-JSON answer (an event stream) arrives as text.
        if resp.pointer("/content/text~1event-stream").is_some() {
            anyhow::ensure!(body.is_string(), "{id} {status}: not an event stream");
            self.seen.lock().unwrap().insert((id, status));
            return Ok(());
        }
        let Some(schema) = resp.pointer("/content/application~1json/schema") else {
            anyhow::ensure!(body.is_null(), "{id} {status}: documented without a body");
            self.seen.lock().unwrap().insert((id, status));
            return Ok(());
        };
        self.validate(schema, body)
            .with_context(|| format!("{id} {status}"))?;
        self.seen.lock().unwrap().insert((id, status));
        Ok(())
    }

    /// Validate `body` against `schema` (a schema found in the document).
    pub fn validate(&self, schema: &Value, body: &Value) -> Result<()> {
        let components = &self.doc["components"];
        let mut as_declared = schema.clone();
        as_declared["components"] = components.clone();
        let closed = close(schema, components, 0)?;
        for (how, schema) in [("as declared", as_declared), ("closed", closed)] {
            let mut root = schema;
            root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
            let validator = jsonschema::draft202012::options()
                .should_validate_formats(true)
                .build(&root)
                .map_err(|e| anyhow!("schema does not compile: {e}"))?;
            let errors: Vec<String> = validator
                .iter_errors(body)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            if !errors.is_empty() {
                bail!("{how}: {}", errors.join("; "));
            }
        }
        Ok(())
    }
}

/// `schema` with every component reference inlined, `allOf` object parts merged, and every object
/// that lists its properties closed to others.
fn close(schema: &Value, components: &Value, depth: usize) -> Result<Value> {
    anyhow::ensure!(depth < 32, "schema nests too deep (recursive?)");
    let Value::Object(map) = schema else {
        return Ok(schema.clone());
    };
    if let Some(r) = map.get("$ref").and_then(Value::as_str) {
        let name = r
            .strip_prefix("#/components/schemas/")
            .ok_or_else(|| anyhow!("unexpected reference {r}"))?;
        let target = components["schemas"]
            .get(name)
            .ok_or_else(|| anyhow!("dangling reference {r}"))?;
        return close(target, components, depth + 1);
    }
    let mut out = Map::new();
    for (k, v) in map {
        let v = match (k.as_str(), v) {
            ("properties", Value::Object(props)) => Value::Object(
                props
                    .iter()
                    .map(|(p, s)| Ok((p.clone(), close(s, components, depth + 1)?)))
                    .collect::<Result<_>>()?,
            ),
            ("items" | "additionalProperties", Value::Object(_)) => {
                close(v, components, depth + 1)?
            }
            ("allOf" | "anyOf" | "oneOf", Value::Array(parts)) => Value::Array(
                parts
                    .iter()
                    .map(|s| close(s, components, depth + 1))
                    .collect::<Result<_>>()?,
            ),
            _ => v.clone(),
        };
        out.insert(k.clone(), v);
    }
    if let Some(Value::Array(parts)) = out.get("allOf").cloned() {
        if parts.iter().all(|p| p.get("properties").is_some()) {
            out.remove("allOf");
            let mut props = Map::new();
            let mut required = Vec::new();
            for p in parts {
                props.extend(p["properties"].as_object().cloned().unwrap_or_default());
                required.extend(p["required"].as_array().cloned().unwrap_or_default());
            }
            out.insert("type".into(), json!("object"));
            out.insert("properties".into(), Value::Object(props));
            out.insert("required".into(), Value::Array(required));
        }
    }
    if out.contains_key("properties") && !out.contains_key("additionalProperties") {
        out.insert("additionalProperties".into(), json!(false));
    }
    Ok(Value::Object(out))
}
