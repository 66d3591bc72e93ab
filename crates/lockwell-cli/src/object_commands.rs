//! `lockwell mb/put/get/head/cp/rm`: thin commands over lockwell-client
//! for trying conditional writes and idempotency keys by hand or from a
//! shell script.
//!
//! Every command builds one [`S3Client`] or [`NativeClient`] (`--api`),
//! makes one client call (which retries as the client's policy says, SPEC
//! R3/R4), and prints its answer plainly on stdout: a write prints the new
//! ETag alone on a line, `head` prints `name<TAB>value` lines sorted by
//! name. Errors go to stderr with the server's code and message, and the
//! exit code says what kind of failure it was ([`Failure`]), so a script
//! can tell "lost the race" (412) from "broken".

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bytes::Bytes;
use clap::{Args, ValueEnum};
use lockwell_client::native::{self, NativeClient, NativeConfig};
use lockwell_client::s3::types::{CopyOptions, CopySource, DeleteOptions, GetOptions, PutOptions};
use lockwell_client::{
    ChecksumAlgorithm, ETag, Error, IdempotencyKey, ReadConditions, S3Client, S3Config,
    SeededRandom, WriteCondition,
};
use lockwell_core::{BucketName, ObjectKey};
use lockwell_proto::native::{CopyDestination, CopyObjectRequest, CopySource as NativeCopySource};

/// Where `lockwell serve` listens by default.
const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:9000";

/// Largest body `put` reads (from a file or stdin) and `get` accepts: the
/// client's response limit, so whatever `put` stores, `get` reads back. The
/// body is held in memory because a keyed put must be re-sendable (R4).
const MAX_BODY_LEN_BYTES: u64 = lockwell_client::transport::DEFAULT_MAX_RESPONSE_BODY_LEN_BYTES;

/// Checksum an idempotent native put gets when `--checksum` names none: the
/// server requires one (I4) and the CLI holds the whole body anyway.
const DEFAULT_IDEMPOTENT_CHECKSUM: ChecksumAlgorithm = ChecksumAlgorithm::Sha256;

/// The exit codes, as `--help` documents them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Anything else: transport error, timeout, 5xx, 401/403, 409, 422, ...
    Other = 1,
    /// The command line is wrong (clap's own code), or the client refused
    /// the request before sending it.
    Usage = 2,
    /// 412 PreconditionFailed: a condition did not hold, nothing changed.
    /// Also 409 ConditionalRequestConflict, which clients treat as a lost
    /// race too (SPEC C5).
    PreconditionFailed = 3,
    /// 404: no such key (or bucket).
    NotFound = 4,
}

/// The 409 code of a conditional write that lost to one in flight (C5).
const CONDITIONAL_REQUEST_CONFLICT: &str = "ConditionalRequestConflict";

impl Failure {
    fn of(error: &Error) -> Self {
        match error {
            Error::PreconditionFailed { .. } => Self::PreconditionFailed,
            Error::Conflict(details)
                if details.code.as_deref() == Some(CONDITIONAL_REQUEST_CONFLICT) =>
            {
                Self::PreconditionFailed
            }
            Error::NotFound(_) => Self::NotFound,
            Error::InvalidInput(_) => Self::Usage,
            _ => Self::Other,
        }
    }
}

impl From<Failure> for ExitCode {
    fn from(failure: Failure) -> Self {
        Self::from(failure as u8)
    }
}

/// Appended to every object command's `--help`.
pub(crate) const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  any other failure (connection, timeout, 5xx, 401/403, 409, 422, ...)
  2  bad arguments (malformed BUCKET/KEY, unknown checksum, no credentials)
  3  412 PreconditionFailed: a condition did not hold, nothing changed
     (also 409 ConditionalRequestConflict: lost to a write in flight)
  4  404: no such key or bucket
Errors are printed on stderr with the server's code and message.";

/// Which of the server's two APIs to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Api {
    /// S3 with SigV4 signing.
    S3,
    /// The native API (`docs/native-api.md`): bearer tokens and JSON.
    Native,
}

