//! Shuqiao's pure core: the types of SPEC.md and the rules over them.
//!
//! No I/O, no async, no clock: time is always a parameter. Everything that parses input returns either a
//! valid value or every problem found, each naming its field, so the HTTP layer can answer 422 with all of them.

pub mod calendar;
pub mod class_tree;
pub mod codes;
pub mod entry;
pub mod error;
pub mod lifecycle;
pub mod masking;
pub mod roles;
pub mod rules;
pub mod sharing;
pub mod validate;

pub use error::FieldError;
