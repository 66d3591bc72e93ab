//! A bounded pool of idle connections per endpoint.
//!
//! Sans-I/O: the pool stores whatever it is given and takes `now` as an
//! argument, so its limits are tested without sockets. Reuse is LIFO: the
//! most recently used connection is the least likely to have been closed by
//! the server's idle timeout; when an endpoint's idle list is full, the
//! oldest connection is dropped to make room.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Idle connections kept per endpoint when the caller does not say.
pub const DEFAULT_MAX_IDLE_PER_ENDPOINT: usize = 32;

/// How long an idle connection is kept. Below the server's own idle
/// timeout (lockwell-server closes after 60 s), so the client rarely picks
/// a connection the server is about to close.
pub const DEFAULT_IDLE_TIMEOUT_MS: u64 = 20_000;

#[derive(Debug)]
struct Idle<T> {
    connection: T,
    since: Instant,
}

/// Idle connections by endpoint (`host:port`).
#[derive(Debug)]
pub(crate) struct IdlePool<T> {
    max_idle_per_endpoint: usize,
    idle_timeout: Duration,
    idle: Mutex<BTreeMap<String, Vec<Idle<T>>>>,
}

impl<T> IdlePool<T> {
    pub(crate) fn new(max_idle_per_endpoint: usize, idle_timeout: Duration) -> Self {
        Self {
            max_idle_per_endpoint,
            idle_timeout,
            idle: Mutex::new(BTreeMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<Idle<T>>>> {
        // A panic while holding the lock leaves only a list of idle
        // connections behind, which stays valid: keep using it.
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The most recently returned connection to `endpoint` that has not
    /// expired and that `usable` accepts; expired and unusable ones met on
    /// the way are dropped.
    pub(crate) fn checkout(
        &self,
        endpoint: &str,
        now: Instant,
        usable: impl Fn(&T) -> bool,
    ) -> Option<T> {
        let mut idle = self.lock();
        let connections = idle.get_mut(endpoint)?;
        let found = loop {
            let Some(candidate) = connections.pop() else {
                break None;
            };
            let fresh = now.saturating_duration_since(candidate.since) < self.idle_timeout;
            if fresh && usable(&candidate.connection) {
                break Some(candidate.connection);
            }
        };
        if connections.is_empty() {
            idle.remove(endpoint);
        }
        found
    }

    /// Keeps `connection` for reuse, dropping the endpoint's oldest idle
    /// one if the list is full.
    pub(crate) fn checkin(&self, endpoint: &str, connection: T, now: Instant) {
        if self.max_idle_per_endpoint == 0 {
            return;
        }
        let mut idle = self.lock();
        let connections = idle.entry(endpoint.to_string()).or_default();
        if connections.len() >= self.max_idle_per_endpoint {
            connections.remove(0);
        }
        connections.push(Idle {
            connection,
            since: now,
        });
        debug_assert!(connections.len() <= self.max_idle_per_endpoint);
    }

    #[cfg(test)]
    fn idle_count(&self, endpoint: &str) -> usize {
        self.lock().get(endpoint).map_or(0, Vec::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::monotonic_now;

    const TIMEOUT: Duration = Duration::from_secs(20);

    #[tokio::test]
    async fn reuse_is_lifo_per_endpoint() {
        let pool = IdlePool::new(4, TIMEOUT);
        let now = monotonic_now();
        pool.checkin("a:1", 1, now);
        pool.checkin("a:1", 2, now);
        pool.checkin("b:1", 10, now);
        assert_eq!(pool.checkout("a:1", now, |_| true), Some(2));
        assert_eq!(pool.checkout("a:1", now, |_| true), Some(1));
        assert_eq!(pool.checkout("a:1", now, |_| true), None);
        assert_eq!(pool.checkout("b:1", now, |_| true), Some(10));
    }

    #[tokio::test]
    async fn idle_list_is_bounded_at_the_limit_and_drops_the_oldest() {
        let pool = IdlePool::new(DEFAULT_MAX_IDLE_PER_ENDPOINT, TIMEOUT);
        let now = monotonic_now();
        for connection in 0..DEFAULT_MAX_IDLE_PER_ENDPOINT {
            pool.checkin("a:1", connection, now);
        }
        assert_eq!(pool.idle_count("a:1"), DEFAULT_MAX_IDLE_PER_ENDPOINT);
        pool.checkin("a:1", DEFAULT_MAX_IDLE_PER_ENDPOINT, now);
        assert_eq!(pool.idle_count("a:1"), DEFAULT_MAX_IDLE_PER_ENDPOINT);
        let mut drained = Vec::new();
        while let Some(connection) = pool.checkout("a:1", now, |_| true) {
            drained.push(connection);
        }
        assert!(!drained.contains(&0), "the oldest was dropped");
        assert_eq!(drained.len(), DEFAULT_MAX_IDLE_PER_ENDPOINT);
    }

    #[tokio::test]
    async fn a_zero_limit_keeps_nothing() {
        let pool = IdlePool::new(0, TIMEOUT);
        let now = monotonic_now();
        pool.checkin("a:1", 1, now);
        assert_eq!(pool.checkout("a:1", now, |_| true), None);
    }

    #[tokio::test]
    async fn expired_and_unusable_connections_are_dropped_on_checkout() {
        let pool = IdlePool::new(4, TIMEOUT);
        let start = monotonic_now();
        pool.checkin("a:1", 1, start);
        pool.checkin("a:1", 2, start + Duration::from_secs(10));
        pool.checkin("a:1", 3, start + Duration::from_secs(15));
        // At 20 s, connection 1 has been idle exactly the timeout: expired.
        let at = start + TIMEOUT;
        assert_eq!(pool.checkout("a:1", at, |c| *c != 3), Some(2));
        assert_eq!(pool.idle_count("a:1"), 1, "3 was unusable and dropped");
        assert_eq!(pool.checkout("a:1", at, |_| true), None, "1 expired");
        assert_eq!(pool.idle_count("a:1"), 0);
    }
}
