//! Building a spec document as a `jsonb` datum straight from column datums, with
//! PostgreSQL's JsonbValue API: no text round trip. Values are represented exactly as
//! `to_jsonb` / `jsonb_build_object` represent them.

use std::ffi::CStr;

use pgrx::pg_sys::{self, Datum, JsonbIteratorToken::*, JsonbValue};

use crate::datum_json::{datetime_string, uuid_string, ColumnKind};
use crate::spec_info::SpecInfo;

fn string_value(bytes: &[u8]) -> JsonbValue {
    let mut v: JsonbValue = unsafe { std::mem::zeroed() };
    v.type_ = pg_sys::jbvType::jbvString;
    v.val.string.len = bytes.len() as i32;
    v.val.string.val = bytes.as_ptr() as *mut std::ffi::c_char;
    v
}

/// A string JsonbValue whose bytes are palloc'd, so they outlive Rust temporaries.
unsafe fn pstring(s: &str) -> JsonbValue {
    unsafe {
        let p = pg_sys::palloc(s.len().max(1)) as *mut u8;
        std::ptr::copy_nonoverlapping(s.as_ptr(), p, s.len());
        string_value(std::slice::from_raw_parts(p, s.len()))
    }
}

unsafe fn scalar(kind: ColumnKind, typid: pg_sys::Oid, d: Datum) -> JsonbValue {
    unsafe {
        let mut v: JsonbValue = std::mem::zeroed();
        match kind {
            ColumnKind::Text => {
                let p = pg_sys::pg_detoast_datum_packed(d.cast_mut_ptr());
                let len = pgrx::varlena::varsize_any_exhdr(p);
                let data = pgrx::varlena::vardata_any(p) as *const u8;
                return string_value(std::slice::from_raw_parts(data, len));
            }
            ColumnKind::Bool => {
                v.type_ = pg_sys::jbvType::jbvBool;
                v.val.boolean = d.value() != 0;
            }
            ColumnKind::Int8 | ColumnKind::Int4 | ColumnKind::Int2 => {
                let n = match kind {
                    ColumnKind::Int8 => d.value() as i64,
                    ColumnKind::Int4 => d.value() as i32 as i64,
                    _ => d.value() as i16 as i64,
                };
                v.type_ = pg_sys::jbvType::jbvNumeric;
                v.val.numeric = pg_sys::int64_to_numeric(n);
            }
            ColumnKind::Numeric => {
                let num = pg_sys::pg_detoast_datum(d.cast_mut_ptr()) as pg_sys::Numeric;
                if pg_sys::numeric_is_nan(num) || pg_sys::numeric_is_inf(num) {
                    // as in to_jsonb: non-finite numerics become strings
                    let text = pgrx::direct_function_call::<&CStr>(pg_sys::numeric_out, &[Some(d)]).expect("numeric_out");
                    return pstring(&text.to_string_lossy());
                }
                v.type_ = pg_sys::jbvType::jbvNumeric;
                v.val.numeric = num;
            }
            ColumnKind::DateTime => return pstring(&datetime_string(d, typid)),
            ColumnKind::Uuid => return pstring(&uuid_string(d)),
            ColumnKind::Jsonb => {
                let jb = pg_sys::pg_detoast_datum(d.cast_mut_ptr()) as *mut pg_sys::Jsonb;
                v.type_ = pg_sys::jbvType::jbvBinary;
                v.val.binary.data = &mut (*jb).root;
                v.val.binary.len = pgrx::varlena::varsize_any_exhdr(jb as *const pg_sys::varlena) as i32;
            }
            ColumnKind::Other(func) => {
                let p = pg_sys::OidOutputFunctionCall(func, d);
                return string_value(CStr::from_ptr(p).to_bytes());
            }
        }
        v
    }
}

/// The document of a row (spec properties, and a job spec's job columns; NULL columns
/// absent) as a jsonb datum: what the history keeps.
pub unsafe fn document(info: &SpecInfo, values: &[Datum], nulls: &[bool]) -> Datum {
    unsafe { build(info, values, nulls, true) }
}

