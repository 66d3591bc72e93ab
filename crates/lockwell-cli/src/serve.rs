//! `lockwell serve`: open the storage, bind, print how to connect, serve
//! until Ctrl-C or SIGTERM.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use lockwell_core::StoreConfig;
use lockwell_core::idempotency::{self, IdempotencyConfig, Principal};
use lockwell_server::engine::{Engine, EngineConfig};
use lockwell_server::http::config as limits;
use lockwell_server::http::{self, AccessKey, HttpConfig, Limits};
use lockwell_server::storage::{FileStorage, FileStorageConfig, MemoryStorage, Storage};

/// Length of a generated access key id, after its `LW` prefix.
const GENERATED_ACCESS_KEY_ID_LEN_CHARS: usize = 18;
/// Length of a generated secret key (AWS's are 40 characters).
const GENERATED_SECRET_KEY_LEN_CHARS: usize = 40;
/// Characters of generated access key ids: 32 of them, so a random byte
/// modulo 32 picks one without bias.
const ACCESS_KEY_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Characters of generated secrets: 64 of them, unbiased likewise.
const SECRET_KEY_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (printed on the
    /// `listening on` line).
    #[arg(long, default_value = "127.0.0.1:9000")]
    listen: SocketAddr,

    /// Directory of the durable file backend (write-ahead log and data
    /// files); created if missing, recovered on start.
    #[arg(long, default_value = "./lockwell-data", conflicts_with = "memory")]
    data: PathBuf,

    /// Keep everything in memory instead: nothing survives a restart.
    #[arg(long)]
    memory: bool,

    /// Access key id clients sign with. Generated (and printed) when
    /// neither this nor the environment variable is set.
    #[arg(long, env = "LOCKWELL_ACCESS_KEY", requires = "secret_key")]
    access_key: Option<String>,

    /// Secret key of --access-key.
    #[arg(
        long,
        env = "LOCKWELL_SECRET_KEY",
        hide_env_values = true,
        requires = "access_key"
    )]
    secret_key: Option<String>,

    /// Region that signatures are scoped to and GetBucketLocation reports.
    #[arg(long, default_value = limits::DEFAULT_REGION)]
    region: String,

    /// Also accept virtual-hosted-style requests (`BUCKET.DOMAIN`) for
    /// this domain; path-style requests always work.
    #[arg(long, value_name = "DOMAIN")]
    virtual_host_domain: Option<String>,

    /// Largest request body, in bytes (decoded). Bodies are held in memory
    /// until verified, so this times --max-in-flight bounds body memory.
    #[arg(long, default_value_t = limits::DEFAULT_MAX_BODY_LEN_BYTES)]
    max_body_bytes: u64,

    /// Largest request header section, in bytes; larger is 400
    /// RequestHeaderSectionTooLarge.
    #[arg(long, default_value_t = limits::DEFAULT_MAX_HEADER_SECTION_LEN_BYTES)]
    max_header_bytes: usize,

    /// Requests served at once; more are answered 503 SlowDown.
    #[arg(long, default_value_t = limits::DEFAULT_MAX_IN_FLIGHT_REQUESTS)]
    max_in_flight: usize,

    /// Time a request body may take to arrive, in milliseconds.
    #[arg(long, default_value_t = limits::DEFAULT_REQUEST_TIMEOUT_MS)]
    request_timeout_ms: u64,

    /// Time an idle connection stays open, in milliseconds.
    #[arg(long, default_value_t = limits::DEFAULT_IDLE_TIMEOUT_MS)]
    idle_timeout_ms: u64,

    /// On shutdown, time requests in progress get to finish, in
    /// milliseconds.
    #[arg(long, default_value_t = limits::DEFAULT_SHUTDOWN_GRACE_MS)]
    shutdown_grace_ms: u64,

    /// How long an Idempotency-Key's result is kept and replayed, in
    /// milliseconds (SPEC I1; default 24 h).
    #[arg(long, default_value_t = idempotency::DEFAULT_RETENTION_MS)]
    idempotency_retention_ms: u64,

    /// Idempotency records kept at most; when all are live, idempotent
    /// writes get 503 SlowDown until some expire.
    #[arg(long, default_value_t = idempotency::DEFAULT_CAPACITY_RECORDS)]
    idempotency_records: usize,
}

