//! The simulator's disk: an in-memory [`Storage`] with the durability of a
//! real one, so that a simulated crash loses exactly what a power cut would.
//!
//! The disk keeps two kinds of state:
//!
//! - **durable**: the log's bytes (header and frames, in the format of
//!   [`codec`], the same bytes the file backend writes) and the staged
//!   bodies ("data files"). They survive [`SimDisk::crash`]: the simulator
//!   holds an `Arc<SimDisk>` outside the server node and hands it to the
//!   engine again on restart.
//! - **volatile**, per boot: frames appended but not yet synced, the LSN
//!   counters, and whether a sync is running. A crash drops them.
//!
//! [`Storage::wait_durable`] does group commit as the file backend does:
//! the first waiter becomes the syncer, takes every frame appended so far,
//! "fsyncs" (sleeps for a delay drawn from the seeded generator passed in,
//! which is madsim's virtual time under simulation) and makes them durable;
//! waiters that arrive meanwhile wait for it and are either covered or start
//! the next sync. A waiter's future may be dropped at any moment (hyper
//! drops a request's future when its connection closes): a syncer that is
//! dropped mid-sync hands the role to the next waiter and makes nothing
//! durable, as if its fsync never returned.
//!
//! [`Storage::recover`] reads the durable log with the codec's
//! [`codec::read_frame`] and [`codec::decode_record`], stops at the first
//! torn or corrupt frame and truncates there, refuses a CRC-valid frame that
//! does not decode, and removes data files no record refers to: the file
//! backend's recovery, step for step, over bytes in memory. So a torn tail
//! that [`CrashMode::TornTail`] leaves behind is discarded by the same code
//! that discards one on a real disk.
//!
//! Nothing here reads a clock or the OS's randomness: delays and crash cut
//! points come from the [`DiskRng`] passed in, and time passes only in
//! `tokio::time::sleep`. Same generator, same calls: same behaviour.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io;
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

use super::codec::{self, DataFile, DecodeError, DecodedPiece, Frame, Piece};
use super::file::MAX_QUEUED_RECORDS;
use super::{BoxFuture, INLINE_CONTENT_MAX_BYTES, LogRecord, Lsn, Storage};

/// The longest simulated fsync: a disk slower than this is not slow but
/// broken, and a longer delay would only stall a simulation.
pub const MAX_FSYNC_DELAY_US: u64 = 10_000_000;

/// Records appended but not yet synced, at most: the file backend's bound
/// on its queue, so both refuse appends at the same point.
pub const MAX_UNSYNCED_RECORDS: usize = MAX_QUEUED_RECORDS;

const POISONED: &str = "a task panicked while holding the simulated disk's lock";

/// The seeded source of the disk's randomness (fsync delays, crash cut
/// points): under simulation a draw from madsim's seeded generator, in
/// tests a seeded PRNG. Never the OS's randomness.
pub type DiskRng = Box<dyn FnMut() -> u64 + Send>;

/// How the simulated disk behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimDiskConfig {
    /// Each fsync (of a log batch or of a staged body) takes a delay drawn
    /// uniformly from this range. `0..=0` syncs without yielding.
    pub fsync_delay_us: RangeInclusive<u64>,
}

impl Default for SimDiskConfig {
    /// An instant disk: faults choose a slower one.
    fn default() -> Self {
        Self {
            fsync_delay_us: 0..=0,
        }
    }
}

/// What survives of the unsynced log tail when the disk crashes.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashMode {
    /// Only what was synced: every unsynced record vanishes.
    LoseUnsynced,
    /// What was synced, plus a non-empty strict prefix of the first
    /// unsynced record's frame (a write cut short). Recovery must discard
    /// it by its CRC. The same as `LoseUnsynced` when nothing is unsynced.
    TornTail,
    /// What was synced, plus a prefix of the unsynced bytes cut at a seeded
    /// point: whole unsynced records may survive (the page cache flushed
    /// them; no client was told, so that is allowed) and the one at the
    /// cut is torn.
    PartialFlush,
}

