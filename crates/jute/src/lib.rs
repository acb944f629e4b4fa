//! The ZooKeeper client wire protocol: bytes only, no IO.
//!
//! - [`frame`]: the 4-byte length prefix and the frame size limit (`jute.maxbuffer`).
//! - [`codec`]: jute's primitive encoding, the [`Encode`]/[`Decode`] traits and the [`record!`]
//!   macro; decoding tells "incomplete" from "invalid".
//! - [`records`]: the records of `zookeeper.jute` that clients use (`data` and `proto`).
//! - [`request`]: a client request decoded by op code, and `multi`'s layout.
//! - [`OpCode`] and [`ErrorCode`]: the protocol's numbers.

pub mod codec;
pub mod error_code;
pub mod frame;
pub mod opcode;
pub mod records;
pub mod request;

pub use codec::{Decode, DecodeError, Encode, Reader};
pub use error_code::ErrorCode;
pub use opcode::OpCode;
pub use records::data::{perms, Acl, Id, Stat};
pub use records::proto::*;
pub use request::{MultiOp, MultiResult, Request};
