//! Reading and writing SQLite values from the Durable Object's storage, shared by the stores of the
//! room's history (`store.rs`) and of its uploads (`file_store.rs`).

use worker::SqlStorageValue;

/// One result row, read cell by cell in the order of the query's columns. Rows come from the
/// cursor's `raw()` arrays rather than as objects deserialised into a struct per query: that builds no
/// column-name object per row, and it keeps one small reader in the wasm instead of a serde
/// deserialiser per row type.
pub(super) struct Cells(pub(super) std::vec::IntoIter<SqlStorageValue>);

impl Cells {
    pub(super) fn int(&mut self) -> u64 {
        self.opt_int().unwrap_or(0)
    }

    pub(super) fn opt_int(&mut self) -> Option<u64> {
        match self.0.next() {
            Some(SqlStorageValue::Integer(i)) => Some(i.max(0) as u64),
            Some(SqlStorageValue::Float(f)) => Some(f.max(0.0) as u64),
            _ => None,
        }
    }

    pub(super) fn text(&mut self) -> String {
        self.opt_text().unwrap_or_default()
    }

    pub(super) fn opt_text(&mut self) -> Option<String> {
        match self.0.next() {
            Some(SqlStorageValue::String(s)) => Some(s),
            _ => None,
        }
    }
}

pub(super) fn int(v: u64) -> SqlStorageValue {
    // seqs, revs, timestamps and limits stay far below 2^53, JavaScript's exact-integer range.
    SqlStorageValue::Integer(v.min(i64::MAX as u64) as i64)
}

pub(super) fn opt_int(v: Option<u64>) -> SqlStorageValue {
    v.map_or(SqlStorageValue::Null, int)
}
