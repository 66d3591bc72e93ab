//! Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
//! GetBucketLocation, GetBucketVersioning. Buckets belong to the principal
//! that created them (SPEC A3).

use http::header::LOCATION;
use http::{HeaderValue, Response, StatusCode};
use lockwell_core::BucketName;
use lockwell_proto::xml::{
    self, BucketEntry, Buckets, ListAllMyBucketsResult, LocationConstraint, VersioningConfiguration,
};
use lockwell_proto::{ProtoError, S3ErrorCode};

use super::{owner, read_xml_body};
use crate::engine::EngineError;
use crate::http::response::{Body, Failure, empty, set_header, xml_ok};
use crate::http::service::{App, S3Request};

pub(super) async fn list_buckets(
    app: &App,
    request: &mut S3Request<'_>,
) -> Result<Response<Body>, Failure> {
    let buckets = app.engine().list_buckets(&request.principal).await?;
    Ok(xml_ok(&ListAllMyBucketsResult {
        xmlns: xml::S3_XMLNS,
        owner: owner(&request.principal),
        buckets: Buckets {
            buckets: buckets
                .into_iter()
                .map(|bucket| BucketEntry {
                    name: bucket.name.as_str().to_string(),
                    creation_date_ms: bucket.created_ms,
                })
                .collect(),
        },
    }))
}

pub(super) async fn create_bucket(
    app: &App,
    request: &mut S3Request<'_>,
    bucket: BucketName,
) -> Result<Response<Body>, Failure> {
    let body = read_xml_body(app, request).await?;
    let region = &app.config().region;
    // A configuration naming no region means us-east-1, as in AWS.
    let requested = xml::parse_create_bucket_configuration(&body)?;
    let requested_region = requested
        .as_deref()
        .unwrap_or(super::super::config::DEFAULT_REGION);
    if requested_region != region {
        return Err(ProtoError::new(
            S3ErrorCode::InvalidArgument,
            format!(
                "The specified location-constraint '{requested_region}' is not valid: this server \
                 serves region '{region}'"
            ),
        )
        .into());
    }
    match app
        .engine()
        .create_bucket(&request.principal, &bucket, crate::clock::now_ms())
        .await
    {
        // AWS answers a repeated CreateBucket by the owner with 200 in
        // us-east-1 (legacy behaviour clients rely on) and 409 elsewhere.
        Ok(()) => {}
        Err(EngineError::BucketAlreadyOwnedByYou(_))
            if region == super::super::config::DEFAULT_REGION => {}
        Err(error) => return Err(error.into()),
    }
    let mut response = empty(StatusCode::OK);
    if let Ok(location) = HeaderValue::from_str(&format!("/{}", bucket.as_str())) {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

pub(super) async fn head_bucket(
    app: &App,
    request: &mut S3Request<'_>,
    bucket: BucketName,
) -> Result<Response<Body>, Failure> {
    app.engine()
        .head_bucket(&request.principal, &bucket)
        .await?;
    let mut response = empty(StatusCode::OK);
    set_header(&mut response, "x-amz-bucket-region", &app.config().region);
    Ok(response)
}

pub(super) async fn delete_bucket(
    app: &App,
    request: &mut S3Request<'_>,
    bucket: BucketName,
) -> Result<Response<Body>, Failure> {
    app.engine()
        .delete_bucket(&request.principal, &bucket)
        .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub(super) async fn get_bucket_location(
    app: &App,
    request: &mut S3Request<'_>,
    bucket: BucketName,
) -> Result<Response<Body>, Failure> {
    app.engine().authorize(&request.principal, &bucket).await?;
    Ok(xml_ok(&LocationConstraint::for_region(
        &app.config().region,
    )))
}

/// Buckets are never versioned: the empty configuration of a bucket whose
/// versioning was never enabled.
pub(super) async fn get_bucket_versioning(
    app: &App,
    request: &mut S3Request<'_>,
    bucket: BucketName,
) -> Result<Response<Body>, Failure> {
    app.engine().authorize(&request.principal, &bucket).await?;
    Ok(xml_ok(&VersioningConfiguration::default()))
}
