//! The reference the fast checker is validated against: for a tiny
//! history, every order of every subset of its operations that respects
//! real time, with no partitioning, no memo, no pruning and no collapsing
//! of unobserved versions. Exponential; for a handful of operations only.

use crate::history::History;

use super::model::{self, ABSENT, Op, Version};

/// Whether `history` has a violation: contradicting answers, or no
/// linearization.
pub(crate) fn violated(history: &History) -> bool {
    let model = model::build(history, false);
    if !model.static_violations.is_empty() {
        return true;
    }
    let mut placed = vec![false; model.ops.len()];
    let mut state = vec![ABSENT; model.keys.len()];
    !extend(&model.ops, &model.versions, &mut placed, &mut state, 0)
}

/// Whether the sequence so far (`placed`, leaving `state`, the latest
/// invocation in it `max_invoke_ns`) extends to a linearization.
fn extend(
    ops: &[Op],
    versions: &[Version],
    placed: &mut [bool],
    state: &mut [u32],
    max_invoke_ns: u64,
) -> bool {
    let done = (0..ops.len()).all(|index| placed[index] || !ops[index].required());
    if done {
        return true;
    }
    for next in 0..ops.len() {
        if placed[next] {
            continue;
        }
        let op = &ops[next];
        // Real time: an operation cannot come after one that was invoked
        // after its deadline, nor before a required one that ended before
        // its invocation.
        if op
            .deadline_ns
            .is_some_and(|deadline_ns| deadline_ns < max_invoke_ns)
        {
            continue;
        }
        let must_wait = (0..ops.len()).any(|other| {
            !placed[other]
                && other != next
                && ops[other].required()
                && ops[other]
                    .deadline_ns
                    .is_some_and(|deadline_ns| deadline_ns < op.invoke_ns)
        });
        if must_wait {
            continue;
        }
        let Some(change) = model::step(op, state, versions) else {
            continue;
        };
        let previous = change.map(|(key, new)| {
            let previous = state[key as usize];
            state[key as usize] = new;
            (key, previous)
        });
        placed[next] = true;
        let found = extend(
            ops,
            versions,
            placed,
            state,
            max_invoke_ns.max(op.invoke_ns),
        );
        placed[next] = false;
        if let Some((key, previous)) = previous {
            state[key as usize] = previous;
        }
        if found {
            return true;
        }
    }
    false
}