/// How to reach and authenticate to the server: shared by every command.
#[derive(Debug, Args)]
pub(crate) struct ConnectArgs {
    /// The server's URL.
    #[arg(long, env = "LOCKWELL_ENDPOINT", default_value = DEFAULT_ENDPOINT)]
    endpoint: String,

    /// Access key id. Else LOCKWELL_ACCESS_KEY (what `lockwell serve`
    /// reads), else AWS_ACCESS_KEY_ID.
    #[arg(long)]
    access_key: Option<String>,

    /// Secret key. Else LOCKWELL_SECRET_KEY, else AWS_SECRET_ACCESS_KEY.
    #[arg(long)]
    secret_key: Option<String>,

    /// Region S3 requests are signed for.
    #[arg(long, default_value = lockwell_server::http::config::DEFAULT_REGION)]
    region: String,

    /// The API to speak. `mb` always uses S3: the native API has no bucket
    /// operations.
    #[arg(long, value_enum, default_value_t = Api::S3)]
    api: Api,
}

/// Environment variables credentials are read from, in order of preference.
pub(crate) const ACCESS_KEY_ENV: [&str; 2] = ["LOCKWELL_ACCESS_KEY", "AWS_ACCESS_KEY_ID"];
pub(crate) const SECRET_KEY_ENV: [&str; 2] = ["LOCKWELL_SECRET_KEY", "AWS_SECRET_ACCESS_KEY"];

/// `BUCKET/KEY`: the first `/` splits, so the key may hold more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObjectAddress {
    bucket: BucketName,
    key: ObjectKey,
}

fn parse_object_address(text: &str) -> Result<ObjectAddress, String> {
    let (bucket, key) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?} is not BUCKET/KEY (no `/`)"))?;
    Ok(ObjectAddress {
        bucket: BucketName::parse(bucket).map_err(|error| format!("bucket {bucket:?}: {error}"))?,
        key: ObjectKey::parse(key).map_err(|error| format!("key {key:?}: {error}"))?,
    })
}

fn parse_bucket(text: &str) -> Result<BucketName, String> {
    BucketName::parse(text).map_err(|error| error.to_string())
}

/// An ETag as a client sends it, quoted or not. `*` is refused: the
/// clients' conditions name one object version.
fn parse_etag(text: &str) -> Result<ETag, String> {
    if text == "*" {
        return Err("give an ETag; `*` is not supported here".into());
    }
    ETag::parse(text).map_err(|error| error.to_string())
}

/// The checksums SPEC K1 names; MD5 is the ETag, not a checksum option.
fn parse_checksum(text: &str) -> Result<ChecksumAlgorithm, String> {
    const KNOWN: &str = "crc32, crc32c, crc64nvme, sha1, sha256";
    match text.parse::<ChecksumAlgorithm>() {
        Ok(ChecksumAlgorithm::Md5) | Err(_) => {
            Err(format!("unknown checksum {text:?} (known: {KNOWN})"))
        }
        Ok(algorithm) => Ok(algorithm),
    }
}

fn parse_idempotency_key(text: &str) -> Result<IdempotencyKey, String> {
    IdempotencyKey::parse(text).map_err(|error| error.to_string())
}

#[derive(Debug, Args)]
pub(crate) struct MbArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    #[arg(value_parser = parse_bucket)]
    bucket: BucketName,
}

