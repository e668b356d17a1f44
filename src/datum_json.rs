//! Column values to JSON, matching PostgreSQL's own `to_jsonb` representation (timestamps
//! through JsonEncodeDateTime, numerics as exact JSON numbers), so documents built here equal
//! the ones the generated SQL builds with jsonb_build_object.

use std::ffi::CStr;

use pgrx::pg_sys::{self, Datum, Oid};
use serde_json::Value;
use specstar_core::json::TooDeep;

/// The JSON-relevant kind of a column's (element) type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Bool,
    Int8,
    Int4,
    Int2,
    Numeric,
    DateTime,
    Uuid,
    Jsonb,
    /// Anything else, through the type's output function (as a JSON string).
    Other(Oid),
}

/// How to read one column: its scalar type, or the element type of an array.
#[derive(Debug, Clone)]
pub struct ColumnType {
    typid: Oid,
    scalar: ColumnKind,
    /// element (type, len, byval, align) for arrays
    elem: Option<(Oid, i16, bool, std::ffi::c_char)>,
    pub typlen: i16,
    pub typbyval: bool,
}

unsafe fn scalar_of(typid: Oid) -> ColumnKind {
    match typid {
        pg_sys::TEXTOID | pg_sys::VARCHAROID => ColumnKind::Text,
        pg_sys::BOOLOID => ColumnKind::Bool,
        pg_sys::INT8OID => ColumnKind::Int8,
        pg_sys::INT4OID => ColumnKind::Int4,
        pg_sys::INT2OID => ColumnKind::Int2,
        pg_sys::NUMERICOID => ColumnKind::Numeric,
        pg_sys::TIMESTAMPTZOID | pg_sys::DATEOID => ColumnKind::DateTime,
        pg_sys::UUIDOID => ColumnKind::Uuid,
        pg_sys::JSONBOID => ColumnKind::Jsonb,
        other => {
            let mut func = Oid::INVALID;
            let mut varlena = false;
            unsafe { pg_sys::getTypeOutputInfo(other, &mut func, &mut varlena) };
            ColumnKind::Other(func)
        }
    }
}

impl ColumnType {
    pub unsafe fn of(typid: Oid) -> ColumnType {
        unsafe {
            let mut typlen = 0i16;
            let mut typbyval = false;
            pg_sys::get_typlenbyval(typid, &mut typlen, &mut typbyval);
            let elemtype = pg_sys::get_element_type(typid);
            if elemtype != Oid::INVALID {
                let (mut len, mut byval, mut align) = (0i16, false, 0 as std::ffi::c_char);
                pg_sys::get_typlenbyvalalign(elemtype, &mut len, &mut byval, &mut align);
                ColumnType { typid, scalar: scalar_of(elemtype), elem: Some((elemtype, len, byval, align)), typlen, typbyval }
            } else {
                ColumnType { typid, scalar: scalar_of(typid), elem: None, typlen, typbyval }
            }
        }
    }

    pub fn kind(&self) -> ColumnKind {
        self.scalar
    }

    pub fn typid(&self) -> Oid {
        self.typid
    }

    /// For arrays: the element type and its (len, byval, align).
    pub fn array_elem(&self) -> Option<(Oid, (i16, bool), std::ffi::c_char)> {
        self.elem.map(|(t, len, byval, align)| (t, (len, byval), align))
    }

    /// The elements of an array datum with their NULL flags.
    pub unsafe fn deconstruct(&self, d: Datum, elemtype: Oid, lb: (i16, bool), align: std::ffi::c_char) -> Vec<(Datum, bool)> {
        unsafe {
            let arr = pg_sys::pg_detoast_datum(d.cast_mut_ptr()) as *mut pg_sys::ArrayType;
            let mut elems: *mut Datum = std::ptr::null_mut();
            let mut nulls: *mut bool = std::ptr::null_mut();
            let mut n: std::ffi::c_int = 0;
            pg_sys::deconstruct_array(arr, elemtype, lb.0.into(), lb.1, align, &mut elems, &mut nulls, &mut n);
            if n == 0 {
                return Vec::new();
            }
            let elems = std::slice::from_raw_parts(elems, n as usize);
            let nulls = std::slice::from_raw_parts(nulls, n as usize);
            elems.iter().copied().zip(nulls.iter().copied()).collect()
        }
    }

