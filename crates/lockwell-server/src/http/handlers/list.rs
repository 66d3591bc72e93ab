//! ListObjects (v1), ListObjectsV2 and ListObjectVersions: prefix,
//! delimiter (CommonPrefixes), max-keys and pagination over the engine's
//! key-ordered pages.
//!
//! Continuation tokens are opaque to clients: base64 of the last key or
//! common prefix returned. Buckets are never versioned, so a version
//! listing shows every object once, with VersionId `null` and IsLatest
//! true, as AWS lists an unversioned bucket.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::Response;
use lockwell_core::store::ListQuery;
use lockwell_core::{BucketName, ObjectKey, ObjectVersion};
use lockwell_proto::route::{ListObjectsParams, ListObjectsV2Params, ListVersionsParams};
use lockwell_proto::xml::{
    self, CommonPrefix, EncodingType, ListObjectsResult, ListObjectsV2Result, ListVersionsResult,
    ObjectEntry, StorageClass, VersionEntry,
};
use lockwell_proto::{ProtoError, S3ErrorCode};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::{NULL_VERSION_ID, owner};
use crate::engine::EngineError;
use crate::http::response::{Body, Failure, xml_ok};
use crate::http::service::{App, S3Request};

/// Keys fetched from the engine per step; a listing takes as many steps as
/// its delimiter roll-ups need.
const ENGINE_PAGE_KEYS: usize = lockwell_core::store::MAX_LIST_KEYS;

/// `encoding-type=url`: everything but RFC 3986 unreserved characters and
/// `/` is percent-encoded (botocore decodes with `unquote_plus`, so `+`
/// must be encoded too).
const KEY_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// The greatest character: a key made of a common prefix and this sorts
/// after every key that starts with the prefix (UTF-8 orders like code
/// points), so listing after it skips the rolled-up keys.
const MAX_CHAR: char = char::MAX;

/// One listing page: objects and common prefixes in key order, counted
/// together against `max_keys`.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Page<T> {
    pub(super) objects: Vec<(String, T)>,
    pub(super) common_prefixes: Vec<String>,
    pub(super) is_truncated: bool,
    /// The last key or common prefix returned: where the next page starts.
    pub(super) last_returned: Option<String>,
}

/// Builds a page from key-ordered batches: `fetch(start_after)` returns
/// keys after `start_after` that start with `prefix`, and whether more
/// follow the batch.
pub(super) async fn collect_page<T, F, Fut>(
    prefix: &str,
    delimiter: Option<&str>,
    start_after: Option<String>,
    max_keys: usize,
    mut fetch: F,
) -> Result<Page<T>, Failure>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<(String, T)>, bool), Failure>>,
{
    let mut page = Page {
        objects: Vec::new(),
        common_prefixes: Vec::new(),
        is_truncated: false,
        last_returned: None,
    };
    let roll_up = |key: &str| -> Option<String> {
        let delimiter = delimiter.filter(|delimiter| !delimiter.is_empty())?;
        let rest = key.get(prefix.len()..)?;
        let at = rest.find(delimiter)?;
        Some(key[..prefix.len() + at + delimiter.len()].to_string())
    };
    // Resuming after a common prefix (a continuation token or marker that
    // names one) skips every key it rolled up, so no prefix repeats.
    let mut cursor = start_after.map(|after| match roll_up(&after) {
        Some(common_prefix) if common_prefix == after => {
            let mut skip_to = after;
            skip_to.push(MAX_CHAR);
            skip_to
        }
        _ => after,
    });
    'batches: loop {
        let (batch, more_follow) = fetch(cursor.clone()).await?;
        let batch_len = batch.len();
        for (key, value) in batch {
            let rolled_up = roll_up(&key);
            if page.objects.len() + page.common_prefixes.len() >= max_keys {
                page.is_truncated = true;
                break 'batches;
            }
            match rolled_up {
                Some(common_prefix) => {
                    // Skip every other key under this prefix: list on after
                    // the greatest key it could have.
                    let mut skip_to = common_prefix.clone();
                    skip_to.push(MAX_CHAR);
                    page.last_returned = Some(common_prefix.clone());
                    page.common_prefixes.push(common_prefix);
                    cursor = Some(skip_to);
                    continue 'batches;
                }
                None => {
                    page.last_returned = Some(key.clone());
                    cursor = Some(key.clone());
                    page.objects.push((key, value));
                }
            }
        }
        if !more_follow || batch_len == 0 {
            break;
        }
    }
    Ok(page)
}

