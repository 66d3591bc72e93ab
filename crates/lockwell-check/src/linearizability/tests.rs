use lockwell_core::ETag;

use super::*;
use crate::generate::{self, GeneratorConfig, failed, no_such_key, precondition_failed};
use crate::history::{Api, HISTORY_FORMAT, HISTORY_FORMAT_VERSION, HistoryHeader};

fn etag(value: &str) -> String {
    ETag::of_content(value.as_bytes()).to_string()
}

fn put(key: &str, value: &str, condition: Precondition) -> Request {
    Request::Put {
        key: key.to_owned(),
        value: value.to_owned(),
        condition,
        idempotency_key: None,
    }
}

fn keyed_put(key: &str, value: &str, idempotency_key: &str) -> Request {
    Request::Put {
        key: key.to_owned(),
        value: value.to_owned(),
        condition: Precondition::None,
        idempotency_key: Some(idempotency_key.to_owned()),
    }
}

fn get(key: &str) -> Request {
    Request::Get {
        key: key.to_owned(),
    }
}

fn delete(key: &str, condition: Precondition) -> Request {
    Request::Delete {
        key: key.to_owned(),
        condition,
    }
}

fn copy(
    source: &str,
    destination: &str,
    destination_condition: Precondition,
    source_if_match: Option<String>,
) -> Request {
    Request::Copy {
        source: source.to_owned(),
        destination: destination.to_owned(),
        destination_condition,
        source_if_match,
    }
}

fn if_match(value: &str) -> Precondition {
    Precondition::Matches { etag: etag(value) }
}

fn written(value: &str) -> Outcome {
    Outcome::Ok {
        result: OpResult::Written { etag: etag(value) },
    }
}

fn read(value: &str) -> Outcome {
    Outcome::Ok {
        result: OpResult::Read {
            value: value.to_owned(),
            etag: etag(value),
        },
    }
}

fn absent() -> Outcome {
    Outcome::Ok {
        result: OpResult::Absent,
    }
}

fn deleted() -> Outcome {
    Outcome::Ok {
        result: OpResult::Deleted,
    }
}

fn indeterminate() -> Outcome {
    Outcome::Indeterminate {
        reason: "timeout".to_owned(),
    }
}

/// (process, invoke_ns, complete_ns, request, outcome), in invocation
/// order.
type Row = (u32, u64, u64, Request, Outcome);

fn history(rows: Vec<Row>) -> History {
    let entries = rows
        .into_iter()
        .enumerate()
        .map(
            |(id, (process, invoke_ns, complete_ns, request, outcome))| Entry {
                id: id as u64,
                process,
                op_index: id as u32,
                api: Api::S3,
                invoke_ns,
                complete_ns,
                attempts: 1,
                retry_gaps_ns: Vec::new(),
                request,
                outcome,
            },
        )
        .collect();
    History {
        header: HistoryHeader {
            format: HISTORY_FORMAT.to_owned(),
            version: HISTORY_FORMAT_VERSION,
            workload: "hand-written".to_owned(),
            seed: 0,
            final_reader: None,
        },
        entries,
    }
}

/// The rules of the violations (empty: linearizable).
fn rules(history: &History) -> Vec<&'static str> {
    let report = check(history);
    assert!(report.unknown.is_empty(), "{report:#?}");
    report
        .violations
        .iter()
        .map(|violation| violation.rule)
        .collect()
}

/// `history` breaks exactly the rules `expected`, and the brute-force
/// checker agrees on whether it breaks any.
fn assert_rules(name: &str, history: &History, expected: &[&str]) {
    assert_eq!(rules(history), expected, "{name}");
    assert_eq!(
        brute_force::violated(history),
        !expected.is_empty(),
        "{name}: the brute-force checker disagrees"
    );
}

fn assert_cases(cases: Vec<(&str, Vec<Row>, &[&str])>) {
    for (name, rows, expected) in cases {
        assert_rules(name, &history(rows), expected);
    }
}

