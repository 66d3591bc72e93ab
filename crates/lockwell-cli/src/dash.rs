//! `lockwell dash [DIR]`: the results browser (lockwell-tui) over a results
//! folder; without a terminal (or with `--list`) the list of runs as text.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;

use anyhow::Context as _;
use lockwell_tui::ResultsDir;
use lockwell_tui::views::list;

/// Arguments of `lockwell dash`.
#[derive(Debug, clap::Args)]
pub struct DashArgs {
    /// The results folder: result files, campaigns, sweeps, reports.
    #[arg(default_value = lockwell_bench::cli::DEFAULT_RESULTS_DIRECTORY)]
    pub dir: PathBuf,
    /// Start with the first entry whose path (relative to DIR) starts
    /// with this selected.
    #[arg(long, value_name = "PATH_PREFIX")]
    pub select: Option<String>,
    /// Print the list of runs as text and exit (what happens anyway when
    /// stdout is not a terminal).
    #[arg(long)]
    pub list: bool,
}

/// Runs `lockwell dash`.
///
/// # Errors
/// The folder cannot be read, or the terminal fails.
pub fn run(args: &DashArgs) -> anyhow::Result<()> {
    let interactive = std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    if args.list || !interactive {
        let dir = ResultsDir::load(&args.dir)
            .with_context(|| format!("cannot read {}", args.dir.display()))?;
        let mut stdout = std::io::stdout().lock();
        write!(stdout, "{}", list_text(&dir))?;
        return Ok(());
    }
    // A results folder of a few hundred runs takes seconds to read.
    eprintln!("reading {} ...", args.dir.display());
    lockwell_tui::terminal::run_dash(&args.dir, args.select.as_deref())
        .with_context(|| format!("lockwell dash {}", args.dir.display()))
}

/// One line per entry: path, kind, date, commit, headline; then the files
/// that did not read.
fn list_text(dir: &ResultsDir) -> String {
    let mut text = format!("{}: {} entries\n", dir.root.display(), dir.entries.len());
    for entry in &dir.entries {
        text.push_str(&format!(
            "{:<44} {:<12} {:<16} {:<8} {}\n",
            entry.path.display(),
            list::kind_name(entry),
            list::date(entry),
            list::commit(entry),
            list::headline(entry)
        ));
    }
    for (path, reason) in &dir.unreadable {
        text.push_str(&format!("not read: {}: {reason}\n", path.display()));
    }
    text
}
