//! This process's CPU time (user + system, all threads), from
//! `/proc/self/stat`. The workspace forbids `unsafe`, so no `getrusage`.
//! `None` where there is no procfs (then no CPU figures are reported).

/// Clock ticks per second of `/proc/<pid>/stat` times (`USER_HZ`: 100 on
/// every Linux architecture's user ABI).
const TICKS_PER_SECOND: f64 = 100.0;

/// User + system CPU seconds this process has used so far.
pub(crate) fn process_cpu_seconds() -> Option<f64> {
    parse_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// `utime + stime` (fields 14 and 15) of a `/proc/<pid>/stat` line, in seconds.
fn parse_stat(line: &str) -> Option<f64> {
    // Field 2, the command, is in parentheses and may hold spaces and `)`.
    let rest = &line[line.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SECOND)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn parses_utime_and_stime() {
        let line =
            "4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 75 0 0 20 0 3 0 1 \
                    1000 100 18446744073709551615";
        assert_eq!(parse_stat(line), Some(3.25));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) S 1 2"), None);
    }

    #[test]
    fn grows_while_busy() {
        let Some(start) = process_cpu_seconds() else {
            assert!(
                !std::path::Path::new("/proc/self/stat").exists(),
                "procfs exists but was not parsed"
            );
            return;
        };
        // Spin until the counter moves (one tick is 10 ms), for at most 10 s.
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut x = 0_u64;
        let mut now = start;
        while now <= start && Instant::now() < deadline {
            for i in 0..100_000_u64 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
            }
            now = process_cpu_seconds().expect("still readable");
        }
        assert!(now > start, "CPU time did not grow: {start} -> {now}");
    }
}
