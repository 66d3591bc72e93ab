//! The memory backend (`lockwell serve --memory`, unit tests, benchmarks of
//! everything but the disk): records are counted, not kept, and durable the
//! moment they are appended. Nothing survives the process, so
//! [`Storage::recover`] finds an empty log.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{BoxFuture, LogRecord, Lsn, Storage};

#[derive(Debug, Default)]
pub struct MemoryStorage {
    last_appended: AtomicU64,
}

impl MemoryStorage {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl Storage for MemoryStorage {
    fn append(&self, _record: &LogRecord) -> io::Result<Lsn> {
        // SeqCst pairs with the load in `last_appended`: a reader that saw
        // an installed change sees its LSN too (the key lock already orders
        // them; this keeps the counter correct on its own).
        Ok(Lsn(self.last_appended.fetch_add(1, Ordering::SeqCst) + 1))
    }

    fn last_appended(&self) -> Lsn {
        Lsn(self.last_appended.load(Ordering::SeqCst))
    }

    fn wait_durable(&self, lsn: Lsn) -> BoxFuture<'_, io::Result<()>> {
        debug_assert!(
            lsn <= self.last_appended(),
            "waiting for an LSN never handed out"
        );
        Box::pin(std::future::ready(Ok(())))
    }

    fn stage<'a>(&'a self, _content: &'a Arc<[u8]>) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn stage_concatenation<'a>(
        &'a self,
        _whole: &'a Arc<[u8]>,
        _parts: &'a [Arc<[u8]>],
    ) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn recover(&self) -> io::Result<Vec<LogRecord>> {
        Ok(Vec::new())
    }
}

#[cfg(all(test, not(madsim)))]
mod tests {
    use super::*;
    use lockwell_core::BucketName;

    #[test]
    fn lsns_increase_from_one_and_are_durable_at_once() {
        let storage = MemoryStorage::new();
        assert_eq!(storage.last_appended(), Lsn::ZERO);
        let record = LogRecord::BucketDeleted {
            bucket: BucketName::parse("bucket").unwrap(),
        };
        let lsns: Vec<Lsn> = (0..3).map(|_| storage.append(&record).unwrap()).collect();
        assert_eq!(lsns, [Lsn(1), Lsn(2), Lsn(3)]);
        assert_eq!(storage.last_appended(), Lsn(3));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(storage.wait_durable(Lsn(3))).unwrap();
        assert_eq!(storage.recover().unwrap(), []);
    }
}
