//! The admin page's database side (docs/admin.md). The page itself is a front-end module
//! (admin/), built into one self-contained HTML file with its Content-Security-Policy beside
//! it; `make install` puts both into PostgreSQL's share directory
//! (`<sharedir>/extension/specstar/`), and `<api>.admin()` serves them through PostgREST.
//! The page reads the specs it may show from `<api>.admin_specs()`.

use std::ffi::{c_char, CStr};

use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

/// `<sharedir>/extension/specstar/<file>`: only the page and its headers are ever read.
fn installed(file: &str) -> Option<String> {
    let mut share = [0 as c_char; pg_sys::MAXPGPATH as usize];
    let dir = unsafe {
        pg_sys::get_share_path(std::ptr::addr_of!(pg_sys::my_exec_path) as *const c_char, share.as_mut_ptr());
        CStr::from_ptr(share.as_ptr()).to_string_lossy().into_owned()
    };
    std::fs::read_to_string(format!("{dir}/extension/specstar/{file}")).ok()
}

/// The admin page (HTML), or a short page saying it is not installed.
#[pg_extern(name = "_admin_page", stable, parallel_safe)]
fn admin_page() -> String {
    installed("admin.html").unwrap_or_else(|| {
        "<!doctype html><title>specstar admin</title><p>The admin page is not installed: run <code>make install</code>.</p>".into()
    })
}

/// The response headers of the admin page (PostgREST's `response.headers`: a JSON array of
/// one-header objects): its Content-Security-Policy, with the hashes of its inline script
/// and style, and the framing and referrer rules.
#[pg_extern(name = "_admin_headers", stable, parallel_safe)]
fn admin_headers() -> JsonB {
    let csp = installed("admin.csp").map(|c| c.trim().to_string()).unwrap_or_else(|| "default-src 'none'".into());
    JsonB(json!([
        {"Content-Security-Policy": csp},
        {"X-Frame-Options": "DENY"},
        {"Referrer-Policy": "no-referrer"},
        {"X-Content-Type-Options": "nosniff"},
        {"Cache-Control": "no-store"}
    ]))
}

/// The specs of `api_schema` the calling role may read, as the admin page needs them: name,
/// title, description, JSON Schema, and what the role may do with each (its grants).
#[pg_extern(name = "_admin_specs", volatile, parallel_unsafe)]
fn admin_specs(api_schema: &str) -> JsonB {
    let api = crate::graphql::schema(api_schema);
    let owner = crate::owner::extension_owner();
    let specs: Vec<Value> = api
        .catalog
        .specs
        .iter()
        .map(|s| {
            let d = &s.descriptor;
            let (schema, source) = crate::owner::as_owner(owner, || {
                crate::spi_read::two::<JsonB, String>(
                    "SELECT v.schema, v.source FROM specstar.spec_versions v WHERE v.spec = $1 AND v.version = $2",
                    &[d.name.as_str().into(), d.version.as_str().into()],
                )
            })
            .unwrap_or((None, None));
            let schema = schema.map(|j| j.0).unwrap_or(Value::Null);
            json!({
                "name": d.name,
                "title": d.title,
                "description": d.description,
                "version": d.version,
                "schema": schema,
                // the text the author registered (its key order is the author's), if any
                "source": source,
                "properties": d.properties.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
                "search": s.searchable() && s.may("search"),
                "may": {
                    "insert": s.insert, "update": s.update, "delete": s.delete,
                    "revisions": s.revisions, "drafts": s.drafts_read && s.drafts_write,
                    "at": s.may("at"), "as_of": s.may("as_of"), "diff": s.may("diff"),
                    "rollback": s.may("rollback"), "restore": s.may("restore"),
                    "publish": s.may("publish"), "discard": s.may("discard"),
                }
            })
        })
        .collect();
    JsonB(Value::Array(specs))
}
