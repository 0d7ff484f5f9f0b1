//! The authoritative's SQLite: verify, back up, compare with the journal.