/// What happened on the disk so far, for the simulator's report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimDiskStats {
    /// Log fsyncs that completed: how many batches group commit formed.
    pub log_syncs: u64,
    /// Records made durable by those fsyncs.
    pub synced_records: u64,
    pub crashes: u64,
    /// Unsynced records that did not survive a crash whole.
    pub lost_records: u64,
    /// Bytes of torn frames that recovery discarded.
    pub discarded_tail_bytes: u64,
}

/// The volatile state of one boot, between [`Storage::recover`] and a
/// crash.
#[derive(Debug)]
struct Boot {
    /// Distinguishes this boot from the ones before and after it, so that a
    /// sync started before a crash never lands after it.
    id: u64,
    /// Frames appended but not yet synced, oldest first; the first one has
    /// LSN `durable + 1`.
    unsynced: VecDeque<Vec<u8>>,
    last_appended: Lsn,
    durable: Lsn,
    sync_running: bool,
}

struct DiskState {
    config: SimDiskConfig,
    rng: DiskRng,
    /// The durable log: header and frames, possibly ending in a torn frame
    /// until recovery truncates it.
    log: Vec<u8>,
    /// Durable staged bodies by data file id.
    data_files: BTreeMap<u64, Arc<[u8]>>,
    /// Data file ids by (length, CRC-32C) of their bytes: bodies are found
    /// by content, which (unlike the file backend's allocation addresses)
    /// is the same in every run.
    data_files_by_content: BTreeMap<(u64, u32), Vec<u64>>,
    next_data_file_id: u64,
    boot: Option<Boot>,
    boot_count: u64,
    stats: SimDiskStats,
}

impl DiskState {
    fn booted(&mut self) -> io::Result<&mut Boot> {
        self.boot.as_mut().ok_or_else(not_booted_error)
    }

    fn draw_below(&mut self, bound: u64) -> u64 {
        // Lemire's multiply-shift: uniform enough for delays and cut points.
        ((u128::from((self.rng)()) * u128::from(bound)) >> 64) as u64
    }

    fn draw_fsync_delay(&mut self) -> Duration {
        let (min, max) = (
            *self.config.fsync_delay_us.start(),
            *self.config.fsync_delay_us.end(),
        );
        let delay_us = if min == max {
            min
        } else {
            min + self.draw_below(max - min + 1)
        };
        Duration::from_micros(delay_us)
    }

    /// The data file holding exactly `content`, if one is durable.
    fn data_file_of(&self, content: &[u8]) -> Option<DataFile> {
        let len_bytes = content.len() as u64;
        let crc32c = crc32c::crc32c(content);
        self.data_files_by_content
            .get(&(len_bytes, crc32c))?
            .iter()
            .find(|id| *self.data_files[id] == *content)
            .map(|&id| DataFile {
                id,
                len_bytes,
                crc32c,
            })
    }

    fn insert_data_file(&mut self, content: &Arc<[u8]>) {
        if self.data_file_of(content).is_some() {
            return;
        }
        let id = self.next_data_file_id;
        self.next_data_file_id += 1;
        self.data_files.insert(id, Arc::clone(content));
        self.data_files_by_content
            .entry((content.len() as u64, crc32c::crc32c(content)))
            .or_default()
            .push(id);
    }

    fn remove_unreferenced_data_files(&mut self, referenced: &BTreeSet<u64>) {
        self.data_files.retain(|id, _| referenced.contains(id));
        let data_files = &self.data_files;
        self.data_files_by_content.retain(|_, ids| {
            ids.retain(|id| data_files.contains_key(id));
            !ids.is_empty()
        });
    }

