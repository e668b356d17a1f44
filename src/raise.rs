//! Raising specstar's own SQLSTATEs from Rust.
//!
//! pgrx turns any SQLSTATE it does not know (PT404/PT409/PT422) into XX000 and appends a
//! Rust backtrace to DETAIL when an error crosses one of its guards. Expected failures are
//! therefore carried as `Err(Raise)` values out of the guarded code and raised here, from the
//! outermost frame, the way pgrx itself reports errors: errstart/errcode/errmsg/errfinish.

use std::ffi::{c_char, c_int, CString};

use specstar_core::errors::Raise;

unsafe extern "C-unwind" {
    fn errstart(elevel: c_int, domain: *const c_char) -> bool;
    fn errcode(sqlerrcode: c_int) -> c_int;
    fn errmsg(fmt: *const c_char, ...) -> c_int;
    fn errdetail(fmt: *const c_char, ...) -> c_int;
    fn errhint(fmt: *const c_char, ...) -> c_int;
    fn errfinish(filename: *const c_char, lineno: c_int, funcname: *const c_char);
}

/// MAKE_SQLSTATE of a five-character code.
fn make_sqlstate(code: &str) -> c_int {
    code.bytes().take(5).enumerate().fold(0, |acc, (i, ch)| acc + ((((ch as c_int) - ('0' as c_int)) & 0x3F) << (6 * i)))
}

fn cstring(s: String) -> CString {
    CString::new(s.replace('\0', "")).expect("NUL bytes removed")
}

/// Raise `r` as an ERROR; never returns. Call only from the outermost frame of an
/// `extern "C-unwind"` function: errfinish() longjmps out of every frame above it, so all
/// values with destructors are dropped before it is called.
pub unsafe fn throw(r: Raise) -> ! {
    let code = make_sqlstate(r.sqlstate);
    let message = cstring(r.message);
    let detail = r.detail.map(cstring);
    let hint = r.hint.map(cstring);
    unsafe {
        if errstart(pgrx::PgLogLevel::ERROR as c_int, std::ptr::null()) {
            errcode(code);
            // err* copy their arguments into ErrorContext
            errmsg(c"%s".as_ptr(), message.as_ptr());
            if let Some(d) = &detail {
                errdetail(c"%s".as_ptr(), d.as_ptr());
            }
            if let Some(h) = &hint {
                errhint(c"%s".as_ptr(), h.as_ptr());
            }
            drop(message);
            drop(detail);
            drop(hint);
            errfinish(c"specstar".as_ptr(), 0, c"specstar_revision_trigger".as_ptr());
        }
    }
    unreachable!("errfinish returned from an ERROR")
}

#[cfg(test)]
mod tests {
    use super::make_sqlstate;

    #[test]
    fn sqlstates_encode_like_make_sqlstate() {
        // ERRCODE_UNIQUE_VIOLATION = MAKE_SQLSTATE('2','3','5','0','5')
        assert_eq!(make_sqlstate("23505"), pgrx::pg_sys::PgSqlErrorCode::ERRCODE_UNIQUE_VIOLATION as i32);
    }
}
