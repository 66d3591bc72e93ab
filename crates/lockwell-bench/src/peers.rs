//! Every implementation of each checksum algorithm that the benchmarks
//! compare: lockwell-core's engine (`MultiHasher`), the crate it wraps,
//! and alternative crates. Shared by the criterion benches and
//! `checksum-summary`, so that both measure the same calls.

use lockwell_core::checksum::{ChecksumAlgorithm, MultiHasher};
use sha1::Digest as _;

/// What an implementation is to lockwell-core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// lockwell-core's `MultiHasher`: what the server runs.
    Engine,
    /// The crate the engine calls for this algorithm.
    Wrapped,
    /// A crate the engine could have used instead.
    Alternative,
}

/// One way to compute a checksum over a buffer.
#[derive(Debug, Clone, Copy)]
pub struct Implementation {
    /// `multihasher`, or the crate's name (`crc-table16`: the `crc` crate's
    /// slice-by-16 table).
    pub name: &'static str,
    pub role: Role,
    /// Hashes the buffer; returns something derived from the digest so that
    /// the work cannot be optimised away.
    pub run: fn(&[u8]) -> u64,
}

const fn implementation(name: &'static str, role: Role, run: fn(&[u8]) -> u64) -> Implementation {
    Implementation { name, role, run }
}

fn via_multihasher(algorithm: ChecksumAlgorithm, bytes: &[u8]) -> u64 {
    let mut hasher = MultiHasher::new(&[algorithm]);
    hasher.update(bytes);
    let digests = hasher.finalize();
    u64::from(digests.get(algorithm).expect("requested digest").as_bytes()[0])
}

fn first_byte(digest: &[u8]) -> u64 {
    u64::from(digest[0])
}

/// The engine first, then the wrapped crate, then the alternatives.
///
/// # Panics
/// For an algorithm added to lockwell-core without implementations here.
#[must_use]
pub fn implementations(algorithm: ChecksumAlgorithm) -> Vec<Implementation> {
    use Role::{Alternative, Engine, Wrapped};
    match algorithm {
        ChecksumAlgorithm::Crc32 => vec![
            implementation("multihasher", Engine, |b| {
                via_multihasher(ChecksumAlgorithm::Crc32, b)
            }),
            implementation("crc32fast", Wrapped, |b| u64::from(crc32fast::hash(b))),
            implementation("crc-fast", Alternative, |b| {
                crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32IsoHdlc, b)
            }),
            implementation("crc-table16", Alternative, |b| {
                u64::from(crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISO_HDLC).checksum(b))
            }),
        ],
        ChecksumAlgorithm::Crc32c => vec![
            implementation("multihasher", Engine, |b| {
                via_multihasher(ChecksumAlgorithm::Crc32c, b)
            }),
            implementation("crc32c", Wrapped, |b| u64::from(crc32c::crc32c(b))),
            implementation("crc-fast", Alternative, |b| {
                crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, b)
            }),
            implementation("crc-table16", Alternative, |b| {
                u64::from(crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISCSI).checksum(b))
            }),
        ],
        ChecksumAlgorithm::Crc64Nvme => vec![
            implementation("multihasher", Engine, |b| {
                via_multihasher(ChecksumAlgorithm::Crc64Nvme, b)
            }),
            implementation("crc-fast", Wrapped, |b| {
                crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64Nvme, b)
            }),
            implementation("crc64fast-nvme", Alternative, |b| {
                let mut digest = crc64fast_nvme::Digest::new();
                digest.write(b);
                digest.sum64()
            }),
            implementation("crc-table16", Alternative, |b| {
                crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_NVME).checksum(b)
            }),
        ],
        ChecksumAlgorithm::Sha1 => vec![
            implementation("multihasher", Engine, |b| {
                via_multihasher(ChecksumAlgorithm::Sha1, b)
            }),
            implementation("sha1", Wrapped, |b| first_byte(&sha1::Sha1::digest(b))),
            implementation("ring", Alternative, |b| {
                first_byte(
                    ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, b).as_ref(),
                )
            }),
            implementation("sha1_smol", Alternative, |b| {
                first_byte(&sha1_smol::Sha1::from(b).digest().bytes())
            }),
        ],
        ChecksumAlgorithm::Sha256 => vec![
            implementation("multihasher", Engine, |b| {
                via_multihasher(ChecksumAlgorithm::Sha256, b)
            }),
            implementation("sha2", Wrapped, |b| first_byte(&sha2::Sha256::digest(b))),
            implementation("ring", Alternative, |b| {
                first_byte(ring::digest::digest(&ring::digest::SHA256, b).as_ref())
            }),
        ],
        ChecksumAlgorithm::Md5 => vec![
            implementation("multihasher", Engine, |b| {
                via_multihasher(ChecksumAlgorithm::Md5, b)
            }),
            implementation("md-5", Wrapped, |b| first_byte(&md5::Md5::digest(b))),
            implementation("md5", Alternative, |b| first_byte(&md5_crate::compute(b).0)),
        ],
        unknown => panic!("no benchmark implementations for {unknown}"),
    }
}

#[cfg(test)]
mod tests {
    use lockwell_core::checksum::digest;

    use super::*;
    use crate::pseudo_random_bytes;

    #[test]
    fn each_algorithm_has_the_engine_first_one_wrapped_crate_and_an_alternative() {
        for algorithm in ChecksumAlgorithm::ALL {
            let roles: Vec<Role> = implementations(algorithm)
                .iter()
                .map(|implementation| implementation.role)
                .collect();
            assert_eq!(roles[..2], [Role::Engine, Role::Wrapped], "{algorithm}");
            assert!(roles[2..].iter().all(|role| *role == Role::Alternative));
            assert!(roles.len() >= 3, "{algorithm}");
        }
    }

    #[test]
    fn every_implementation_computes_the_same_checksum_as_the_engine() {
        let bytes = pseudo_random_bytes(10_000, 9);
        for algorithm in ChecksumAlgorithm::ALL {
            let engine = digest(algorithm, &bytes);
            for implementation in implementations(algorithm) {
                let value = (implementation.run)(&bytes);
                // CRCs return the value, hashes their first byte.
                let expected = match algorithm {
                    ChecksumAlgorithm::Crc32
                    | ChecksumAlgorithm::Crc32c
                    | ChecksumAlgorithm::Crc64Nvme
                        if implementation.role != Role::Engine =>
                    {
                        engine
                            .as_bytes()
                            .iter()
                            .fold(0_u64, |value, byte| value << 8 | u64::from(*byte))
                    }
                    _ => u64::from(engine.as_bytes()[0]),
                };
                assert_eq!(value, expected, "{algorithm} via {}", implementation.name);
            }
        }
    }
}