    /// Reads the durable log as the file backend's recovery does: returns
    /// the records and the length of the valid prefix.
    fn read_log(&mut self) -> io::Result<(Vec<LogRecord>, usize, BTreeSet<u64>)> {
        let header = codec::log_header();
        if self.log.len() < header.len() {
            // The disk never held more than (a prefix of) the header.
            debug_assert!(header.starts_with(&self.log));
            return Ok((Vec::new(), 0, BTreeSet::new()));
        }
        assert!(
            self.log[..header.len()] == header,
            "the simulated disk only ever holds Lockwell logs"
        );
        let mut records = Vec::new();
        let mut referenced = BTreeSet::new();
        let mut offset = header.len();
        while offset < self.log.len() {
            let (payload, len_bytes) = match codec::read_frame(&self.log[offset..]) {
                Frame::Complete { payload, len_bytes } => (payload, len_bytes),
                Frame::Torn | Frame::Corrupt => break,
            };
            let data_files = &self.data_files;
            let record = codec::decode_record(payload, &mut |pieces| {
                load_content(data_files, pieces, &mut referenced)
            })
            .map_err(|error| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("log record at byte {offset} is intact but unreadable: {error}"),
                )
            })?;
            records.push(record);
            offset += len_bytes;
            #[cfg(feature = "planted-bugs")]
            if offset == self.log.len() && crate::planted::recovery_drops_last_record() {
                records.pop();
                offset -= len_bytes;
                break;
            }
        }
        Ok((records, offset, referenced))
    }
}

/// Joins a decoded body's pieces, checking each data file against its
/// record as the file backend does.
fn load_content(
    data_files: &BTreeMap<u64, Arc<[u8]>>,
    pieces: &[DecodedPiece<'_>],
    referenced: &mut BTreeSet<u64>,
) -> Result<Arc<[u8]>, DecodeError> {
    let mut load_file = |file: &DataFile| {
        let bytes = data_files
            .get(&file.id)
            .filter(|bytes| {
                bytes.len() as u64 == file.len_bytes && crc32c::crc32c(bytes) == file.crc32c
            })
            .ok_or_else(|| {
                DecodeError::Content(format!(
                    "data file {} does not hold the {} bytes its record describes",
                    file.id, file.len_bytes
                ))
            })?;
        referenced.insert(file.id);
        Ok(Arc::clone(bytes))
    };
    if let [DecodedPiece::DataFile(file)] = pieces {
        return load_file(file);
    }
    let mut bytes = Vec::new();
    for piece in pieces {
        match piece {
            DecodedPiece::Inline(inline) => bytes.extend_from_slice(inline),
            DecodedPiece::DataFile(file) => bytes.extend_from_slice(&load_file(file)?),
        }
    }
    Ok(bytes.into())
}

/// The simulator's disk. See the module docs.
pub struct SimDisk {
    state: Mutex<DiskState>,
    /// Wakes waiters when a sync ends (done, abandoned, or crashed).
    sync_ended: Notify,
}

impl std::fmt::Debug for SimDisk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("SimDisk")
            .field("config", &state.config)
            .field("log_len_bytes", &state.log.len())
            .field("data_file_count", &state.data_files.len())
            .field("boot", &state.boot)
            .field("stats", &state.stats)
            .finish_non_exhaustive()
    }
}

impl SimDisk {
    /// An empty disk. `rng` is the seeded source of every delay and cut
    /// point.
    ///
    /// # Panics
    /// If the fsync delay range is empty or exceeds [`MAX_FSYNC_DELAY_US`].
    #[must_use]
    pub fn new(config: SimDiskConfig, rng: DiskRng) -> Self {
        assert_fsync_delay_valid(&config.fsync_delay_us);
        Self {
            state: Mutex::new(DiskState {
                config,
                rng,
                log: Vec::new(),
                data_files: BTreeMap::new(),
                data_files_by_content: BTreeMap::new(),
                next_data_file_id: 0,
                boot: None,
                boot_count: 0,
                stats: SimDiskStats::default(),
            }),
            sync_ended: Notify::new(),
        }
    }

    /// Changes the fsync delay from the next sync on: the slow-disk fault
    /// turns on and off with this.
    ///
    /// # Panics
    /// As [`SimDisk::new`].
    pub fn set_fsync_delay_us(&self, fsync_delay_us: RangeInclusive<u64>) {
        assert_fsync_delay_valid(&fsync_delay_us);
        self.lock().config.fsync_delay_us = fsync_delay_us;
    }

