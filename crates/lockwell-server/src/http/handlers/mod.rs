//! One handler per S3 operation, grouped by family, and what they share:
//! engine errors as S3 errors, the write start (idempotency claim, SPEC
//! I1-I3, I5, I6), the small XML request bodies, object headers.

mod bucket;
mod list;
mod multipart;
mod object;

use std::collections::BTreeMap;
use std::sync::Arc;

use http::Response;
use http::header::CONTENT_TYPE;
use lockwell_core::checksum::{ChecksumAlgorithm, Digest, Digests, digest};
use lockwell_core::idempotency::{
    ClaimOutcome, Fingerprint, IdempotencyKey, IdempotencyScope, Principal,
};
use lockwell_core::object::ObjectMetadata;
use lockwell_core::precondition::{Rejected, WriteConditions};
use lockwell_core::store::Committed;
use lockwell_core::{BucketName, ETag, ObjectPath, ObjectVersion};
use lockwell_proto::headers;
use lockwell_proto::route::S3Operation;
use lockwell_proto::xml::{MAX_REQUEST_XML_LEN_BYTES, Owner};
use lockwell_proto::{ProtoError, S3ErrorCode};

use super::body::{BodyExpectation, LengthRule, VerifiedBody};
use super::response::{Body, Failure, access_denied, no_such_bucket, no_such_upload, set_header};
use super::service::{App, S3Request};
use crate::engine::{EngineError, WriteMode};

/// Routes an authenticated request to its handler.
pub(crate) async fn dispatch(
    app: &App,
    request: &mut S3Request<'_>,
    operation: S3Operation,
) -> Result<Response<Body>, Failure> {
    match operation {
        S3Operation::ListBuckets => bucket::list_buckets(app, request).await,
        S3Operation::CreateBucket { bucket } => bucket::create_bucket(app, request, bucket).await,
        S3Operation::HeadBucket { bucket } => bucket::head_bucket(app, request, bucket).await,
        S3Operation::DeleteBucket { bucket } => bucket::delete_bucket(app, request, bucket).await,
        S3Operation::GetBucketLocation { bucket } => {
            bucket::get_bucket_location(app, request, bucket).await
        }
        S3Operation::GetBucketVersioning { bucket } => {
            bucket::get_bucket_versioning(app, request, bucket).await
        }
        S3Operation::ListObjects { bucket, params } => {
            list::list_objects_v1(app, request, bucket, params).await
        }
        S3Operation::ListObjectsV2 { bucket, params } => {
            list::list_objects_v2(app, request, bucket, params).await
        }
        S3Operation::ListObjectVersions { bucket, params } => {
            list::list_object_versions(app, request, bucket, params).await
        }
        S3Operation::ListMultipartUploads { bucket, params } => {
            multipart::list_uploads(app, request, bucket, params).await
        }
        S3Operation::DeleteObjects { bucket } => object::delete_objects(app, request, bucket).await,
        S3Operation::PutObject { path } => object::put_object(app, request, path).await,
        S3Operation::CopyObject { path } => object::copy_object(app, request, path).await,
        S3Operation::GetObject {
            path,
            version_id,
            part_number,
        } => {
            object::get_object(
                app,
                request,
                path,
                version_id,
                part_number,
                object::Read::Get,
            )
            .await
        }
        S3Operation::HeadObject {
            path,
            version_id,
            part_number,
        } => {
            object::get_object(
                app,
                request,
                path,
                version_id,
                part_number,
                object::Read::Head,
            )
            .await
        }
        S3Operation::DeleteObject { path, version_id } => {
            object::delete_object(app, request, path, version_id).await
        }
        S3Operation::CreateMultipartUpload { path } => {
            multipart::create_upload(app, request, path).await
        }
        S3Operation::UploadPart {
            path,
            upload_id,
            part_number,
        } => multipart::upload_part(app, request, path, &upload_id, part_number).await,
        S3Operation::UploadPartCopy {
            path,
            upload_id,
            part_number,
        } => multipart::upload_part_copy(app, request, path, &upload_id, part_number).await,
        S3Operation::ListParts {
            path,
            upload_id,
            params,
        } => multipart::list_parts(app, request, path, &upload_id, params).await,
        S3Operation::CompleteMultipartUpload { path, upload_id } => {
            multipart::complete_upload(app, request, path, &upload_id).await
        }
        S3Operation::AbortMultipartUpload { path, upload_id } => {
            multipart::abort_upload(app, request, path, &upload_id).await
        }
        S3Operation::NotImplemented { what } => Err(not_implemented(&what).into()),
        other => Err(not_implemented(&format!("{other:?}")).into()),
    }
}

