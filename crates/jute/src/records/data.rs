//! The `org.apache.zookeeper.data` records: identities, ACL entries and the Stat.

use crate::{record, Decode, DecodeError, Encode, Reader};

record! {
    /// An identity: `scheme:id`, e.g. `world:anyone`, `digest:user:hash`, `ip:10.0.0.0/8`.
    pub struct Id {
        pub scheme: String,
        pub id: String,
    }
}

record! {
    /// One ACL entry: permission bits (see [`perms`]) granted to an identity.
    pub struct Acl {
        pub perms: i32,
        pub id: Id,
    }
}

record! {
    /// A znode's metadata as clients see it. Field order is the wire order.
    pub struct Stat {
        pub czxid: i64,
        pub mzxid: i64,
        pub ctime: i64,
        pub mtime: i64,
        pub version: i32,
        pub cversion: i32,
        pub aversion: i32,
        pub ephemeral_owner: i64,
        pub data_length: i32,
        pub num_children: i32,
        pub pzxid: i64,
    }
}

/// Permission bits (`ZooDefs.Perms`).
pub mod perms {
    pub const READ: i32 = 1;
    pub const WRITE: i32 = 2;
    pub const CREATE: i32 = 4;
    pub const DELETE: i32 = 8;
    pub const ADMIN: i32 = 16;
    pub const ALL: i32 = READ | WRITE | CREATE | DELETE | ADMIN;
}

impl Id {
    pub fn new(scheme: &str, id: &str) -> Id {
        Id {
            scheme: scheme.to_string(),
            id: id.to_string(),
        }
    }

    pub fn anyone() -> Id {
        Id::new("world", "anyone")
    }
}

impl Acl {
    /// `world:anyone` with all permissions (`Ids.OPEN_ACL_UNSAFE`).
    pub fn open() -> Vec<Acl> {
        vec![Acl {
            perms: perms::ALL,
            id: Id::anyone(),
        }]
    }

    /// `world:anyone` read-only (`Ids.READ_ACL_UNSAFE`).
    pub fn read_only() -> Vec<Acl> {
        vec![Acl {
            perms: perms::READ,
            id: Id::anyone(),
        }]
    }
}

/// Smallest encoding of an ACL entry: perms plus two empty strings.
const MIN_ACL_BYTES: usize = 12;

impl Encode for Vec<Acl> {
    fn encode(&self, out: &mut Vec<u8>) {
        crate::codec::write_i32(out, self.len() as i32);
        for a in self {
            a.encode(out);
        }
    }
}

impl Decode for Vec<Acl> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.read_vec_len(MIN_ACL_BYTES)?;
        (0..n).map(|_| Acl::decode(r)).collect()
    }
}