/// The engine's listing as batches for [`collect_page`].
async fn engine_page(
    app: &App,
    request: &S3Request<'_>,
    bucket: &BucketName,
    prefix: &str,
    delimiter: Option<&str>,
    start_after: Option<String>,
    max_keys: u32,
) -> Result<Page<Arc<ObjectVersion>>, Failure> {
    collect_page(
        prefix,
        delimiter,
        start_after,
        max_keys as usize,
        |start_after| async move {
            let listing = app
                .engine()
                .list_objects(
                    &request.principal,
                    bucket,
                    &ListQuery {
                        prefix: prefix.to_string(),
                        start_after,
                        max_keys: ENGINE_PAGE_KEYS,
                    },
                )
                .await
                .map_err(Failure::from)?;
            let entries = listing
                .entries
                .into_iter()
                .map(|(key, version): (ObjectKey, Arc<ObjectVersion>)| {
                    (key.as_str().to_string(), version)
                })
                .collect();
            Ok::<_, Failure>((entries, listing.is_truncated))
        },
    )
    .await
}

fn encode(text: &str, encoding: Option<EncodingType>) -> String {
    match encoding {
        Some(EncodingType::Url) => utf8_percent_encode(text, KEY_ENCODE_SET).to_string(),
        _ => text.to_string(),
    }
}

fn encode_prefixes(prefixes: Vec<String>, encoding: Option<EncodingType>) -> Vec<CommonPrefix> {
    prefixes
        .into_iter()
        .map(|prefix| CommonPrefix {
            prefix: encode(&prefix, encoding),
        })
        .collect()
}

fn entries(
    objects: Vec<(String, Arc<ObjectVersion>)>,
    encoding: Option<EncodingType>,
    object_owner: Option<&xml::Owner>,
) -> Vec<ObjectEntry> {
    objects
        .into_iter()
        .map(|(key, version)| ObjectEntry {
            key: encode(&key, encoding),
            last_modified_ms: version.last_modified_ms,
            etag: version.etag.clone(),
            size_bytes: version.content_len_bytes() as u64,
            storage_class: StorageClass::Standard,
            owner: object_owner.cloned(),
        })
        .collect()
}

/// The bucket must be the principal's even when the listing is empty.
async fn authorize(
    app: &App,
    request: &S3Request<'_>,
    bucket: &BucketName,
) -> Result<(), EngineError> {
    app.engine().authorize(&request.principal, bucket).await
}

pub(super) async fn list_objects_v1(
    app: &App,
    request: &mut S3Request<'_>,
    bucket: BucketName,
    params: ListObjectsParams,
) -> Result<Response<Body>, Failure> {
    authorize(app, request, &bucket).await?;
    let start_after = Some(params.marker.clone()).filter(|marker| !marker.is_empty());
    let page = engine_page(
        app,
        request,
        &bucket,
        &params.prefix,
        params.delimiter.as_deref(),
        start_after,
        params.max_keys,
    )
    .await?;
    let encoding = params.encoding_type;
    // S3 gives NextMarker only with a delimiter; without one the client
    // continues from the last key listed.
    let next_marker = page
        .last_returned
        .filter(|_| page.is_truncated && params.delimiter.is_some())
        .map(|marker| encode(&marker, encoding));
    Ok(xml_ok(&ListObjectsResult {
        xmlns: xml::S3_XMLNS,
        name: bucket.as_str().to_string(),
        prefix: encode(&params.prefix, encoding),
        marker: encode(&params.marker, encoding),
        next_marker,
        max_keys: params.max_keys,
        delimiter: params
            .delimiter
            .map(|delimiter| encode(&delimiter, encoding)),
        encoding_type: encoding,
        is_truncated: page.is_truncated,
        contents: entries(page.objects, encoding, Some(&owner(&request.principal))),
        common_prefixes: encode_prefixes(page.common_prefixes, encoding),
    }))
}

fn continuation_token(last_returned: &str) -> String {
    BASE64.encode(last_returned.as_bytes())
}

fn decode_continuation_token(token: &str) -> Result<String, ProtoError> {
    BASE64
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            ProtoError::new(
                S3ErrorCode::InvalidArgument,
                "The continuation token provided is incorrect",
            )
        })
}