#[test]
fn c1_create_only_has_one_winner_and_412s_need_an_existing_key() {
    let create = |value| put("k", value, Precondition::Absent);
    assert_cases(vec![
        (
            "c1_one_winner_and_a_justified_412",
            vec![
                (0, 0, 10, create("a"), written("a")),
                (1, 1, 11, create("b"), precondition_failed()),
                (2, 20, 30, get("k"), read("a")),
            ],
            &[],
        ),
        (
            "c1_two_acknowledged_creators",
            vec![
                (0, 0, 10, create("a"), written("a")),
                (1, 1, 11, create("b"), written("b")),
            ],
            &["C1"],
        ),
        (
            "c1_412_while_the_key_is_absent",
            vec![
                (0, 0, 10, create("a"), precondition_failed()),
                (1, 20, 30, get("k"), absent()),
            ],
            &["C1"],
        ),
    ]);
}

#[test]
fn c2_if_match_needs_the_current_etag_and_404s_an_absent_key() {
    assert_cases(vec![
        (
            "c2_cas_on_the_current_etag",
            vec![
                (0, 0, 10, put("k", "a", Precondition::None), written("a")),
                (0, 20, 30, put("k", "b", if_match("a")), written("b")),
                (1, 40, 50, get("k"), read("b")),
            ],
            &[],
        ),
        (
            "c2_cas_acknowledged_on_a_stale_etag",
            vec![
                (0, 0, 10, put("k", "a", Precondition::None), written("a")),
                (1, 20, 30, put("k", "b", Precondition::None), written("b")),
                (0, 40, 50, put("k", "c", if_match("a")), written("c")),
            ],
            &["C2"],
        ),
        (
            "c2_if_match_on_an_absent_key_is_404",
            vec![(0, 0, 10, put("k", "a", if_match("z")), no_such_key())],
            &[],
        ),
        (
            "c2_404_while_the_key_exists",
            vec![
                (0, 0, 10, put("k", "a", Precondition::None), written("a")),
                (1, 20, 30, put("k", "b", if_match("a")), no_such_key()),
            ],
            &["C2"],
        ),
        (
            "c2_412_on_the_current_etag",
            vec![
                (0, 0, 10, put("k", "a", Precondition::None), written("a")),
                (
                    1,
                    20,
                    30,
                    put("k", "b", if_match("a")),
                    precondition_failed(),
                ),
            ],
            &["C2"],
        ),
    ]);
}

#[test]
fn c4_a_definitely_failed_write_never_takes_effect() {
    assert_cases(vec![
        (
            "c4_failed_write_seen_by_a_read",
            vec![
                (
                    0,
                    0,
                    10,
                    put("k", "a", Precondition::None),
                    failed(400, "BadDigest"),
                ),
                (1, 20, 30, get("k"), read("a")),
            ],
            &["C4"],
        ),
        (
            "c4_a_409_is_no_observation_and_no_effect",
            vec![
                (
                    0,
                    0,
                    10,
                    put("k", "a", Precondition::Absent),
                    failed(409, "ConditionalRequestConflict"),
                ),
                (1, 20, 30, get("k"), absent()),
            ],
            &[],
        ),
    ]);
}

/// A put whose answer never came, and none of whose attempts may have
/// acted (`attempts` of them), read back by a later get.
fn unanswered_put_then_read(attempts: u32) -> History {
    let mut history = history(vec![
        (0, 0, 10, put("k", "a", Precondition::None), indeterminate()),
        (1, 20, 30, get("k"), read("a")),
    ]);
    history.entries[0].attempts = attempts;
    history
}

#[test]
fn c4_an_indeterminate_request_that_never_left_the_client_takes_no_effect() {
    for (attempts, expected) in [(1, &[][..]), (2, &[][..]), (0, &["C4"][..])] {
        let history = unanswered_put_then_read(attempts);
        assert_rules(
            &format!("{attempts} attempts may have acted"),
            &history,
            expected,
        );
    }
}

#[test]
fn c6a_deletes_succeed_on_absent_keys_and_if_match_deletes_need_the_etag() {
    assert_cases(vec![
        (
            "c6a_unconditional_delete_of_an_absent_key_succeeds",
            vec![(0, 0, 10, delete("k", Precondition::None), deleted())],
            &[],
        ),
        (
            "c6a_if_match_delete_acknowledged_after_an_overwrite",
            vec![
                (0, 0, 10, put("k", "a", Precondition::None), written("a")),
                (1, 20, 30, put("k", "b", Precondition::None), written("b")),
                (0, 40, 50, delete("k", if_match("a")), deleted()),
            ],
            &["C6a"],
        ),
        (
            "c6a_if_match_delete_of_an_absent_key_is_404",
            vec![(0, 0, 10, delete("k", if_match("a")), no_such_key())],
            &[],
        ),
    ]);
}

