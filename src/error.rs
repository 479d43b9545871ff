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

/// An OAuth error code (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1; RFC 7009 §2.2.1; RFC 8707 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// A parameter is missing, repeated, malformed or not allowed.
    InvalidRequest,
    /// Client authentication failed (answered with 401).
    InvalidClient,
    /// The code, refresh token or credentials are invalid, expired, revoked or not this
    /// client's.
    InvalidGrant,
    /// The client may not use this flow or grant type.
    UnauthorizedClient,
    /// The grant type is unknown to the server.
    UnsupportedGrantType,
    /// The response type is unknown to the server.
    UnsupportedResponseType,
    /// The scope is malformed, unknown, or beyond what the client or user may have.
    InvalidScope,
    /// The user or server denied the request.
    AccessDenied,
    /// A `resource` is not one this server issues tokens for (RFC 8707 §2).
    InvalidTarget,
    /// The token type cannot be revoked (RFC 7009 §2.2.1).
    UnsupportedTokenType,
    /// A bearer token is missing, expired or revoked (RFC 6750 §3.1; answered with 401).
    InvalidToken,
    /// The token lacks a scope the resource needs (RFC 6750 §3.1; answered with 403).
    InsufficientScope,
    /// The server failed (a store or the OS random generator).
    ServerError,
    /// The server is overloaded or throttling (answered with 503, or 429 by the host).
    TemporarilyUnavailable,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }

    /// The HTTP status for this error in a direct (non-redirect) response.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::InvalidClient | ErrorCode::InvalidToken => 401,
            ErrorCode::InsufficientScope => 403,
            ErrorCode::ServerError => 500,
            ErrorCode::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A protocol error: the code and a description naming the parameter and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    /// The error code.
    pub code: ErrorCode,
    /// Human-readable detail, restricted to the characters RFC 6749 §5.2 allows.
    pub description: String,
}

impl OAuthError {
    /// An error with `description`, rewritten into the character set RFC 6749 §5.2 allows
    /// for `error_description` (printable ASCII without `"` and `\`).
    pub fn new(code: ErrorCode, description: impl AsRef<str>) -> Self {
        OAuthError {
            code,
            description: wire_safe(description.as_ref()),
        }
    }

    /// `invalid_request` naming the parameter.
    pub fn invalid_request(description: impl AsRef<str>) -> Self {
        OAuthError::new(ErrorCode::InvalidRequest, description)
    }

    /// `server_error`, for a failure the client cannot fix. The detail is for logs; clients
    /// see only that the server failed.
    pub fn server_error() -> Self {
        OAuthError::new(
            ErrorCode::ServerError,
            "the server could not complete the request",
        )
    }
}

fn wire_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '§' => out.push_str("section "),
            '"' => out.push('\''),
            '\\' => out.push('/'),
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

/// The longest piece of request input echoed into an error description, in characters;
/// longer input is cut and marked with `...`, so an error never carries a request's bulk back
/// (or into a log).
pub const MAX_ECHO_CHARS: usize = 64;

/// `value` as an error description may echo it: at most [`MAX_ECHO_CHARS`] characters.
pub(crate) fn echo(value: &str) -> std::borrow::Cow<'_, str> {
    match value.char_indices().nth(MAX_ECHO_CHARS) {
        None => std::borrow::Cow::Borrowed(value),
        Some((cut, _)) => {
            std::borrow::Cow::Owned(format!("{}...", value.get(..cut).unwrap_or(value)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_rewritten_to_the_allowed_characters() {
        let e = OAuthError::new(
            ErrorCode::InvalidRequest,
            "redirect_uri: \"x\\y\" (RFC 6749 §3.1.2) é\n",
        );
        assert_eq!(
            e.description,
            "redirect_uri: 'x/y' (RFC 6749 section 3.1.2) ??"
        );
        assert!(
            e.description
                .chars()
                .all(|c| matches!(c, ' '..='~') && c != '"' && c != '\\')
        );
    }

    #[test]
    fn statuses_follow_the_rfcs() {
        assert_eq!(ErrorCode::InvalidClient.status(), 401);
        assert_eq!(ErrorCode::InvalidGrant.status(), 400);
        assert_eq!(ErrorCode::InvalidToken.status(), 401);
        assert_eq!(ErrorCode::InsufficientScope.status(), 403);
        assert_eq!(ErrorCode::ServerError.status(), 500);
    }
}
