//! The OpenAPI document, generated from the code: each handler's `#[utoipa::path]` gives its
//! operation, the wire types give the schemas. Served at `/v1/openapi.json`. Tests hold its
//! operations equal to the router's route table and require a component schema for every body.

pub mod errors;

use crate::handlers::{
    access, activity, e2b, files, health, legacy, previews, processes, sandboxes, tasks, terminal,
};
use crate::wire;
use std::sync::OnceLock;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, Required};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sandboxd API",
        description = "Isolated dev sandboxes on one Docker host. Errors use one envelope: \
            {\"error\":{\"code\",\"message\",\"retryable\"}}."
    ),
    servers((url = "http://127.0.0.1:9090")),
    security((), ("bearer" = []), ("api_key" = [])),
    tags(
        (name = "sandboxes", description = "Sandboxes and what runs in them"),
        (name = "processes", description = "Background processes and their output streams"),
        (name = "tasks", description = "Coding agents run headlessly, with resumable event streams"),
        (name = "files", description = "Files in a sandbox's home, through its agent"),
        (name = "meta", description = "Health and this document"),
        (name = "access", description = "API keys and the audit log (admin only)"),
        (name = "e2b", description = "The E2B REST API, for the stock E2B SDKs: E2B's shapes, \
            and errors as {\"code\",\"message\"}")
    ),
    paths(
        legacy::create, legacy::list, legacy::get, legacy::delete, legacy::exec,
        legacy::keepalive, legacy::purge, legacy::wake,
        sandboxes::create, sandboxes::list, sandboxes::get_one, sandboxes::delete,
        sandboxes::start, sandboxes::stop, sandboxes::freeze,
        activity::exec, activity::keepalive, activity::logs, activity::activity,
        previews::mint, previews::revoke,
        terminal::terminal,
        processes::start, processes::list, processes::stream::output, processes::stdin,
        processes::signal,
        tasks::create, tasks::list, tasks::get, tasks::events::events, tasks::cancel,
        health::openapi, health::metrics, health::healthz, health::readyz,
        access::create_key, access::list_keys, access::revoke_key, access::audit,
        files::get, files::transfer::put, files::delete, files::mkdir, files::rename,
        files::transfer::archive_get, files::transfer::archive_put, files::watch::watch,
        e2b::create, e2b::create_v2, e2b::list::list_v2, e2b::get_one, e2b::kill,
        e2b::set_timeout, e2b::connect, e2b::connect_v2, e2b::resume, e2b::pause, e2b::health,
    ),
    components(schemas(
        wire::ErrorBody,
        wire::TerminalClientFrame,
        wire::TerminalServerFrame,
        wire::OutputChunk,
        wire::ExitEvent
    )),
    modifiers(&BearerAndOptionalBodies)
)]
struct ApiDoc;

/// Declares the bearer scheme, and marks every request body optional: an empty body means the
/// type's defaults (see `body.rs`), for every route that takes one.
struct BearerAndOptionalBodies;

impl Modify for BearerAndOptionalBodies {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        // The same keys, in the header the E2B SDKs send.
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-KEY"))),
        );
        for item in doc.paths.paths.values_mut() {
            for op in [&mut item.post, &mut item.put, &mut item.patch]
                .into_iter()
                .flatten()
            {
                if let Some(body) = op.request_body.as_mut() {
                    body.required = Some(Required::False);
                }
            }
        }
    }
}

/// The document as a value.
pub fn document() -> Document {
    ApiDoc::openapi()
}

/// The document as served (JSON), built once.
pub fn served() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        // Serializing plain maps and strings cannot fail; keep a valid answer if it ever does.
        document()
            .to_pretty_json()
            .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    })
}

#[cfg(test)]
mod tests;
