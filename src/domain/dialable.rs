//! Phone numbers as people type them: `+1 (470) 329-8699`, `470 329`, `0812.345.678`.
//!
//! Text that reads as a phone number ([`Dialable::parse`]: only ASCII digits, spaces and
//! `+ - . ( )`, with at least 3 digits) is compared with a dialable field (`dialogId`,
//! `self.target`, `peer.target`) in its [`phone_form`]: separators dropped on both sides.
//! The stored side is read the same way whatever its address type: an E.164 target has no
//! separators, a `dialogId` stored as typed (`+1 (470) 329-8699`) reads `+14703298699`, and
//! a LINE id `U-12-34` reads `U1234`. `+` and every other character are kept. Text with
//! anything else in it (letters, `@`, `_`) is not dialable and is compared as given.
//!
//! Dropping separators keeps every match the plain comparison finds (if the stored text
//! contains the typed text, it still does with the separators of both gone), so dialable text
//! only ever finds more.

/// The characters a phone number may be written with that are not part of it.
pub const SEPARATORS: [char; 5] = [' ', '-', '.', '(', ')'];

/// `text` with the [`SEPARATORS`] dropped: how a dialable field is compared with dialable text.
pub fn phone_form(text: &str) -> String {
    text.chars().filter(|c| !SEPARATORS.contains(c)).collect()
}

/// Dialable text in its [`phone_form`]: ASCII digits and `+` only, at least 3 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dialable(String);

impl Dialable {
    /// `text` as a phone number, or `None` when it has anything but digits, spaces and
    /// `+ - . ( )`, or fewer than 3 digits.
    pub fn parse(text: &str) -> Option<Self> {
        let allowed = |c: char| c.is_ascii_digit() || c == '+' || SEPARATORS.contains(&c);
        let digits = text.chars().filter(char::is_ascii_digit).count();
        (digits >= 3 && text.chars().all(allowed)).then(|| Self(phone_form(text)))
    }

    /// The digits and `+` signs, in order.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(s: &str) -> Option<String> {
        Dialable::parse(s).map(|d| d.as_str().to_owned())
    }

    #[test]
    fn phone_like_text_loses_its_separators() {
        assert_eq!(form("+1 (470) 329-8699").as_deref(), Some("+14703298699"));
        assert_eq!(form("470 329").as_deref(), Some("470329"));
        assert_eq!(form("+673 802").as_deref(), Some("+673802"));
        assert_eq!(form("0812.345.678").as_deref(), Some("0812345678"));
        assert_eq!(form("123").as_deref(), Some("123"));
    }

    #[test]
    fn other_text_is_not_dialable() {
        assert_eq!(form("12"), None, "fewer than 3 digits");
        assert_eq!(form("+1-2"), None);
        assert_eq!(form("U-123-456"), None, "letters: a LINE id");
        assert_eq!(form("alice@example.com"), None);
        assert_eq!(form("123_456"), None);
        assert_eq!(form("١٢٣"), None, "ASCII digits only");
        assert_eq!(form(""), None);
    }

    #[test]
    fn the_stored_side_drops_the_same_separators() {
        assert_eq!(phone_form("+1 (470) 329-8699"), "+14703298699");
        assert_eq!(phone_form("U-12-34"), "U1234");
        assert_eq!(phone_form("a_b@c.d"), "a_b@cd");
    }
}