#[derive(Debug, Args)]
pub(crate) struct PutArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Where to write.
    #[arg(value_name = "BUCKET/KEY", value_parser = parse_object_address)]
    target: ObjectAddress,
    /// The bytes: a file, or `-` for stdin.
    #[arg(value_name = "FILE|-")]
    source: PathBuf,
    /// Create-only: write only if the key is absent (`If-None-Match: *`,
    /// SPEC C1).
    #[arg(long, conflicts_with = "if_match")]
    if_none_match: bool,
    /// Overwrite-only: write only if the current ETag is this one (SPEC C2).
    #[arg(long, value_name = "ETAG", value_parser = parse_etag)]
    if_match: Option<ETag>,
    /// Apply at most once: a retry with the same key and bytes returns the
    /// first answer (SPEC I1). With --api native the server needs a
    /// checksum with it (I4); without --checksum, sha256 is sent.
    #[arg(long, value_name = "KEY", value_parser = parse_idempotency_key)]
    idempotency_key: Option<IdempotencyKey>,
    /// Send this checksum of the body; the server verifies it before
    /// committing (SPEC K2): crc32, crc32c, crc64nvme, sha1, sha256.
    #[arg(long, value_name = "ALG", value_parser = parse_checksum)]
    checksum: Option<ChecksumAlgorithm>,
    /// Stored and returned on GET.
    #[arg(long)]
    content_type: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    #[arg(value_name = "BUCKET/KEY", value_parser = parse_object_address)]
    target: ObjectAddress,
    /// Write the bytes to this file and print the ETag; without it the
    /// bytes go to stdout and nothing else does.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct HeadArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    #[arg(value_name = "BUCKET/KEY", value_parser = parse_object_address)]
    target: ObjectAddress,
}

#[derive(Debug, Args)]
pub(crate) struct CpArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    #[arg(value_name = "SRC_BUCKET/KEY", value_parser = parse_object_address)]
    source: ObjectAddress,
    #[arg(value_name = "DST_BUCKET/KEY", value_parser = parse_object_address)]
    destination: ObjectAddress,
    /// Copy only onto an absent key (native `requireAbsent`, S3
    /// `If-None-Match: *`; SPEC C7).
    #[arg(long, conflicts_with = "if_match")]
    if_none_match: bool,
    /// Copy only onto the object with this ETag (native `requireMatchEtag`,
    /// S3 `If-Match`; SPEC C7).
    #[arg(long, value_name = "ETAG", value_parser = parse_etag)]
    if_match: Option<ETag>,
    /// Copy only if the source's ETag is this one (SPEC C8).
    #[arg(long, value_name = "ETAG", value_parser = parse_etag)]
    source_if_match: Option<ETag>,
    /// Copy only if the source's ETag is not this one (SPEC C8).
    #[arg(long, value_name = "ETAG", value_parser = parse_etag)]
    source_if_none_match: Option<ETag>,
    /// Copy only if the source changed after this time, in milliseconds
    /// since the Unix epoch (SPEC C8).
    #[arg(long, value_name = "EPOCH_MS")]
    source_if_modified_since_ms: Option<u64>,
    /// Copy only if the source did not change after this time, in
    /// milliseconds since the Unix epoch (SPEC C8).
    #[arg(long, value_name = "EPOCH_MS")]
    source_if_unmodified_since_ms: Option<u64>,
}

#[derive(Debug, Args)]
pub(crate) struct RmArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    #[arg(value_name = "BUCKET/KEY", value_parser = parse_object_address)]
    target: ObjectAddress,
    /// Delete only if the current ETag is this one: a mismatch is 412, an
    /// absent key 404 (SPEC C6a).
    #[arg(long, value_name = "ETAG", value_parser = parse_etag)]
    if_match: Option<ETag>,
}

/// One object command, parsed.
#[derive(Debug)]
pub(crate) enum ObjectCommand {
    Mb(MbArgs),
    Put(PutArgs),
    Get(GetArgs),
    Head(HeadArgs),
    Cp(CpArgs),
    Rm(RmArgs),
}

impl ObjectCommand {
    fn name(&self) -> &'static str {
        match self {
            Self::Mb(_) => "mb",
            Self::Put(_) => "put",
            Self::Get(_) => "get",
            Self::Head(_) => "head",
            Self::Cp(_) => "cp",
            Self::Rm(_) => "rm",
        }
    }

    fn connect(&self) -> &ConnectArgs {
        match self {
            Self::Mb(args) => &args.connect,
            Self::Put(args) => &args.connect,
            Self::Get(args) => &args.connect,
            Self::Head(args) => &args.connect,
            Self::Cp(args) => &args.connect,
            Self::Rm(args) => &args.connect,
        }
    }
}