/// The key pair the server accepts, and whether it was generated here.
struct KeyPair {
    access_key_id: String,
    secret_key: String,
    generated: bool,
}

fn random_text(alphabet: &[u8], len_chars: usize) -> anyhow::Result<String> {
    debug_assert!(
        256 % alphabet.len() == 0,
        "a byte modulo the alphabet must be unbiased"
    );
    let mut bytes = vec![0u8; len_chars];
    getrandom::fill(&mut bytes)
        .map_err(|error| anyhow::anyhow!("reading OS randomness: {error}"))?;
    Ok(bytes
        .iter()
        .map(|byte| char::from(alphabet[usize::from(*byte) % alphabet.len()]))
        .collect())
}

fn key_pair(args: &ServeArgs) -> anyhow::Result<KeyPair> {
    match (&args.access_key, &args.secret_key) {
        (Some(access_key_id), Some(secret_key)) => Ok(KeyPair {
            access_key_id: access_key_id.clone(),
            secret_key: secret_key.clone(),
            generated: false,
        }),
        _ => Ok(KeyPair {
            access_key_id: format!(
                "LW{}",
                random_text(ACCESS_KEY_ALPHABET, GENERATED_ACCESS_KEY_ID_LEN_CHARS)?
            ),
            secret_key: random_text(SECRET_KEY_ALPHABET, GENERATED_SECRET_KEY_LEN_CHARS)?,
            generated: true,
        }),
    }
}

fn http_config(args: &ServeArgs, keys: &KeyPair) -> HttpConfig {
    HttpConfig {
        region: args.region.clone(),
        virtual_host_domain: args.virtual_host_domain.clone(),
        access_keys: BTreeMap::from([(
            keys.access_key_id.clone(),
            AccessKey {
                secret_key: lockwell_server::http::SecretKey::new(keys.secret_key.clone()),
                principal: Principal::new(keys.access_key_id.clone()),
            },
        )]),
        limits: Limits {
            max_body_len_bytes: args.max_body_bytes,
            max_header_section_len_bytes: args.max_header_bytes,
            max_in_flight_requests: args.max_in_flight,
            request_timeout_ms: args.request_timeout_ms,
            idle_timeout_ms: args.idle_timeout_ms,
            shutdown_grace_ms: args.shutdown_grace_ms,
        },
    }
}