    /// The JSON value of a non-NULL datum of this type; `Err` for JSON nested too deeply
    /// (the path is relative to the value).
    pub unsafe fn to_json(&self, d: Datum) -> Result<Value, TooDeep> {
        unsafe {
            match self.elem {
                None => scalar_json(self.scalar, self.typid, d),
                Some((elemtype, len, byval, align)) => {
                    let mut out = vec![];
                    for (i, (e, null)) in self.deconstruct(d, elemtype, (len, byval), align).into_iter().enumerate() {
                        out.push(if null {
                            Value::Null
                        } else {
                            scalar_json(self.scalar, elemtype, e).map_err(|t| TooDeep { path: format!("/{i}{}", t.path), limit: t.limit })?
                        });
                    }
                    Ok(Value::Array(out))
                }
            }
        }
    }

    /// False for an array value that a JSON array cannot represent: more than one
    /// dimension, or not starting at index 1 (`'[0:1]={a,b}'`). True for anything else.
    pub unsafe fn is_plain_array(&self, d: Datum) -> bool {
        if self.elem.is_none() {
            return true;
        }
        unsafe {
            let arr = pg_sys::pg_detoast_datum(d.cast_mut_ptr()) as *mut pg_sys::ArrayType;
            let ndim = (*arr).ndim;
            if ndim == 0 {
                return true;
            }
            // ARR_LBOUND: after the header and the ndim dimensions
            let dims = (arr as *const u8).add(std::mem::size_of::<pg_sys::ArrayType>()) as *const i32;
            ndim == 1 && *dims.add(1) == 1
        }
    }
}

unsafe fn text_of(d: Datum) -> String {
    unsafe {
        let p = pg_sys::pg_detoast_datum_packed(d.cast_mut_ptr());
        let len = pgrx::varlena::varsize_any_exhdr(p);
        let data = pgrx::varlena::vardata_any(p) as *const u8;
        String::from_utf8_lossy(std::slice::from_raw_parts(data, len)).into_owned()
    }
}

unsafe fn scalar_json(s: ColumnKind, typid: Oid, d: Datum) -> Result<Value, TooDeep> {
    unsafe {
        Ok(match s {
            ColumnKind::Text => Value::String(text_of(d)),
            ColumnKind::Bool => Value::Bool(d.value() != 0),
            ColumnKind::Int8 => Value::from(d.value() as i64),
            ColumnKind::Int4 => Value::from(d.value() as i32),
            ColumnKind::Int2 => Value::from(d.value() as i16),
            ColumnKind::Numeric => {
                let text = pgrx::direct_function_call::<&CStr>(pg_sys::numeric_out, &[Some(d)])
                    .expect("numeric_out returns a string")
                    .to_string_lossy()
                    .into_owned();
                // NaN and infinities are not JSON numbers; to_jsonb makes them strings too
                match text.parse::<serde_json::Number>() {
                    Ok(n) => Value::Number(n),
                    Err(_) => Value::String(text),
                }
            }
            ColumnKind::DateTime => Value::String(datetime_string(d, typid)),
            ColumnKind::Uuid => Value::String(uuid_string(d)),
            ColumnKind::Jsonb => crate::json::read(d)?,
            ColumnKind::Other(func) => {
                let p = pg_sys::OidOutputFunctionCall(func, d);
                Value::String(CStr::from_ptr(p).to_string_lossy().into_owned())
            }
        })
    }
}

/// A date or timestamptz as JSON text; timestamps in UTC, so that a document does not
/// depend on the writer's TimeZone setting.
pub unsafe fn datetime_string(d: Datum, typid: Oid) -> String {
    let utc: std::ffi::c_int = 0;
    let tzp = if typid == pg_sys::TIMESTAMPTZOID { &utc as *const std::ffi::c_int } else { std::ptr::null() };
    unsafe {
        let p = pg_sys::JsonEncodeDateTime(std::ptr::null_mut(), d, typid, tzp);
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

/// The 16 bytes of a uuid datum.
pub unsafe fn uuid_bytes(d: Datum) -> [u8; 16] {
    unsafe { *(d.cast_mut_ptr::<[u8; 16]>()) }
}

pub unsafe fn uuid_string(d: Datum) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let b = unsafe { uuid_bytes(d) };
    let mut out = String::with_capacity(36);
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(HEX[(x >> 4) as usize] as char);
        out.push(HEX[(x & 0x0f) as usize] as char);
    }
    out
}
