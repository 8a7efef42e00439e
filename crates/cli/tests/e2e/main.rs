//! End-to-end tests: real `shuqiao` processes, real HTTP, SQLite and PostgreSQL. One test binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod api_quality;
mod audit;
mod calendar;
mod catalog;
mod catalog_files;
mod console;
mod exchange;
pub mod harness;
mod node_connect;
mod sharing;
mod smoke;
