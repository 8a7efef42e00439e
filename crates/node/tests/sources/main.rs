//! The node's sources against real databases and files: one conformance suite, run on SQLite, PostgreSQL,
//! MariaDB, CSV and xlsx. One test binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod apply_range;
mod conformance;
mod files;
mod mysql;
mod ordered_apply;
mod postgres;
mod sqlite;
mod stored;
mod sync;
mod target;
mod throughput;