fn not_implemented(what: &str) -> ProtoError {
    ProtoError::new(
        S3ErrorCode::NotImplemented,
        format!(
            "A header or operation you provided implies functionality that is not implemented: {what}"
        ),
    )
}

impl From<EngineError> for Failure {
    fn from(error: EngineError) -> Self {
        use S3ErrorCode as C;
        let code = match &error {
            EngineError::Storage(io_error) => {
                tracing::error!(error = %io_error, "storage failed");
                return Failure::internal("We encountered an internal error. Please try again.");
            }
            EngineError::NoSuchBucket(_) => return Failure::Refused(no_such_bucket()),
            EngineError::AccessDenied => return Failure::Refused(access_denied()),
            EngineError::NoSuchUpload => return Failure::Refused(no_such_upload()),
            EngineError::BucketAlreadyExists(_) => C::BucketAlreadyExists,
            EngineError::BucketAlreadyOwnedByYou(_) => C::BucketAlreadyOwnedByYou,
            EngineError::BucketNotEmpty(_) => C::BucketNotEmpty,
            // S3's TooManyBuckets is not among lockwell-proto's codes; the
            // status (400) and the message say the same.
            EngineError::TooManyBuckets { .. } => C::InvalidRequest,
            EngineError::TooManyUploads { .. } => C::SlowDown,
            EngineError::UploadConflict => C::ConditionalRequestConflict,
            EngineError::InvalidPartNumber { .. } => C::InvalidArgument,
            EngineError::MissingPartChecksum { .. }
            | EngineError::UnsupportedChecksumAlgorithm { .. } => C::InvalidRequest,
            EngineError::EmptyPartList => C::MalformedXML,
            EngineError::InvalidPartOrder => C::InvalidPartOrder,
            EngineError::InvalidPart { .. } => C::InvalidPart,
            EngineError::EntityTooSmall { .. } => C::EntityTooSmall,
            EngineError::IdempotencyClaimExpired => C::ServiceUnavailable,
        };
        Failure::Refused(ProtoError::new(code, error.to_string()))
    }
}

/// A bucket or upload owner as listings show it: the principal's name.
pub(super) fn owner(principal: &Principal) -> Owner {
    Owner {
        id: principal.as_str().to_string(),
        display_name: principal.as_str().to_string(),
    }
}

/// Buckets are never versioned: the only version id is `null`, as AWS
/// names the version of an object in an unversioned bucket.
pub(super) const NULL_VERSION_ID: &str = "null";

/// SPEC: DeleteObject, GetObject and friends accept VersionId `null`; any
/// other id names no version of an unversioned bucket.
pub(super) fn check_version_id(version_id: Option<&str>) -> Result<(), ProtoError> {
    match version_id {
        None | Some(NULL_VERSION_ID) => Ok(()),
        Some(_) => Err(invalid_version_id()),
    }
}

fn invalid_version_id() -> ProtoError {
    ProtoError::new(S3ErrorCode::InvalidArgument, "Invalid version id specified")
}

/// The metadata a write stores: `Content-Type` and `x-amz-meta-*`.
pub(super) fn object_metadata(request: &S3Request<'_>) -> Result<ObjectMetadata, ProtoError> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .map(|value| {
            value.to_str().map(str::to_string).map_err(|_| {
                ProtoError::new(S3ErrorCode::InvalidArgument, "Content-Type is not ASCII")
            })
        })
        .transpose()?;
    Ok(ObjectMetadata {
        content_type,
        user_metadata: headers::user_metadata(request.headers())?,
    })
}

