//! What the simulator's server tests share: one server node's address and
//! credentials, and the real lockwell-server over memory storage.

use std::net::SocketAddr;
use std::sync::Arc;

use lockwell_server::engine::{Engine, EngineConfig};
use lockwell_server::http::{self as server_http, HttpConfig};
use lockwell_server::storage::MemoryStorage;

pub const SERVER_ADDR: &str = "10.0.0.1:9000";
pub const CLIENT_IP: &str = "10.0.0.2";
pub const ACCESS_KEY: &str = "AKSIM";
pub const SECRET_KEY: &str = "sim-secret";
pub const REGION: &str = "us-east-1";

/// Serves lockwell-server's HTTP layer over a fresh memory engine at
/// `addr` until the node is killed.
pub async fn run_memory_server(addr: SocketAddr) {
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    let engine = Engine::open(Arc::new(MemoryStorage::new()), EngineConfig::default())
        .expect("a memory engine opens");
    let config = HttpConfig::single_key(ACCESS_KEY, SECRET_KEY, REGION);
    server_http::serve(listener, Arc::new(engine), config, std::future::pending())
        .await
        .expect("serve");
}
