//! Which PL/pgSQL function is writing: how the revision trigger tells a `rollback`, `restore`
//! or `publish` from an ordinary write without trusting anything a session can set.
//!
//! A label in a GUC (`SET specstar.internal_op = 'rollback'`) could be set by anyone before
//! an ordinary UPDATE. Instead the trigger looks at the innermost PL/pgSQL function on the
//! call stack: PL/pgSQL pushes an error-context callback for every function it executes,
//! whose argument is the function's execution state, and the state names the function's
//! OID. Only specstar's own generated `<spec>_rollback`, `_restore` and `_publish` (owned by
//! the spec's owner, found by their signature) label their writes; a user's function or DO
//! block is a different OID, whatever it does.
//!
//! Which callback is PL/pgSQL's execution callback is learnt once per backend, by a probe:
//! `specstar._plpgsql_frame_probe()`, a PL/pgSQL function, calls `_note_plpgsql_frame`, which
//! looks for the innermost callback that lives in plpgsql.so and whose state names the
//! probe itself, and remembers that callback's address.

use std::cell::Cell;
use std::ffi::CStr;

use pgrx::pg_sys::{self, Oid};
use pgrx::prelude::*;

thread_local! {
    /// The address of PL/pgSQL's execution error callback; None until probed (or when the
    /// probe found nothing: then no write is ever labelled).
    static EXEC_CALLBACK: Cell<Option<usize>> = const { Cell::new(None) };
    static PROBED: Cell<bool> = const { Cell::new(false) };
}

type Callback = unsafe extern "C-unwind" fn(*mut std::ffi::c_void);

/// Whether `f` lives in PL/pgSQL's shared library.
fn in_plpgsql(f: Callback) -> bool {
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr only reads the loader's tables for the given address
    if unsafe { libc::dladdr(f as *const libc::c_void, &mut info) } == 0 || info.dli_fname.is_null() {
        return false;
    }
    let name = unsafe { CStr::from_ptr(info.dli_fname) }.to_string_lossy();
    name.ends_with("/plpgsql.so") || name == "plpgsql.so"
}

/// Called by `specstar._plpgsql_frame_probe()` with its own OID.
#[pg_extern(name = "_note_plpgsql_frame", volatile)]
fn note_plpgsql_frame(probe: Oid) -> bool {
    unsafe {
        let mut entry = pg_sys::error_context_stack;
        while !entry.is_null() {
            if let Some(cb) = (*entry).callback {
                if in_plpgsql(cb) && !(*entry).arg.is_null() {
                    // SAFETY: inside the probe's execution the only PL/pgSQL callbacks on the
                    // stack are execution callbacks, whose argument is the execution state
                    let estate = (*entry).arg as *const pg_sys::PLpgSQL_execstate;
                    let func = (*estate).func;
                    if !func.is_null() && (*func).fn_oid == probe {
                        EXEC_CALLBACK.with(|c| c.set(Some(cb as usize)));
                        return true;
                    }
                }
            }
            entry = (*entry).previous;
        }
    }
    false
}

fn exec_callback() -> Option<usize> {
    if !PROBED.with(|p| p.get()) {
        // as the extension's owner: the probe is internal, executable by nobody else. (An
        // error here aborts the write, and the next write probes again: only a probe that
        // ran to the end counts.)
        let found = crate::owner::as_owner(crate::owner::extension_owner(), || Spi::get_one::<bool>("SELECT specstar._plpgsql_frame_probe()"));
        PROBED.with(|p| p.set(true));
        if !matches!(found, Ok(Some(true))) {
            warning!("specstar: PL/pgSQL frames cannot be recognised in this backend; rollback, restore and publish revisions are labelled as plain writes");
        }
    }
    EXEC_CALLBACK.with(|c| c.get())
}

/// The OID of the PL/pgSQL function `outward` frames out from the innermost one (0: the
/// innermost), if there is one.
pub fn plpgsql_function_at(outward: usize) -> Option<Oid> {
    let target = exec_callback()?;
    let mut seen = 0;
    unsafe {
        let mut entry = pg_sys::error_context_stack;
        while !entry.is_null() {
            if (*entry).callback.is_some_and(|cb| cb as usize == target) && !(*entry).arg.is_null() {
                // SAFETY: this is PL/pgSQL's execution callback (probed): arg is its state
                let func = (*((*entry).arg as *const pg_sys::PLpgSQL_execstate)).func;
                if seen == outward {
                    return (!func.is_null()).then(|| (*func).fn_oid);
                }
                seen += 1;
            }
            entry = (*entry).previous;
        }
    }
    None
}
