//! Group commit: one Raft entry carries a batch of server entries, and each of them gets its
//! own zxid.
//!
//! Why batches: openraft 0.9's core waits for each append's fsync before it handles the next
//! request, so one Raft entry per write would mean one fsync per write. The server's proposer
//! gathers every entry queued while the previous batch was being written into the next one.
//!
//! Layout of a batch (integers little-endian): `count u32 | (len u32 | bytes) * count`.
//!
//! zxid of item `i` of the entry at log index `n`: `n << ZXID_ITEM_BITS | i`. Zxids strictly
//! increase along the log and are the same on every replica; like ZooKeeper's own (epoch in
//! the high bits), they are not dense.

/// Bits of a zxid that number an item within its batch.
pub const ZXID_ITEM_BITS: u32 = 16;

/// The most items in one batch (what the zxid layout can number).
pub const MAX_BATCH_ITEMS: usize = 1 << ZXID_ITEM_BITS;

/// The zxid of item `item` of the entry at `index`.
pub fn zxid_of(index: u64, item: usize) -> u64 {
    debug_assert!(item < MAX_BATCH_ITEMS);
    (index << ZXID_ITEM_BITS) | item as u64
}

/// The highest zxid an entry at `index` can hold: a snapshot at `index` covers every zxid up
/// to it.
pub fn last_zxid_of(index: u64) -> u64 {
    zxid_of(index, MAX_BATCH_ITEMS - 1)
}

pub fn encode_batch(items: &[Vec<u8>]) -> Vec<u8> {
    assert!(
        items.len() <= MAX_BATCH_ITEMS,
        "batch of {} items",
        items.len()
    );
    let len = 4 + items.iter().map(|i| 4 + i.len()).sum::<usize>();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&(items.len() as u32).to_le_bytes());
    for item in items {
        out.extend_from_slice(&(item.len() as u32).to_le_bytes());
        out.extend_from_slice(item);
    }
    out
}

/// The items of a batch; an error says what is wrong (the entry is damaged or foreign).
pub fn decode_batch(bytes: &[u8]) -> Result<Vec<&[u8]>, String> {
    let (count, mut rest) = take_u32(bytes).ok_or("batch ends before its count")?;
    if count as usize > MAX_BATCH_ITEMS {
        return Err(format!("batch of {count} items"));
    }
    let mut items = Vec::with_capacity(count as usize);
    for i in 0..count {
        let (len, after) = take_u32(rest).ok_or_else(|| format!("item {i} has no length"))?;
        if after.len() < len as usize {
            return Err(format!("item {i} runs past the end of the batch"));
        }
        let (item, after) = after.split_at(len as usize);
        items.push(item);
        rest = after;
    }
    if !rest.is_empty() {
        return Err(format!("{} bytes after the last item", rest.len()));
    }
    Ok(items)
}

fn take_u32(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let (n, rest) = bytes.split_first_chunk::<4>()?;
    Some((u32::from_le_bytes(*n), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_round_trip_and_damage_is_refused() {
        let items = vec![b"one".to_vec(), vec![], vec![7; 300]];
        let bytes = encode_batch(&items);
        let back = decode_batch(&bytes).unwrap();
        assert_eq!(back, items.iter().map(|i| i.as_slice()).collect::<Vec<_>>());
        for cut in 0..bytes.len() {
            assert!(decode_batch(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode_batch(&longer).is_err());
    }

    #[test]
    fn zxids_increase_along_the_log() {
        assert!(zxid_of(1, 0) < zxid_of(1, 1));
        assert!(last_zxid_of(1) < zxid_of(2, 0));
        assert_eq!(zxid_of(3, 2), 0x3_0002);
    }
}
