//! The enumerations of a conversation, each with its stored (and source platform's) spelling.
//! Each is declared once, as a table of variant and spelling ([`stored_enum!`]).

/// An enum whose values are stored as strings: the enum, `ALL`, `as_str`, `from_stored` and
/// `Serialize` (as the stored string), from one table.
macro_rules! stored_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $stored:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored (and source platform's) spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $stored),+ }
            }

            /// Parses the stored spelling.
            pub fn from_stored(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}
pub(crate) use stored_enum;

stored_enum! {
    /// The channel a conversation runs on.
    pub enum ConversationType { Message = "message", Line = "line" }
}

stored_enum! {
    /// Who owns a conversation (`""` is stored when nobody does).
    pub enum OwnerType { Agent = "agent" }
}

impl OwnerType {
    /// The stored spelling of an optional owner type (`""` for none).
    pub fn stored(owner: Option<Self>) -> &'static str {
        owner.map_or("", Self::as_str)
    }
}
