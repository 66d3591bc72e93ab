//! Multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy,
//! ListParts, ListMultipartUploads, CompleteMultipartUpload,
//! AbortMultipartUpload. Part digests are verified as each part arrives
//! (K5); the completion is a conditional, optionally idempotent write like
//! a put (C6, I6).

use std::fmt::Write as _;

use http::header::{ETAG, HOST};
use http::{HeaderValue, Response, StatusCode};
use lockwell_core::checksum::{
    ChecksumAlgorithm, Digests, MultiHasher, MultipartChecksum, PartChecksum, digest,
    multipart_checksum,
};
use lockwell_core::store::Committed;
use lockwell_core::{BucketName, ObjectPath};
use lockwell_proto::headers;
use lockwell_proto::route::{ListPartsParams, ListUploadsParams};
use lockwell_proto::xml::{
    self, ChecksumElement, CompleteMultipartUploadResult, CopyPartResult,
    InitiateMultipartUploadResult, ListMultipartUploadsResult, ListPartsResult, PartEntry,
    StorageClass, UploadEntry,
};
use lockwell_proto::{ProtoError, S3ErrorCode};

use super::list::collect_page;
use super::object::copy_source_object;
use super::{
    WriteStart, into_content, invalid_request, object_metadata, owner, read_xml_body, receive,
    set_checksum_headers, start_write,
};
use crate::engine::{CompletedPart, NewPart, NewUpload, UploadDetails, UploadSummary};
use crate::http::body::{BodyExpectation, LengthRule};
use crate::http::response::{Body, Failure, empty, no_such_upload, set_header, xml_ok};
use crate::http::service::{App, S3Request};
use crate::storage::UploadId;

/// An `uploadId` this server never issued names no upload (404, as S3).
fn parse_upload_id(text: &str) -> Result<UploadId, ProtoError> {
    UploadId::parse(text).ok_or_else(no_such_upload)
}

pub(super) async fn create_upload(
    app: &App,
    request: &mut S3Request<'_>,
    path: ObjectPath,
) -> Result<Response<Body>, Failure> {
    let checksum_algorithm = headers::multipart_checksum_algorithm(request.headers())?;
    let requested_type = headers::multipart_checksum_type(request.headers())?;
    let checksum_type = match (checksum_algorithm, requested_type) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(
                invalid_request("x-amz-checksum-type needs x-amz-checksum-algorithm").into(),
            );
        }
        (Some(algorithm), requested) => {
            let rule = algorithm.multipart_checksum_type();
            if requested.is_some() && requested != rule {
                return Err(invalid_request(
                    "This server derives CRC multipart checksums as FULL_OBJECT and SHA ones as \
                     COMPOSITE; the requested x-amz-checksum-type is not supported",
                )
                .into());
            }
            rule
        }
    };
    let upload = NewUpload {
        metadata: object_metadata(request)?,
        checksum_algorithm,
    };
    let upload_id = app
        .engine()
        .create_upload(&request.principal, &path, upload, crate::clock::now_ms())
        .await?;
    let mut response = xml_ok(&InitiateMultipartUploadResult {
        xmlns: xml::S3_XMLNS,
        bucket: path.bucket.as_str().to_string(),
        key: path.key.as_str().to_string(),
        upload_id: upload_id.to_string(),
    });
    if let (Some(algorithm), Some(checksum_type)) = (checksum_algorithm, checksum_type) {
        set_header(
            &mut response,
            "x-amz-checksum-algorithm",
            &algorithm.name().to_ascii_uppercase(),
        );
        set_header(
            &mut response,
            "x-amz-checksum-type",
            checksum_type.s3_name(),
        );
    }
    Ok(response)
}

