//! Lockwell's dashboard: the live view of a running `lockwell bench` and a
//! browser of stored results (`lockwell dash`): runs, comparisons,
//! simulator campaigns, the planted-bug catalog, and sweeps with the
//! capacity model's curves (lockwell-plan).
//!
//! Every screen is a pure function of its data drawn into a ratatui
//! `Frame` ([`views`]), and the state machines behind them ([`dash`],
//! [`live`]) take key events and return what to do, so tests render them
//! into a `TestBackend` and compare the text with committed snapshots.
//! Only [`terminal`] touches the real terminal: raw mode and the alternate
//! screen, restored on drop and on panic.
//!
//! The crate reads result files through lockwell-results, models sweeps
//! through lockwell-plan, and knows
//! `lockwell bench`'s histogram names ([`labels`]), not lockwell-bench
//! itself: the `lockwell` binary turns the load generator's progress into
//! [`live::LiveEvent`]s.

pub mod dash;
pub mod format;
pub mod labels;
pub mod live;
pub mod measurements;
pub mod results_dir;
pub mod sweep;
pub mod terminal;
pub mod views;

pub use dash::{DashAction, DashApp};
pub use live::{LiveAction, LiveEvent, LiveView};
pub use results_dir::ResultsDir;