    /// Cuts the power: everything not yet durable is gone, except what
    /// `mode` lets survive of the unsynced tail. Syncs in flight never
    /// complete, and their waiters get an error. Call it when the server
    /// node is killed; the next [`Storage::recover`] starts a new boot.
    pub fn crash(&self, mode: CrashMode) {
        let mut state = self.lock();
        let Some(boot) = state.boot.take() else {
            return;
        };
        state.stats.crashes += 1;
        let unsynced_len_bytes: u64 = boot.unsynced.iter().map(|frame| frame.len() as u64).sum();
        let kept_len_bytes = match mode {
            CrashMode::LoseUnsynced => 0,
            CrashMode::TornTail => match boot.unsynced.front() {
                // 1..len: at least one byte, never the whole frame.
                Some(first) if first.len() > 1 => 1 + state.draw_below(first.len() as u64 - 1),
                _ => 0,
            },
            CrashMode::PartialFlush => state.draw_below(unsynced_len_bytes + 1),
        };
        let mut remaining = kept_len_bytes;
        let mut lost_records = 0;
        for frame in &boot.unsynced {
            let kept = remaining.min(frame.len() as u64);
            remaining -= kept;
            state
                .log
                .extend_from_slice(&frame[..usize::try_from(kept).expect("within the frame")]);
            if kept < frame.len() as u64 {
                lost_records += 1;
            }
        }
        state.stats.lost_records += lost_records;
        drop(state);
        self.sync_ended.notify_waiters();
    }

    /// What happened on the disk so far.
    #[must_use]
    pub fn stats(&self) -> SimDiskStats {
        self.lock().stats
    }

    fn lock(&self) -> MutexGuard<'_, DiskState> {
        self.state.lock().expect(POISONED)
    }

    /// One fsync of a staged body: after the delay, unless the disk crashed
    /// meanwhile, the body is durable.
    async fn stage_data_file(&self, content: &Arc<[u8]>) -> io::Result<()> {
        let (boot_id, delay) = {
            let mut state = self.lock();
            let boot_id = state.booted()?.id;
            if state.data_file_of(content).is_some() {
                return Ok(());
            }
            (boot_id, state.draw_fsync_delay())
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut state = self.lock();
        if state.boot.as_ref().map(|boot| boot.id) != Some(boot_id) {
            return Err(crashed_error());
        }
        state.insert_data_file(content);
        Ok(())
    }
}

fn assert_fsync_delay_valid(fsync_delay_us: &RangeInclusive<u64>) {
    assert!(
        fsync_delay_us.start() <= fsync_delay_us.end()
            && *fsync_delay_us.end() <= MAX_FSYNC_DELAY_US,
        "fsync delay {fsync_delay_us:?} us is not a range within 0..={MAX_FSYNC_DELAY_US}"
    );
}

fn not_booted_error() -> io::Error {
    io::Error::other("the simulated disk is not booted: recover first")
}

fn crashed_error() -> io::Error {
    io::Error::other("the simulated disk crashed; its unsynced writes are gone")
}

/// Marks the syncer's role taken; dropping it (done, or the syncer's
/// future dropped mid-sync) gives the role back and wakes the waiters.
struct SyncRole<'a> {
    disk: &'a SimDisk,
    boot_id: u64,
}

impl Drop for SyncRole<'_> {
    fn drop(&mut self) {
        let mut state = self.disk.lock();
        if let Some(boot) = state.boot.as_mut().filter(|boot| boot.id == self.boot_id) {
            boot.sync_running = false;
        }
        drop(state);
        self.disk.sync_ended.notify_waiters();
    }
}

impl Storage for SimDisk {
    fn append(&self, record: &LogRecord) -> io::Result<Lsn> {
        let mut state = self.lock();
        let frame = codec::encode_frame(record, &|content| {
            if content.len() <= INLINE_CONTENT_MAX_BYTES {
                return None;
            }
            let file = state.data_file_of(content)?;
            Some(Arc::new([Piece::DataFile(file)]) as Arc<[Piece]>)
        })
        .map_err(io::Error::other)?;
        let boot = state.booted()?;
        if boot.unsynced.len() >= MAX_UNSYNCED_RECORDS {
            return Err(io::Error::other(format!(
                "{MAX_UNSYNCED_RECORDS} log records are waiting for the disk; refusing more"
            )));
        }
        boot.unsynced.push_back(frame);
        boot.last_appended = boot.last_appended.next();
        Ok(boot.last_appended)
    }