pub(super) async fn upload_part(
    app: &App,
    request: &mut S3Request<'_>,
    path: ObjectPath,
    upload_id: &str,
    part_number: u16,
) -> Result<Response<Body>, Failure> {
    let upload_id = parse_upload_id(upload_id)?;
    app.engine()
        .authorize(&request.principal, &path.bucket)
        .await?;
    let expectation = BodyExpectation::from_headers(
        request.headers(),
        &request.verified,
        app.config().limits.max_body_len_bytes,
        LengthRule::Required,
    )?;
    let (content, md5, checksums) = into_content(receive(app, request, expectation).await?);
    let summary = app
        .engine()
        .upload_part(
            &request.principal,
            &path,
            &upload_id,
            u32::from(part_number),
            NewPart {
                content,
                md5,
                checksums,
            },
            crate::clock::now_ms(),
        )
        .await?;
    let mut response = empty(StatusCode::OK);
    if let Ok(value) = HeaderValue::from_str(&summary.etag.to_string()) {
        response.headers_mut().insert(ETAG, value);
    }
    set_checksum_headers(&mut response, &summary.checksums, &summary.etag);
    Ok(response)
}

/// UploadPartCopy: the part's bytes are (a range of) a source object, read
/// under its copy-source conditions (C8); the upload's checksum is computed
/// over them (K5).
pub(super) async fn upload_part_copy(
    app: &App,
    request: &mut S3Request<'_>,
    path: ObjectPath,
    upload_id: &str,
    part_number: u16,
) -> Result<Response<Body>, Failure> {
    let upload_id = parse_upload_id(upload_id)?;
    let details = app
        .engine()
        .list_parts(&request.principal, &path, &upload_id)
        .await?;
    let range = headers::copy_source_range(request.headers())?;
    let source = copy_source_object(app, request).await?;
    let whole = super::content_bytes(&source);
    let bytes = match range {
        Some(range) => {
            let range = range.resolve(whole.len() as u64)?;
            whole.slice(range.start as usize..=range.end_inclusive as usize)
        }
        None => whole,
    };
    let mut algorithms = vec![ChecksumAlgorithm::Md5];
    algorithms.extend(details.upload.checksum_algorithm);
    let mut hasher = MultiHasher::new(&algorithms);
    hasher.update(&bytes);
    let digests = hasher.finalize();
    let md5 = digests
        .get(ChecksumAlgorithm::Md5)
        .and_then(|md5| <[u8; 16]>::try_from(md5.as_bytes()).ok())
        .ok_or_else(|| Failure::internal("MD5 was not computed"))?;
    let checksums: Digests = digests
        .iter()
        .filter(|digest| digest.algorithm() != ChecksumAlgorithm::Md5)
        .copied()
        .collect();
    let checksum_element = checksums.iter().find_map(ChecksumElement::from_digest);
    let summary = app
        .engine()
        .upload_part(
            &request.principal,
            &path,
            &upload_id,
            u32::from(part_number),
            NewPart {
                content: bytes.to_vec().into(),
                md5,
                checksums,
            },
            crate::clock::now_ms(),
        )
        .await?;
    Ok(xml_ok(&CopyPartResult {
        xmlns: xml::S3_XMLNS,
        last_modified_ms: summary.uploaded_ms,
        etag: summary.etag,
        checksum: checksum_element,
    }))
}

