//! End-to-end tests: real `shuqiao` processes, real HTTP, SQLite and PostgreSQL. One test binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod harness;
mod smoke;
