pub mod data;
pub mod proto;
