//! Object operations: PutObject, GetObject, HeadObject, DeleteObject,
//! DeleteObjects, CopyObject.

use std::sync::Arc;

use http::header::{
    ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, LAST_MODIFIED,
};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;
use lockwell_core::precondition::{
    Condition, CopyDestinationCondition, DeleteConditions, ETagCondition, Rejected, RequestETag,
    Validators, WriteConditions, evaluate_read,
};
use lockwell_core::store::{Committed, CopyRequest, MetadataDirective};
use lockwell_core::{BucketName, ETag, NewObject, ObjectPath, ObjectVersion};
use lockwell_proto::headers::{self, MetadataDirective as MetadataDirectiveHeader};
use lockwell_proto::route::parse_object_key;
use lockwell_proto::time::format_http_date_ms;
use lockwell_proto::xml::{
    self, CopyObjectResult, DeleteResult, DeleteResultEntry, S3ErrorCodeText,
};
use lockwell_proto::{ProtoError, S3ErrorCode};

use super::{
    WriteStart, check_version_id, content_bytes, installed_checksums, into_content,
    invalid_argument, invalid_request, object_metadata, read_xml_body, receive,
    set_checksum_headers, start_write,
};
use crate::http::body::{BodyExpectation, LengthRule};
use crate::http::response::{Body, Failure, empty, head_of, no_such_key, set_header, xml_ok};
use crate::http::service::{App, S3Request};

/// The content type AWS gives an object stored without one.
const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";

/// PutObject: DESIGN.md write path steps 1-3 here, step 4 in the engine.
pub(super) async fn put_object(
    app: &App,
    request: &mut S3Request<'_>,
    path: ObjectPath,
) -> Result<Response<Body>, Failure> {
    // A3 before a byte of the body is read.
    app.engine()
        .authorize(&request.principal, &path.bucket)
        .await?;
    let conditions = headers::write_conditions(request.headers())?;
    #[cfg(feature = "planted-bugs")]
    let conditions = crate::planted::s3_put_conditions(conditions);
    let metadata = object_metadata(request)?;
    let expectation = BodyExpectation::from_headers(
        request.headers(),
        &request.verified,
        app.config().limits.max_body_len_bytes,
        LengthRule::Required,
    )?;
    let proof = expectation.idempotency_proof();
    let pending = match start_write(app, request, &path, conditions, proof).await? {
        WriteStart::Proceed(pending) => pending,
        WriteStart::Replay(outcome) => return replayed_write(outcome),
    };
    let body = receive(app, request, expectation).await?;
    let (content, md5, checksums) = into_content(body);
    let object = NewObject {
        content,
        etag: ETag::from_md5(md5),
        checksums: checksums.clone(),
        metadata,
    };
    let committed = app
        .engine()
        .put_object(
            &request.principal,
            &path,
            object,
            pending.commit_mode(),
            crate::clock::now_ms(),
        )
        .await??;
    let mut response = write_response(&committed);
    set_checksum_headers(&mut response, &checksums, &committed.etag);
    Ok(response)
}

/// A write's answer (SPEC E2): 200 with the new ETag.
fn write_response(committed: &Committed) -> Response<Body> {
    let mut response = empty(StatusCode::OK);
    set_etag(&mut response, &committed.etag);
    response
}

/// The stored outcome of an idempotent write, answered again (I1, I7).
fn replayed_write(outcome: Result<Committed, Rejected>) -> Result<Response<Body>, Failure> {
    outcome
        .map(|committed| write_response(&committed))
        .map_err(Failure::from)
}

fn set_etag(response: &mut Response<Body>, etag: &ETag) {
    if let Ok(value) = HeaderValue::from_str(&etag.to_string()) {
        response.headers_mut().insert(ETAG, value);
    }
}

/// GetObject or HeadObject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Read {
    Get,
    Head,
}

