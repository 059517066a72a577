//! `LIKE` patterns.

/// `%`, `_` and the escape character itself are matched literally. The escape character is
/// `!`, which no backend treats specially inside a string literal (MySQL does `\`).
pub(super) fn escape_like(needle: &str) -> String {
    let mut out = String::with_capacity(needle.len() + 2);
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(c);
    }
    out
}
