//! The runner's last line: how many tests ran on each backend, and what was not run and why.

use super::Backend;

/// `152 run on SQLite, 140 on PostgreSQL, 139 skipped: set TEST_MYSQL_URL=mysql://… to run them`
/// (then, if any, the tests skipped for what they need beyond their backend: `unmet`, their
/// reasons).
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
    if let Some(reason) = unmet.first() {
        let n = unmet.len();
        let tests = if n == 1 { "test" } else { "tests" };
        line.push_str(&format!(
            "; {n} {tests} needing a PostgreSQL standby not run ({reason})"
        ));
    }
    line
}