/// GetObject and HeadObject: E5 conditionals, ranges, K4 checksums.
pub(super) async fn get_object(
    app: &App,
    request: &mut S3Request<'_>,
    path: ObjectPath,
    version_id: Option<String>,
    part_number: Option<u16>,
    read: Read,
) -> Result<Response<Body>, Failure> {
    check_version_id(version_id.as_deref())?;
    let checksum_mode = headers::checksum_mode_enabled(request.headers())?;
    let conditions = headers::read_conditions(request.headers())?;
    let version = app
        .engine()
        .get_object(&request.principal, &path)
        .await?
        .ok_or_else(no_such_key)?;
    if let Err(rejected) = evaluate_read(Some(Validators::from(version.as_ref())), &conditions) {
        return match rejected {
            Rejected::NotModified { .. } => {
                let mut response = empty(StatusCode::NOT_MODIFIED);
                set_validators(&mut response, &version);
                Ok(response)
            }
            other => Err(other.into()),
        };
    }
    // Objects keep no part boundaries: part 1 is the whole object, as S3
    // serves part 1 of an object uploaded in one part.
    if let Some(part_number) = part_number
        && part_number != 1
    {
        return Err(ProtoError::new(
            S3ErrorCode::InvalidRange,
            format!("The requested partnumber {part_number} is not satisfiable"),
        )
        .into());
    }
    let len_bytes = version.content_len_bytes() as u64;
    let range = match headers::range(request.headers()).map(|spec| spec.resolve(len_bytes)) {
        None => None,
        Some(Ok(range)) => Some(range),
        Some(Err(error)) => {
            let mut response = Failure::Refused(error)
                .into_response(request.parts.uri.path(), &request.request_id);
            set_header(
                &mut response,
                CONTENT_RANGE.as_str(),
                &headers::unsatisfied_content_range(len_bytes),
            );
            return Ok(response);
        }
    };
    let (status, body_len_bytes) = match range {
        Some(range) => (StatusCode::PARTIAL_CONTENT, range.len_bytes()),
        None => (StatusCode::OK, len_bytes),
    };
    let mut response = match read {
        Read::Head => head_of(status, body_len_bytes),
        Read::Get => {
            let bytes = content_bytes(&version);
            let bytes = match range {
                Some(range) => bytes.slice(range.start as usize..=range.end_inclusive as usize),
                None => bytes,
            };
            let mut response = Response::new(Full::new(bytes));
            *response.status_mut() = status;
            response
                .headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from(body_len_bytes));
            response
        }
    };
    if let Some(range) = range {
        set_header(
            &mut response,
            CONTENT_RANGE.as_str(),
            &range.content_range(len_bytes),
        );
    }
    set_validators(&mut response, &version);
    set_object_headers(&mut response, &version);
    // A range is not the object its checksum covers.
    if checksum_mode && range.is_none() {
        set_checksum_headers(&mut response, &version.checksums, &version.etag);
    }
    Ok(response)
}

fn set_validators(response: &mut Response<Body>, version: &ObjectVersion) {
    set_etag(response, &version.etag);
    set_header(
        response,
        LAST_MODIFIED.as_str(),
        &format_http_date_ms(version.last_modified_ms),
    );
}

fn set_object_headers(response: &mut Response<Body>, version: &ObjectVersion) {
    response
        .headers_mut()
        .insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let content_type = version
        .metadata
        .content_type
        .as_deref()
        .unwrap_or(DEFAULT_CONTENT_TYPE);
    set_header(response, CONTENT_TYPE.as_str(), content_type);
    for (name, value) in &version.metadata.user_metadata {
        set_header(response, &format!("x-amz-meta-{name}"), value);
    }
}

