//! Benchmarks of Lockwell's checksum engines.
//!
//! The criterion benches (`benches/checksum.rs`) compare each algorithm
//! through `lockwell_core::checksum::MultiHasher`, through the crate it wraps,
//! and through peer crates, against memory read and copy bandwidth as the
//! physical limit. `checksum-summary` (`src/bin/checksum_summary.rs`) is the
//! short version that `cargo xtask run` prints. This library holds what both
//! share: the workloads, so that the two measure the same thing.

use std::hint::black_box;

use lockwell_core::checksum::{ChecksumAlgorithm, Digests, MultiHasher};

/// The checksum sets a server computes over one PUT body: the MD5 ETag (E1)
/// plus the one checksum the client asked for (K1).
pub const SERVER_CHECKSUM_SETS: [[ChecksumAlgorithm; 2]; 5] = [
    [ChecksumAlgorithm::Md5, ChecksumAlgorithm::Sha256],
    [ChecksumAlgorithm::Md5, ChecksumAlgorithm::Crc32c],
    [ChecksumAlgorithm::Md5, ChecksumAlgorithm::Crc64Nvme],
    [ChecksumAlgorithm::Md5, ChecksumAlgorithm::Crc32],
    [ChecksumAlgorithm::Md5, ChecksumAlgorithm::Sha1],
];

/// A name for a checksum set, such as `md5+sha256`.
#[must_use]
pub fn set_name(algorithms: &[ChecksumAlgorithm]) -> String {
    algorithms
        .iter()
        .map(|algorithm| algorithm.name())
        .collect::<Vec<_>>()
        .join("+")
}

/// Reads every byte of `bytes` and folds them into a sum the optimiser
/// cannot skip: the floor any checksum over the same buffer must pay.
#[must_use]
pub fn memory_read_sum(bytes: &[u8]) -> u64 {
    let words = bytes.chunks_exact(size_of::<u64>());
    let tail_sum: u64 = words.remainder().iter().map(|&byte| u64::from(byte)).sum();
    words
        .map(|word| u64::from_ne_bytes(word.try_into().expect("chunks_exact yields whole words")))
        .fold(tail_sum, u64::wrapping_add)
}

/// Hashes `bytes` with `algorithms` split over two threads, each running a
/// [`MultiHasher`] over the whole buffer for its half of the set. A hash
/// cannot be split by data, so sets are split by algorithm; with the
/// two-algorithm server sets each thread runs one.
///
/// Uses a scoped thread per call: this measures whether two cores beat one
/// pass including the hand-off, which a server would pay per body chunk.
#[must_use]
pub fn digest_split_across_two_threads(algorithms: &[ChecksumAlgorithm], bytes: &[u8]) -> Digests {
    let (first_half, second_half) = algorithms.split_at(algorithms.len() / 2);
    let hash = |half: &[ChecksumAlgorithm]| {
        let mut hasher = MultiHasher::new(half);
        hasher.update(bytes);
        hasher.finalize()
    };
    std::thread::scope(|scope| {
        let second = scope.spawn(|| hash(second_half));
        let mut digests = hash(first_half);
        for digest in second.join().expect("hashing thread does not panic").iter() {
            digests.insert(*digest);
        }
        digests
    })
}

/// `len_bytes` of deterministic noise (xorshift64), so that no engine meets
/// a special case such as all zeroes.
#[must_use]
pub fn pseudo_random_bytes(len_bytes: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut bytes = Vec::with_capacity(len_bytes + size_of::<u64>());
    while bytes.len() < len_bytes {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len_bytes);
    black_box(bytes)
}
