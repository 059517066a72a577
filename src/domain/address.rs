//! Addresses: the local (`self`) and remote (`peer`) party of a conversation.

use serde::{Serialize, Serializer};
use uuid::Uuid;

use super::text::ShortText;
use super::Invalid;

super::kinds::stored_enum! {
    /// What kind of endpoint an address names.
    #[derive(Default)]
    pub enum AddressType {
        #[default]
        None = "", Tel = "tel", Email = "email", Sip = "sip", Line = "line",
        Whatsapp = "whatsapp", Agent = "agent", Conference = "conference",
        Extension = "extension", Webchat = "webchat", WebSession = "web_session", Ai = "ai",
        AiTeam = "ai_team",
    }
}

impl AddressType {
    fn target_is_uuid(self) -> bool {
        matches!(
            self,
            Self::Agent
                | Self::Conference
                | Self::Extension
                | Self::Webchat
                | Self::WebSession
                | Self::Ai
                | Self::AiTeam
        )
    }
}

/// A phone number in E.164 form: `+` and 3 to 15 digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct E164(String);

impl E164 {
    /// Accepts the usual ways of writing a number: spaces, dashes, dots and parentheses are
    /// dropped, so `+1 (470) 329-8699` becomes `+14703298699`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let compact: String = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        let digits = compact
            .strip_prefix('+')
            .ok_or_else(|| format!("`{raw}` is not an E.164 number: it must start with +"))?;
        if !(3..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "`{raw}` is not an E.164 number: + then 3 to 15 digits"
            ));
        }
        Ok(Self(compact))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An address's target, valid for its type and normalised (E.164 compacted, UUIDs lower-case
/// hyphenated); at most 255 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target(ShortText);

impl Target {
    /// Checks `raw` against `kind`; the error names `target`.
    pub fn parse(kind: AddressType, raw: String) -> Result<Self, Invalid> {
        let raw = ShortText::parse("target", raw)?.into_inner();
        let normal = normalise_target(kind, raw).map_err(|m| Invalid::new("target", m))?;
        Ok(Self(ShortText::from_stored(normal)))
    }

    /// See [`ShortText::from_stored`].
    pub fn from_stored(value: String) -> Self {
        Self(ShortText::from_stored(value))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl Serialize for Target {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// A validated address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Address {
    #[serde(rename = "type")]
    pub kind: AddressType,
    pub target: Target,
    pub target_name: ShortText,
    pub name: ShortText,
    pub detail: ShortText,
}

/// Address parts as a client or a record gave them, not yet checked.
#[derive(Debug, Clone, Default)]
pub struct RawAddress {
    pub kind: AddressType,
    pub target: String,
    pub target_name: String,
    pub name: String,
    pub detail: String,
}

impl RawAddress {
    /// Checks every part; errors name the part (`target`, `targetName`, ...).
    pub fn parse(self) -> Result<Address, Invalid> {
        let kind = self.kind;
        Ok(Address {
            kind,
            target: Target::parse(kind, self.target)?,
            target_name: ShortText::parse("targetName", self.target_name)?,
            name: ShortText::parse("name", self.name)?,
            detail: ShortText::parse("detail", self.detail)?,
        })
    }
}

fn normalise_target(kind: AddressType, target: String) -> Result<String, String> {
    match kind {
        AddressType::None => Ok(target),
        AddressType::Tel | AddressType::Whatsapp => Ok(E164::parse(&target)?.0),
        AddressType::Email => parse_email(&target).map(|()| target),
        AddressType::Sip => parse_sip(&target).map(|()| target),
        AddressType::Line => {
            if target.trim().is_empty() {
                Err("a LINE target must not be empty".into())
            } else {
                Ok(target)
            }
        }
        t if t.target_is_uuid() => Uuid::try_parse(target.trim())
            .map(|u| u.hyphenated().to_string())
            .map_err(|_| format!("`{target}` is not a UUID")),
        _ => unreachable!("every address type is handled above"),
    }
}

fn parse_email(s: &str) -> Result<(), String> {
    let bad = || format!("`{s}` is not an email address (local@domain.tld)");
    let (local, domain) = s.split_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || domain.contains('@')
        || s.chars().any(char::is_whitespace)
        || !domain.contains('.')
        || domain.split('.').any(str::is_empty)
    {
        return Err(bad());
    }
    Ok(())
}

fn parse_sip(s: &str) -> Result<(), String> {
    let bad = || format!("`{s}` is not a SIP address (user@domain)");
    let (user, domain) = s.split_once('@').ok_or_else(bad)?;
    if user.is_empty()
        || domain.is_empty()
        || domain.contains('@')
        || s.chars().any(char::is_whitespace)
    {
        return Err(bad());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_accepts_formatted_numbers_and_short_codes() {
        assert_eq!(
            E164::parse("+1 (470) 329-8699").unwrap().as_str(),
            "+14703298699"
        );
        assert_eq!(E164::parse("+673802").unwrap().as_str(), "+673802");
        assert_eq!(
            E164::parse("+1.470.329.8699").unwrap().as_str(),
            "+14703298699"
        );
        assert!(E164::parse("14703298699").is_err());
        assert!(E164::parse("+12").is_err());
        assert!(E164::parse("+1234567890123456").is_err());
        assert!(E164::parse("+12a45").is_err());
    }

    #[test]
    fn email_and_sip() {
        assert!(parse_email("a@b.co").is_ok());
        assert!(parse_email("a@b").is_err());
        assert!(parse_email("a@@b.co").is_err());
        assert!(parse_email("@b.co").is_err());
        assert!(parse_email("a@b..co").is_err());
        assert!(parse_sip("alice@example.com").is_ok());
        assert!(parse_sip("alice").is_err());
    }
}