/// What a human needs to connect, after the machine-readable first line.
fn connection_help(endpoint: &str, region: &str, keys: &KeyPair, storage: &str) -> String {
    let secret_shown = if keys.generated {
        keys.secret_key.clone()
    } else {
        "<your --secret-key>".to_string()
    };
    let generated_note = if keys.generated {
        "  (generated for this run: set LOCKWELL_ACCESS_KEY/LOCKWELL_SECRET_KEY or pass \
         --access-key/--secret-key to keep a pair)\n"
    } else {
        ""
    };
    format!(
        "Lockwell S3 server
  endpoint:   {endpoint}
  region:     {region}
  storage:    {storage}
  access key: {access}
  secret key: {secret_shown}
{generated_note}
AWS CLI (v2, or v1 >= 1.29):
  export AWS_ENDPOINT_URL={endpoint}
  export AWS_ACCESS_KEY_ID={access}
  export AWS_SECRET_ACCESS_KEY={secret_shown}
  export AWS_DEFAULT_REGION={region}
  aws s3 mb s3://my-bucket && aws s3 cp ./file s3://my-bucket/file

boto3:
  import boto3
  s3 = boto3.client(
      \"s3\",
      endpoint_url=\"{endpoint}\",
      aws_access_key_id=\"{access}\",
      aws_secret_access_key=\"{secret_shown}\",
      region_name=\"{region}\",
  )
  s3.create_bucket(Bucket=\"my-bucket\")
  s3.put_object(Bucket=\"my-bucket\", Key=\"k\", Body=b\"v\", IfNoneMatch=\"*\")

Ctrl-C stops the server cleanly.",
        access = keys.access_key_id,
    )
}

/// Completes on Ctrl-C, or SIGTERM on Unix (what process managers send).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub(crate) fn run(args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let keys = key_pair(&args)?;
    let (engine, storage) = open_engine(&args)?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let address = listener.local_addr().context("reading the bound address")?;
    let endpoint = format!("http://{address}");
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {endpoint}")?;
    writeln!(
        stdout,
        "{}",
        connection_help(&endpoint, &args.region, &keys, &storage)
    )?;
    stdout.flush()?;
    drop(stdout);
    tracing::info!(%address, storage, "serving");
    http::serve(
        listener,
        engine,
        http_config(&args, &keys),
        shutdown_signal(),
    )
    .await
    .context("serving")?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Opens the storage the flags name and recovers the engine from it;
/// returns it with a description for the banner.
fn open_engine(args: &ServeArgs) -> anyhow::Result<(Arc<Engine>, String)> {
    let config = EngineConfig {
        store: StoreConfig {
            idempotency: IdempotencyConfig {
                retention_ms: args.idempotency_retention_ms,
                capacity_records: args.idempotency_records,
            },
            ..StoreConfig::default()
        },
        ..EngineConfig::default()
    };
    let (storage, description): (Arc<dyn Storage>, String) = if args.memory {
        (
            Arc::new(MemoryStorage::new()),
            "memory (nothing survives a restart)".to_string(),
        )
    } else {
        std::fs::create_dir_all(&args.data)
            .with_context(|| format!("creating the data directory {}", args.data.display()))?;
        let storage = FileStorage::open(&args.data, FileStorageConfig::default())
            .with_context(|| format!("opening the data directory {}", args.data.display()))?;
        (
            Arc::new(storage),
            format!("file {} (write-ahead log, fsync'd)", args.data.display()),
        )
    };
    let engine =
        Engine::open(storage, config).context("recovering the server state from storage")?;
    Ok((Arc::new(engine), description))
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    #[derive(Debug, clap::Parser)]
    struct Wrapper {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn parse(args: &[&str]) -> Result<ServeArgs, clap::Error> {
        Wrapper::try_parse_from(std::iter::once("serve").chain(args.iter().copied()))
            .map(|wrapper| wrapper.serve)
    }

    #[test]
    fn defaults_listen_on_port_9000_with_the_file_backend() {
        let args = parse(&[]).unwrap();
        assert_eq!(args.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(args.data, PathBuf::from("./lockwell-data"));
        assert!(!args.memory);
        assert_eq!(args.region, "us-east-1");
        assert_eq!(args.max_body_bytes, limits::DEFAULT_MAX_BODY_LEN_BYTES);
    }

    #[test]
    fn memory_and_data_exclude_each_other() {
        assert!(parse(&["--memory", "--data", "/tmp/x"]).is_err());
        assert!(parse(&["--memory"]).unwrap().memory);
    }

    #[test]
    fn an_access_key_needs_its_secret() {
        assert!(parse(&["--access-key", "AK"]).is_err());
        let args = parse(&["--access-key", "AK", "--secret-key", "SK"]).unwrap();
        let keys = key_pair(&args).unwrap();
        assert_eq!(
            (
                keys.access_key_id.as_str(),
                keys.secret_key.as_str(),
                keys.generated
            ),
            ("AK", "SK", false)
        );
    }

    #[test]
    fn generated_keys_have_the_documented_shape_and_differ() {
        let args = parse(&[]).unwrap();
        let (first, second) = (key_pair(&args).unwrap(), key_pair(&args).unwrap());
        assert!(first.generated);
        assert_eq!(
            first.access_key_id.len(),
            2 + GENERATED_ACCESS_KEY_ID_LEN_CHARS
        );
        assert!(first.access_key_id.starts_with("LW"));
        assert_eq!(first.secret_key.len(), GENERATED_SECRET_KEY_LEN_CHARS);
        assert_ne!(first.secret_key, second.secret_key);
    }

    #[test]
    fn help_shows_the_endpoint_in_every_snippet() {
        let keys = KeyPair {
            access_key_id: "AK".into(),
            secret_key: "SK".into(),
            generated: true,
        };
        let help = connection_help("http://127.0.0.1:1234", "us-east-1", &keys, "memory");
        assert!(help.contains("export AWS_ENDPOINT_URL=http://127.0.0.1:1234"));
        assert!(help.contains("endpoint_url=\"http://127.0.0.1:1234\""));
        assert!(help.contains("aws_secret_access_key=\"SK\""));
    }
}
