//! `lockwell plan`: capacity answers from a sweep folder, and `lockwell
//! plan validate`: the model's error on points it never saw.
//!
//! This module reads the sweep folder and the checksum summary, and
//! prints; the model and every number come from lockwell-plan, which is
//! pure.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail, ensure};
use lockwell_bench::cli::{BackoffArgs, CasRetryPolicy};
use lockwell_bench::loadgen::OpMix;
use lockwell_plan::answer::{Deployment, GoodputAnswer, SloAnswer};
use lockwell_plan::conflict::Backoff;
use lockwell_plan::model::Estimate;
use lockwell_plan::validate::Validation;
use lockwell_plan::{
    Answer, ChecksumCosts, CoresEstimate, HoldOut, Mix, Model, Prediction, Question, Slo, Sweep,
    Workload,
};
use lockwell_results::ResultKind;

/// The sweep folder's index, which is not a point.
const INDEX_FILE_NAME: &str = "index.json";
/// Where checksum summaries are, newest by name last.
const CHECKSUM_SUMMARY_DIRECTORY: &str = "results/checksum";
/// Where `plan validate` writes its tables.
const VALIDATION_DIRECTORY: &str = "results/plan-validate";

/// Arguments of `lockwell plan`.
#[derive(Debug, Clone, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct PlanArgs {
    #[command(subcommand)]
    pub command: Option<PlanCommand>,
    /// The sweep folder (`lockwell bench sweep --out`).
    #[arg(required = true)]
    pub sweep: Option<PathBuf>,
    /// Latency SLO of whole operations, e.g. `p99<=5ms` or `p50<=500us`.
    #[arg(long)]
    pub slo: Option<Slo>,
    /// Distinct keys the clients write.
    #[arg(long, default_value_t = 1000)]
    pub keys: u64,
    /// Zipf exponent of key popularity (0 = uniform).
    #[arg(long, default_value_t = 0.99)]
    pub zipf: f64,
    /// Operation weights (cas, put, get), e.g. `cas=3,get=7`.
    #[arg(long, default_value = "cas")]
    pub mix: OpMix,
    /// Object size in bytes (must be a size the sweep measured).
    #[arg(long, default_value_t = 1024)]
    pub payload_bytes: u64,
    /// What a CAS racer does after losing.
    #[arg(long, value_enum, default_value_t = CasRetryPolicy::Immediate)]
    pub cas_retry: CasRetryPolicy,
    #[command(flatten)]
    pub backoff: BackoffArgs,
    /// Closed-loop clients over all instances.
    #[arg(long)]
    pub clients: Option<u32>,
    /// Successful writes/s wanted over all instances.
    #[arg(long, value_name = "WRITES_PER_S")]
    pub target_goodput: Option<f64>,
    /// Checksum algorithms computed over every ingested byte, e.g.
    /// `sha256` or `md5,crc32c` (lockwell-server always adds md5 for the
    /// ETag).
    #[arg(long, value_delimiter = ',', requires = "ingest_gib_per_s")]
    pub checksum: Vec<String>,
    /// Ingest rate the checksums must keep up with, in GiB/s.
    #[arg(long, requires = "checksum")]
    pub ingest_gib_per_s: Option<f64>,
    /// `checksum-summary --json` output [default: the newest
    /// results/checksum/summary-*.json].
    #[arg(long)]
    pub checksum_summary: Option<PathBuf>,
    /// Print the answer as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Subcommands of `lockwell plan`.
#[non_exhaustive]
#[derive(Debug, Clone, clap::Subcommand)]
pub enum PlanCommand {
    /// Fit on part of a sweep, predict the held-out points, and print and
    /// write (under results/plan-validate/) predicted against measured.
    Validate(ValidateArgs),
}