    fn last_appended(&self) -> Lsn {
        self.lock()
            .boot
            .as_ref()
            .map_or(Lsn::ZERO, |boot| boot.last_appended)
    }

    fn wait_durable(&self, lsn: Lsn) -> BoxFuture<'_, io::Result<()>> {
        Box::pin(async move {
            let mut waiting_in_boot = None;
            loop {
                let sync_ended = self.sync_ended.notified();
                let step = {
                    let mut state = self.lock();
                    let boot = state.booted()?;
                    if *waiting_in_boot.get_or_insert(boot.id) != boot.id {
                        return Err(crashed_error());
                    }
                    if lsn > boot.last_appended {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidInput,
                            format!("waiting for {lsn:?}, which was never appended"),
                        ));
                    }
                    if boot.durable >= lsn {
                        return Ok(());
                    }
                    if boot.sync_running {
                        None
                    } else {
                        boot.sync_running = true;
                        let role = SyncRole {
                            disk: self,
                            boot_id: boot.id,
                        };
                        let batch_end = boot.last_appended;
                        Some((role, batch_end, state.draw_fsync_delay()))
                    }
                };
                let Some((role, batch_end, delay)) = step else {
                    sync_ended.await;
                    continue;
                };
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                let mut state = self.lock();
                let state = &mut *state;
                let Some(boot) = state.boot.as_mut().filter(|boot| boot.id == role.boot_id) else {
                    return Err(crashed_error());
                };
                let batch_len = usize::try_from(batch_end.0 - boot.durable.0)
                    .expect("bounded by MAX_UNSYNCED_RECORDS");
                for frame in boot.unsynced.drain(..batch_len) {
                    state.log.extend_from_slice(&frame);
                }
                boot.durable = batch_end;
                #[cfg(feature = "planted-bugs")]
                if crate::planted::group_commit_acks_late_joiners() {
                    boot.durable = boot.last_appended;
                }
                state.stats.log_syncs += 1;
                state.stats.synced_records += batch_len as u64;
                // Dropping `role` wakes the waiters this batch covered.
            }
        })
    }

    fn stage<'a>(&'a self, content: &'a Arc<[u8]>) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            if content.len() <= INLINE_CONTENT_MAX_BYTES {
                return Ok(());
            }
            self.stage_data_file(content).await
        })
    }

    /// Stages the whole body as one data file: the file backend refers to
    /// the parts' files instead, which saves a real disk the copy but
    /// recovers the same bytes.
    fn stage_concatenation<'a>(
        &'a self,
        whole: &'a Arc<[u8]>,
        _parts: &'a [Arc<[u8]>],
    ) -> BoxFuture<'a, io::Result<()>> {
        self.stage(whole)
    }

    fn recover(&self) -> io::Result<Vec<LogRecord>> {
        let mut state = self.lock();
        if state.boot.is_some() {
            return Err(io::Error::other("recover called twice in one boot"));
        }
        let (records, valid_len_bytes, referenced) = state.read_log()?;
        state.stats.discarded_tail_bytes += (state.log.len() - valid_len_bytes) as u64;
        state.log.truncate(valid_len_bytes);
        if state.log.is_empty() {
            state.log.extend_from_slice(&codec::log_header());
        }
        state.remove_unreferenced_data_files(&referenced);
        state.boot_count += 1;
        let recovered = Lsn(records.len() as u64);
        state.boot = Some(Boot {
            id: state.boot_count,
            unsynced: VecDeque::new(),
            last_appended: recovered,
            durable: recovered,
            sync_running: false,
        });
        Ok(records)
    }
}

#[cfg(all(test, not(madsim)))]
mod tests {
    use lockwell_core::BucketName;
    use lockwell_core::checksum::Digests;
    use lockwell_core::idempotency::Principal;

    use super::super::file::{FileStorage, FileStorageConfig};
    use super::super::{PartUploaded, UploadId};
    use super::*;