/// Reads a small XML request body (CreateBucket, DeleteObjects,
/// CompleteMultipartUpload), verified like any body (signed SHA-256,
/// Content-MD5, checksum headers).
pub(super) async fn read_xml_body(
    app: &App,
    request: &mut S3Request<'_>,
) -> Result<Vec<u8>, Failure> {
    let expectation = BodyExpectation::from_headers(
        request.headers(),
        &request.verified,
        MAX_REQUEST_XML_LEN_BYTES as u64,
        LengthRule::AbsentMeansEmpty,
    )
    .map_err(|error| match error.code {
        S3ErrorCode::EntityTooLarge => Failure::Refused(ProtoError::new(
            S3ErrorCode::MalformedXML,
            format!("The XML body is longer than {MAX_REQUEST_XML_LEN_BYTES} bytes"),
        )),
        _ => Failure::Refused(error),
    })?;
    Ok(receive(app, request, expectation).await?.content)
}

/// Reads the request's body as `expectation` says (write path steps 2-3).
pub(super) async fn receive(
    app: &App,
    request: &mut S3Request<'_>,
    expectation: BodyExpectation,
) -> Result<VerifiedBody, Failure> {
    let Some(body) = request.body.as_mut() else {
        return Err(Failure::internal("the request body was already read"));
    };
    let verified = expectation
        .receive(body, app.config().limits.request_timeout())
        .await?;
    *request.body = None;
    Ok(verified)
}

/// How a write goes on after step 1 of the write path.
pub(super) enum WriteStart<'a> {
    /// Commit in this mode, once the body checked out.
    Proceed(PendingWrite<'a>),
    /// The same request completed before (I1, I7): answer with its outcome,
    /// write nothing.
    Replay(Result<Committed, Rejected>),
}

/// Step 1 of the write path: without an `Idempotency-Key` the write
/// proceeds with its own conditions; with one, the key must be signed
/// (I5), the payload proven before the body arrives (I5: the signed
/// SHA-256 or a checksum header; `proof` is `None` without either) and not
/// aws-chunked (I6), and then the claim decides.
pub(super) async fn start_write<'a>(
    app: &'a App,
    request: &S3Request<'_>,
    path: &ObjectPath,
    conditions: WriteConditions,
    proof: Result<Option<Digest>, ProtoError>,
) -> Result<WriteStart<'a>, Failure> {
    let Some(idempotency_key) = headers::idempotency_key(request.headers())? else {
        return Ok(WriteStart::Proceed(PendingWrite::new(
            app,
            WriteMode::Plain(conditions),
        )));
    };
    if !request.verified.is_header_signed("idempotency-key") {
        return Err(invalid_request(
            "The Idempotency-Key header must be among the SignedHeaders of the signature",
        )
        .into());
    }
    let payload_digest = proof?.ok_or_else(|| {
        invalid_request(
            "An Idempotency-Key with an unsigned payload (UNSIGNED-PAYLOAD) needs an x-amz-checksum-* \
             header to recognise a retry by",
        )
    })?;
    let scope = IdempotencyScope {
        principal: request.principal.clone(),
        idempotency_key: bucket_scoped_key(&path.bucket, &idempotency_key),
    };
    let fingerprint = Fingerprint {
        path: path.clone(),
        payload_digest,
        conditions,
    };
    match app
        .engine()
        .claim_idempotency(scope, fingerprint, crate::clock::now_ms())
        .await?
    {
        ClaimOutcome::Claimed(ticket) => Ok(WriteStart::Proceed(PendingWrite::new(
            app,
            WriteMode::Idempotent(ticket),
        ))),
        ClaimOutcome::Replay(outcome) => Ok(WriteStart::Replay(outcome)),
        ClaimOutcome::InFlight => Err(ProtoError::new(
            S3ErrorCode::IdempotencyKeyInFlight,
            "A request with this Idempotency-Key is still in progress; retry after it completes",
        )
        .into()),
        ClaimOutcome::Mismatch => Err(ProtoError::new(
            S3ErrorCode::IdempotencyKeyMismatch,
            "This Idempotency-Key was used for a request with a different target, payload or \
             conditions",
        )
        .into()),
        ClaimOutcome::AtCapacity => Err(ProtoError::new(
            S3ErrorCode::SlowDown,
            "The idempotency table is full; retry later",
        )
        .into()),
        _ => Err(Failure::internal("unknown idempotency claim outcome")),
    }
}

