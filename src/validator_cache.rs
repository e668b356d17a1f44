//! Per-backend cache of compiled spec schemas, keyed by the catalog's generation and the id
//! of a spec version (`specstar.spec_versions.vid`; see spec_info.rs for why the generation)
//! and by whether it checks a draft (see `specstar_core::document::draft_schema`), so a
//! schema is compiled once per backend.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use pgrx::pg_sys::Oid;
use pgrx::JsonB;
use serde_json::{json, Value};
use specstar_core::document::DocValidator;

thread_local! {
    static CACHE: RefCell<HashMap<(Oid, i64, bool), Rc<DocValidator>>> = RefCell::new(HashMap::new());
}

pub fn load(vid: i64) -> Result<Rc<DocValidator>, String> {
    load_for(vid, false)
}

fn load_for(vid: i64, draft: bool) -> Result<Rc<DocValidator>, String> {
    let key = (crate::spec_info::generation(), vid, draft);
    if let Some(v) = CACHE.with(|c| c.borrow().get(&key).cloned()) {
        return Ok(v);
    }
    let schema = crate::owner::pinned(|| {
        crate::spi_read::one::<JsonB>("SELECT v.schema FROM specstar.spec_versions v WHERE v.vid = $1", &[vid.into()])
    })
    .ok()
    .flatten()
    .ok_or_else(|| format!("spec version {vid} is not registered"))?;
    let schema = if draft { specstar_core::document::draft_schema(&schema.0) } else { schema.0 };
    // registration compiled it already (specstar_core::model): this fails only for a
    // catalog written by other means
    let compiled = Rc::new(DocValidator::compile(&schema).map_err(|e| format!("spec version {vid} does not compile: {e}"))?);
    CACHE.with(|c| c.borrow_mut().insert(key, compiled.clone()));
    Ok(compiled)
}

/// `None` when `doc` is valid; otherwise the errors as a JSON array.
pub fn validate(vid: i64, doc: &Value, draft: bool) -> Option<Value> {
    match load_for(vid, draft) {
        Err(message) => Some(json!([{ "path": "", "keyword": "$schema", "message": message }])),
        Ok(v) => {
            let errors = v.errors(doc);
            if errors.is_empty() {
                None
            } else {
                Some(serde_json::to_value(errors).expect("errors serialize"))
            }
        }
    }
}