/// Why a command failed, and the exit code that says so.
#[derive(Debug)]
struct CommandError {
    failure: Failure,
    message: String,
}

impl CommandError {
    fn usage(message: impl Into<String>) -> Self {
        Self {
            failure: Failure::Usage,
            message: message.into(),
        }
    }

    fn local(message: impl Into<String>) -> Self {
        Self {
            failure: Failure::Other,
            message: message.into(),
        }
    }
}

impl From<Error> for CommandError {
    fn from(error: Error) -> Self {
        Self {
            failure: Failure::of(&error),
            message: error.to_string(),
        }
    }
}

/// Runs `command`; prints its answer on stdout, or its error on stderr.
pub(crate) fn run(command: &ObjectCommand) -> ExitCode {
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| CommandError::local(format!("starting the async runtime: {error}")))
        .and_then(|runtime| runtime.block_on(execute(command)));
    match outcome.and_then(|output| print_stdout(&output)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("lockwell {}: {}", command.name(), error.message);
            error.failure.into()
        }
    }
}

fn print_stdout(output: &[u8]) -> Result<(), CommandError> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(output)
        .and_then(|()| stdout.flush())
        .map_err(|error| CommandError::local(format!("writing stdout: {error}")))
}

/// The two clients behind `--api`.
enum Client {
    S3(S3Client),
    Native(NativeClient),
}

/// A credential from its flag, else the first of `env_names` set
/// (shared with `lockwell check`).
pub(crate) fn credential(flag: Option<&String>, env_names: [&str; 2]) -> Option<String> {
    flag.cloned().or_else(|| {
        env_names
            .into_iter()
            .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
    })
}

/// A seed for the clients' backoff jitter: only its spread matters here.
fn jitter_seed() -> u64 {
    let mut bytes = [0u8; 8];
    // Without OS randomness every run jitters alike, which is harmless for
    // one command.
    let _ = getrandom::fill(&mut bytes);
    u64::from_le_bytes(bytes)
}

/// The access key and secret from the flags or the environment.
fn credentials(connect: &ConnectArgs) -> Result<(String, String), CommandError> {
    let missing = |what: &str, flag: &str, env: [&str; 2]| {
        CommandError::usage(format!(
            "no {what}: pass {flag} or set {} or {}",
            env[0], env[1]
        ))
    };
    let access_key = credential(connect.access_key.as_ref(), ACCESS_KEY_ENV)
        .ok_or_else(|| missing("access key", "--access-key", ACCESS_KEY_ENV))?;
    let secret_key = credential(connect.secret_key.as_ref(), SECRET_KEY_ENV)
        .ok_or_else(|| missing("secret key", "--secret-key", SECRET_KEY_ENV))?;
    Ok((access_key, secret_key))
}

fn configuration_error(
    connect: &ConnectArgs,
    error: &lockwell_client::ConfigError,
) -> CommandError {
    CommandError::usage(format!("--endpoint {}: {error}", connect.endpoint))
}

fn s3_client(connect: &ConnectArgs) -> Result<S3Client, CommandError> {
    let (access_key, secret_key) = credentials(connect)?;
    S3Client::new(
        S3Config::new(&connect.endpoint, &connect.region, access_key, secret_key),
        SeededRandom::new(jitter_seed()),
    )
    .map_err(|error| configuration_error(connect, &error))
}

fn native_client(connect: &ConnectArgs) -> Result<NativeClient, CommandError> {
    let (access_key, secret_key) = credentials(connect)?;
    NativeClient::new(
        NativeConfig::new(&connect.endpoint, access_key, secret_key),
        SeededRandom::new(jitter_seed()),
    )
    .map_err(|error| configuration_error(connect, &error))
}

