"""Bucket operations, listings (v1, v2, versions), the multipart bookkeeping
calls, and 501 for what the server does not implement: the S3 surface that
tools such as the AWS CLI, rclone and s3fs use around the SPEC rules."""

from __future__ import annotations

import pytest

from conftest import create_bucket, empty_and_delete_bucket
from s3support import assert_absent, expect_error, multipart_etag, run_concurrently, unique_name


def test_bucket_create_head_list_delete(endpoint, s3):
    name = unique_name("lifecycle")
    create_bucket(s3, endpoint, name)
    try:
        assert s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert name in [entry["Name"] for entry in s3.list_buckets()["Buckets"]]
    finally:
        s3.delete_bucket(Bucket=name)
    with expect_error(404):
        s3.head_bucket(Bucket=name)
    assert name not in [entry["Name"] for entry in s3.list_buckets()["Buckets"]]


def test_missing_bucket_is_404_no_such_bucket(s3):
    name = unique_name("never-created")
    with expect_error(404, "NoSuchBucket"):
        s3.get_object(Bucket=name, Key="k")
    with expect_error(404, "NoSuchBucket"):
        s3.list_objects_v2(Bucket=name)


def test_deleting_a_non_empty_bucket_is_409_bucket_not_empty(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"keeps the bucket alive")
    with expect_error(409, "BucketNotEmpty"):
        s3.delete_bucket(Bucket=bucket)
    assert s3.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_get_bucket_location_names_the_region(endpoint, s3, bucket):
    location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint")
    # S3 reports us-east-1 as an empty LocationConstraint.
    assert location == (None if endpoint.region == "us-east-1" else endpoint.region)


def test_get_bucket_versioning_says_never_versioned(s3, bucket):
    versioning = s3.get_bucket_versioning(Bucket=bucket)
    assert "Status" not in versioning
    assert versioning["ResponseMetadata"]["HTTPStatusCode"] == 200


TREE = ["a/1", "a/2", "a/b/3", "b/1", "c", "d/"]

# (case, list arguments, expected keys, expected common prefixes)
LISTINGS = [
    ("everything", {}, TREE, []),
    ("top_level_with_delimiter", {"Delimiter": "/"}, ["c"], ["a/", "b/", "d/"]),
    ("prefix_with_delimiter", {"Prefix": "a/", "Delimiter": "/"}, ["a/1", "a/2"], ["a/b/"]),
    ("prefix_without_delimiter", {"Prefix": "a/"}, ["a/1", "a/2", "a/b/3"], []),
    ("prefix_matching_nothing", {"Prefix": "z"}, [], []),
]


def put_tree(s3, bucket):
    for key in TREE:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())


@pytest.fixture(scope="module")
def tree_bucket(endpoint, clients):
    """One bucket holding TREE, shared by the read-only listing tests."""
    s3 = clients.new()
    name = unique_name("listing-tree")
    create_bucket(s3, endpoint, name)
    put_tree(s3, name)
    yield name
    empty_and_delete_bucket(s3, name)


def collect(pages) -> tuple[list[str], list[str], int]:
    keys, prefixes, page_count = [], [], 0
    for page in pages:
        page_count += 1
        keys += [entry["Key"] for entry in page.get("Contents", [])]
        prefixes += [entry["Prefix"] for entry in page.get("CommonPrefixes", [])]
    return keys, prefixes, page_count


MOTO_V1_DELIMITER_PAGING = pytest.mark.peer_deviation(
    moto="ListObjects (v1) with a delimiter mispages: MaxKeys ignored or common prefixes repeated"
)


def listing_params():
    for max_keys, size_id in ((1000, "one_page"), (2, "pages_of_2"), (1, "pages_of_1")):
        for case, args, keys, prefixes in LISTINGS:
            for operation in ("list_objects", "list_objects_v2"):
                truncated = len(keys) + len(prefixes) > max_keys
                moto_bug = operation == "list_objects" and "Delimiter" in args and truncated
                marks = [MOTO_V1_DELIMITER_PAGING] if moto_bug else []
                yield pytest.param(
                    operation, args, keys, prefixes, max_keys, id=f"{size_id}-{case}-{operation}", marks=marks
                )


