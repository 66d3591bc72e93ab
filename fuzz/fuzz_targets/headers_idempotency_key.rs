//! The `Idempotency-Key` header (SPEC I1) and lockwell-core's
//! `IdempotencyKey::parse` behind it.
//!
//! Invariants: an accepted key is 1..=`MAX_IDEMPOTENCY_KEY_LEN_BYTES`
//! visible ASCII characters, kept exactly as sent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lockwell_core::idempotency::{IdempotencyKey, MAX_IDEMPOTENCY_KEY_LEN_BYTES};
use lockwell_fuzz::{FuzzHeader, header_map, with_common_headers};
use lockwell_proto::headers::idempotency_key;

fn check_key(key: &IdempotencyKey) {
    let text = key.as_str();
    assert!(
        (1..=MAX_IDEMPOTENCY_KEY_LEN_BYTES).contains(&text.len()),
        "{} bytes",
        text.len()
    );
    assert!(text.bytes().all(|byte| byte.is_ascii_graphic()), "{text:?}");
}

fuzz_target!(|headers: Vec<FuzzHeader>| {
    let map = header_map(&with_common_headers(&["idempotency-key"]), &headers);
    if let Ok(Some(key)) = idempotency_key(&map) {
        check_key(&key);
        let sent = map
            .get("idempotency-key")
            .and_then(|value| value.to_str().ok());
        assert_eq!(Some(key.as_str()), sent);
        assert_eq!(map.get_all("idempotency-key").iter().count(), 1);
    }
    for header in &headers {
        if let Ok(text) = std::str::from_utf8(&header.value)
            && let Ok(key) = IdempotencyKey::parse(text)
        {
            check_key(&key);
            assert_eq!(key.as_str(), text);
        }
    }
});
