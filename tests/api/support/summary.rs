//! The runner's last line: how many tests ran on each backend, and what was not run and why.

use super::Backend;

/// `152 run on SQLite, 140 on PostgreSQL, 139 skipped: set TEST_MYSQL_URL=mysql://… to run them`
/// (then, if any, the tests skipped for what they need beyond their backend, a PostgreSQL
/// standby or NATS: `unmet`, their reasons, counted per reason).
pub fn line(ran: [usize; 3], skipped: [usize; 3], unmet: &[String]) -> String {
    let mut parts = Vec::new();
    for (i, backend) in Backend::ALL.iter().enumerate() {
        if backend.is_configured() {
            let prefix = if parts.is_empty() { " run" } else { "" };
            parts.push(format!("{}{prefix} on {}", ran[i], backend.label()));
        }
    }
    let mut line = parts.join(", ");
    let total_skipped: usize = skipped.iter().sum();
    let unset: Vec<String> = Backend::ALL
        .iter()
        .filter(|b| !b.is_configured())
        .map(|b| format!("{}={}", b.variable().unwrap_or_default(), b.example_url()))
        .collect();
    if !unset.is_empty() && total_skipped > 0 {
        line.push_str(&format!(
            ", {total_skipped} skipped: set {} to run them",
            unset.join(" / ")
        ));
    }
    // The tests skipped for what they need beyond their backend, by reason.
    let mut reasons: Vec<(&str, usize)> = Vec::new();
    for reason in unmet {
        match reasons.iter_mut().find(|(r, _)| *r == reason.as_str()) {
            Some((_, n)) => *n += 1,
            None => reasons.push((reason, 1)),
        }
    }
    for (reason, n) in reasons {
        let tests = if n == 1 { "test" } else { "tests" };
        line.push_str(&format!("; {n} {tests} not run ({reason})"));
    }
    line
}