/// Arguments of `lockwell plan validate`.
#[derive(Debug, Clone, clap::Args)]
pub struct ValidateArgs {
    /// The sweep folder.
    pub sweep: PathBuf,
    /// Fit on racers up to this count and predict the larger ones.
    #[arg(long, default_value_t = 16)]
    pub fit_racers_up_to: u32,
    /// Zipf exponents held out of the fit and predicted.
    #[arg(long, value_delimiter = ',', default_value = "0.6,0.9")]
    pub hold_out_zipf: Vec<f64>,
    /// Table file to create (the JSON goes beside it) [default:
    /// results/plan-validate/<sweep folder name>-<UTC time>.txt].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the validations as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `lockwell plan` or `lockwell plan validate`.
///
/// # Errors
/// An unreadable sweep, a model that cannot be fitted, or a question out
/// of the measured range.
pub fn run(args: &PlanArgs) -> anyhow::Result<()> {
    match &args.command {
        Some(PlanCommand::Validate(validate)) => run_validate(validate),
        None => run_plan(args),
    }
}

/// Every sweep-point result in `folder` (not the repeats in its
/// sub-folders, not the index).
///
/// # Errors
/// An unreadable folder or result file, or a folder without points.
pub fn read_sweep(folder: &Path) -> anyhow::Result<Sweep> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .with_context(|| format!("cannot list {}", folder.display()))?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|file| {
        file.is_file()
            && file
                .extension()
                .is_some_and(|extension| extension == "json")
            && file.file_name().is_some_and(|name| name != INDEX_FILE_NAME)
    });
    files.sort();
    let mut results = Vec::new();
    for file in &files {
        let result = lockwell_results::read_result_file(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        if result.kind == ResultKind::SweepPoint {
            results.push(result);
        }
    }
    ensure!(
        !results.is_empty(),
        "{} holds no sweep points (run `lockwell bench sweep --out {}` first)",
        folder.display(),
        folder.display()
    );
    Sweep::from_results(&results)
        .map_err(|(index, error)| anyhow::anyhow!("{}: {error}", files[index].display()))
}

fn fit(folder: &Path) -> anyhow::Result<(Sweep, Model)> {
    let sweep = read_sweep(folder)?;
    let model = lockwell_plan::fit(&sweep)
        .with_context(|| format!("fitting the model to {}", folder.display()))?;
    Ok((sweep, model))
}

fn newest_checksum_summary() -> anyhow::Result<PathBuf> {
    let mut summaries: Vec<PathBuf> = std::fs::read_dir(CHECKSUM_SUMMARY_DIRECTORY)
        .with_context(|| format!("cannot list {CHECKSUM_SUMMARY_DIRECTORY}"))?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()?;
    summaries.retain(|path| {
        path.file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with("summary-") && name.ends_with(".json"))
    });
    summaries.sort();
    summaries.pop().with_context(|| {
        format!("no summary-*.json in {CHECKSUM_SUMMARY_DIRECTORY}; pass --checksum-summary")
    })
}

