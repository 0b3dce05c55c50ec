//! The one door from the SQLite store to rusqlite's statement API.
//!
//! The hot statements run through rusqlite on the caller's thread (see
//! [`super::inline`] and [`super::tx`]), but each is checked by sqlx as if
//! it ran through sqlx: the macros below expand `sqlx::query!`,
//! `sqlx::query_scalar!` or `sqlx::query_as!(Row, ..)` for the same literal
//! in a branch that never runs, so the offline data in `.sqlx/` verifies
//! the text against the migrated schema, the number of parameters, and for
//! rows the column names, types and nullability of the struct that the
//! rusqlite reader fills. The literal and the arguments are written once
//! and handed to both. Rows are read by column name (see [`sqlite_row!`]),
//! so a reordered SELECT cannot misread.
//!
//! `clippy.toml` forbids rusqlite's `prepare`, `prepare_cached`, `execute`
//! and `query_row` everywhere else; the functions here are the only
//! callers. The runtime-built item listings ([`runtime_row`],
//! [`runtime_rows`]) are the one exception to compile-time checking: a unit
//! test in [`super::item_listing`] prepares every shape they can take
//! against the migrated schema instead.
#![allow(clippy::disallowed_methods)]

use rusqlite::{Connection, Params, Row, Statement};

/// A row struct the rusqlite reader fills by column name.
pub(crate) trait ReadRow: Sized {
    /// The struct's fields, in declaration order: the column names it reads.
    const FIELDS: &'static [&'static str];

    /// Reads the row, given where each of [`Self::FIELDS`] is.
    fn read(row: &Row, at: &[usize]) -> rusqlite::Result<Self>;
}

/// Declares a row struct and its reader from one field list. The field
/// names are the column names (sqlx's `"name: Type"` and `"name!"`
/// overrides in a SELECT are allowed; the reader looks past them).
macro_rules! sqlite_row {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        $vis struct $name { $($(#[$fmeta])* $fvis $field: $ty),* }

        impl $crate::store::sqlite::checked::ReadRow for $name {
            const FIELDS: &'static [&'static str] = &[$(stringify!($field)),*];

            fn read(row: &rusqlite::Row, at: &[usize]) -> rusqlite::Result<Self> {
                let mut at = at.iter().copied();
                Ok(Self {
                    $($field: row.get(at.next().ok_or(rusqlite::Error::InvalidColumnIndex(usize::MAX))?)?),*
                })
            }
        }
    };
}
pub(crate) use sqlite_row;

/// Runs a checked statement for the number of rows it changed.
macro_rules! execute {
    ($conn:expr, $sql:literal $(, $arg:expr)* $(,)?) => {{
        if false {
            let _ = sqlx::query!($sql $(, $arg)*);
        }
        $crate::store::sqlite::checked::run_execute($conn, $sql, rusqlite::params![$($arg),*])
    }};
}
pub(crate) use execute;

/// Runs a checked statement for the one value of its one row
/// (`QueryReturnedNoRows` when there is none: see `OptionalExtension`).
macro_rules! scalar {
    ($conn:expr, $sql:literal $(, $arg:expr)* $(,)?) => {{
        if false {
            let _ = sqlx::query_scalar!($sql $(, $arg)*);
        }
        $crate::store::sqlite::checked::run_scalar($conn, $sql, rusqlite::params![$($arg),*])
    }};
}
pub(crate) use scalar;

/// Runs a checked statement for its one row, as `$row` (declared with
/// [`sqlite_row!`]; `QueryReturnedNoRows` when there is none).
macro_rules! row {
    ($conn:expr, $row:ident, $sql:literal $(, $arg:expr)* $(,)?) => {{
        if false {
            let _ = sqlx::query_as!($row, $sql $(, $arg)*);
        }
        $crate::store::sqlite::checked::run_row::<$row, _>($conn, $sql, rusqlite::params![$($arg),*])
    }};
}
pub(crate) use row;

/// Runs a checked statement and hands each row's first value to `$each`
/// in turn, keeping none of them: for walks over many rows.
macro_rules! for_each {
    ($conn:expr, $each:expr, $sql:literal $(, $arg:expr)* $(,)?) => {{
        if false {
            let _ = sqlx::query_scalar!($sql $(, $arg)*);
        }
        $crate::store::sqlite::checked::run_for_each($conn, $sql, rusqlite::params![$($arg),*], $each)
    }};
}
pub(crate) use for_each;

/// The column name sqlx's overrides decorate: `"total!: i64"` is `total`.
fn bare_name(column: &str) -> &str {
    let name = column.split(':').next().unwrap_or(column).trim();
    name.trim_end_matches(['!', '?'])
}

/// Where each of `R`'s fields is among the statement's columns.
fn positions<R: ReadRow>(stmt: &Statement) -> rusqlite::Result<Vec<usize>> {
    let names = stmt.column_names();
    R::FIELDS
        .iter()
        .map(|field| {
            names
                .iter()
                .position(|column| bare_name(column) == *field)
                .ok_or_else(|| rusqlite::Error::InvalidColumnName((*field).to_owned()))
        })
        .collect()
}

/// Runs `sql` for the number of rows it changed. Call [`execute!`].
pub(crate) fn run_execute(
    conn: &Connection,
    sql: &str,
    params: impl Params,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// Runs `sql` for its first row's first value. Call [`scalar!`].
pub(crate) fn run_scalar<T: rusqlite::types::FromSql>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?
        .query_row(params, |row| row.get(0))
}

/// Runs `sql`, giving each row's first value to `each`. Call [`for_each!`].
pub(crate) fn run_for_each<T: rusqlite::types::FromSql>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    mut each: impl FnMut(T),
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    while let Some(row) = rows.next()? {
        each(row.get(0)?);
    }
    Ok(())
}