/// The client `--api` names, for the object commands.
fn object_client(connect: &ConnectArgs) -> Result<Client, CommandError> {
    Ok(match connect.api {
        Api::S3 => Client::S3(s3_client(connect)?),
        Api::Native => Client::Native(native_client(connect)?),
    })
}

async fn execute(command: &ObjectCommand) -> Result<Vec<u8>, CommandError> {
    let connect = command.connect();
    match command {
        // The native API has no bucket operations: `mb` is S3 whatever
        // --api says.
        ObjectCommand::Mb(args) => make_bucket(&s3_client(connect)?, args).await,
        ObjectCommand::Put(args) => put(&object_client(connect)?, args).await,
        ObjectCommand::Get(args) => get(&object_client(connect)?, args).await,
        ObjectCommand::Head(args) => head(&object_client(connect)?, args).await,
        ObjectCommand::Cp(args) => copy(&object_client(connect)?, args).await,
        ObjectCommand::Rm(args) => remove(&object_client(connect)?, args).await,
    }
}

fn etag_line(etag: &ETag) -> Vec<u8> {
    format!("{etag}\n").into_bytes()
}

async fn make_bucket(client: &S3Client, args: &MbArgs) -> Result<Vec<u8>, CommandError> {
    client.create_bucket(args.bucket.as_str()).await?;
    Ok(Vec::new())
}

/// Reads the body to put, refusing more than [`MAX_BODY_LEN_BYTES`].
fn read_body(source: &Path) -> Result<Bytes, CommandError> {
    let describe = || {
        if source == Path::new("-") {
            "stdin".to_string()
        } else {
            source.display().to_string()
        }
    };
    let reader: Box<dyn std::io::Read> = if source == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(
            std::fs::File::open(source)
                .map_err(|error| CommandError::usage(format!("opening {}: {error}", describe())))?,
        )
    };
    let mut body = Vec::new();
    reader
        .take(MAX_BODY_LEN_BYTES + 1)
        .read_to_end(&mut body)
        .map_err(|error| CommandError::local(format!("reading {}: {error}", describe())))?;
    if body.len() as u64 > MAX_BODY_LEN_BYTES {
        return Err(CommandError::usage(format!(
            "{} is larger than {MAX_BODY_LEN_BYTES} bytes, the most this command sends",
            describe()
        )));
    }
    Ok(Bytes::from(body))
}

async fn put(client: &Client, args: &PutArgs) -> Result<Vec<u8>, CommandError> {
    let body = read_body(&args.source)?;
    let (bucket, key) = (args.target.bucket.as_str(), args.target.key.as_str());
    let etag = match client {
        Client::S3(client) => {
            let options = PutOptions {
                condition: write_condition(args.if_none_match, args.if_match.as_ref()),
                idempotency_key: args.idempotency_key.clone(),
                checksum: args.checksum,
                content_type: args.content_type.clone(),
                ..PutOptions::default()
            };
            client.put_object(bucket, key, body, &options).await?.etag
        }
        Client::Native(client) => {
            let mut options = native::PutOptions {
                if_none_match: args.if_none_match.then(|| "*".to_string()),
                if_match: args.if_match.clone(),
                idempotency_key: args.idempotency_key.clone(),
                content_type: args.content_type.clone(),
                ..native::PutOptions::default()
            };
            let checksum = args.checksum.or(args
                .idempotency_key
                .is_some()
                .then_some(DEFAULT_IDEMPOTENT_CHECKSUM));
            if let Some(algorithm) = checksum {
                options = options.with_checksum_of(algorithm, &body);
            }
            client.put_object(bucket, key, body, &options).await?.etag
        }
    };
    Ok(etag_line(&etag))
}

fn write_condition(if_none_match: bool, if_match: Option<&ETag>) -> Option<WriteCondition> {
    match (if_none_match, if_match) {
        (true, _) => Some(WriteCondition::IfAbsent),
        (false, Some(etag)) => Some(WriteCondition::IfMatch(etag.clone())),
        (false, None) => None,
    }
}

