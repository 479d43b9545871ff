//! Why a federated login failed, in terms a login page can show.

/// Why a login through an auth module did not complete. `Display` is safe to show the user:
/// it names the step and never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// No module has this ID.
    #[error("no such login method")]
    UnknownModule,
    /// The module is disabled: it starts no login and completes none.
    #[error("this login method is disabled")]
    ModuleDisabled,
    /// The callback's `state` is not the one this browser's session holds (RFC 6749 §10.12):
    /// a forged or crossed callback.
    #[error("state: does not match the login this browser started")]
    StateMismatch,
    /// The callback arrived at another module's redirect URI than the one the login was
    /// started with (a mix-up, RFC 9700 §4.4).
    #[error("the callback arrived for another login method than the one started")]
    WrongCallback,
    /// The callback repeats a parameter that must appear once.
    #[error("{0}: appears more than once in the callback")]
    RepeatedParameter(&'static str),
    /// The callback came from a different issuer than the module's (RFC 9207 `iss`).
    #[error(
        "iss: the callback names a different provider, or none where one is required (RFC 9207)"
    )]
    IssuerMismatch,
    /// The session's login was started as an administrator's test login, which never signs
    /// anyone in.
    #[error("this was a test login; it signs nobody in")]
    TestLoginOnly,
    /// The login was started too long ago.
    #[error("the login took too long; start again")]
    Expired,
    /// The user declined at the provider.
    #[error("access_denied: the provider reports that access was denied")]
    AccessDenied,
    /// The provider answered the callback or the token request with an OAuth error.
    #[error("the provider answered {error}{}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Provider {
        /// The error code.
        error: String,
        /// The provider's description, cut to 200 characters.
        description: Option<String>,
    },
    /// The callback lacks the `code` parameter.
    #[error("code: missing from the callback")]
    MissingCode,
    /// The provider did not answer in time.
    #[error("{endpoint}: the provider did not answer in time")]
    Timeout {
        /// Which endpoint: `token`, `user_info`, `email`, `avatar`, `jwks`.
        endpoint: &'static str,
    },
    /// The provider could not be reached.
    #[error("{endpoint}: could not reach the provider")]
    Unreachable {
        /// Which endpoint.
        endpoint: &'static str,
    },
    /// The provider's answer was not what the protocol says (status, JSON, members).
    #[error("{endpoint}: {problem}")]
    BadResponse {
        /// Which endpoint.
        endpoint: &'static str,
        /// What was wrong.
        problem: String,
    },
    /// The ID token failed a check (OpenID Connect Core §3.1.3.7).
    #[error("id_token: {0}")]
    IdToken(String),
    /// The profile has no value at the user ID path, or one that is not exact.
    #[error("user ID: {0}")]
    UserId(&'static str),
    /// A random value could not be drawn, or a store failed.
    #[error("the server could not complete the login")]
    Internal,
}

impl LoginError {
    pub(crate) fn provider(error: &str, description: Option<&str>) -> LoginError {
        let cut = |s: &str| s.chars().take(200).collect::<String>();
        if error == "access_denied" {
            return LoginError::AccessDenied;
        }
        LoginError::Provider {
            error: cut(error),
            description: description.map(cut),
        }
    }
}

impl From<crate::RandomError> for LoginError {
    fn from(_: crate::RandomError) -> Self {
        LoginError::Internal
    }
}

impl From<crate::store::StoreError> for LoginError {
    fn from(_: crate::store::StoreError) -> Self {
        LoginError::Internal
    }
}
