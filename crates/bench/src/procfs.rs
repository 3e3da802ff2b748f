//! CPU time and memory of a process, read from `/proc`.
//!
//! Used on the server (by PID) and on the load generator itself, so a result
//! limited by the generator's own core shows as such. banterd's store writer
//! (the thread named [`STORE_WRITER_THREAD`]) is also read on its own: with
//! the server on one core its share of the CPU is otherwise invisible.

use std::time::Duration;

use anyhow::{bail, Context};

/// The name banterd gives its SQLite store's writer thread.
pub const STORE_WRITER_THREAD: &str = "banter-store";

/// One reading of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// User plus system CPU time of all its threads so far.
    pub cpu: Duration,
    /// The system (kernel) part of `cpu`.
    pub system: Duration,
    /// The part of `cpu` taken by threads named [`STORE_WRITER_THREAD`];
    /// `None` if it has none (a server in memory, another program).
    pub store_writer: Option<Duration>,
    /// Resident memory now, in KiB.
    pub rss_kib: u64,
    /// Highest resident memory so far, in KiB.
    pub peak_kib: u64,
}

/// Reads `/proc/<pid>/stat` and `/proc/<pid>/status`; `None` means this process.
pub fn sample(pid: Option<u32>) -> anyhow::Result<Sample> {
    let dir = match pid {
        Some(pid) => format!("/proc/{pid}"),
        None => "/proc/self".to_owned(),
    };
    let stat = std::fs::read_to_string(format!("{dir}/stat"))
        .with_context(|| format!("cannot read {dir}/stat"))?;
    let status = std::fs::read_to_string(format!("{dir}/status"))
        .with_context(|| format!("cannot read {dir}/status"))?;
    let ticks = rustix::param::clock_ticks_per_second();
    let (cpu, system) = cpu_time(&stat, ticks)?;
    Ok(Sample {
        cpu,
        system,
        store_writer: threads_cpu(&dir, STORE_WRITER_THREAD, ticks)?,
        rss_kib: status_kib(&status, "VmRSS:").unwrap_or(0),
        peak_kib: status_kib(&status, "VmHWM:").unwrap_or(0),
    })
}

/// The sum of [`sample`] over several processes (a cluster's nodes and its
/// broker); `None` when there are none to read.
pub fn sample_all(pids: &[u32]) -> anyhow::Result<Option<Sample>> {
    let mut total: Option<Sample> = None;
    for &pid in pids {
        let one = sample(Some(pid))?;
        let sum = total.get_or_insert(Sample {
            cpu: Duration::ZERO,
            system: Duration::ZERO,
            store_writer: None,
            rss_kib: 0,
            peak_kib: 0,
        });
        sum.cpu += one.cpu;
        sum.system += one.system;
        if let Some(writer) = one.store_writer {
            *sum.store_writer.get_or_insert(Duration::ZERO) += writer;
        }
        sum.rss_kib += one.rss_kib;
        sum.peak_kib += one.peak_kib;
    }
    Ok(total)
}

/// utime + stime, and stime, from a stat line; fields are counted after the
/// `)` that ends the command name, which may itself hold spaces.
fn cpu_time(stat: &str, ticks_per_second: u64) -> anyhow::Result<(Duration, Duration)> {
    let Some((_, after_name)) = stat.rsplit_once(')') else {
        bail!("unexpected /proc stat line");
    };
    // After the name: state is field 3; utime and stime are fields 14 and 15.
    let mut fields = after_name.split_whitespace().skip(11);
    let mut next = || -> anyhow::Result<u64> {
        fields
            .next()
            .context("short /proc stat line")?
            .parse()
            .context("bad /proc stat field")
    };
    let (user, system) = (next()?, next()?);
    let seconds =
        |ticks: u64| Duration::from_secs_f64(ticks as f64 / ticks_per_second.max(1) as f64);
    Ok((seconds(user + system), seconds(system)))
}

/// CPU time of the threads of the process at `dir` named `name`, if any.
/// A thread that ends while being read is skipped.
fn threads_cpu(dir: &str, name: &str, ticks_per_second: u64) -> anyhow::Result<Option<Duration>> {
    let tasks = std::fs::read_dir(format!("{dir}/task"))
        .with_context(|| format!("cannot list {dir}/task"))?;
    let mut total = None;
    for task in tasks.flatten() {
        let path = task.path();
        let Ok(comm) = std::fs::read_to_string(path.join("comm")) else {
            continue;
        };
        if comm.trim_end() != name {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(path.join("stat")) else {
            continue;
        };
        let (cpu, _) = cpu_time(&stat, ticks_per_second)?;
        *total.get_or_insert(Duration::ZERO) += cpu;
    }
    Ok(total)
}

fn status_kib(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_found_after_a_name_with_spaces() {
        let stat = "42 (my prog) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0";
        assert_eq!(
            cpu_time(stat, 100).unwrap(),
            (Duration::from_secs(3), Duration::from_millis(500))
        );
    }

    #[test]
    fn this_process_can_be_read() {
        let sample = sample(None).unwrap();
        assert!(sample.rss_kib > 0);
        assert!(sample.peak_kib >= sample.rss_kib);
    }

    #[test]
    fn a_named_threads_cpu_is_read_on_its_own() {
        let ticks = rustix::param::clock_ticks_per_second();
        assert_eq!(
            threads_cpu("/proc/self", "no-such-thread", ticks).unwrap(),
            None
        );
        let (done, finish) = std::sync::mpsc::channel::<()>();
        let (spun, spinning) = std::sync::mpsc::channel();
        let busy = std::thread::Builder::new()
            .name("bench-spinner".into())
            .spawn(move || {
                // Spin until the kernel has charged this thread at least two ticks.
                let started = std::time::Instant::now();
                while started.elapsed() < Duration::from_millis(100) {
                    std::hint::black_box(started.elapsed());
                }
                spun.send(()).unwrap();
                finish.recv().ok();
            })
            .unwrap();
        spinning.recv().unwrap();
        let spinner = threads_cpu("/proc/self", "bench-spinner", ticks).unwrap();
        let whole = sample(None).unwrap().cpu;
        done.send(()).unwrap();
        busy.join().unwrap();
        let spinner = spinner.expect("the named thread was found");
        assert!(spinner >= Duration::from_millis(50), "{spinner:?}");
        assert!(spinner <= whole, "{spinner:?} of {whole:?}");
    }
}