/// SPEC I1 scopes a record by principal, bucket, key and idempotency key,
/// and I2 makes the same idempotency key on another object key a mismatch
/// (422). lockwell-core scopes by (principal, idempotency key) and compares
/// the target in the fingerprint, which gives I2 within a bucket; folding
/// the bucket into the key keeps buckets apart: the same client key in two
/// buckets names two records. The folded key is the hex SHA-256 of the
/// bucket name, a NUL and the client's key: 64 visible ASCII characters.
/// The native API folds its keys the same way, so both APIs share one
/// record per (principal, bucket, key) (I8).
pub(crate) fn bucket_scoped_key(bucket: &BucketName, key: &IdempotencyKey) -> IdempotencyKey {
    let mut scoped = Vec::with_capacity(bucket.as_str().len() + 1 + key.as_str().len());
    scoped.extend_from_slice(bucket.as_str().as_bytes());
    scoped.push(0);
    scoped.extend_from_slice(key.as_str().as_bytes());
    let hex = digest(ChecksumAlgorithm::Sha256, &scoped).to_hex();
    IdempotencyKey::parse(&hex).expect("64 hex digits are a valid idempotency key")
}

/// A write between its idempotency claim (step 1) and its commit (step
/// 4): whatever ends it early (a refused body, an error, a `?`) gives the
/// claim back by dropping it, so a retry can claim afresh instead of
/// meeting 409 IdempotencyKeyInFlight until the lease runs out.
pub(super) struct PendingWrite<'a> {
    app: &'a App,
    /// `Some` until [`PendingWrite::commit_mode`] hands it to the engine.
    mode: Option<WriteMode>,
}

impl<'a> PendingWrite<'a> {
    fn new(app: &'a App, mode: WriteMode) -> Self {
        Self {
            app,
            mode: Some(mode),
        }
    }

    /// The mode to commit with; the engine owns the claim from here on.
    pub(super) fn commit_mode(mut self) -> WriteMode {
        self.mode
            .take()
            .expect("the mode is taken only here, and this consumes the write")
    }
}

impl Drop for PendingWrite<'_> {
    fn drop(&mut self) {
        if let Some(WriteMode::Idempotent(ticket)) = self.mode.take() {
            self.app.engine().release_idempotency(ticket);
        }
    }
}

pub(super) fn invalid_request(message: &str) -> ProtoError {
    ProtoError::new(S3ErrorCode::InvalidRequest, message)
}

pub(super) fn invalid_argument(message: &str) -> ProtoError {
    ProtoError::new(S3ErrorCode::InvalidArgument, message)
}

/// The part count of a multipart ETag (`...-N`), `None` for a single part.
pub(super) fn multipart_part_count(etag: &ETag) -> Option<usize> {
    etag.as_str()
        .rsplit_once('-')
        .and_then(|(_, count)| count.parse().ok())
}

/// The `x-amz-checksum-*` headers of stored checksums (K4), with
/// `x-amz-checksum-type`: a multipart object's SHA checksum is composite,
/// `base64-N` (K5); everything else is a full-object checksum.
pub(super) fn checksum_headers(checksums: &Digests, etag: &ETag) -> BTreeMap<&'static str, String> {
    let mut headers = BTreeMap::new();
    let part_count = multipart_part_count(etag);
    for digest in checksums.iter() {
        let Some(name) = digest.algorithm().s3_header_name() else {
            continue;
        };
        let composite = part_count.filter(|_| {
            matches!(
                digest.algorithm(),
                ChecksumAlgorithm::Sha1 | ChecksumAlgorithm::Sha256
            )
        });
        let (value, checksum_type) = match composite {
            Some(parts) => (format!("{}-{parts}", digest.to_base64()), "COMPOSITE"),
            None => (digest.to_base64(), "FULL_OBJECT"),
        };
        headers.insert(name, value);
        headers.insert("x-amz-checksum-type", checksum_type.to_string());
    }
    headers
}