    /// A seeded generator for the tests (SplitMix64).
    fn seeded_rng(seed: u64) -> DiskRng {
        let mut state = seed;
        Box::new(move || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut mixed = state;
            mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            mixed ^ (mixed >> 31)
        })
    }

    fn disk(seed: u64, fsync_delay_us: RangeInclusive<u64>) -> Arc<SimDisk> {
        Arc::new(SimDisk::new(
            SimDiskConfig { fsync_delay_us },
            seeded_rng(seed),
        ))
    }

    fn record(index: usize) -> LogRecord {
        LogRecord::BucketCreated {
            bucket: BucketName::parse(&format!("bucket-{index}")).unwrap(),
            owner: Principal::new("alice"),
            created_ms: index as u64,
        }
    }

    fn large_part(fill: u8) -> LogRecord {
        LogRecord::PartUploaded(PartUploaded {
            upload_id: UploadId {
                created_ms: 1,
                counter: u64::from(fill),
            },
            part_number: 1,
            md5: [fill; 16],
            checksums: Digests::default(),
            content: vec![fill; INLINE_CONTENT_MAX_BYTES + 1].into(),
            uploaded_ms: 2,
        })
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }

    /// Appends `count` records from `first`; waits for the first `synced`
    /// of them to be durable.
    fn append_and_sync(disk: &SimDisk, first: usize, count: usize, synced: usize) -> Vec<Lsn> {
        let lsns: Vec<Lsn> = (first..first + count)
            .map(|index| disk.append(&record(index)).unwrap())
            .collect();
        if synced > 0 {
            runtime()
                .block_on(disk.wait_durable(lsns[synced - 1]))
                .unwrap();
        }
        lsns
    }

    #[test]
    fn e4_acknowledged_records_survive_a_crash_and_unsynced_ones_vanish() {
        let disk = disk(1, 0..=200);
        assert_eq!(disk.recover().unwrap(), []);
        let lsns = append_and_sync(&disk, 0, 3, 3);
        assert_eq!(lsns, [Lsn(1), Lsn(2), Lsn(3)]);
        append_and_sync(&disk, 3, 2, 0);
        disk.crash(CrashMode::LoseUnsynced);
        let recovered = disk.recover().unwrap();
        assert_eq!(recovered, (0..3).map(record).collect::<Vec<_>>());
        assert_eq!(disk.last_appended(), Lsn(3));
        let stats = disk.stats();
        assert_eq!((stats.crashes, stats.lost_records), (1, 2));
        assert_eq!(stats.synced_records, 3);
    }

    #[test]
    fn a_torn_tail_is_discarded_by_the_codec_and_new_records_follow_the_valid_prefix() {
        for seed in 0..20 {
            let disk = disk(seed, 0..=0);
            disk.recover().unwrap();
            append_and_sync(&disk, 0, 2, 2);
            append_and_sync(&disk, 2, 3, 0);
            disk.crash(CrashMode::TornTail);
            let discarded_before = disk.stats().discarded_tail_bytes;
            assert_eq!(discarded_before, 0);
            assert_eq!(
                disk.recover().unwrap(),
                [record(0), record(1)],
                "seed {seed}"
            );
            let stats = disk.stats();
            assert!(stats.discarded_tail_bytes > 0, "seed {seed}: nothing torn");
            assert_eq!(stats.lost_records, 3);
            // The torn bytes are gone: a record appended now is readable
            // after the next crash.
            append_and_sync(&disk, 9, 1, 1);
            disk.crash(CrashMode::LoseUnsynced);
            assert_eq!(disk.recover().unwrap(), [record(0), record(1), record(9)]);
        }
    }

    #[test]
    fn a_partial_flush_keeps_a_prefix_of_the_unsynced_records_in_order() {
        let mut survivors = BTreeSet::new();
        for seed in 0..40 {
            let disk = disk(seed, 0..=0);
            disk.recover().unwrap();
            append_and_sync(&disk, 0, 1, 1);
            append_and_sync(&disk, 1, 4, 0);
            disk.crash(CrashMode::PartialFlush);
            let recovered = disk.recover().unwrap();
            let expected: Vec<LogRecord> = (0..recovered.len()).map(record).collect();
            assert_eq!(recovered, expected, "seed {seed}: not a prefix of the log");
            assert!(
                !recovered.is_empty(),
                "seed {seed}: a synced record was lost"
            );
            assert_eq!(disk.stats().lost_records, 5 - recovered.len() as u64);
            survivors.insert(recovered.len());
        }
        assert!(
            survivors.len() >= 3,
            "cut points never vary: {survivors:?} records survived"
        );
    }

    #[test]
    fn group_commit_covers_waiters_that_arrive_during_a_sync_with_one_more_sync() {
        let disk = disk(2, 20_000..=20_000);
        disk.recover().unwrap();
        runtime().block_on(async {
            let spawn_waiters = |range: std::ops::Range<usize>| {
                range
                    .map(|index| {
                        let lsn = disk.append(&record(index)).unwrap();
                        let disk = Arc::clone(&disk);
                        tokio::spawn(async move { disk.wait_durable(lsn).await })
                    })
                    .collect::<Vec<_>>()
            };
            let first = spawn_waiters(0..4);
            // The first waiter is now syncing records 1..=4.
            tokio::time::sleep(Duration::from_millis(1)).await;
            let second = spawn_waiters(4..8);
            for waiter in first.into_iter().chain(second) {
                waiter.await.unwrap().unwrap();
            }
        });
        let stats = disk.stats();
        assert_eq!((stats.log_syncs, stats.synced_records), (2, 8));
    }

    #[test]
    fn a_syncer_dropped_mid_sync_hands_over_and_makes_nothing_durable_itself() {
        let disk = disk(3, 5_000..=5_000);
        disk.recover().unwrap();
        let lsn = disk.append(&record(0)).unwrap();
        runtime().block_on(async {
            let abandoned =
                tokio::time::timeout(Duration::from_millis(1), disk.wait_durable(lsn)).await;
            assert!(abandoned.is_err(), "the sync outlasts the timeout");
            assert_eq!(disk.stats().log_syncs, 0);
            disk.wait_durable(lsn).await.unwrap();
        });
        assert_eq!(disk.stats().log_syncs, 1);
        disk.crash(CrashMode::LoseUnsynced);
        assert_eq!(disk.recover().unwrap(), [record(0)]);
    }

    #[test]
    fn a_crash_during_a_sync_fails_its_waiters_and_loses_the_batch() {
        let disk = disk(4, 20_000..=20_000);
        disk.recover().unwrap();
        let lsn = disk.append(&record(0)).unwrap();
        let outcome = runtime().block_on(async {
            let waiter = {
                let disk = Arc::clone(&disk);
                tokio::spawn(async move { disk.wait_durable(lsn).await })
            };
            tokio::time::sleep(Duration::from_millis(1)).await;
            disk.crash(CrashMode::LoseUnsynced);
            waiter.await.unwrap()
        });
        assert!(outcome.is_err(), "a crashed sync reported durability");
        assert_eq!(disk.recover().unwrap(), []);
        assert_eq!(disk.stats().log_syncs, 0);
    }

    #[test]
    fn staged_bodies_survive_with_their_records_and_unreferenced_ones_are_removed() {
        let disk = disk(5, 0..=100);
        disk.recover().unwrap();
        let committed = large_part(1);
        let never_committed = large_part(2);
        let runtime = runtime();
        for part in [&committed, &never_committed] {
            let LogRecord::PartUploaded(part) = part else {
                unreachable!()
            };
            runtime.block_on(disk.stage(&part.content)).unwrap();
        }
        let lsn = disk.append(&committed).unwrap();
        runtime.block_on(disk.wait_durable(lsn)).unwrap();
        disk.crash(CrashMode::LoseUnsynced);
        assert_eq!(disk.recover().unwrap(), [committed]);
        assert_eq!(
            disk.lock().data_files.len(),
            1,
            "the orphan was not removed"
        );
        // The orphan is gone, so its record can no longer be appended.
        assert!(disk.append(&never_committed).is_err());
    }

    #[test]
    fn recovery_matches_the_file_backend_on_the_same_bytes() {
        for (seed, mode) in [
            (6, CrashMode::LoseUnsynced),
            (7, CrashMode::TornTail),
            (8, CrashMode::PartialFlush),
            (9, CrashMode::PartialFlush),
        ] {
            let disk = disk(seed, 0..=0);
            disk.recover().unwrap();
            let runtime = runtime();
            let part = large_part(3);
            let LogRecord::PartUploaded(staged) = &part else {
                unreachable!()
            };
            runtime.block_on(disk.stage(&staged.content)).unwrap();
            append_and_sync(&disk, 0, 2, 2);
            let lsn = disk.append(&part).unwrap();
            runtime.block_on(disk.wait_durable(lsn)).unwrap();
            append_and_sync(&disk, 2, 3, 0);
            disk.crash(mode);

            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(dir.path().join("wal")).unwrap();
            std::fs::create_dir_all(dir.path().join("data")).unwrap();
            std::fs::write(dir.path().join("wal/log"), &disk.lock().log).unwrap();
            for (id, bytes) in &disk.lock().data_files {
                std::fs::write(dir.path().join(format!("data/{id:016x}")), bytes).unwrap();
            }
            let file = FileStorage::open(dir.path(), FileStorageConfig::default()).unwrap();
            let from_file = file.recover().unwrap();
            let from_sim = disk.recover().unwrap();
            assert_eq!(from_sim, from_file, "{mode:?}");
            assert_eq!(from_sim[..3], [record(0), record(1), part], "{mode:?}");
        }
    }

    /// Everything observable about one scripted run under `seed`.
    fn scripted_run(seed: u64) -> (Vec<u8>, SimDiskStats, Vec<LogRecord>) {
        let disk = disk(seed, 0..=300);
        disk.recover().unwrap();
        let mut index = 0;
        for mode in [
            CrashMode::PartialFlush,
            CrashMode::TornTail,
            CrashMode::PartialFlush,
        ] {
            append_and_sync(&disk, index, 3, 2);
            append_and_sync(&disk, index + 3, 5, 0);
            index += 8;
            disk.crash(mode);
            disk.recover().unwrap();
        }
        let log = disk.lock().log.clone();
        disk.crash(CrashMode::LoseUnsynced);
        (log, disk.stats(), disk.recover().unwrap())
    }

    #[test]
    fn the_same_seed_gives_the_same_disk_and_another_seed_another() {
        let first = scripted_run(10);
        assert_eq!(scripted_run(10), first);
        assert!(
            (11..16).any(|seed| scripted_run(seed).0 != first.0),
            "crash cut points ignore the seed"
        );
    }

    #[test]
    fn misuse_is_an_error_not_a_hang() {
        let disk = disk(11, 0..=0);
        assert!(disk.append(&record(0)).is_err(), "append before recovery");
        disk.recover().unwrap();
        assert!(disk.recover().is_err(), "recover twice in one boot");
        let beyond = runtime().block_on(disk.wait_durable(Lsn(1)));
        assert_eq!(beyond.unwrap_err().kind(), io::ErrorKind::InvalidInput);
        runtime().block_on(disk.wait_durable(Lsn::ZERO)).unwrap();
    }

    #[test]
    fn appends_beyond_the_unsynced_limit_are_refused() {
        let disk = disk(12, 0..=0);
        disk.recover().unwrap();
        let small = record(0);
        for _ in 0..MAX_UNSYNCED_RECORDS {
            disk.append(&small).unwrap();
        }
        assert!(disk.append(&small).is_err());
        runtime()
            .block_on(disk.wait_durable(disk.last_appended()))
            .unwrap();
        disk.append(&small).unwrap();
    }

    #[test]
    fn the_fsync_delay_limit_is_inclusive() {
        #[allow(clippy::reversed_empty_ranges)]
        let cases = [
            (0..=0, true),
            (0..=MAX_FSYNC_DELAY_US, true),
            (MAX_FSYNC_DELAY_US..=MAX_FSYNC_DELAY_US, true),
            (0..=MAX_FSYNC_DELAY_US + 1, false),
            (2..=1, false),
        ];
        for (range, valid) in cases {
            let checked = std::panic::catch_unwind(|| assert_fsync_delay_valid(&range));
            assert_eq!(checked.is_ok(), valid, "{range:?}");
        }
    }
}
