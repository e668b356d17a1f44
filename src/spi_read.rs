//! Read-only lookups through SPI that never assign the transaction an id. pgrx's
//! `Spi::get_one*` and `Spi::run` call `GetCurrentTransactionId()` first: a hot standby
//! refuses that ("cannot assign TransactionIds during recovery"), and on a primary every read
//! would spend an id and make later statements of the transaction take new snapshots. Every
//! path a read can reach (documents, history, GraphQL, the feed, search, the admin page) reads
//! the catalog through these instead.

use pgrx::datum::{DatumWithOid, FromDatum, IntoDatum};
use pgrx::spi::{Error, Spi};

/// The first column of the first row of `sql` (None without a row).
pub fn one<T: FromDatum + IntoDatum>(sql: &str, args: &[DatumWithOid]) -> Result<Option<T>, Error> {
    Spi::connect(|client| {
        let table = client.select(sql, Some(1), args)?;
        if table.is_empty() {
            return Ok(None);
        }
        table.first().get::<T>(1)
    })
}

/// The first two columns of the first row of `sql` (Nones without a row).
pub fn two<A: FromDatum + IntoDatum, B: FromDatum + IntoDatum>(sql: &str, args: &[DatumWithOid]) -> Result<(Option<A>, Option<B>), Error> {
    Spi::connect(|client| {
        let table = client.select(sql, Some(1), args)?;
        if table.is_empty() {
            return Ok((None, None));
        }
        let row = table.first();
        Ok((row.get::<A>(1)?, row.get::<B>(2)?))
    })
}