/// The document of a row, with the job columns of a job spec (`with_job`) or without them
/// (a job's payload).
unsafe fn build(info: &SpecInfo, values: &[Datum], nulls: &[bool], with_job: bool) -> Datum {
    unsafe {
        let mut state: *mut pg_sys::JsonbParseState = std::ptr::null_mut();
        pg_sys::pushJsonbValue(&mut state, WJB_BEGIN_OBJECT, std::ptr::null_mut());
        let job_columns = info.job.as_ref().filter(|_| with_job).map(|j| j.columns.as_slice()).unwrap_or(&[]);
        for c in info.columns.iter().chain(job_columns) {
            if nulls[c.index] {
                continue;
            }
            let mut key = string_value(c.name.as_bytes());
            pg_sys::pushJsonbValue(&mut state, WJB_KEY, &mut key);
            let d = values[c.index];
            match c.ty.array_elem() {
                None => {
                    let mut v = scalar(c.ty.kind(), c.ty.typid(), d);
                    pg_sys::pushJsonbValue(&mut state, WJB_VALUE, &mut v);
                }
                Some((elemtype, elems, elem_nulls)) => {
                    pg_sys::pushJsonbValue(&mut state, WJB_BEGIN_ARRAY, std::ptr::null_mut());
                    for (e, null) in c.ty.deconstruct(d, elemtype, elems, elem_nulls) {
                        let mut v = if null {
                            let mut n: JsonbValue = std::mem::zeroed();
                            n.type_ = pg_sys::jbvType::jbvNull;
                            n
                        } else {
                            scalar(c.ty.kind(), elemtype, e)
                        };
                        pg_sys::pushJsonbValue(&mut state, WJB_ELEM, &mut v);
                    }
                    pg_sys::pushJsonbValue(&mut state, WJB_END_ARRAY, std::ptr::null_mut());
                }
            }
        }
        let res = pg_sys::pushJsonbValue(&mut state, WJB_END_OBJECT, std::ptr::null_mut());
        Datum::from(pg_sys::JsonbValueToJsonb(res))
    }
}

#[no_mangle]
#[doc(hidden)]
pub extern "C" fn pg_finfo_specstar_doc() -> &'static pg_sys::Pg_finfo_record {
    static V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
    &V1
}

/// `specstar._doc(row, vid)`: the document of a live row of a spec, built exactly as the
/// revision trigger builds it for the history. Views and RPC functions use it so that
/// there is one definition of "the document of a row".
#[no_mangle]
pub unsafe extern "C-unwind" fn specstar_doc(fcinfo: pg_sys::FunctionCallInfo) -> Datum {
    unsafe { pg_sys::panic::pgrx_extern_c_guard(|| doc_of_row(fcinfo, true)) }
}

/// The document of the row argument of `_doc` / `_payload` (`with_job`: see [`build`]).
pub(crate) unsafe fn doc_of_row(fcinfo: pg_sys::FunctionCallInfo, with_job: bool) -> Datum {
    unsafe {
        let args = (*fcinfo).args.as_slice(2);
        let header = pg_sys::pg_detoast_datum(args[0].value.cast_mut_ptr()) as pg_sys::HeapTupleHeader;
        let vid = args[1].value.value() as i64;
        let typid = (*header).t_choice.t_datum.datum_typeid;
        let relid = pg_sys::get_typ_typrelid(typid);
        if relid == pg_sys::Oid::INVALID {
            pgrx::error!("specstar._doc() needs a row of a spec's table");
        }
        let rel = pg_sys::relation_open(relid, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        let spec = std::ffi::CStr::from_ptr((*(*rel).rd_rel).relname.data.as_ptr()).to_string_lossy().into_owned();
        let info = crate::spec_info::get(rel, &spec, vid);
        let natts = (*(*rel).rd_att).natts as usize;
        let mut tuple: pg_sys::HeapTupleData = std::mem::zeroed();
        tuple.t_len = pgrx::varlena::varsize(header as *const pg_sys::varlena) as u32;
        tuple.t_data = header;
        let mut values = vec![Datum::from(0usize); natts];
        let mut nulls = vec![true; natts];
        pg_sys::heap_deform_tuple(&mut tuple, (*rel).rd_att, values.as_mut_ptr(), nulls.as_mut_ptr());
        pg_sys::relation_close(rel, pg_sys::NoLock as pg_sys::LOCKMODE);
        build(&info, &values, &nulls, with_job)
    }
}