/// Runs `sql` for its first row. Call [`row!`].
pub(crate) fn run_row<R: ReadRow, P: Params>(
    conn: &Connection,
    sql: &str,
    params: P,
) -> rusqlite::Result<R> {
    let mut stmt = conn.prepare_cached(sql)?;
    let at = positions::<R>(&stmt)?;
    stmt.query_row(params, |row| R::read(row, &at))
}

/// Runs `sql` for all its rows.
fn run_rows<R: ReadRow, P: Params>(
    conn: &Connection,
    sql: &str,
    params: P,
) -> rusqlite::Result<Vec<R>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let at = positions::<R>(&stmt)?;
    stmt.query_map(params, |row| R::read(row, &at))?.collect()
}

/// Runs runtime-built SQL (the item listings, whose filters the caller
/// chooses) for its first row, read by column name as `R`. Not checked at
/// build time: see the module's note.
pub(crate) fn runtime_row<R: ReadRow>(
    conn: &Connection,
    sql: &str,
    values: &[rusqlite::types::Value],
) -> rusqlite::Result<R> {
    run_row(conn, sql, rusqlite::params_from_iter(values))
}

/// Runs runtime-built SQL for all its rows; see [`runtime_row`].
pub(crate) fn runtime_rows<R: ReadRow>(
    conn: &Connection,
    sql: &str,
    values: &[rusqlite::types::Value],
) -> rusqlite::Result<Vec<R>> {
    run_rows(conn, sql, rusqlite::params_from_iter(values))
}

/// Runs a statement the connection's own set-up needs (`PRAGMA`s, the WAL
/// checkpoint), which sqlx cannot check: no query of the schema.
pub(crate) fn pragma(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.query_row(sql, [], |_| Ok(()))
}

/// Prepares `sql` against `conn` and reports its parameter count and column
/// names: how a test checks every runtime-built shape.
#[cfg(test)]
pub(crate) fn shape(conn: &Connection, sql: &str) -> rusqlite::Result<(usize, Vec<String>)> {
    let stmt = conn.prepare(sql)?;
    let names = stmt
        .column_names()
        .into_iter()
        .map(|c| bare_name(c).to_owned())
        .collect();
    Ok((stmt.parameter_count(), names))
}

#[cfg(test)]
mod tests {
    use super::bare_name;

    #[test]
    fn overrides_are_not_part_of_the_name() {
        assert_eq!(bare_name("total!: i64"), "total");
        assert_eq!(bare_name("is_active: bool"), "is_active");
        assert_eq!(bare_name("seq!"), "seq");
        assert_eq!(bare_name("maybe?"), "maybe");
        assert_eq!(bare_name("plain"), "plain");
    }
}
