//! Use cases: one function per user action. Each authorizes the caller, loads what it needs, asks the domain,
//! writes in one transaction and then updates derived data (the search index). No HTTP types here.
//!
//! Error policy: use cases return [`AppError`]; the kinds map one-to-one to the HTTP statuses of API.md.
//! Unexpected failures (database down, corrupt rows) are `Internal` and carry their cause for the log only.

pub mod accounts;
pub mod audit;
pub mod audit_writer;
pub mod auth;
pub mod cache;
pub mod catalog;
pub mod catalog_io;
pub mod demo;
mod error;
pub mod exchange;
mod index;
pub mod platform;
pub mod sharing;

pub use error::AppError;
pub use platform::{Config, Platform};

pub type Result<T> = std::result::Result<T, AppError>;
