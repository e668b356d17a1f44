//! jsonb values into Rust with a depth limit.
//!
//! pgrx's `JsonB` reads a datum through serde_json, which gives up at 128 levels of nesting
//! by panicking inside pgrx (an `XX000` with a Rust backtrace, over HTTP too). Every jsonb
//! that reaches specstar's Rust code — documents, patches, schemas, options — comes through
//! here instead: its nesting is measured on the jsonb itself, without recursion, and anything
//! deeper than `specstar_core::json::MAX_DEPTH` is an error value for the caller to report,
//! before serde or any other recursive code sees it.

use pgrx::callconv::{Arg, ArgAbi};
use pgrx::nullable::Nullable;
use pgrx::pg_sys::{self, JsonbIteratorToken::*};
use pgrx::pgrx_sql_entity_graph::metadata::{ArgumentError, ReturnsError, ReturnsRef, SqlMappingRef, SqlTranslatable};
use pgrx::prelude::*;
use serde_json::Value;
use specstar_core::json::{TooDeep, MAX_DEPTH};

/// A jsonb argument: its value, or where it nests too deeply.
pub struct Json(pub Result<Value, TooDeep>);

impl FromDatum for Json {
    unsafe fn from_polymorphic_datum(datum: pg_sys::Datum, is_null: bool, _: pg_sys::Oid) -> Option<Json> {
        if is_null {
            None
        } else {
            Some(Json(unsafe { read(datum) }))
        }
    }
}

unsafe impl<'fcx> ArgAbi<'fcx> for Json {
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        unsafe { arg.unbox_arg_using_from_datum().unwrap_or_else(|| panic!("argument {index} must not be null")) }
    }

    unsafe fn unbox_nullable_arg(arg: Arg<'_, 'fcx>) -> Nullable<Self> {
        unsafe { arg.unbox_arg_using_from_datum().into() }
    }
}

unsafe impl SqlTranslatable for Json {
    const TYPE_IDENT: &'static str = pgrx::pgrx_resolved_type!(Json);
    const TYPE_ORIGIN: pgrx::pgrx_sql_entity_graph::metadata::TypeOrigin = pgrx::pgrx_sql_entity_graph::metadata::TypeOrigin::External;
    const ARGUMENT_SQL: Result<SqlMappingRef, ArgumentError> = Ok(SqlMappingRef::literal("jsonb"));
    const RETURN_SQL: Result<ReturnsRef, ReturnsError> = Ok(ReturnsRef::One(SqlMappingRef::literal("jsonb")));
}

/// The value of a (non-NULL) jsonb datum, or where it nests deeper than the limit.
///
/// # Safety
/// `datum` must be a jsonb datum.
pub unsafe fn read(datum: pg_sys::Datum) -> Result<Value, TooDeep> {
    unsafe {
        let jb = pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) as *mut pg_sys::Jsonb;
        check_depth(jb)?;
        let text = pgrx::direct_function_call::<&std::ffi::CStr>(pg_sys::jsonb_out, &[Some(pg_sys::Datum::from(jb))])
            .expect("jsonb_out returns text");
        let value = serde_json::from_str(&text.to_string_lossy()).expect("within the depth limit, jsonb_out is JSON serde reads");
        pg_sys::pfree(text.as_ptr() as *mut std::ffi::c_void);
        Ok(value)
    }
}

/// Walks the jsonb's tokens (flat: PostgreSQL's iterator keeps the stack) and stops at the
/// first container deeper than the limit.
unsafe fn check_depth(jb: *mut pg_sys::Jsonb) -> Result<(), TooDeep> {
    unsafe {
        // every container costs at least its 4-byte header: a small value cannot be deep
        if pgrx::varlena::varsize_any_exhdr(jb as *const pg_sys::varlena) < 4 * MAX_DEPTH {
            return Ok(());
        }
        // the JSON pointer to the current position: per open container, the key or index
        let mut path: Vec<(bool, String, usize)> = Vec::new();
        let mut it = pg_sys::JsonbIteratorInit(&mut (*jb).root);
        let mut v: pg_sys::JsonbValue = std::mem::zeroed();
        loop {
            let token = pg_sys::JsonbIteratorNext(&mut it, &mut v, false);
            match token {
                WJB_DONE => return Ok(()),
                WJB_BEGIN_ARRAY | WJB_BEGIN_OBJECT => {
                    if let Some(top) = path.last_mut() {
                        top.2 += 1;
                    }
                    if path.len() >= MAX_DEPTH {
                        let pointer = path
                            .iter()
                            .map(|(array, key, i)| {
                                let seg = if *array { i.saturating_sub(1).to_string() } else { specstar_core::error::pointer_segment(key) };
                                format!("/{seg}")
                            })
                            .collect();
                        return Err(TooDeep { path: pointer, limit: MAX_DEPTH });
                    }
                    path.push((token == WJB_BEGIN_ARRAY, String::new(), 0));
                }
                WJB_END_ARRAY | WJB_END_OBJECT => {
                    path.pop();
                }
                WJB_KEY => {
                    if let Some(top) = path.last_mut() {
                        let bytes = std::slice::from_raw_parts(v.val.string.val as *const u8, v.val.string.len as usize);
                        top.1 = String::from_utf8_lossy(bytes).into_owned();
                    }
                }
                WJB_ELEM => {
                    if let Some(top) = path.last_mut() {
                        top.2 += 1;
                    }
                }
                _ => {}
            }
        }
    }
}