pub(super) async fn list_parts(
    app: &App,
    request: &mut S3Request<'_>,
    path: ObjectPath,
    upload_id: &str,
    params: ListPartsParams,
) -> Result<Response<Body>, Failure> {
    let upload_id = parse_upload_id(upload_id)?;
    let UploadDetails { upload, parts } = app
        .engine()
        .list_parts(&request.principal, &path, &upload_id)
        .await?;
    let after_marker: Vec<_> = parts
        .into_iter()
        .filter(|part| part.part_number > u32::from(params.part_number_marker))
        .collect();
    let max_parts = params.max_parts as usize;
    let is_truncated = after_marker.len() > max_parts;
    let listed: Vec<_> = after_marker.into_iter().take(max_parts).collect();
    let next_part_number_marker = listed
        .last()
        .and_then(|part| u16::try_from(part.part_number).ok())
        .unwrap_or(0);
    let initiator = owner(&upload.initiator);
    Ok(xml_ok(&ListPartsResult {
        xmlns: xml::S3_XMLNS,
        bucket: path.bucket.as_str().to_string(),
        key: path.key.as_str().to_string(),
        upload_id: upload_id.to_string(),
        initiator: initiator.clone(),
        owner: initiator,
        storage_class: StorageClass::Standard,
        part_number_marker: params.part_number_marker,
        next_part_number_marker,
        max_parts: params.max_parts,
        is_truncated,
        parts: listed
            .into_iter()
            .map(|part| PartEntry {
                part_number: u16::try_from(part.part_number).unwrap_or(u16::MAX),
                last_modified_ms: part.uploaded_ms,
                etag: part.etag,
                size_bytes: part.size_bytes,
                checksum: part.checksums.iter().find_map(ChecksumElement::from_digest),
            })
            .collect(),
    }))
}

pub(super) async fn list_uploads(
    app: &App,
    request: &mut S3Request<'_>,
    bucket: BucketName,
    params: ListUploadsParams,
) -> Result<Response<Body>, Failure> {
    let uploads = app
        .engine()
        .list_uploads(&request.principal, &bucket)
        .await?;
    let key_marker = params.key_marker.as_str();
    let upload_id_marker = params.upload_id_marker.as_str();
    // Sorted by key, then upload id (the engine's order); resume after the
    // markers as S3 does: past the key, or past the upload id within it.
    let remaining: Vec<(String, UploadSummary)> = uploads
        .into_iter()
        .filter(|upload| upload.path.key.as_str().starts_with(&params.prefix))
        .filter(|upload| {
            let key = upload.path.key.as_str();
            key_marker.is_empty()
                || key > key_marker
                || (key == key_marker
                    && !upload_id_marker.is_empty()
                    && upload.upload_id.to_string().as_str() > upload_id_marker)
        })
        .map(|upload| (upload.path.key.as_str().to_string(), upload))
        .collect();
    let page = collect_page(
        &params.prefix,
        params.delimiter.as_deref(),
        None,
        params.max_uploads as usize,
        |after: Option<String>| {
            let batch: Vec<(String, UploadSummary)> = remaining
                .iter()
                .filter(|(key, _)| after.as_deref().is_none_or(|after| key.as_str() > after))
                .cloned()
                .collect();
            async move { Ok::<_, Failure>((batch, false)) }
        },
    )
    .await?;
    let (next_key_marker, next_upload_id_marker) = match (&page.last_returned, page.objects.last())
    {
        (Some(last), Some((key, upload))) if last == key => {
            (key.clone(), upload.upload_id.to_string())
        }
        (Some(last), _) => (last.clone(), String::new()),
        (None, _) => (String::new(), String::new()),
    };
    Ok(xml_ok(&ListMultipartUploadsResult {
        xmlns: xml::S3_XMLNS,
        bucket: bucket.as_str().to_string(),
        key_marker: params.key_marker.clone(),
        upload_id_marker: params.upload_id_marker.clone(),
        next_key_marker,
        next_upload_id_marker,
        prefix: Some(params.prefix.clone()).filter(|prefix| !prefix.is_empty()),
        delimiter: params.delimiter.clone(),
        max_uploads: params.max_uploads,
        encoding_type: params.encoding_type,
        is_truncated: page.is_truncated,
        uploads: page
            .objects
            .into_iter()
            .map(|(key, upload)| UploadEntry {
                key,
                upload_id: upload.upload_id.to_string(),
                initiator: owner(&upload.initiator),
                owner: owner(&upload.initiator),
                storage_class: StorageClass::Standard,
                initiated_ms: upload.initiated_ms,
            })
            .collect(),
        common_prefixes: page
            .common_prefixes
            .into_iter()
            .map(|prefix| xml::CommonPrefix { prefix })
            .collect(),
    }))
}

