//! Benchmarks of Lockwell's checksum engines.
//!
//! The criterion benches (`benches/checksum.rs`) compare each algorithm
//! through `lockwell_core::checksum::MultiHasher`, through the crate it wraps,
//! and through peer crates, against memory read and copy bandwidth as the
//! physical limit. `checksum-summary` (`src/bin/checksum_summary.rs`) is the
//! short version that `cargo xtask run` prints. This library holds what both
//! share: the workloads, so that the two measure the same thing.

pub mod cli;
pub mod commit_fixtures;
pub mod environment;
pub mod instructions;
pub mod loadgen;
pub mod merge;
pub mod peers;
pub mod sweep;
// The seeded stream and the zipf sampler live in lockwell-workload, so the
// load generator and the simulator draw keys the same way.
pub use lockwell_workload::{rng, zipf};

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

/// Page size of the machines we measure on; copy placement is relative to it.
pub const PAGE_LEN_BYTES: usize = 4096;

/// A source and a destination buffer whose start addresses lie a chosen
/// distance apart modulo the page size, so that a copy benchmark measures
/// the same placement on every run.
///
/// Why: glibc's `memcpy` uses `rep movsb` for mid-sized copies, and on the
/// AMD EPYC machines here a `rep movsb` whose destination starts just past
/// its source modulo 4 KiB runs at ~1 GiB/s instead of ~25 GiB/s (measured
/// with glibc 2.36 from 4 KiB to 256 KiB). With allocator-chosen addresses
/// a copy benchmark lands on either side of that cliff by chance.
pub struct CopyBuffers {
    source: Vec<u8>,
    destination: Vec<u8>,
    source_start: usize,
    destination_start: usize,
    len_bytes: usize,
}

impl CopyBuffers {
    /// Buffers of `len_bytes` each; the destination starts
    /// `page_offset_distance_bytes` after the source modulo the page size.
    #[must_use]
    pub fn new(len_bytes: usize, page_offset_distance_bytes: usize) -> Self {
        assert!(
            page_offset_distance_bytes < PAGE_LEN_BYTES,
            "a distance within one page"
        );
        let source = pseudo_random_bytes(len_bytes + PAGE_LEN_BYTES, 4);
        let destination = vec![0; len_bytes + 2 * PAGE_LEN_BYTES];
        let page_offset = |bytes: &[u8]| bytes.as_ptr().addr() % PAGE_LEN_BYTES;
        let source_start = (PAGE_LEN_BYTES - page_offset(&source)) % PAGE_LEN_BYTES;
        let destination_start = (PAGE_LEN_BYTES - page_offset(&destination)) % PAGE_LEN_BYTES
            + page_offset_distance_bytes;
        Self {
            source,
            destination,
            source_start,
            destination_start,
            len_bytes,
        }
    }

    /// The bytes a copy reads.
    #[must_use]
    pub fn source(&self) -> &[u8] {
        &self.source[self.source_start..self.source_start + self.len_bytes]
    }

    /// The bytes a copy wrote.
    #[must_use]
    pub fn destination(&self) -> &[u8] {
        &self.destination[self.destination_start..self.destination_start + self.len_bytes]
    }

    /// Copies the source over the destination (`memcpy`).
    pub fn copy(&mut self) {
        let source = &self.source[self.source_start..self.source_start + self.len_bytes];
        self.destination[self.destination_start..self.destination_start + self.len_bytes]
            .copy_from_slice(black_box(source));
    }
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

/// Median and range of repeated throughput measurements. Medians resist
/// the noise of a shared machine; the range shows how much noise there was.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Spread {
    /// Middle value (mean of the two middle values for an even count).
    pub median: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

impl Spread {
    /// The spread of `samples`; `None` when there are none or one is NaN.
    #[must_use]
    pub fn of(samples: &[f64]) -> Option<Self> {
        if samples.is_empty() || samples.iter().any(|sample| sample.is_nan()) {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let middle = sorted.len() / 2;
        let median = if sorted.len().is_multiple_of(2) {
            f64::midpoint(sorted[middle - 1], sorted[middle])
        } else {
            sorted[middle]
        };
        Some(Self {
            median,
            min: sorted[0],
            max: sorted[sorted.len() - 1],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_takes_the_middle_of_odd_and_even_counts() {
        let spread = |median, min, max| Some(Spread { median, min, max });
        let cases: &[(&[f64], Option<Spread>)] = &[
            (&[], None),
            (&[1.0, f64::NAN], None),
            (&[2.0], spread(2.0, 2.0, 2.0)),
            (&[3.0, 1.0, 2.0], spread(2.0, 1.0, 3.0)),
            (&[4.0, 1.0, 3.0, 2.0], spread(2.5, 1.0, 4.0)),
        ];
        for (samples, expected) in cases {
            assert_eq!(Spread::of(samples), *expected, "{samples:?}");
        }
    }

    #[test]
    fn memory_read_sum_reads_every_byte_including_the_tail() {
        let bytes: Vec<u8> = (1..=11).collect();
        let whole_word = u64::from_ne_bytes(bytes[..8].try_into().expect("8 bytes"));
        assert_eq!(memory_read_sum(&bytes), whole_word + 9 + 10 + 11);
        assert_eq!(memory_read_sum(&[]), 0);
    }

    #[test]
    fn two_threads_compute_the_same_digests_as_one_pass() {
        let bytes = pseudo_random_bytes(100_000, 7);
        for set in SERVER_CHECKSUM_SETS {
            let mut one_pass = MultiHasher::new(&set);
            one_pass.update(&bytes);
            assert_eq!(
                digest_split_across_two_threads(&set, &bytes),
                one_pass.finalize(),
                "{}",
                set_name(&set)
            );
        }
    }

    #[test]
    fn copy_buffers_place_the_destination_at_the_asked_page_offset_distance() {
        for distance_bytes in [0, 16, PAGE_LEN_BYTES / 2, PAGE_LEN_BYTES - 1] {
            let mut buffers = CopyBuffers::new(10_000, distance_bytes);
            let source_offset = buffers.source().as_ptr().addr() % PAGE_LEN_BYTES;
            let destination_offset = buffers.destination().as_ptr().addr() % PAGE_LEN_BYTES;
            assert_eq!(source_offset, 0);
            assert_eq!(destination_offset, distance_bytes);
            buffers.copy();
            assert_eq!(buffers.destination(), buffers.source());
        }
    }

    #[test]
    fn pseudo_random_bytes_are_deterministic_and_of_the_asked_length() {
        for len_bytes in [0, 1, 7, 8, 9, 4096] {
            let bytes = pseudo_random_bytes(len_bytes, 5);
            assert_eq!(bytes.len(), len_bytes);
            assert_eq!(bytes, pseudo_random_bytes(len_bytes, 5));
        }
        assert_ne!(pseudo_random_bytes(64, 5), pseudo_random_bytes(64, 6));
    }
}
