//! How a connection proves who it is, beyond `addAuth`'s digest (which `pipeline::prep`
//! answers): [`sasl`].

pub mod sasl;