/// The multipart checksum the completion will give the object (K5),
/// computed from the parts as uploaded. The engine checks that each listed
/// part is the uploaded one (ETag, i.e. MD5, and any listed checksum), so
/// these are the parts it will concatenate.
fn expected_multipart_checksum(
    details: &UploadDetails,
    parts: &[CompletedPart],
) -> Option<MultipartChecksum> {
    let algorithm = details.upload.checksum_algorithm?;
    let part_checksums: Option<Vec<PartChecksum>> = parts
        .iter()
        .map(|wanted| {
            let part = details
                .parts
                .iter()
                .find(|part| part.part_number == wanted.part_number && part.etag == wanted.etag)?;
            Some(PartChecksum {
                digest: *part.checksums.get(algorithm)?,
                len_bytes: part.size_bytes,
            })
        })
        .collect();
    multipart_checksum(algorithm, &part_checksums?).ok()
}

/// What makes a retried completion "the same request" (I2): the upload and
/// its part list, hashed.
fn completion_digest(
    upload_id: &UploadId,
    parts: &[CompletedPart],
) -> lockwell_core::checksum::Digest {
    let mut canonical = format!("{upload_id}\n");
    for part in parts {
        let _ = write!(canonical, "{} {}", part.part_number, part.etag.as_str());
        for checksum in part.checksums.iter() {
            let _ = write!(
                canonical,
                " {}:{}",
                checksum.algorithm().name(),
                checksum.to_base64()
            );
        }
        canonical.push('\n');
    }
    digest(ChecksumAlgorithm::Sha256, canonical.as_bytes())
}

pub(super) async fn complete_upload(
    app: &App,
    request: &mut S3Request<'_>,
    path: ObjectPath,
    upload_id: &str,
) -> Result<Response<Body>, Failure> {
    let upload_id = parse_upload_id(upload_id)?;
    let conditions = headers::write_conditions(request.headers())?;
    let expected_checksum = headers::checksum_headers(request.headers())?.supplied;
    let body = read_xml_body(app, request).await?;
    let parts: Vec<CompletedPart> = xml::parse_complete_multipart_upload(&body)?
        .into_iter()
        .map(|part| CompletedPart {
            part_number: u32::from(part.part_number),
            etag: part.etag,
            checksums: part.checksum.into_iter().collect(),
        })
        .collect();
    let proof = Ok(Some(completion_digest(&upload_id, &parts)));
    let pending = match start_write(app, request, &path, conditions, proof).await? {
        WriteStart::Proceed(pending) => pending,
        WriteStart::Replay(outcome) => {
            return outcome
                .map(|committed| completion_response(request, &path, &committed, None))
                .map_err(Failure::from);
        }
    };
    let details = app
        .engine()
        .list_parts(&request.principal, &path, &upload_id)
        .await?;
    let checksum = expected_multipart_checksum(&details, &parts);
    // K2 for the whole object: a supplied full-object checksum must be the
    // one the parts combine to, before anything is committed.
    if let Some(expected) = expected_checksum {
        let matches = matches!(
            checksum,
            Some(MultipartChecksum::FullObject(computed)) if computed == expected
        );
        if !matches {
            return Err(ProtoError::new(
                S3ErrorCode::BadDigest,
                format!(
                    "The {} you specified did not match the calculated checksum.",
                    expected.algorithm().name().to_ascii_uppercase()
                ),
            )
            .into());
        }
    }
    let committed = app
        .engine()
        .complete_upload(
            &request.principal,
            &path,
            &upload_id,
            &parts,
            pending.commit_mode(),
            crate::clock::now_ms(),
        )
        .await??;
    Ok(completion_response(
        request,
        &path,
        &committed,
        checksum.as_ref(),
    ))
}

