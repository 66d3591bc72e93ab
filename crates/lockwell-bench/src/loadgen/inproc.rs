//! The in-process target: lockwell-core's [`Store`] called directly, no
//! journal, no network. It measures the commit path's own cost and its
//! behaviour under contention (lock hand-offs, lost races), the floor under
//! what any server built on it can do.

use std::sync::Arc;

use lockwell_core::object::{BucketName, ETag, NewObject, ObjectKey, ObjectPath};
use lockwell_core::precondition::{Rejected, WriteConditions};
use lockwell_core::store::{NoJournal, Store, StoreConfig};

use super::target::{ConnectError, Connection, Outcome, PutCondition, Request, Response, Target};

/// The bucket every key of an in-process run lives in.
pub const BENCH_BUCKET: &str = "lockwell-bench";

/// A store shared by every worker.
pub struct InProcessTarget {
    store: Arc<Store>,
    bucket: BucketName,
    shard_count: usize,
    /// `last_modified_ms` of every version written: the run's start. No
    /// condition the generator sends reads it, and a clock read per write
    /// would be measured as commit-path cost.
    now_ms: u64,
}

impl InProcessTarget {
    #[must_use]
    pub fn new(config: StoreConfig, now_ms: u64) -> Self {
        Self {
            store: Arc::new(Store::new(config)),
            bucket: BucketName::parse(BENCH_BUCKET).expect("the bench bucket name is valid"),
            shard_count: config.shard_count,
            now_ms,
        }
    }
}

impl Target for InProcessTarget {
    type Connection = InProcessConnection;

    fn connect(&self, _worker_index: usize) -> Result<InProcessConnection, ConnectError> {
        Ok(InProcessConnection {
            store: Arc::clone(&self.store),
            bucket: self.bucket.clone(),
            now_ms: self.now_ms,
        })
    }

    fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "target": "inproc",
            "store_shards": self.shard_count,
            "journal": "none",
        })
    }
}

/// A worker's handle on the shared store.
pub struct InProcessConnection {
    store: Arc<Store>,
    bucket: BucketName,
    now_ms: u64,
}

impl InProcessConnection {
    fn path(&self, key: &str) -> ObjectPath {
        let key = ObjectKey::parse(key).expect("the generator makes valid keys");
        ObjectPath::new(self.bucket.clone(), key)
    }
}

fn outcome_of(rejected: &Rejected) -> Outcome {
    match rejected.http_status() {
        404 => Outcome::NotFound,
        412 => Outcome::PreconditionFailed,
        status => unreachable!("a put is rejected with 404 or 412, not {status}"),
    }
}

impl Connection for InProcessConnection {
    fn execute(&mut self, request: &Request<'_>) -> Response {
        match *request {
            Request::Get { key } => match self.store.get(&self.path(key)) {
                Some(version) => Response {
                    outcome: Outcome::Ok,
                    etag: Some(version.etag.as_str().to_owned()),
                },
                None => Response {
                    outcome: Outcome::NotFound,
                    etag: None,
                },
            },
            Request::Put {
                key,
                body,
                condition,
            } => {
                let conditions = match condition {
                    PutCondition::None => WriteConditions::default(),
                    PutCondition::IfNoneMatchAny => WriteConditions::create_only(),
                    PutCondition::IfMatch(etag) => WriteConditions::if_match(
                        ETag::parse(etag).expect("ETags come from this store"),
                    ),
                };
                // The object is built (body copied, MD5 ETag computed) as
                // the server's upload path would before the commit.
                let object = NewObject::single_part(body);
                let committed = self.store.put(
                    &self.path(key),
                    object,
                    &conditions,
                    self.now_ms,
                    &mut NoJournal,
                );
                match committed {
                    Ok(Ok(committed)) => Response {
                        outcome: Outcome::Ok,
                        etag: Some(committed.etag.as_str().to_owned()),
                    },
                    Ok(Err(rejected)) => Response {
                        outcome: outcome_of(&rejected),
                        etag: None,
                    },
                    Err(infallible) => match infallible {},
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPEC C1 and C2 as the generator sees them through the target.
    #[test]
    fn c1_c2_outcomes_map_to_http_codes() {
        let target = InProcessTarget::new(StoreConfig::default(), 0);
        let mut connection = target.connect(0).unwrap();
        let put = |connection: &mut InProcessConnection, body: &[u8], condition| {
            connection.execute(&Request::Put {
                key: "k",
                body,
                condition,
            })
        };
        assert_eq!(
            connection.execute(&Request::Get { key: "k" }).outcome,
            Outcome::NotFound
        );
        let stale = ETag::of_content(b"never written");
        assert_eq!(
            put(
                &mut connection,
                b"v0",
                PutCondition::IfMatch(stale.as_str())
            )
            .outcome,
            Outcome::NotFound,
            "C2: If-Match on an absent key is 404"
        );
        let created = put(&mut connection, b"v1", PutCondition::IfNoneMatchAny);
        assert_eq!(created.outcome, Outcome::Ok);
        assert_eq!(
            put(&mut connection, b"v2", PutCondition::IfNoneMatchAny).outcome,
            Outcome::PreconditionFailed,
            "C1: create-only on an existing key is 412"
        );
        let etag = created.etag.unwrap();
        let read = connection.execute(&Request::Get { key: "k" });
        assert_eq!(read.etag.as_deref(), Some(etag.as_str()));
        assert_eq!(
            put(&mut connection, b"v3", PutCondition::IfMatch(&etag)).outcome,
            Outcome::Ok
        );
        assert_eq!(
            put(&mut connection, b"v4", PutCondition::IfMatch(&etag)).outcome,
            Outcome::PreconditionFailed,
            "C2: a stale ETag is 412"
        );
        assert_eq!(
            put(&mut connection, b"v5", PutCondition::None).outcome,
            Outcome::Ok
        );
    }
}
