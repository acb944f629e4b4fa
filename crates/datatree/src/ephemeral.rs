//! Create modes and what a znode's `ephemeral_owner` encodes (`CreateMode`, `EphemeralType`).
//!
//! The stored owner is: 0 for persistent, the session id for an ephemeral, `i64::MIN` for a
//! container, `0xFF00_0000_0000_0000 | ttl_ms` for a TTL node. Clients see 0 for containers and
//! TTL nodes (`DataNode.getClientEphemeralOwner`).

use corral_jute::create_flags;

/// `EphemeralType.CONTAINER_EPHEMERAL_OWNER`.
pub const CONTAINER_OWNER: i64 = i64::MIN;
/// High byte set: an extended owner; the two bytes after it name the feature (0 = TTL).
const EXTENDED_MASK: i64 = 0xFF00_0000_0000_0000_u64 as i64;
const RESERVED_BITS_MASK: i64 = 0x00FF_FF00_0000_0000;
/// `EphemeralType.TTL.maxValue()`: 40 bits of milliseconds, about 34 years.
pub const TTL_MAX_MS: i64 = !(EXTENDED_MASK | RESERVED_BITS_MASK);

/// What kind of znode an owner value denotes; fixed when the node is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    Persistent,
    /// Owned by a session; deleted when it closes; may not have children.
    Ephemeral,
    /// Deleted by the server once empty after having had a child.
    Container,
    /// Deleted by the server once empty and unmodified for its TTL.
    Ttl,
}

/// `CreateMode.fromFlag`, as a set of properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateMode {
    pub ephemeral: bool,
    pub sequential: bool,
    pub container: bool,
    pub ttl: bool,
}

impl CreateMode {
    /// `None` for a flag ZooKeeper does not know (it answers `BadArguments`).
    pub fn from_flag(flags: i32) -> Option<CreateMode> {
        let m = |ephemeral, sequential, container, ttl| CreateMode {
            ephemeral,
            sequential,
            container,
            ttl,
        };
        Some(match flags {
            create_flags::PERSISTENT => m(false, false, false, false),
            create_flags::EPHEMERAL => m(true, false, false, false),
            create_flags::PERSISTENT_SEQUENTIAL => m(false, true, false, false),
            create_flags::EPHEMERAL_SEQUENTIAL => m(true, true, false, false),
            create_flags::CONTAINER => m(false, false, true, false),
            create_flags::PERSISTENT_WITH_TTL => m(false, false, false, true),
            create_flags::PERSISTENT_SEQUENTIAL_WITH_TTL => m(false, true, false, true),
            _ => return None,
        })
    }
}

/// `EphemeralType.TTL.toEphemeralOwner`: `None` unless `0 < ttl_ms <= TTL_MAX_MS`.
pub fn ttl_owner(ttl_ms: i64) -> Option<i64> {
    (ttl_ms > 0 && ttl_ms <= TTL_MAX_MS).then_some(EXTENDED_MASK | ttl_ms)
}

/// The TTL in milliseconds carried by a TTL owner.
pub fn ttl_of(owner: i64) -> i64 {
    owner & TTL_MAX_MS
}

/// `EphemeralType.validateTTL`: a TTL mode needs a TTL in range; any other mode refuses a
/// TTL >= 0 (so `createTTL` with a non-TTL mode fails, and plain create, whose ttl is -1, with
/// a TTL mode fails).
pub fn validate_ttl(mode: CreateMode, ttl_ms: i64) -> bool {
    if mode.ttl {
        ttl_owner(ttl_ms).is_some()
    } else {
        ttl_ms < 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_encoding() {
        assert_eq!(ttl_owner(1), Some(0xFF00_0000_0000_0001_u64 as i64));
        assert_eq!(ttl_owner(0), None);
        assert_eq!(ttl_owner(-1), None);
        assert_eq!(TTL_MAX_MS, 0xFF_FFFF_FFFF);
        assert_eq!(ttl_owner(TTL_MAX_MS).map(ttl_of), Some(TTL_MAX_MS));
        assert_eq!(ttl_owner(TTL_MAX_MS + 1), None);
    }

    #[test]
    fn ttl_validity_by_mode() {
        let ttl = CreateMode::from_flag(create_flags::PERSISTENT_WITH_TTL).unwrap();
        let plain = CreateMode::from_flag(create_flags::PERSISTENT).unwrap();
        assert!(validate_ttl(ttl, 1000));
        assert!(!validate_ttl(ttl, -1));
        assert!(!validate_ttl(plain, 0));
        assert!(validate_ttl(plain, -1));
        assert!(CreateMode::from_flag(7).is_none());
        assert!(CreateMode::from_flag(-1).is_none());
    }
}