/// DeleteObject (C6a): 204 whether or not the key existed, unless an
/// `If-Match` says otherwise.
pub(super) async fn delete_object(
    app: &App,
    request: &mut S3Request<'_>,
    path: ObjectPath,
    version_id: Option<String>,
) -> Result<Response<Body>, Failure> {
    check_version_id(version_id.as_deref())?;
    let conditions = headers::delete_conditions(request.headers())?;
    app.engine()
        .delete_object(&request.principal, &path, &conditions)
        .await??;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// DeleteObjects: each key deleted on its own, with its own `ETag`
/// condition (C6a); a failure is an `Error` entry, the others go on.
pub(super) async fn delete_objects(
    app: &App,
    request: &mut S3Request<'_>,
    bucket: BucketName,
) -> Result<Response<Body>, Failure> {
    app.engine().authorize(&request.principal, &bucket).await?;
    let body = read_xml_body(app, request).await?;
    let delete = xml::parse_delete(&body)?;
    let mut entries = Vec::with_capacity(delete.objects.len());
    for object in delete.objects {
        let outcome = delete_one(app, request, &bucket, &object).await;
        let version_id = object.version_id.clone();
        match outcome {
            Ok(()) if delete.quiet => {}
            Ok(()) => entries.push(DeleteResultEntry::Deleted {
                key: object.key,
                version_id,
            }),
            Err(failure) => {
                let code = failure.code().unwrap_or(S3ErrorCode::InternalError);
                let message = match failure {
                    Failure::Refused(error) => error.message,
                    Failure::Rejected(rejected) => match rejected {
                        Rejected::PreconditionFailed { .. } => {
                            "At least one of the pre-conditions you specified did not hold"
                                .to_string()
                        }
                        other => other.to_string(),
                    },
                };
                entries.push(DeleteResultEntry::Error {
                    key: object.key,
                    version_id,
                    code: S3ErrorCodeText(code),
                    message,
                });
            }
        }
    }
    Ok(xml_ok(&DeleteResult {
        xmlns: xml::S3_XMLNS,
        entries,
    }))
}

async fn delete_one(
    app: &App,
    request: &S3Request<'_>,
    bucket: &BucketName,
    object: &xml::DeleteObjectEntry,
) -> Result<(), Failure> {
    check_version_id(object.version_id.as_deref())?;
    let path = ObjectPath::new(bucket.clone(), parse_object_key(&object.key)?);
    let conditions = DeleteConditions {
        if_match: object.if_match.clone(),
    };
    app.engine()
        .delete_object(&request.principal, &path, &conditions)
        .await??;
    Ok(())
}

/// CopyObject: source conditions (C8) and destination conditions (C6,
/// C7), evaluated atomically with the commit by the engine.
pub(super) async fn copy_object(
    app: &App,
    request: &mut S3Request<'_>,
    path: ObjectPath,
) -> Result<Response<Body>, Failure> {
    let source = headers::copy_source(request.headers())?
        .ok_or_else(|| invalid_argument("CopyObject needs an x-amz-copy-source header"))?;
    check_version_id(source.version_id.as_deref())?;
    let source = ObjectPath::new(source.bucket, source.key);
    let source_conditions = headers::copy_source_conditions(request.headers())?;
    let destination_condition =
        copy_destination_condition(headers::write_conditions(request.headers())?)?;
    let metadata = match headers::metadata_directive(request.headers())? {
        MetadataDirectiveHeader::Copy => {
            if source == path {
                return Err(invalid_request(
                    "This copy request is illegal because it is trying to copy an object to itself \
                     without changing the object's metadata, storage class, website redirect \
                     location or encryption attributes.",
                )
                .into());
            }
            MetadataDirective::Copy
        }
        MetadataDirectiveHeader::Replace => MetadataDirective::Replace(object_metadata(request)?),
        other => {
            return Err(
                super::not_implemented(&format!("x-amz-metadata-directive {other:?}")).into(),
            );
        }
    };
    let copy = CopyRequest {
        source,
        source_conditions,
        destination: path.clone(),
        destination_condition,
        metadata,
    };
    let committed = match app
        .engine()
        .copy_object(&request.principal, &copy, crate::clock::now_ms())
        .await?
    {
        Ok(committed) => committed,
        Err(rejected) => return Err(s3_copy_rejection(app, request, &path, rejected).await),
    };
    let checksums = installed_checksums(app, &request.principal, &path, &committed).await;
    Ok(xml_ok(&CopyObjectResult {
        xmlns: xml::S3_XMLNS,
        last_modified_ms: committed.last_modified_ms,
        etag: committed.etag,
        checksum: checksums.iter().find_map(xml::ChecksumElement::from_digest),
    }))
}

/// lockwell-core's C7 answers an overwrite-only copy onto an absent
/// destination with 412; S3's `If-Match` says 404 NoSuchKey there, as C2
/// does for a put. The destination is read after the rejection: if it is
/// absent then, 404 is a true answer at a moment within the request, and
/// either way nothing was written.
async fn s3_copy_rejection(
    app: &App,
    request: &S3Request<'_>,
    destination: &ObjectPath,
    rejected: Rejected,
) -> Failure {
    let overwrite_only = matches!(
        rejected,
        Rejected::PreconditionFailed {
            condition: Condition::RequireMatchEtag,
            ..
        }
    );
    if overwrite_only
        && let Ok(None) = app
            .engine()
            .get_object(&request.principal, destination)
            .await
    {
        return Failure::Refused(no_such_key());
    }
    Failure::Rejected(rejected)
}

/// The destination conditions S3 headers express, in lockwell-core's copy
/// terms (C6, C7): `If-None-Match: *` is create-only, `If-Match` with one
/// entity tag is overwrite-only. Other forms have no copy meaning in
/// lockwell-core and are refused rather than ignored.
fn copy_destination_condition(
    conditions: WriteConditions,
) -> Result<CopyDestinationCondition, ProtoError> {
    let unsupported = |what: &str| {
        ProtoError::new(
            S3ErrorCode::NotImplemented,
            format!("{what} on a CopyObject destination is not implemented"),
        )
    };
    match (conditions.if_match, conditions.if_none_match) {
        (None, None) => Ok(CopyDestinationCondition::Unconditional),
        (None, Some(ETagCondition::Any)) => Ok(CopyDestinationCondition::RequireAbsent),
        (Some(ETagCondition::OneOf(tags)), None) => match tags.as_slice() {
            [RequestETag { etag, weak: false }] => {
                Ok(CopyDestinationCondition::RequireMatchEtag(etag.clone()))
            }
            _ => Err(unsupported("If-Match with several or weak entity tags")),
        },
        (Some(ETagCondition::Any), None) => Err(unsupported("If-Match: *")),
        (None, Some(_)) => Err(unsupported("If-None-Match with entity tags")),
        (Some(_), Some(_)) => Err(unsupported("If-Match together with If-None-Match")),
    }
}

/// Used by UploadPartCopy: the source object as the copy reads it.
pub(super) async fn copy_source_object(
    app: &App,
    request: &S3Request<'_>,
) -> Result<Arc<ObjectVersion>, Failure> {
    let source = headers::copy_source(request.headers())?
        .ok_or_else(|| invalid_argument("UploadPartCopy needs an x-amz-copy-source header"))?;
    check_version_id(source.version_id.as_deref())?;
    let conditions = headers::copy_source_conditions(request.headers())?;
    let path = ObjectPath::new(source.bucket, source.key);
    let version = app.engine().get_object(&request.principal, &path).await?;
    lockwell_core::precondition::evaluate_copy_source(
        version.as_deref().map(Validators::from),
        &conditions,
    )?;
    version.ok_or_else(|| no_such_key().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c6_c7_copy_destination_conditions_map_or_are_refused() {
        let etag = ETag::of_content(b"x");
        let parse = |value: &str| ETagCondition::parse(value).unwrap();
        type Mapped = Result<CopyDestinationCondition, S3ErrorCode>;
        // (If-Match, If-None-Match, what the copy gets).
        let cases: Vec<(Option<ETagCondition>, Option<ETagCondition>, Mapped)> = vec![
            (None, None, Ok(CopyDestinationCondition::Unconditional)),
            (
                None,
                Some(ETagCondition::Any),
                Ok(CopyDestinationCondition::RequireAbsent),
            ),
            (
                Some(ETagCondition::one(etag.clone())),
                None,
                Ok(CopyDestinationCondition::RequireMatchEtag(etag.clone())),
            ),
            (
                Some(ETagCondition::Any),
                None,
                Err(S3ErrorCode::NotImplemented),
            ),
            (
                Some(parse("\"a\", \"b\"")),
                None,
                Err(S3ErrorCode::NotImplemented),
            ),
            (
                Some(parse("W/\"a\"")),
                None,
                Err(S3ErrorCode::NotImplemented),
            ),
            (None, Some(parse("\"a\"")), Err(S3ErrorCode::NotImplemented)),
        ];
        for (if_match, if_none_match, expected) in cases {
            let conditions = WriteConditions {
                if_match: if_match.clone(),
                if_none_match: if_none_match.clone(),
            };
            assert_eq!(
                copy_destination_condition(conditions).map_err(|error| error.code),
                expected,
                "{if_match:?} {if_none_match:?}"
            );
        }
    }
}