fn completion_response(
    request: &S3Request<'_>,
    path: &ObjectPath,
    committed: &Committed,
    checksum: Option<&MultipartChecksum>,
) -> Response<Body> {
    let host = request
        .headers()
        .get(HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or("localhost");
    let mut response = xml_ok(&CompleteMultipartUploadResult {
        xmlns: xml::S3_XMLNS,
        location: format!(
            "http://{host}/{}/{}",
            path.bucket.as_str(),
            path.key.as_str()
        ),
        bucket: path.bucket.as_str().to_string(),
        key: path.key.as_str().to_string(),
        etag: committed.etag.clone(),
        checksum: checksum.and_then(ChecksumElement::from_multipart),
        checksum_type: checksum.map(|checksum| checksum.checksum_type().s3_name()),
    });
    if let Ok(value) = HeaderValue::from_str(&committed.etag.to_string()) {
        response.headers_mut().insert(ETAG, value);
    }
    response
}

pub(super) async fn abort_upload(
    app: &App,
    request: &mut S3Request<'_>,
    path: ObjectPath,
    upload_id: &str,
) -> Result<Response<Body>, Failure> {
    let upload_id = parse_upload_id(upload_id)?;
    app.engine()
        .abort_upload(&request.principal, &path, &upload_id)
        .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

#[cfg(test)]
mod tests {
    use super::*;

    use lockwell_core::ETag;
    use lockwell_core::checksum::MultipartChecksumType;

    #[test]
    fn i2_completion_digest_tells_part_lists_apart() {
        let upload = UploadId::parse("00000000000000010000000000000002").unwrap();
        let other_upload = UploadId::parse("00000000000000010000000000000003").unwrap();
        let part = |number: u32, content: &[u8]| CompletedPart {
            part_number: number,
            etag: ETag::of_content(content),
            checksums: Digests::default(),
        };
        let base = completion_digest(&upload, &[part(1, b"a"), part(2, b"b")]);
        assert_eq!(
            base,
            completion_digest(&upload, &[part(1, b"a"), part(2, b"b")])
        );
        assert_ne!(
            base,
            completion_digest(&other_upload, &[part(1, b"a"), part(2, b"b")])
        );
        assert_ne!(
            base,
            completion_digest(&upload, &[part(1, b"a"), part(2, b"c")])
        );
        assert_ne!(base, completion_digest(&upload, &[part(1, b"a")]));
    }

    #[test]
    fn k5_expected_checksum_combines_the_listed_parts() {
        let contents: [&[u8]; 2] = [b"first part", b"second"];
        let details = UploadDetails {
            upload: UploadSummary {
                upload_id: UploadId::parse("00000000000000010000000000000002").unwrap(),
                path: ObjectPath::new(
                    BucketName::parse("bucket").unwrap(),
                    lockwell_core::ObjectKey::parse("k").unwrap(),
                ),
                initiator: lockwell_core::idempotency::Principal::new("alice"),
                initiated_ms: 0,
                checksum_algorithm: Some(ChecksumAlgorithm::Crc32),
            },
            parts: contents
                .iter()
                .zip(1..)
                .map(|(content, number)| crate::engine::PartSummary {
                    part_number: number,
                    etag: ETag::of_content(content),
                    size_bytes: content.len() as u64,
                    checksums: std::iter::once(digest(ChecksumAlgorithm::Crc32, content)).collect(),
                    uploaded_ms: 0,
                })
                .collect(),
        };
        let listed: Vec<CompletedPart> = contents
            .iter()
            .zip(1..)
            .map(|(content, number)| CompletedPart {
                part_number: number,
                etag: ETag::of_content(content),
                checksums: Digests::default(),
            })
            .collect();
        let whole = [contents[0], contents[1]].concat();
        assert_eq!(
            expected_multipart_checksum(&details, &listed),
            Some(MultipartChecksum::FullObject(digest(
                ChecksumAlgorithm::Crc32,
                &whole
            )))
        );
        let mut wrong_etag = listed.clone();
        wrong_etag[1].etag = ETag::of_content(b"other");
        assert_eq!(expected_multipart_checksum(&details, &wrong_etag), None);
        assert_eq!(MultipartChecksumType::FullObject.s3_name(), "FULL_OBJECT");
    }
}