async fn get(client: &Client, args: &GetArgs) -> Result<Vec<u8>, CommandError> {
    let (bucket, key) = (args.target.bucket.as_str(), args.target.key.as_str());
    let (body, etag) = match client {
        Client::S3(client) => {
            let output = client
                .get_object(bucket, key, &GetOptions::default())
                .await?;
            (output.body, output.info.etag)
        }
        Client::Native(client) => {
            let output = client.get_object(bucket, key).await?;
            (output.body, output.etag)
        }
    };
    match &args.output {
        None => Ok(body.to_vec()),
        Some(path) => {
            std::fs::write(path, &body).map_err(|error| {
                CommandError::local(format!("writing {}: {error}", path.display()))
            })?;
            Ok(etag_line(&etag))
        }
    }
}

async fn head(client: &Client, args: &HeadArgs) -> Result<Vec<u8>, CommandError> {
    let (bucket, key) = (args.target.bucket.as_str(), args.target.key.as_str());
    let mut fields = BTreeMap::new();
    match client {
        Client::S3(client) => {
            let info = client
                .head_object(
                    bucket,
                    key,
                    &GetOptions {
                        checksum_mode: true,
                        ..GetOptions::default()
                    },
                )
                .await?;
            fields.insert("etag".to_string(), info.etag.to_string());
            fields.insert(
                "content-length".to_string(),
                info.content_len_bytes.to_string(),
            );
            if let Some(content_type) = info.content_type {
                fields.insert("content-type".to_string(), content_type);
            }
            if let Some(last_modified_ms) = info.last_modified_ms {
                fields.insert("last-modified-ms".to_string(), last_modified_ms.to_string());
            }
            for digest in &info.checksums {
                fields.insert(
                    format!("checksum-{}", digest.algorithm()),
                    digest.to_base64(),
                );
            }
            for (name, value) in info.metadata {
                fields.insert(format!("meta-{name}"), value);
            }
        }
        Client::Native(client) => {
            let info = client.head_object(bucket, key).await?;
            fields.insert("etag".to_string(), info.etag.to_string());
            fields.insert(
                "content-length".to_string(),
                info.content_len_bytes.to_string(),
            );
        }
    }
    Ok(fields
        .iter()
        .map(|(name, value)| format!("{name}\t{value}\n"))
        .collect::<String>()
        .into_bytes())
}

async fn copy(client: &Client, args: &CpArgs) -> Result<Vec<u8>, CommandError> {
    let etag = match client {
        Client::S3(client) => {
            let options = CopyOptions {
                source_conditions: ReadConditions {
                    if_match: args.source_if_match.clone(),
                    if_none_match: args.source_if_none_match.clone(),
                    if_modified_since_ms: args.source_if_modified_since_ms,
                    if_unmodified_since_ms: args.source_if_unmodified_since_ms,
                },
                destination_condition: write_condition(args.if_none_match, args.if_match.as_ref()),
                replace_metadata: None,
            };
            let source = CopySource {
                bucket: args.source.bucket.as_str(),
                key: args.source.key.as_str(),
            };
            client
                .copy_object(
                    &source,
                    args.destination.bucket.as_str(),
                    args.destination.key.as_str(),
                    &options,
                )
                .await?
                .etag
        }
        Client::Native(client) => {
            let request = CopyObjectRequest {
                source: NativeCopySource {
                    bucket: args.source.bucket.as_str().to_string(),
                    key: args.source.key.as_str().to_string(),
                    if_match: args.source_if_match.as_ref().map(ETag::to_string),
                    if_none_match: args.source_if_none_match.as_ref().map(ETag::to_string),
                    if_modified_since_ms: args.source_if_modified_since_ms,
                    if_unmodified_since_ms: args.source_if_unmodified_since_ms,
                },
                destination: CopyDestination {
                    bucket: args.destination.bucket.as_str().to_string(),
                    key: args.destination.key.as_str().to_string(),
                    require_absent: args.if_none_match,
                    require_match_etag: args.if_match.as_ref().map(ETag::to_string),
                },
            };
            client.copy_object(&request).await?.etag
        }
    };
    Ok(etag_line(&etag))
}

