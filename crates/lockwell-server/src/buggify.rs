//! BUGGIFY: fault points in server code that fire only in the simulator.
//!
//! `buggify!("name")` is `false` in every normal build (the compiler drops
//! the branch). Under `--cfg madsim` it fires with the probability the
//! simulator configured for the point, drawn from madsim's seeded
//! generator, so a run replays from its seed; the simulator reads back how
//! often each point was reached and fired, and a campaign reports the
//! points that never fired (a fault that never fires tests nothing).
//!
//! Points are named in [`POINTS`]: a name outside it is a bug in the
//! caller, caught by a debug assertion.

/// Every BUGGIFY point in the server, with what firing it does.
pub const POINTS: &[(&str, &str)] = &[(
    LOST_RESPONSE_AFTER_COMMIT,
    "a successful write is durable, then its connection closes instead of \
     answering: the client sees the connection end for a write that took \
     effect",
)];

/// The response to a committed write is lost (DESIGN.md write path,
/// between steps 4 and 5).
pub const LOST_RESPONSE_AFTER_COMMIT: &str = "server.lost_response_after_commit";

/// Whether the point `name` fires now. Use [`crate::buggify!`].
#[cfg(not(madsim))]
#[must_use]
#[inline(always)]
pub const fn fires(_name: &str) -> bool {
    false
}

#[cfg(madsim)]
pub use sim::{PointCount, Report, configure, fires, take_report};

#[cfg(madsim)]
mod sim {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    use madsim::rand::Rng;

    /// How often one point was reached and fired in a run.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct PointCount {
        pub reached: u64,
        pub fired: u64,
    }

    /// Every point of [`super::POINTS`] with its counts, in name order.
    pub type Report = BTreeMap<&'static str, PointCount>;

    #[derive(Debug, Default)]
    struct State {
        probabilities: BTreeMap<&'static str, f64>,
        counts: Report,
    }

    thread_local! {
        // A simulation runs on one thread: its runtime's. Sequential runs
        // on the thread reset it with `configure`.
        static STATE: RefCell<State> = RefCell::new(State::default());
    }

    /// Starts a run: each point fires with its probability here, points
    /// left out never fire. Clears the counts.
    ///
    /// # Panics
    /// A name not in [`super::POINTS`], or a probability outside 0..=1.
    pub fn configure(probabilities: &BTreeMap<&'static str, f64>) {
        for (name, probability) in probabilities {
            assert!(is_point(name), "unknown BUGGIFY point {name:?}");
            assert!(
                (0.0..=1.0).contains(probability),
                "{name}: probability {probability} is not within 0..=1"
            );
        }
        STATE.with(|state| {
            *state.borrow_mut() = State {
                probabilities: probabilities.clone(),
                counts: super::POINTS
                    .iter()
                    .map(|(name, _)| (*name, PointCount::default()))
                    .collect(),
            };
        });
    }

    /// The counts of the run so far; clears them.
    #[must_use]
    pub fn take_report() -> Report {
        STATE.with(|state| std::mem::take(&mut state.borrow_mut().counts))
    }

    fn is_point(name: &str) -> bool {
        super::POINTS.iter().any(|(point, _)| *point == name)
    }

    /// Whether the point `name` fires now. Use [`crate::buggify!`].
    #[must_use]
    pub fn fires(name: &'static str) -> bool {
        debug_assert!(is_point(name), "unknown BUGGIFY point {name:?}");
        STATE.with(|state| {
            let mut state = state.borrow_mut();
            let probability = state.probabilities.get(name).copied().unwrap_or(0.0);
            // Draw only for an armed point, so that arming none leaves the
            // seeded sequence as it was without BUGGIFY.
            let fired = probability > 0.0 && madsim::rand::thread_rng().gen_bool(probability);
            let count = state.counts.entry(name).or_default();
            count.reached += 1;
            count.fired += u64::from(fired);
            fired
        })
    }
}

/// `buggify!("point")`: `true` when the simulator makes the point fire;
/// always `false` outside the simulator.
#[macro_export]
macro_rules! buggify {
    ($name:expr) => {
        $crate::buggify::fires($name)
    };
}
