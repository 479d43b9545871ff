//! Errors shared by several areas.

/// A setting that was refused, naming the field (with its index for lists, as in
/// `redirect_uris[2]`) and the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidField {
    /// The field's name, as in the settings' serialized form.
    pub field: String,
    /// The rule the value broke, written for the person who entered it.
    pub reason: String,
}

impl InvalidField {
    /// An error for `field`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        InvalidField {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