/// A delete sent `attempts` times (its answer lost `attempts - 1` times,
/// R3, R4) while process 1 re-creates the key `recreations` times and
/// sees each new value go: one delete per send at most.
fn retried_delete(attempts: u32, recreations: usize) -> History {
    let mut rows = vec![
        (0, 0, 1, put("k", "v0", Precondition::None), written("v0")),
        (0, 2, 1_000, delete("k", Precondition::None), deleted()),
        (1, 3, 4, get("k"), absent()),
    ];
    let values: Vec<String> = (1..=recreations).map(|n| format!("v{n}")).collect();
    for (round, value) in (0u64..).zip(&values) {
        let at = 10 + 100 * round;
        rows.extend([
            (
                1,
                at,
                at + 10,
                put("k", value, Precondition::Absent),
                written(value),
            ),
            (1, at + 20, at + 30, get("k"), read(value)),
            (1, at + 40, at + 50, get("k"), absent()),
        ]);
    }
    let mut history = history(rows);
    history.entries[1].attempts = attempts;
    history
}

#[test]
fn c6a_r4_a_retried_delete_takes_effect_at_most_once_per_send() {
    for (attempts, recreations, expected) in [
        (1, 0, &[][..]),
        (1, 1, &["E4"][..]),
        (2, 1, &[]),
        (2, 2, &["E4"]),
        (3, 2, &[]),
        (3, 3, &["E4"]),
    ] {
        let history = retried_delete(attempts, recreations);
        let name = format!("{attempts} sends, {recreations} re-creations deleted");
        assert_rules(&name, &history, expected);
    }
}

#[test]
fn c7_c8_copies_check_both_sides_and_install_the_source_version() {
    let create_a = (0, 0, 10, put("a", "x", Precondition::None), written("x"));
    assert_cases(vec![
        (
            "c8_copy_installs_the_source_version_on_another_key",
            vec![
                create_a.clone(),
                (
                    1,
                    20,
                    30,
                    copy("a", "b", Precondition::Absent, Some(etag("x"))),
                    written("x"),
                ),
                (2, 40, 50, get("b"), read("x")),
            ],
            &[],
        ),
        (
            "c8_copy_acknowledged_on_a_stale_source_if_match",
            vec![
                create_a.clone(),
                (0, 20, 30, put("a", "y", Precondition::None), written("y")),
                (
                    1,
                    40,
                    50,
                    copy("a", "b", Precondition::None, Some(etag("x"))),
                    written("x"),
                ),
            ],
            &["C8"],
        ),
        (
            "c8_copy_from_an_absent_source_is_404",
            vec![(
                0,
                0,
                10,
                copy("a", "b", Precondition::None, None),
                no_such_key(),
            )],
            &[],
        ),
        (
            "c7_copy_onto_an_existing_destination_with_require_absent",
            vec![
                create_a,
                (0, 20, 30, put("b", "y", Precondition::None), written("y")),
                (
                    1,
                    40,
                    50,
                    copy("a", "b", Precondition::Absent, None),
                    written("x"),
                ),
            ],
            &["C7"],
        ),
    ]);
}