pub(super) fn set_checksum_headers(
    response: &mut Response<Body>,
    checksums: &Digests,
    etag: &ETag,
) {
    for (name, value) in checksum_headers(checksums, etag) {
        set_header(response, name, &value);
    }
}

/// The stored checksums of the version a write just installed, for its
/// answer: read back, and only if nothing replaced it since (the sequence
/// tells), so an answer never shows another write's checksum.
pub(super) async fn installed_checksums(
    app: &App,
    principal: &Principal,
    path: &ObjectPath,
    committed: &Committed,
) -> Digests {
    match app.engine().get_object(principal, path).await {
        Ok(Some(version)) if version.sequence == committed.sequence => version.checksums.clone(),
        _ => Digests::default(),
    }
}

/// The object's bytes as the engine holds them, shared without a copy.
pub(super) fn content_bytes(version: &Arc<ObjectVersion>) -> bytes::Bytes {
    bytes::Bytes::from_owner(Arc::clone(&version.content))
}

/// The body of a received request as the engine stores it.
pub(super) fn into_content(body: VerifiedBody) -> (Arc<[u8]>, [u8; 16], Digests) {
    (Arc::from(body.content), body.md5, body.checksums)
}

#[cfg(test)]
mod tests {
    use lockwell_core::checksum::digest;

    use super::*;

    #[test]
    fn k4_k5_checksum_headers_are_composite_only_for_multipart_sha() {
        let single = ETag::of_content(b"x");
        let multipart = ETag::multipart(&[[0u8; 16], [1u8; 16]]).unwrap();
        let crc = digest(ChecksumAlgorithm::Crc32, b"x");
        let sha = digest(ChecksumAlgorithm::Sha256, b"x");
        let md5 = digest(ChecksumAlgorithm::Md5, b"x");
        let cases = [
            (crc, single.clone(), Some((crc.to_base64(), "FULL_OBJECT"))),
            (sha, single, Some((sha.to_base64(), "FULL_OBJECT"))),
            (
                crc,
                multipart.clone(),
                Some((crc.to_base64(), "FULL_OBJECT")),
            ),
            (
                sha,
                multipart.clone(),
                Some((format!("{}-2", sha.to_base64()), "COMPOSITE")),
            ),
            (md5, multipart, None),
        ];
        for (digest, etag, expected) in cases {
            let headers = checksum_headers(&std::iter::once(digest).collect(), &etag);
            let got = digest.algorithm().s3_header_name().and_then(|name| {
                Some((
                    headers.get(name)?.clone(),
                    headers.get("x-amz-checksum-type")?.as_str(),
                ))
            });
            assert_eq!(
                got.as_ref().map(|(value, kind)| (value.as_str(), *kind)),
                expected
                    .as_ref()
                    .map(|(value, kind)| (value.as_str(), *kind)),
                "{digest:?} {etag}"
            );
            if expected.is_none() {
                assert!(headers.is_empty());
            }
        }
    }

    #[test]
    fn i1_idempotency_records_are_scoped_per_bucket() {
        let key = IdempotencyKey::parse("op-1").unwrap();
        let bucket = |name: &str| BucketName::parse(name).unwrap();
        let scoped = bucket_scoped_key(&bucket("alpha"), &key);
        assert_eq!(scoped, bucket_scoped_key(&bucket("alpha"), &key));
        assert_ne!(scoped, bucket_scoped_key(&bucket("bravo"), &key));
        assert_ne!(
            scoped,
            bucket_scoped_key(&bucket("alpha"), &IdempotencyKey::parse("op-2").unwrap())
        );
        assert_eq!(scoped.as_str().len(), 64);
    }

    #[test]
    fn version_ids_other_than_null_name_nothing() {
        assert_eq!(check_version_id(None), Ok(()));
        assert_eq!(check_version_id(Some("null")), Ok(()));
        assert_eq!(
            check_version_id(Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")).map_err(|error| error.code),
            Err(S3ErrorCode::InvalidArgument)
        );
    }
}