@pytest.mark.parametrize("operation,args,keys,prefixes,max_keys", list(listing_params()))
def test_listing_prefix_delimiter_and_pagination(s3, tree_bucket, operation, args, keys, prefixes, max_keys):
    """Every page size gives the same sorted keys and common prefixes; a
    page holds at most MaxKeys entries, counting common prefixes."""
    pages = list(
        s3.get_paginator(operation).paginate(
            Bucket=tree_bucket, PaginationConfig={"PageSize": max_keys}, **args
        )
    )
    got_keys, got_prefixes, page_count = collect(pages)
    assert (got_keys, got_prefixes) == (keys, prefixes)
    entries = len(keys) + len(prefixes)
    assert page_count == max(1, -(-entries // max_keys))
    for page in pages[:-1]:
        assert page["IsTruncated"] is True
    assert pages[-1]["IsTruncated"] is False


def test_list_objects_v2_start_after_and_key_count(s3, tree_bucket):
    listed = s3.list_objects_v2(Bucket=tree_bucket, StartAfter="a/b/3")
    assert [entry["Key"] for entry in listed["Contents"]] == ["b/1", "c", "d/"]
    assert listed["KeyCount"] == 3


MANY_KEYS = 1001
PUT_THREADS = 8


def test_listing_more_than_1000_keys_pages_at_1000(clients, bucket):
    writers = [clients.new() for _ in range(PUT_THREADS)]
    keys = [f"key-{number:05d}" for number in range(MANY_KEYS)]

    def put_share(client, index):
        for key in keys[index::PUT_THREADS]:
            client.put_object(Bucket=bucket, Key=key, Body=b"")

    run_concurrently(writers, put_share)
    s3 = writers[0]
    for operation in ("list_objects", "list_objects_v2"):
        first = getattr(s3, operation)(Bucket=bucket)
        assert len(first["Contents"]) == 1000 and first["IsTruncated"] is True, operation
        listed, _, page_count = collect(s3.get_paginator(operation).paginate(Bucket=bucket))
        assert (listed, page_count) == (keys, 2), operation


def test_list_object_versions_lists_each_object_once_with_version_null(s3, tree_bucket):
    versions = s3.list_object_versions(Bucket=tree_bucket)
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in versions["Versions"]] == [
        (key, "null", True) for key in TREE
    ]
    assert versions.get("DeleteMarkers", []) == []


def test_delete_with_version_id_null_deletes_the_object(s3, bucket):
    put_tree(s3, bucket)
    s3.delete_object(Bucket=bucket, Key="c", VersionId="null")
    result = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "a/1", "VersionId": "null"}, {"Key": "a/2"}]}
    )
    assert sorted(entry["Key"] for entry in result["Deleted"]) == ["a/1", "a/2"]
    assert result.get("Errors", []) == []
    for key in ("c", "a/1", "a/2"):
        assert_absent(s3, bucket, key)
    assert [entry["Key"] for entry in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["a/b/3", "b/1", "d/"]


def test_empty_and_delete_bucket_the_way_tools_do(endpoint, s3):
    """List versions, delete them by VersionId, delete the bucket: what
    `aws s3 rb --force`-like tools and test harnesses do."""
    name = unique_name("emptied")
    create_bucket(s3, endpoint, name)
    for key in ("x", "y/z"):
        s3.put_object(Bucket=name, Key=key, Body=b"")
    versions = s3.list_object_versions(Bucket=name)["Versions"]
    s3.delete_objects(
        Bucket=name, Delete={"Objects": [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in versions]}
    )
    s3.delete_bucket(Bucket=name)
    with expect_error(404):
        s3.head_bucket(Bucket=name)


def test_multipart_uploads_are_listed_with_their_parts_until_aborted(s3, bucket):
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    part_etag = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"part")["ETag"]
    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("k", upload_id)]
    parts = s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in parts] == [(1, part_etag, 4)]
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    with expect_error(404, "NoSuchUpload"):
        s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)
    assert_absent(s3, bucket, "k")


def test_upload_part_copy_builds_an_object_from_a_source_range(s3, bucket):
    source = bytes(range(256)) * 64
    s3.put_object(Bucket=bucket, Key="src", Body=source)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    copied = s3.upload_part_copy(
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "src"},
        CopySourceRange="bytes=100-1099",
    )
    part_etag = copied["CopyPartResult"]["ETag"]
    result = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part_etag}]},
    )
    assert result["ETag"] == multipart_etag([source[100:1100]])
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == source[100:1100]


# (operation, arguments) the server does not implement.
UNIMPLEMENTED = [
    ("put_bucket_tagging", {"Tagging": {"TagSet": [{"Key": "team", "Value": "storage"}]}}),
    ("get_bucket_acl", {}),
]


@pytest.mark.peer_deviation(moto="implements these bucket APIs (Lockwell answers 501)")
@pytest.mark.parametrize("operation,args", UNIMPLEMENTED, ids=[case[0] for case in UNIMPLEMENTED])
def test_unimplemented_api_is_501_not_implemented(s3, bucket, operation, args):
    with expect_error(501, "NotImplemented"):
        getattr(s3, operation)(Bucket=bucket, **args)
    assert s3.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_bucket_fixture_cleanup_leaves_no_bucket_behind(endpoint, clients):
    """The cleanup every test relies on: objects and unfinished uploads go,
    then the bucket."""
    s3 = clients.new()
    name = unique_name("cleanup")
    create_bucket(s3, endpoint, name)
    s3.put_object(Bucket=name, Key="k", Body=b"")
    s3.create_multipart_upload(Bucket=name, Key="unfinished")
    empty_and_delete_bucket(s3, name)
    with expect_error(404):
        s3.head_bucket(Bucket=name)