#[test]
fn e2_e4_reads_see_the_latest_acknowledged_version_with_its_etag() {
    assert_cases(vec![
        (
            "e4_read_after_an_acknowledged_write_sees_an_older_value",
            vec![
                (0, 0, 10, put("k", "a", Precondition::None), written("a")),
                (0, 20, 30, put("k", "b", Precondition::None), written("b")),
                (1, 40, 50, get("k"), read("a")),
            ],
            &["E4"],
        ),
        (
            "e4_concurrent_read_may_see_either",
            vec![
                (0, 0, 10, put("k", "a", Precondition::None), written("a")),
                (0, 20, 50, put("k", "b", Precondition::None), written("b")),
                (1, 30, 40, get("k"), read("a")),
            ],
            &[],
        ),
        (
            "e4_an_indeterminate_write_may_take_effect_after_its_completion",
            vec![
                (0, 0, 10, put("k", "a", Precondition::None), indeterminate()),
                (1, 20, 30, get("k"), absent()),
                (1, 40, 50, get("k"), read("a")),
            ],
            &[],
        ),
        (
            "e4_an_indeterminate_write_takes_effect_at_most_once",
            vec![
                (0, 0, 10, put("k", "a", Precondition::None), indeterminate()),
                (1, 20, 30, get("k"), read("a")),
                (1, 40, 50, put("k", "b", Precondition::None), written("b")),
                (1, 60, 70, get("k"), read("b")),
                (1, 80, 90, get("k"), read("a")),
            ],
            &["E4"],
        ),
        (
            "e2_put_acknowledged_with_another_etag",
            vec![(
                0,
                0,
                10,
                put("k", "a", Precondition::None),
                Outcome::Ok {
                    result: OpResult::Written { etag: etag("z") },
                },
            )],
            &["E2"],
        ),
        (
            "e2_multipart_etag_is_what_the_complete_answered",
            vec![
                (
                    0,
                    0,
                    10,
                    Request::CompleteMultipart {
                        key: "k".to_owned(),
                        value: "ab".to_owned(),
                        part_count: 2,
                        condition: Precondition::None,
                        idempotency_key: None,
                    },
                    Outcome::Ok {
                        result: OpResult::Written {
                            etag: "\"m-2\"".to_owned(),
                        },
                    },
                ),
                (
                    1,
                    20,
                    30,
                    get("k"),
                    Outcome::Ok {
                        result: OpResult::Read {
                            value: "ab".to_owned(),
                            etag: "\"m-2\"".to_owned(),
                        },
                    },
                ),
                (1, 40, 50, get("k"), read("ab")),
            ],
            &["E2"],
        ),
    ]);
}

#[test]
fn i1_i7_the_sends_of_one_idempotency_key_take_effect_once_and_replay_the_first_result() {
    assert_cases(vec![
        (
            "i1_a_replay_returns_the_stored_result_after_the_key_moved_on",
            vec![
                (0, 0, 10, keyed_put("k", "a", "i"), indeterminate()),
                (1, 20, 30, put("k", "b", Precondition::None), written("b")),
                (0, 40, 50, keyed_put("k", "a", "i"), written("a")),
                (1, 60, 70, get("k"), read("b")),
            ],
            &[],
        ),
        (
            "i1_the_sends_take_effect_once_so_a_later_read_of_the_value_is_stale",
            vec![
                (0, 0, 10, keyed_put("k", "a", "i"), indeterminate()),
                (1, 20, 30, get("k"), read("a")),
                (1, 40, 50, put("k", "b", Precondition::None), written("b")),
                (0, 60, 70, keyed_put("k", "a", "i"), written("a")),
                (1, 80, 90, get("k"), read("a")),
            ],
            &["E4"],
        ),
        (
            "i1_sends_acknowledged_with_different_etags",
            vec![
                (0, 0, 10, keyed_put("k", "a", "i"), written("a")),
                (
                    0,
                    20,
                    30,
                    keyed_put("k", "a", "i"),
                    Outcome::Ok {
                        result: OpResult::Written { etag: etag("b") },
                    },
                ),
            ],
            &["I1", "E2"],
        ),
        (
            "i7_a_replay_answers_412_after_a_success",
            vec![
                (0, 0, 10, keyed_put("k", "a", "i"), written("a")),
                (0, 20, 30, keyed_put("k", "a", "i"), precondition_failed()),
            ],
            &["I7"],
        ),
    ]);
}

#[test]
fn a_violation_names_its_window_and_draws_it() {
    let history = history(vec![
        (2, 0, 5, put("other", "z", Precondition::None), written("z")),
        (0, 0, 10, put("k", "a", Precondition::None), written("a")),
        (0, 20, 30, put("k", "b", Precondition::None), written("b")),
        (1, 40, 50, get("k"), read("a")),
        (1, 60, 70, get("k"), read("b")),
    ]);
    let report = check(&history);
    assert_eq!(report.verdict(), Verdict::Violated);
    let [violation] = &report.violations[..] else {
        panic!("{report:#?}");
    };
    assert_eq!(violation.keys, ["k"]);
    // The writers of what the stale read saw and of what it should have
    // seen stay: without them the read would fail for another reason.
    assert_eq!(violation.entries, [1, 2, 3], "{violation:#?}");
    let lines: Vec<&str> = violation.timeline.lines().collect();
    assert_eq!(lines.len(), 4, "{}", violation.timeline);
    assert!(
        lines[3].starts_with("*      3 p1"),
        "{}",
        violation.timeline
    );
    assert!(
        lines[3].contains("get k -> read \"a\""),
        "{}",
        violation.timeline
    );
}