pub(super) async fn list_objects_v2(
    app: &App,
    request: &mut S3Request<'_>,
    bucket: BucketName,
    params: ListObjectsV2Params,
) -> Result<Response<Body>, Failure> {
    authorize(app, request, &bucket).await?;
    let start_after = match &params.continuation_token {
        Some(token) => Some(decode_continuation_token(token)?),
        None => params.start_after.clone(),
    };
    let page = engine_page(
        app,
        request,
        &bucket,
        &params.prefix,
        params.delimiter.as_deref(),
        start_after,
        params.max_keys,
    )
    .await?;
    let encoding = params.encoding_type;
    let key_count = (page.objects.len() + page.common_prefixes.len()) as u32;
    let next_continuation_token = page
        .last_returned
        .as_deref()
        .filter(|_| page.is_truncated)
        .map(continuation_token);
    let object_owner = params.fetch_owner.then(|| owner(&request.principal));
    Ok(xml_ok(&ListObjectsV2Result {
        xmlns: xml::S3_XMLNS,
        name: bucket.as_str().to_string(),
        prefix: encode(&params.prefix, encoding),
        start_after: params
            .start_after
            .map(|start_after| encode(&start_after, encoding)),
        continuation_token: params.continuation_token,
        next_continuation_token,
        key_count,
        max_keys: params.max_keys,
        delimiter: params
            .delimiter
            .map(|delimiter| encode(&delimiter, encoding)),
        encoding_type: encoding,
        is_truncated: page.is_truncated,
        contents: entries(page.objects, encoding, object_owner.as_ref()),
        common_prefixes: encode_prefixes(page.common_prefixes, encoding),
    }))
}