async fn remove(client: &Client, args: &RmArgs) -> Result<Vec<u8>, CommandError> {
    let (bucket, key) = (args.target.bucket.as_str(), args.target.key.as_str());
    match client {
        Client::S3(client) => {
            let options = DeleteOptions {
                if_match: args.if_match.clone(),
            };
            client.delete_object(bucket, key, &options).await?;
        }
        Client::Native(client) => {
            client
                .delete_object(bucket, key, args.if_match.as_ref())
                .await?;
        }
    }
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b1_object_addresses_split_at_the_first_slash_and_validate_both_halves() {
        /// `(bucket, key)`, or the start of the error.
        type Expected = Result<(&'static str, &'static str), &'static str>;
        let cases: [(&str, Expected); 6] = [
            ("reports/q1/summary.txt", Ok(("reports", "q1/summary.txt"))),
            ("b-1/k", Ok(("b-1", "k"))),
            ("reports", Err("\"reports\" is not BUCKET/KEY")),
            ("reports/", Err("key \"\"")),
            ("Reports/k", Err("bucket \"Reports\"")),
            ("/k", Err("bucket \"\"")),
        ];
        for (input, expected) in cases {
            let parsed = parse_object_address(input);
            match (parsed, expected) {
                (Ok(address), Ok((bucket, key))) => {
                    assert_eq!(
                        (address.bucket.as_str(), address.key.as_str()),
                        (bucket, key)
                    );
                }
                (Err(error), Err(prefix)) => {
                    assert!(error.starts_with(prefix), "{input}: {error}");
                }
                (parsed, expected) => panic!("{input}: {parsed:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn k1_checksum_options_are_the_five_spec_algorithms() {
        for name in ["crc32", "crc32c", "crc64nvme", "sha1", "SHA256"] {
            assert!(parse_checksum(name).is_ok(), "{name}");
        }
        for name in ["md5", "crc16", ""] {
            let error = parse_checksum(name).unwrap_err();
            assert!(error.contains("known: crc32, crc32c"), "{name}: {error}");
        }
    }

    #[test]
    fn etags_parse_quoted_or_not_and_refuse_the_wildcard() {
        let etag = ETag::of_content(b"v1");
        assert_eq!(parse_etag(&etag.to_string()), Ok(etag.clone()));
        assert_eq!(parse_etag(etag.as_str()), Ok(etag));
        assert!(parse_etag("*").is_err());
        assert!(parse_etag("W/\"x\"").is_err());
    }

    #[test]
    fn c5_c9_exit_codes_tell_a_lost_race_from_a_missing_key_and_a_broken_request() {
        let refusal = |status: u16, code: &str| {
            Error::from_service(
                lockwell_client::ServiceError {
                    status,
                    code: Some(code.to_string()),
                    ..Default::default()
                },
                None,
            )
        };
        let cases = [
            (refusal(412, "PreconditionFailed"), 3),
            (refusal(409, "ConditionalRequestConflict"), 3),
            (refusal(404, "NoSuchKey"), 4),
            (refusal(409, "IdempotencyKeyInFlight"), 1),
            (refusal(422, "IdempotencyKeyMismatch"), 1),
            (refusal(503, "SlowDown"), 1),
            (refusal(401, "ExpiredToken"), 1),
            (Error::InvalidInput("x".into()), 2),
        ];
        for (error, code) in cases {
            assert_eq!(Failure::of(&error) as u8, code, "{error:?}");
        }
    }

    #[test]
    fn write_conditions_map_to_the_s3_headers() {
        let etag = ETag::of_content(b"v1");
        assert_eq!(write_condition(false, None), None);
        assert_eq!(write_condition(true, None), Some(WriteCondition::IfAbsent));
        assert_eq!(
            write_condition(false, Some(&etag)),
            Some(WriteCondition::IfMatch(etag))
        );
    }
}
