//! Data exchange (SPEC §5, §7, §9; DESIGN "Data exchange"): nodes and their connections, mounts, the gateway
//! (online query, verification, API proxy) and the data-subject look-up.

pub mod bus;
pub mod cursor;
pub mod files;
pub mod gateway;
pub mod mounts;
pub mod nodes;
mod proxy;
pub mod registry;
pub mod subject;
pub mod sync;
pub mod usage;
pub mod volume;