pub(super) async fn list_object_versions(
    app: &App,
    request: &mut S3Request<'_>,
    bucket: BucketName,
    params: ListVersionsParams,
) -> Result<Response<Body>, Failure> {
    authorize(app, request, &bucket).await?;
    // Each key has one version, `null`: a version-id-marker can only name
    // it, so listing resumes after the key marker either way.
    let start_after = Some(params.key_marker.clone()).filter(|marker| !marker.is_empty());
    let page = engine_page(
        app,
        request,
        &bucket,
        &params.prefix,
        params.delimiter.as_deref(),
        start_after,
        params.max_keys,
    )
    .await?;
    let encoding = params.encoding_type;
    let truncated_after = page.last_returned.filter(|_| page.is_truncated);
    let version_owner = owner(&request.principal);
    Ok(xml_ok(&ListVersionsResult {
        xmlns: xml::S3_XMLNS,
        name: bucket.as_str().to_string(),
        prefix: encode(&params.prefix, encoding),
        key_marker: encode(&params.key_marker, encoding),
        version_id_marker: params.version_id_marker,
        next_version_id_marker: truncated_after
            .as_ref()
            .map(|_| NULL_VERSION_ID.to_string()),
        next_key_marker: truncated_after.map(|marker| encode(&marker, encoding)),
        max_keys: params.max_keys,
        delimiter: params
            .delimiter
            .map(|delimiter| encode(&delimiter, encoding)),
        encoding_type: encoding,
        is_truncated: page.is_truncated,
        versions: page
            .objects
            .into_iter()
            .map(|(key, version)| VersionEntry {
                key: encode(&key, encoding),
                version_id: NULL_VERSION_ID.to_string(),
                is_latest: true,
                last_modified_ms: version.last_modified_ms,
                etag: version.etag.clone(),
                size_bytes: version.content_len_bytes() as u64,
                storage_class: StorageClass::Standard,
                owner: version_owner.clone(),
            })
            .collect(),
        common_prefixes: encode_prefixes(page.common_prefixes, encoding),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages over `keys` as the engine would: sorted, after `start_after`,
    /// under `prefix`, `batch` at a time.
    async fn page_of(
        keys: &[&str],
        prefix: &str,
        delimiter: Option<&str>,
        start_after: Option<&str>,
        max_keys: usize,
        batch: usize,
    ) -> Page<()> {
        let mut sorted: Vec<String> = keys.iter().map(|key| key.to_string()).collect();
        sorted.sort();
        collect_page(
            prefix,
            delimiter,
            start_after.map(str::to_string),
            max_keys,
            |after| {
                let matching: Vec<(String, ())> = sorted
                    .iter()
                    .filter(|key| key.starts_with(prefix))
                    .filter(|key| after.as_deref().is_none_or(|after| key.as_str() > after))
                    .map(|key| (key.clone(), ()))
                    .collect();
                let more = matching.len() > batch;
                let taken = matching.into_iter().take(batch).collect();
                async move { Ok::<_, Failure>((taken, more)) }
            },
        )
        .await
        .unwrap()
    }

    fn summary(page: &Page<()>) -> String {
        let objects: Vec<&str> = page.objects.iter().map(|(key, ())| key.as_str()).collect();
        format!(
            "objects={objects:?} prefixes={:?} truncated={} last={:?}",
            page.common_prefixes, page.is_truncated, page.last_returned
        )
    }

    const KEYS: &[&str] = &[
        "a.txt",
        "photos/2023/a.jpg",
        "photos/2023/b.jpg",
        "photos/2024/c.jpg",
        "photos/readme",
        "videos/x.mp4",
        "z",
    ];

    #[tokio::test]
    async fn delimiter_rolls_keys_up_and_counts_each_prefix_once() {
        /// (prefix, delimiter, start after, max keys, expected page).
        type Case<'a> = (&'a str, Option<&'a str>, Option<&'a str>, usize, &'a str);
        let cases: &[Case] = &[
            (
                "",
                None,
                None,
                1000,
                r#"objects=["a.txt", "photos/2023/a.jpg", "photos/2023/b.jpg", "photos/2024/c.jpg", "photos/readme", "videos/x.mp4", "z"] prefixes=[] truncated=false last=Some("z")"#,
            ),
            (
                "",
                Some("/"),
                None,
                1000,
                r#"objects=["a.txt", "z"] prefixes=["photos/", "videos/"] truncated=false last=Some("z")"#,
            ),
            (
                "photos/",
                Some("/"),
                None,
                1000,
                r#"objects=["photos/readme"] prefixes=["photos/2023/", "photos/2024/"] truncated=false last=Some("photos/readme")"#,
            ),
            (
                "",
                Some("/"),
                None,
                2,
                r#"objects=["a.txt"] prefixes=["photos/"] truncated=true last=Some("photos/")"#,
            ),
            (
                "",
                Some("/"),
                Some("photos/"),
                2,
                r#"objects=["z"] prefixes=["videos/"] truncated=false last=Some("z")"#,
            ),
            (
                "",
                Some("/"),
                Some("photos/2023/a.jpg"),
                2,
                r#"objects=[] prefixes=["photos/", "videos/"] truncated=true last=Some("videos/")"#,
            ),
            (
                "",
                Some("/"),
                Some("photos/\u{10FFFF}"),
                2,
                r#"objects=["z"] prefixes=["videos/"] truncated=false last=Some("z")"#,
            ),
            (
                "",
                None,
                Some("photos/readme"),
                2,
                r#"objects=["videos/x.mp4", "z"] prefixes=[] truncated=false last=Some("z")"#,
            ),
            (
                "",
                None,
                None,
                3,
                r#"objects=["a.txt", "photos/2023/a.jpg", "photos/2023/b.jpg"] prefixes=[] truncated=true last=Some("photos/2023/b.jpg")"#,
            ),
            (
                "nothing/",
                Some("/"),
                None,
                10,
                r#"objects=[] prefixes=[] truncated=false last=None"#,
            ),
            (
                "",
                Some("2023"),
                None,
                10,
                r#"objects=["a.txt", "photos/2024/c.jpg", "photos/readme", "videos/x.mp4", "z"] prefixes=["photos/2023"] truncated=false last=Some("z")"#,
            ),
        ];
        for batch in [1, 2, 1000] {
            for (prefix, delimiter, start_after, max_keys, expected) in cases {
                let page = page_of(KEYS, prefix, *delimiter, *start_after, *max_keys, batch).await;
                assert_eq!(
                    summary(&page),
                    *expected,
                    "prefix {prefix:?} delimiter {delimiter:?} after {start_after:?} max {max_keys} batch {batch}"
                );
            }
        }
    }

    #[test]
    fn url_encoding_leaves_unreserved_and_slash_and_encodes_plus_and_space() {
        assert_eq!(
            encode("a b+c/d~e%f", Some(EncodingType::Url)),
            "a%20b%2Bc/d~e%25f"
        );
        assert_eq!(encode("a b", None), "a b");
        assert_eq!(encode("é", Some(EncodingType::Url)), "%C3%A9");
    }

    #[test]
    fn continuation_tokens_round_trip_and_refuse_garbage() {
        let token = continuation_token("photos/2023/é");
        assert_eq!(
            decode_continuation_token(&token),
            Ok("photos/2023/é".to_string())
        );
        assert_eq!(
            decode_continuation_token("not base64!").map_err(|error| error.code),
            Err(S3ErrorCode::InvalidArgument)
        );
    }
}