#[test]
fn a_violation_names_the_state_it_met_in_words_even_when_nobody_observed_it() {
    let unobserved = history(vec![
        (0, 0, 10, put("k", "a", Precondition::Absent), written("a")),
        (1, 20, 30, put("k", "b", Precondition::Absent), written("b")),
    ]);
    let report = check(&unobserved);
    let [violation] = &report.violations[..] else {
        panic!("{report:#?}");
    };
    assert_eq!(violation.rule, "C1");
    // Nobody read "a" or named its ETag, so the search knows it only as
    // an unobserved version: said so, not as a placeholder value.
    assert!(
        violation
            .message
            .contains("the key held a version no request read or named by its ETag ("),
        "{}",
        violation.message
    );

    let observed = history(vec![
        (0, 0, 10, put("k", "a", Precondition::Absent), written("a")),
        (2, 12, 14, get("k"), read("a")),
        (1, 20, 30, put("k", "b", Precondition::Absent), written("b")),
    ]);
    let report = check(&observed);
    let [violation] = &report.violations[..] else {
        panic!("{report:#?}");
    };
    assert!(
        violation.message.contains(&format!(
            "the key held \"a\" (ETag {}) (",
            etag("a").trim_matches('"')
        )),
        "{}",
        violation.message
    );
}

#[test]
fn past_the_bound_the_verdict_is_unknown_with_the_reason() {
    let config = GeneratorConfig {
        seed: 7,
        entries: 400,
        keys: 1,
        processes: 8,
        indeterminate_per_mille: 300,
        copies: false,
    };
    let history = generate::generate(&config);
    let cases = [
        (
            Limits {
                max_states_per_partition: 1,
                ..Limits::default()
            },
            "more than the bound of 1 configurations",
        ),
        (
            Limits {
                max_operations_per_partition: 10,
                ..Limits::default()
            },
            "more than the bound of 10 per partition",
        ),
    ];
    for (limits, expected) in cases {
        let report = check_with(&history, &limits);
        assert_eq!(report.verdict(), Verdict::Unknown, "{expected}");
        assert!(report.unknown[0].reason.contains(expected), "{report:#?}");
    }
    assert_eq!(check(&history).verdict(), Verdict::Linearizable);
}

#[test]
fn generated_histories_of_a_correct_store_are_linearizable_and_mutations_are_caught() {
    let mut caught = 0;
    let mut mutated_count = 0;
    for seed in 0..20 {
        let config = GeneratorConfig {
            seed,
            entries: 200,
            keys: 1 + (seed as usize % 4),
            processes: 2 + (seed as u32 % 6),
            indeterminate_per_mille: (seed as u32 % 5) * 100,
            copies: seed % 2 == 0,
        };
        let history = generate::generate(&config);
        let report = check(&history);
        assert_eq!(
            report.verdict(),
            Verdict::Linearizable,
            "{config:?} {report:#?}"
        );
        if let Some(mutated) = generate::mutate(&history, seed) {
            mutated_count += 1;
            if check(&mutated).verdict() == Verdict::Violated {
                caught += 1;
            }
        }
    }
    // A mutation does not always break linearizability (a read made to
    // return a write it overlaps is still fine): about half do here.
    assert!(caught * 3 > mutated_count, "{caught} of {mutated_count}");
}

/// The fast checker agrees with the brute-force one on small histories,
/// valid and not.
#[test]
fn the_fast_checker_agrees_with_brute_force_on_ten_thousand_small_histories() {
    const HISTORIES: u64 = 10_000;
    let (mut valid, mut invalid, mut resent_deletes) = (0u32, 0u32, 0u32);
    for seed in 0..HISTORIES {
        let config = GeneratorConfig {
            seed,
            entries: 3 + (seed as usize % 5),
            keys: 1 + (seed as usize / 5 % 2),
            processes: 2 + (seed as u32 / 10 % 2),
            indeterminate_per_mille: 300,
            copies: seed / 20 % 2 == 0,
        };
        let generated = generate::generate(&config);
        let history = if seed % 4 != 0 {
            generate::mutate(&generated, seed).unwrap_or(generated)
        } else {
            generated
        };
        if history.entries.iter().any(|entry| entry.attempts > 1) {
            resent_deletes += 1;
        }
        let expected = brute_force::violated(&history);
        let verdict = check(&history).verdict();
        assert_eq!(
            verdict == Verdict::Violated,
            expected,
            "seed {seed}: {history:#?}"
        );
        if expected {
            invalid += 1;
        } else {
            valid += 1;
        }
    }
    println!(
        "{valid} valid and {invalid} invalid histories agree, {resent_deletes} with a delete \
         sent more than once"
    );
    assert!(
        valid > 3_000 && invalid > 1_000 && resent_deletes > 100,
        "{valid} valid, {invalid} invalid, {resent_deletes} with resent deletes"
    );
}