fn checksum_cores(args: &PlanArgs) -> anyhow::Result<Option<CoresEstimate>> {
    let Some(ingest_gib_per_s) = args.ingest_gib_per_s else {
        return Ok(None);
    };
    let path = match &args.checksum_summary {
        Some(path) => path.clone(),
        None => newest_checksum_summary()?,
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let summary: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let costs = ChecksumCosts::from_summary(&summary)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(Some(costs.cores_for(&args.checksum, ingest_gib_per_s)?))
}

fn question(args: &PlanArgs) -> Question {
    Question {
        workload: Workload {
            key_count: args.keys,
            zipf_exponent: args.zipf,
            mix: Mix {
                create: f64::from(args.mix.create),
                cas: f64::from(args.mix.cas),
                put: f64::from(args.mix.put),
                get: f64::from(args.mix.get),
            },
            payload_len_bytes: args.payload_bytes,
            backoff: match args.cas_retry {
                CasRetryPolicy::Immediate => None,
                CasRetryPolicy::Backoff => Some(Backoff {
                    base_us: args.backoff.base_us,
                    cap_us: args.backoff.cap_us,
                }),
            },
        },
        slo: args.slo,
        clients: args.clients,
        target_goodput_writes_per_s: args.target_goodput,
    }
}

fn run_plan(args: &PlanArgs) -> anyhow::Result<()> {
    let folder = args.sweep.as_deref().context("name the sweep folder")?;
    let (sweep, model) = fit(folder)?;
    let question = question(args);
    let answer = lockwell_plan::answer(&model, &question)
        .map_err(|refusal| anyhow::anyhow!("refused: {refusal}"))?;
    let cores = checksum_cores(args)?;
    if args.json {
        let document = serde_json::json!({
            "sweep": folder,
            "model": &model,
            "answer": &answer,
            "checksum": &cores,
        });
        println!("{}", serde_json::to_string_pretty(&document)?);
    } else {
        print!(
            "{}{}",
            describe_model(folder, &sweep, &model),
            describe_answer(&answer, cores.as_ref())
        );
    }
    Ok(())
}

fn ms(seconds: f64) -> String {
    if seconds < 0.01 {
        format!("{:.2} ms", seconds * 1e3)
    } else {
        format!("{:.1} ms", seconds * 1e3)
    }
}

fn ms_interval(estimate: Estimate) -> String {
    format!(
        "{} [{} .. {}]",
        ms(estimate.value),
        ms(estimate.low),
        ms(estimate.high)
    )
}

fn rate_interval(estimate: Estimate) -> String {
    format!(
        "{:.0}/s [{:.0} .. {:.0}]",
        estimate.value, estimate.low, estimate.high
    )
}

fn percent_interval(estimate: Estimate) -> String {
    format!(
        "{:.1}% [{:.1} .. {:.1}]",
        estimate.value * 100.0,
        estimate.low * 100.0,
        estimate.high * 100.0
    )
}

/// The fitted model in a few lines.
fn describe_model(folder: &Path, sweep: &Sweep, model: &Model) -> String {
    let mut text = format!(
        "sweep {}: {} points\n",
        folder.display(),
        sweep.points.len()
    );
    for (payload, throughput) in &model.throughput {
        let fit = &throughput.usl_fit;
        let usl = fit.usl;
        let peak = usl.peak_in_flight(0.0).map_or_else(
            || "no peak".to_owned(),
            |peak| format!("peak at {peak:.1} in flight on many uniform keys"),
        );
        let _ = writeln!(
            text,
            "  throughput ({payload} B): lambda {:.0} work units/s (a request that installs a \
             write is 1 unit, any other {:.3}), sigma {:.4} + {:.4} x key collision probability, \
             coherency {} with kappa {:.6} ({peak}), a lone request in flight x {:.2}; \
             residual RMS {:.1}%",
            usl.lambda_per_s,
            throughput.non_write_request_cost,
            usl.sigma,
            usl.sigma_per_key_collision,
            usl.coherency,
            usl.kappa,
            usl.lone_request_factor,
            fit.rms_log_error * 100.0
        );
        if let Some(choice) = &fit.choice {
            let scores: Vec<String> = choice
                .extrapolation_rms_log_error
                .iter()
                .map(|(coherency, error)| format!("{coherency} {:.1}%", error * 100.0))
                .collect();
            let _ = writeln!(
                text,
                "    coherency chosen by extrapolation: fitted on up to {:.1} in flight, RMS error \
                 on the larger fitted concurrencies: {}",
                choice.lower_half_max_in_flight,
                scores.join(", ")
            );
        }
    }
    if let Some(window) = model.window_per_request_latency {
        let _ = writeln!(
            text,
            "  CAS read-to-commit window: {window:.2} x mean request latency"
        );
    }
    let errors = model.errors;
    let _ = writeln!(
        text,
        "  model error on the measured points (RMS): goodput {:.1}%, p50 {:.1}%, p99 {:.1}%, \
         conflict rate {:.1} points",
        errors.goodput_log_rms * 100.0,
        errors.p50_log_rms * 100.0,
        errors.p99_log_rms * 100.0,
        errors.conflict_rms * 100.0
    );
    let failing: Vec<_> = model.little.iter().filter(|check| !check.holds).collect();
    let _ = writeln!(
        text,
        "  Little's law (racers = ops/s x mean op latency, within {:.0}%): holds on {} of {} points",
        lockwell_plan::latency::LITTLE_TOLERANCE * 100.0,
        model.little.len() - failing.len(),
        model.little.len()
    );
    for check in failing {
        let _ = writeln!(
            text,
            "    fails at {}: {} racers, ops/s x mean op latency = {:.1} ({:.0}% of the racers)",
            check.point,
            check.racers,
            check.operations_in_flight,
            check.ratio * 100.0
        );
    }
    text
}

fn describe_prediction(text: &mut String, indent: &str, prediction: &Prediction) {
    let _ = writeln!(
        text,
        "{indent}goodput {}  conflict rate {}",
        rate_interval(prediction.goodput_writes_per_s),
        percent_interval(prediction.conflict_rate)
    );
    let _ = writeln!(
        text,
        "{indent}p50 {}  p99 {}",
        ms_interval(prediction.operation_p50_s),
        ms_interval(prediction.operation_p99_s)
    );
    let _ = writeln!(
        text,
        "{indent}attempts per CAS {:.2}, requests in flight {:.1}, mean request {}",
        prediction.attempts_per_cas,
        prediction.requests_in_flight,
        ms(prediction.request_mean_s)
    );
}

fn describe_deployment(text: &mut String, deployment: &Deployment) {
    let _ = writeln!(
        text,
        "    {} instance(s) x {:.1} clients: total goodput {}",
        deployment.instances,
        deployment.concurrency_per_instance,
        rate_interval(deployment.total_goodput_writes_per_s)
    );
    describe_prediction(text, "    per instance: ", &deployment.prediction);
}

/// The answer in a few paragraphs.
fn describe_answer(answer: &Answer, cores: Option<&CoresEstimate>) -> String {
    let workload = &answer.question.workload;
    let mut text = format!(
        "\nquestion: {} keys, zipf {}, mix {}, {} B objects, CAS retry {}\n",
        workload.key_count,
        workload.zipf_exponent,
        workload.mix,
        workload.payload_len_bytes,
        workload.backoff.map_or_else(
            || "immediate".to_owned(),
            |backoff| format!("backoff {}-{} us", backoff.base_us, backoff.cap_us)
        ),
    );
    match (&answer.question.slo, &answer.slo) {
        (
            Some(slo),
            Some(SloAnswer::Met {
                concurrency,
                conservative_concurrency,
                limited_by_range,
                prediction,
            }),
        ) => {
            let _ = writeln!(
                text,
                "  largest concurrency meeting {slo}: {concurrency} racers per instance{} \
                 (conservative, the interval's upper end within the SLO: {})",
                if *limited_by_range {
                    " (the range limit, not the SLO)"
                } else {
                    ""
                },
                conservative_concurrency.map_or_else(|| "none".to_owned(), |c| c.to_string())
            );
            describe_prediction(&mut text, "    ", prediction);
        }
        (Some(slo), Some(SloAnswer::Unmet { prediction_at_one })) => {
            let _ = writeln!(text, "  {slo} is not met even by one racer:");
            describe_prediction(&mut text, "    ", prediction_at_one);
        }
        _ => {}
    }
    if let (Some(clients), Some(deployment)) = (answer.question.clients, &answer.clients) {
        let _ = writeln!(text, "  {clients} clients:");
        describe_deployment(&mut text, deployment);
    }
    if let (Some(target), Some(goodput)) =
        (answer.question.target_goodput_writes_per_s, &answer.goodput)
    {
        match goodput {
            GoodputAnswer::Reachable(deployment) => {
                let _ = writeln!(text, "  {target:.0} successful writes/s needs:");
                describe_deployment(&mut text, deployment);
            }
            GoodputAnswer::Unreachable { best } => {
                let _ = writeln!(
                    text,
                    "  {target:.0} successful writes/s is out of reach: conflicts on the hottest \
                     keys grow with the clients; the best found:"
                );
                describe_deployment(&mut text, best);
            }
            _ => {}
        }
    }
    if let Some(cores) = cores {
        let _ = writeln!(
            text,
            "  checksums {} at {} GiB/s: {:.2} cores [{:.2} .. {:.2}] ({:.3} CPU-s per GiB; one \
             core, {} B buffers)",
            cores.algorithms.join("+"),
            cores.ingest_gib_per_s,
            cores.cores,
            cores.cores_low,
            cores.cores_high,
            cores.cost.median,
            cores.buffer_len_bytes
        );
    }
    for note in &answer.notes {
        let _ = writeln!(text, "  note: {note}");
    }
    text
}

/// The table of one validation.
fn validation_table(validation: &Validation) -> String {
    let mut text = format!(
        "hold-out: {} ({} points fitted, {} predicted)\n",
        validation.hold_out,
        validation.fitted_points,
        validation.rows.len()
    );
    let _ = writeln!(
        text,
        "| point | racers | zipf | goodput measured (min-max) | goodput predicted [interval] | error | conflicts meas/pred | p99 measured | p99 predicted | error |"
    );
    let _ = writeln!(text, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in &validation.rows {
        let (low, high) = row.measured_goodput_range_writes_per_s;
        let _ = writeln!(
            text,
            "| {} | {} | {} | {:.0} ({:.0}-{:.0}) | {} | {:+.1}% | {} / {:.1}% | {} | {} | {:+.1}% |",
            row.point,
            row.racers,
            row.zipf_exponent,
            row.measured_goodput_writes_per_s,
            low,
            high,
            rate_interval(row.predicted_goodput_writes_per_s),
            row.goodput_error * 100.0,
            row.measured_conflict_rate
                .map_or_else(|| "-".to_owned(), |rate| format!("{:.1}%", rate * 100.0)),
            row.predicted_conflict_rate * 100.0,
            ms(row.measured_p99_s),
            ms(row.predicted_p99_s.value),
            row.p99_error * 100.0,
        );
    }
    let _ = writeln!(
        text,
        "median |goodput error| {:.1}%, median |p99 error| {:.1}%, measured goodput inside the \
         interval on {} of {} points; noise: the repeats' goodput spans +/-{:.1}% of their \
         median (median over the points)\n",
        validation.median_abs_goodput_error * 100.0,
        validation.median_abs_p99_error * 100.0,
        validation.goodput_within_interval,
        validation.rows.len(),
        validation.median_goodput_noise * 100.0
    );
    text
}

fn run_validate(args: &ValidateArgs) -> anyhow::Result<()> {
    let sweep = read_sweep(&args.sweep)?;
    let hold_outs = [
        HoldOut::RacersAbove {
            max_fitted_racers: args.fit_racers_up_to,
        },
        HoldOut::Zipf {
            exponents: args.hold_out_zipf.clone(),
        },
    ];
    let mut validations = Vec::new();
    let mut text = format!(
        "lockwell plan validate {} ({} points)\n\n",
        args.sweep.display(),
        sweep.points.len()
    );
    for hold_out in hold_outs {
        match lockwell_plan::validate(&sweep, &hold_out) {
            Ok(validation) => {
                text.push_str(&validation_table(&validation));
                validations.push(validation);
            }
            Err(error) => {
                let _ = writeln!(text, "hold-out {hold_out}: skipped: {error}\n");
            }
        }
    }
    if validations.is_empty() {
        bail!("no hold-out could be validated:\n{text}");
    }
    let out = match &args.out {
        Some(path) => path.clone(),
        None => {
            std::fs::create_dir_all(VALIDATION_DIRECTORY)
                .with_context(|| format!("cannot create {VALIDATION_DIRECTORY}"))?;
            let name = args
                .sweep
                .file_name()
                .and_then(|name| name.to_str())
                .unwrap_or("sweep");
            Path::new(VALIDATION_DIRECTORY).join(format!(
                "{name}-{}.txt",
                lockwell_results::schema::compact_utc_timestamp(
                    lockwell_bench::environment::unix_ms_now()
                )
            ))
        }
    };
    let json = serde_json::to_string_pretty(&serde_json::json!({
        "sweep": args.sweep,
        "validations": &validations,
    }))? + "\n";
    for (path, contents) in [(out.clone(), &text), (out.with_extension("json"), &json)] {
        std::fs::File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut file| std::io::Write::write_all(&mut file, contents.as_bytes()))
            .with_context(|| {
                format!(
                    "cannot create {} (results are never overwritten)",
                    path.display()
                )
            })?;
    }
    if args.json {
        print!("{json}");
    } else {
        print!("{text}");
        println!(
            "written: {} and {}",
            out.display(),
            out.with_extension("json").display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Command {
        #[command(flatten)]
        plan: PlanArgs,
    }

    #[derive(Debug, Parser)]
    struct SweepCommand {
        #[command(flatten)]
        sweep: lockwell_bench::sweep::SweepArgs,
    }

    /// A tiny sweep of the in-process store: racers 1-4, uniform and
    /// skewed keys.
    fn tiny_sweep(name: &str) -> PathBuf {
        let out = std::env::temp_dir().join(format!("lockwell-plan-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let args = SweepCommand::parse_from([
            "sweep",
            "--inproc",
            "--out",
            out.to_str().unwrap(),
            "--racers",
            "1,2,3,4",
            "--keys",
            "20",
            "--zipf",
            "0,0.9,1.2",
            "--repeats",
            "1",
            "--duration",
            "60ms",
            "--warmup",
            "0s",
            "--quiet",
        ]);
        lockwell_bench::sweep::run_sweep(&args.sweep).unwrap();
        out
    }

    #[test]
    fn a_sweep_folder_is_fitted_validated_and_answered() {
        let folder = tiny_sweep("answer");
        let (sweep, model) = fit(&folder).unwrap();
        assert_eq!(
            sweep.points.len(),
            12,
            "the index and the repeats are not points"
        );
        let command = Command::parse_from([
            "plan",
            folder.to_str().unwrap(),
            "--keys",
            "20",
            "--zipf",
            "0.9",
            "--slo",
            "p99<=1s",
            "--clients",
            "10",
        ]);
        let answer = lockwell_plan::answer(&model, &question(&command.plan)).unwrap();
        let text = describe_answer(&answer, None);
        assert!(
            text.contains("largest concurrency meeting p99<=1000ms"),
            "{text}"
        );
        assert!(text.contains("10 clients:"), "{text}");
        let validation = lockwell_plan::validate(
            &sweep,
            &HoldOut::RacersAbove {
                max_fitted_racers: 3,
            },
        )
        .unwrap();
        let table = validation_table(&validation);
        assert_eq!(table.matches("| r4-").count(), 3, "{table}");
        std::fs::remove_dir_all(&folder).unwrap();
    }

    #[test]
    fn questions_outside_the_sweep_are_refused_with_the_reason() {
        let folder = tiny_sweep("refuse");
        let (_, model) = fit(&folder).unwrap();
        let refusal = |arguments: &[&str]| {
            let mut all = vec!["plan", folder.to_str().unwrap()];
            all.extend_from_slice(arguments);
            let command = Command::parse_from(all);
            lockwell_plan::answer(&model, &question(&command.plan))
                .unwrap_err()
                .to_string()
        };
        assert!(refusal(&["--zipf", "2.5"]).contains("zipf 2.5 is outside"));
        assert!(refusal(&["--payload-bytes", "4096"]).contains("4096 B"));
        std::fs::remove_dir_all(&folder).unwrap();
    }

    #[test]
    fn a_folder_without_points_is_refused() {
        let folder =
            std::env::temp_dir().join(format!("lockwell-plan-empty-{}", std::process::id()));
        std::fs::create_dir_all(&folder).unwrap();
        let error = read_sweep(&folder).unwrap_err().to_string();
        assert!(error.contains("holds no sweep points"), "{error}");
        std::fs::remove_dir_all(&folder).unwrap();
    }
}
