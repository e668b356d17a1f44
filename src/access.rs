//! The one check of `sql:` access rules that needs PostgreSQL's own parser: a rule is a
//! single expression. specstar writes it inside parentheses into policies and a function
//! body, so text such as `true) OR (x` must not close them, and `true; DROP ...` must not
//! become a second statement. The rule is parsed as `SELECT (<rule>\n)`: it must give one
//! plain SELECT with one unnamed target and nothing else (no FROM, WHERE, LIMIT, set
//! operation, ...). Whether it is boolean and names real columns is checked afterwards by
//! compiling it against the spec's table (`specstar._apply_access`).

use std::ffi::CString;

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::PgList;

/// NULL when `expr` is one SQL expression, else why not.
#[pg_extern(name = "_sql_expression_error", immutable, parallel_safe)]
fn sql_expression_error(expr: &str) -> Option<String> {
    // (a trailing -- comment ends at the newline; an unclosed /* fails to parse)
    let Ok(text) = CString::new(format!("SELECT ({expr}\n)")) else {
        return Some("the rule contains a NUL byte".to_string());
    };
    PgTryBuilder::new(|| unsafe { one_expression(&text) })
        .catch_others(|e| {
            Some(match e {
                pg_sys::panic::CaughtError::PostgresError(r) | pg_sys::panic::CaughtError::ErrorReport(r) => r.message().to_string(),
                pg_sys::panic::CaughtError::RustPanic { ereport, .. } => ereport.message().to_string(),
            })
        })
        .execute()
}

unsafe fn one_expression(text: &CString) -> Option<String> {
    const NOT_ONE: &str = "the rule must be one boolean SQL expression over the row, not a statement or a list";
    unsafe {
        let list = PgList::<pg_sys::RawStmt>::from_pg(pg_sys::raw_parser(text.as_ptr(), pg_sys::RawParseMode::RAW_PARSE_DEFAULT));
        if list.len() != 1 {
            return Some(NOT_ONE.to_string());
        }
        let raw = list.get_ptr(0)?;
        let stmt = (*raw).stmt;
        if stmt.is_null() || (*stmt).type_ != pg_sys::NodeTag::T_SelectStmt {
            return Some(NOT_ONE.to_string());
        }
        let s = stmt as *mut pg_sys::SelectStmt;
        let s = &*s;
        let targets = PgList::<pg_sys::ResTarget>::from_pg(s.targetList);
        let plain = s.distinctClause.is_null()
            && s.intoClause.is_null()
            && s.fromClause.is_null()
            && s.whereClause.is_null()
            && s.groupClause.is_null()
            && s.havingClause.is_null()
            && s.windowClause.is_null()
            && s.valuesLists.is_null()
            && s.sortClause.is_null()
            && s.limitOffset.is_null()
            && s.limitCount.is_null()
            && s.lockingClause.is_null()
            && s.withClause.is_null()
            && s.op == pg_sys::SetOperation::SETOP_NONE
            && targets.len() == 1;
        if !plain {
            return Some(NOT_ONE.to_string());
        }
        let target = targets.get_ptr(0)?;
        if !(*target).name.is_null() || !(*target).indirection.is_null() {
            return Some(NOT_ONE.to_string());
        }
        None
    }
}