/// The source `s` holds "a", then "b", then "c" is put to another key;
/// a copy of `s` into `d` never answers; `d` is then read as `reads`
/// say, one after another.
fn copy_in_doubt(reads: &[&str]) -> History {
    let mut rows = vec![
        (0, 0, 10, put("s", "a", Precondition::None), written("a")),
        (0, 20, 30, put("s", "b", Precondition::None), written("b")),
        (0, 31, 32, put("o", "c", Precondition::None), written("c")),
        (
            1,
            5,
            100,
            copy("s", "d", Precondition::None, None),
            indeterminate(),
        ),
    ];
    for (at, value) in (0u64..).zip(reads) {
        let start = 200 + 20 * at;
        rows.push((2, start, start + 10, get("d"), read(value)));
    }
    history(rows)
}

/// C8 with the copy in doubt, checked jointly and with the copies split
/// (`max_joint_states_per_partition: 0`): it installs one version its
/// source held, once.
#[test]
fn c8_an_indeterminate_copy_installs_at_most_one_version_its_source_held() {
    let split = Limits {
        max_joint_states_per_partition: 0,
        ..Limits::default()
    };
    for (reads, violated) in [
        (&["a"][..], false),
        (&["b", "b"][..], false),
        (&["a", "b"][..], true),
        (&["c"][..], true),
    ] {
        let history = copy_in_doubt(reads);
        for (mode, limits) in [("joint", Limits::default()), ("split", split)] {
            let report = check_with(&history, &limits);
            assert!(report.unknown.is_empty(), "{mode} {reads:?}: {report:#?}");
            assert_eq!(
                report.verdict() == Verdict::Violated,
                violated,
                "{mode} {reads:?}: {report:#?}"
            );
            assert_eq!(
                report.stats.split_partitions,
                usize::from(mode == "split"),
                "{mode} {reads:?}"
            );
        }
    }
}

/// C8 along a chain of copies in doubt, a -> b -> c: a version b's readers
/// cannot tell apart still reaches c, jointly and with the copies split.
#[test]
fn c8_a_version_travels_along_a_chain_of_indeterminate_copies() {
    let split = Limits {
        max_joint_states_per_partition: 0,
        ..Limits::default()
    };
    let history = history(vec![
        (0, 0, 10, put("a", "v", Precondition::None), written("v")),
        (
            1,
            20,
            30,
            copy("a", "b", Precondition::None, None),
            indeterminate(),
        ),
        (
            2,
            40,
            50,
            copy("b", "c", Precondition::None, None),
            indeterminate(),
        ),
        (3, 100, 110, get("c"), read("v")),
    ]);
    for (mode, limits, split_partitions) in [("joint", Limits::default(), 0), ("split", split, 1)] {
        let report = check_with(&history, &limits);
        assert_eq!(
            report.verdict(),
            Verdict::Linearizable,
            "{mode}: {report:#?}"
        );
        assert_eq!(report.stats.split_partitions, split_partitions, "{mode}");
    }
}

/// R4: a delete whose last attempt was refused (429) may still have
/// deleted through an earlier attempt whose answer was lost.
#[test]
fn c6a_r4_a_refused_delete_may_have_deleted_through_an_earlier_attempt() {
    for (attempts, expected) in [(0, &["E4"][..]), (1, &[][..])] {
        let mut history = history(vec![
            (0, 0, 10, put("k", "a", Precondition::None), written("a")),
            (
                1,
                20,
                30,
                delete("k", Precondition::None),
                failed(429, "SlowDown"),
            ),
            (2, 40, 50, get("k"), absent()),
        ]);
        history.entries[1].attempts = attempts;
        assert_rules(
            &format!("{attempts} attempts may have acted"),
            &history,
            expected,
        );
    }
}
