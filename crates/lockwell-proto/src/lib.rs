//! Sans-I/O wire formats of Lockwell's S3 API.
//!
//! Everything between the bytes a socket delivers and the typed requests the
//! server acts on, and back: request routing ([`route`]), header parsing
//! ([`headers`]), XML bodies ([`xml`]), the aws-chunked body decoder
//! ([`chunked`]) and AWS Signature Version 4 ([`sigv4`]), which the server's
//! verifier and the client's signer share.
//!
//! No I/O and no clocks: every parser is a plain function of bytes or
//! strings, none panics on any input, and each bounds the memory it uses
//! with a named limit. Errors are a [`ProtoError`]: an AWS error code, its
//! HTTP status, and a message.
//!
//! The parsers a fuzz target drives, one call each:
//! - [`route::Router::route`] (method, host, path, query);
//! - [`headers::parse_range`], [`headers::parse_copy_source`],
//!   [`headers::parse_copy_source_range`], [`headers::parse_content_md5`],
//!   and the `HeaderMap` functions of [`headers`];
//! - [`xml::parse_delete`], [`xml::parse_complete_multipart_upload`],
//!   [`xml::parse_create_bucket_configuration`];
//! - [`chunked::ChunkedDecoder::decode`] fed arbitrary bytes;
//! - [`sigv4::verify`] with arbitrary headers and query;
//! - [`sigv4::ContentSha256::parse`], [`time::parse_amz_date`].
//!
//! The native API's wire format ([`native`]: routes, JSON bodies, bearer
//! tokens) lives beside the S3 one.
pub mod chunked;
pub mod error;
pub mod headers;
pub mod native;
pub mod route;
pub mod sigv4;
pub mod time;
pub mod xml;

pub use error::{ProtoError, S3ErrorCode};
