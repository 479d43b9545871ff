//! The authorization endpoint (RFC 6749 §3.1, §4.1.1, §4.2.1).

use std::sync::Arc;

use url::form_urlencoded;

use super::{AuthorizationServer, Params};
use crate::byteset::ByteSet;
use crate::client::{ClientId, Flow, OAuthClient};
use crate::clock::Timestamp;
use crate::error::{ErrorCode, OAuthError};
use crate::pkce::{CodeChallenge, PkceMethod};
use crate::random;
use crate::redirect::{RedirectUriKind, TrustedRedirectUri};
use crate::scope::Scope;
use crate::store::CodeBinding;
use crate::store::{Consent, GrantId, TokenHash, TokenKind, TokenRecord};

/// What the host does next with an authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorize {
    /// Nobody is logged in: show a login page, then call `authorize` again with the same
    /// parameters and the user.
    Login(LoginPrompt),
    /// The client needs the user's approval: show it, then call
    /// [`AuthorizationServer::authorize_with_consent`] with the same parameters.
    Consent(ConsentPrompt),
    /// Send the user agent here (303 or 302). Code, token or error, `state` and `iss` are on it.
    Redirect(String),
    /// Show an error page; never redirect (unknown client, untrusted or missing redirect URI,
    /// RFC 6749 §4.1.2.1).
    Refused(OAuthError),
}

/// What a login page needs to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginPrompt {
    /// The client asking.
    pub client_id: ClientId,
    /// Its display name.
    pub client_name: String,
}

/// What a consent page must show (the client's name, home URL and the scopes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentPrompt {
    /// The client asking.
    pub client_id: ClientId,
    /// Its display name.
    pub client_name: String,
    /// Its home URL, if it has one.
    pub home_url: Option<String>,
    /// The scopes that approval would grant.
    pub scopes: Scope,
    /// The user being asked.
    pub user: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Query,
    Fragment,
}

/// Single-valued parameters: a repeat of any of them is `invalid_request` (RFC 6749 §3.1).
const SINGLE: &[&str] = &[
    "response_type",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "response_mode",
    "prompt",
];

/// A request that passed every check that does not need the user.
struct Checked {
    flow: Flow,
    scope: Scope,
    /// The `scope` parameter, parsed, if the request had one.
    scope_requested: Option<Scope>,
    challenge: Option<CodeChallenge>,
    audience: Arc<[String]>,
    nonce: Option<String>,
}

/// `base` with `pairs` (those with a value) and the issuer (RFC 9207) appended to its query
/// or fragment; `encoded_iss` is the issuer already form-encoded, once for all responses.
fn redirect_with(
    base: &str,
    mode: Mode,
    pairs: &[(&str, Option<&str>)],
    encoded_iss: &str,
) -> String {
    let sep = match mode {
        Mode::Fragment => "#",
        Mode::Query if !base.contains('?') => "?",
        Mode::Query if base.ends_with('?') || base.ends_with('&') => "",
        Mode::Query => "&",
    };
    let len: usize = pairs
        .iter()
        .map(|(k, v)| k.len() + v.map_or(0, str::len) + 2)
        .sum();
    let mut out = String::with_capacity(base.len() + sep.len() + len + encoded_iss.len() + 24);
    out.push_str(base);
    out.push_str(sep);
    for (k, v) in pairs {
        if let Some(v) = v {
            push_form_encoded(&mut out, k);
            out.push('=');
            push_form_encoded(&mut out, v);
            out.push('&');
        }
    }
    out.push_str("iss=");
    out.push_str(encoded_iss);
    out
}

/// `value` form-encoded (`application/x-www-form-urlencoded`).
pub(super) fn form_encoded(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    push_form_encoded(&mut out, value);
    out
}

/// Appends `value` form-encoded; codes and tokens (base64url) need no encoding, so the common
/// case is a plain copy.
fn push_form_encoded(out: &mut String, value: &str) {
    // The bytes the form serializer leaves as they are.
    const SAFE: ByteSet = ByteSet::EMPTY.with_alphanumerics().with(b"*-._");
    if SAFE.all(value.as_bytes()) {
        out.push_str(value);
    } else {
        out.extend(form_urlencoded::byte_serialize(value.as_bytes()));
    }
}

impl AuthorizationServer {
    /// Handles an authorization request for `user` (`None` when nobody is logged in).
    pub async fn authorize(&self, params: &Params<'_>, user: Option<&str>) -> Authorize {
        self.run_authorize(params, user, None).await
    }

    /// Handles the answer of a consent page: the same parameters, the user, and whether they
    /// approved. Approval is remembered for the user, client and scopes.
    ///
    /// The consent form must be protected against cross-site request forgery by the host
    /// (a per-session token): this call trusts that the user really clicked.
    pub async fn authorize_with_consent(
        &self,
        params: &Params<'_>,
        user: &str,
        approved: bool,
    ) -> Authorize {
        self.run_authorize(params, Some(user), Some(approved)).await
    }

    async fn run_authorize(
        &self,
        params: &Params<'_>,
        user: Option<&str>,
        decision: Option<bool>,
    ) -> Authorize {
        // Until the client and redirect URI are known good, errors go to the user, never to a
        // redirect (RFC 6749 §4.1.2.1; RFC 9700 §4.11).
        let (client, redirect, redirect_given) = match self.client_and_redirect(params).await {
            Ok(found) => found,
            Err(e) => return Authorize::Refused(e),
        };
        let mode = match params.one("response_type") {
            Ok(Some("token")) => Mode::Fragment,
            _ => Mode::Query,
        };
        let state = params.one("state").ok().flatten();
        let fail = |e: OAuthError| {
            let pairs = [
                ("error", Some(e.code.as_str())),
                ("error_description", Some(e.description.as_str())),
                ("state", state),
            ];
            Authorize::Redirect(redirect_with(
                redirect.as_str(),
                mode,
                &pairs,
                &self.encoded_issuer,
            ))
        };

        let checked = match self.check_request(&client, params).await {
            Ok(c) => c,
            Err(e) => return fail(e),
        };
        let Some(user) = user else {
            return Authorize::Login(LoginPrompt {
                client_id: client.id().clone(),
                client_name: client.name().to_owned(),
            });
        };
        let permitted = match self.users.permitted_scopes(user).await {
            Ok(p) => p,
            Err(e) => return fail(e.into()),
        };
        // Access never exceeds what the user holds.
        let granted = checked.scope.intersection(&permitted);
        if granted.is_empty() {
            return fail(OAuthError::new(
                ErrorCode::InvalidScope,
                "scope: the user holds none of the requested scopes",
            ));
        }

        if decision == Some(false) {
            return fail(OAuthError::new(
                ErrorCode::AccessDenied,
                "the user denied the request",
            ));
        }
        if client.requires_consent() {
            match self
                .consent_needed(&client, &redirect, user, &granted, decision)
                .await
            {
                Ok(None) => {}
                Ok(Some(prompt)) => return Authorize::Consent(prompt),
                Err(e) => return fail(e),
            }
        }

        match self
            .respond(
                &client,
                &redirect,
                redirect_given,
                user,
                &granted,
                &checked,
                state,
            )
            .await
        {
            Ok(location) => Authorize::Redirect(location),
            Err(e) => fail(e),
        }
    }

    async fn client_and_redirect(
        &self,
        params: &Params<'_>,
    ) -> Result<(Arc<OAuthClient>, TrustedRedirectUri, bool), OAuthError> {
        let raw_id = params.required("client_id")?;
        let id = ClientId::new(raw_id).map_err(|e| OAuthError::invalid_request(e.to_string()))?;
        let client = self.clients.store().get(&id).await?.ok_or_else(|| {
            OAuthError::invalid_request(format!("client_id: no client `{id}` is registered"))
        })?;
        match params.one("redirect_uri")? {
            Some(uri) => {
                let trusted = self
                    .clients
                    .check_redirect_uri(&client, uri)
                    .await
                    .map_err(|e| OAuthError::invalid_request(e.to_string()))?;
                Ok((client, trusted, true))
            }
            None => {
                // RFC 6749 §3.1.2.3: without the parameter, only a single registered URI that
                // needs no resolution or port is unambiguous.
                let only = match client.redirect_uris() {
                    [one]
                        if matches!(
                            one.kind(),
                            RedirectUriKind::Absolute | RedirectUriKind::PrivateUse
                        ) =>
                    {
                        Some(one.as_str().to_owned())
                    }
                    _ => None,
                };
                let uri = only.ok_or_else(|| {
                    OAuthError::invalid_request(
                        "redirect_uri: is required unless the client has exactly one \
                         registered absolute redirect URI",
                    )
                })?;
                let trusted = client
                    .check_redirect_uri(&uri)
                    .map_err(|e| OAuthError::invalid_request(e.to_string()))?;
                Ok((client, trusted, false))
            }
        }
    }

    async fn check_request(
        &self,
        client: &OAuthClient,
        params: &Params<'_>,
    ) -> Result<Checked, OAuthError> {
        params.reject_repeats(SINGLE)?;
        // RFC 9101 request objects are not supported; ignoring them would drop parameters the
        // client meant to be authoritative.
        for name in ["request", "request_uri"] {
            if params.has(name) {
                return Err(OAuthError::invalid_request(format!(
                    "{name}: request objects are not supported"
                )));
            }
        }
        let flow = match params.one("response_type")? {
            None => return Err(OAuthError::invalid_request("response_type: is required")),
            Some("code") => Flow::AuthorizationCode,
            Some("token") => Flow::Implicit,
            Some(other) => {
                return Err(OAuthError::new(
                    ErrorCode::UnsupportedResponseType,
                    format!("response_type: `{other}` is not supported; use `code`"),
                ));
            }
        };
        if client.flows().is_empty() {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "client_id: the client is inactive (no flow is enabled)",
            ));
        }
        if !client.allows(flow) {
            let name = match flow {
                Flow::Implicit => "the implicit flow",
                _ => "the authorization code flow",
            };
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                format!("response_type: the client may not use {name}"),
            ));
        }
        let expected_mode = if flow == Flow::Implicit {
            "fragment"
        } else {
            "query"
        };
        if let Some(mode) = params.one("response_mode")?
            && mode != expected_mode
        {
            return Err(OAuthError::invalid_request(format!(
                "response_mode: only `{expected_mode}` is supported for this response_type"
            )));
        }

        let scope_requested = params
            .one("scope")?
            .map(Scope::parse)
            .transpose()
            .map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e.to_string()))?;
        let requested = scope_requested
            .clone()
            .unwrap_or_else(|| client.scopes().clone());
        let scope = requested.intersection(client.scopes());
        if scope.is_empty() {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                "scope: none of the requested scopes is allowed for this client",
            ));
        }

        let challenge = if flow == Flow::AuthorizationCode {
            self.check_pkce(client, params)?
        } else {
            None
        };
        let audience = self.audiences(&params.all("resource")).await?;
        Ok(Checked {
            flow,
            scope,
            scope_requested,
            challenge,
            audience,
            nonce: params.one("nonce")?.map(str::to_owned),
        })
    }

    fn check_pkce(
        &self,
        client: &OAuthClient,
        params: &Params<'_>,
    ) -> Result<Option<CodeChallenge>, OAuthError> {
        let method = params.one("code_challenge_method")?;
        let Some(value) = params.one("code_challenge")? else {
            if method.is_some() {
                return Err(OAuthError::invalid_request(
                    "code_challenge_method: sent without code_challenge",
                ));
            }
            if client.requires_pkce() {
                return Err(OAuthError::invalid_request(
                    "code_challenge: is required for this client (RFC 7636; RFC 9700 section 2.1.1)",
                ));
            }
            return Ok(None);
        };
        let challenge = CodeChallenge::parse(value, method)
            .map_err(|e| OAuthError::invalid_request(e.to_string()))?;
        if challenge.method() == PkceMethod::Plain && !self.settings.allow_plain_pkce {
            return Err(OAuthError::invalid_request(
                "code_challenge_method: `plain` is not allowed; use `S256` (RFC 9700 section 2.1.1)",
            ));
        }
        Ok(Some(challenge))
    }

    /// `None` when the user already approved these scopes (or just did), else the prompt.
    async fn consent_needed(
        &self,
        client: &OAuthClient,
        redirect: &TrustedRedirectUri,
        user: &str,
        granted: &Scope,
        decision: Option<bool>,
    ) -> Result<Option<ConsentPrompt>, OAuthError> {
        let remembered = self.tokens.consent(user, client.id()).await?;
        if decision == Some(true) {
            let mut scopes = remembered.map(|c| c.scopes).unwrap_or_default();
            scopes.extend(granted.iter().map(str::to_owned));
            self.tokens
                .put_consent(Consent {
                    user: user.to_owned(),
                    client_id: client.id().clone(),
                    scopes,
                    granted_at: self.now(),
                })
                .await?;
            return Ok(None);
        }
        // RFC 8252 §8.6: a loopback or private-use redirect can be claimed by any app on the
        // device, so a public client using one is asked every time.
        let reusable = !(client.client_type() == crate::client::ClientType::Public
            && redirect.is_native_app_redirect());
        let covered = remembered.is_some_and(|c| granted.iter().all(|s| c.scopes.contains(s)));
        if reusable && covered {
            return Ok(None);
        }
        Ok(Some(ConsentPrompt {
            client_id: client.id().clone(),
            client_name: client.name().to_owned(),
            home_url: client.home_url().map(|u| u.as_str().to_owned()),
            scopes: granted.clone(),
            user: user.to_owned(),
        }))
    }

    #[allow(clippy::too_many_arguments)]
    async fn respond(
        &self,
        client: &OAuthClient,
        redirect: &TrustedRedirectUri,
        redirect_given: bool,
        user: &str,
        granted: &Scope,
        checked: &Checked,
        state: Option<&str>,
    ) -> Result<String, OAuthError> {
        let scope_changed = checked.scope_requested.as_ref() != Some(granted);
        match checked.flow {
            Flow::Implicit => {
                let issued = self
                    .issue(
                        client.id(),
                        Some(user.into()),
                        granted,
                        &checked.audience,
                        None,
                        false,
                    )
                    .await?;
                let expires = issued.expires_in.to_string();
                let pairs = [
                    ("access_token", Some(issued.access_token.as_str())),
                    ("token_type", Some("Bearer")),
                    ("expires_in", Some(expires.as_str())),
                    ("scope", scope_changed.then(|| granted.as_str())),
                    ("state", state),
                ];
                Ok(redirect_with(
                    redirect.as_str(),
                    Mode::Fragment,
                    &pairs,
                    &self.encoded_issuer,
                ))
            }
            _ => {
                let code = random::token()?;
                let hash = TokenHash::of_bytes(code.as_bytes());
                let now = self.now();
                let record = TokenRecord {
                    kind: TokenKind::AuthorizationCode,
                    client_id: client.id().clone(),
                    subject: Some(user.into()),
                    // Codes, and the tokens later issued from them, form one family.
                    grant_id: GrantId::derived_from(&hash),
                    scope: granted.clone(),
                    audience: checked.audience.clone(),
                    issued_at: now,
                    expires_at: Timestamp(now.0.saturating_add(self.settings.code_lifetime)),
                    code: Some(CodeBinding {
                        redirect_uri: redirect_given.then(|| redirect.shared()),
                        code_challenge: checked.challenge.clone(),
                        nonce: checked.nonce.clone(),
                    }),
                };
                self.tokens.insert(hash, record).await?;
                let pairs = [("code", Some(code.as_str())), ("state", state)];
                Ok(redirect_with(
                    redirect.as_str(),
                    Mode::Query,
                    &pairs,
                    &self.encoded_issuer,
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_parameters_are_appended_correctly() {
        let p = [
            ("code", Some("a b&c")),
            ("skipped", None),
            ("state", Some("s")),
        ];
        let iss = form_encoded("https://as.example/t");
        assert_eq!(iss, "https%3A%2F%2Fas.example%2Ft");
        let cases = [
            (
                "https://a/cb",
                Mode::Query,
                "https://a/cb?code=a+b%26c&state=s&iss=",
            ),
            (
                "https://a/cb?x=1",
                Mode::Query,
                "https://a/cb?x=1&code=a+b%26c&state=s&iss=",
            ),
            (
                "https://a/cb?",
                Mode::Query,
                "https://a/cb?code=a+b%26c&state=s&iss=",
            ),
            (
                "https://a/cb?x=1&",
                Mode::Query,
                "https://a/cb?x=1&code=a+b%26c&state=s&iss=",
            ),
            (
                "https://a/cb?x=1",
                Mode::Fragment,
                "https://a/cb?x=1#code=a+b%26c&state=s&iss=",
            ),
        ];
        for (base, mode, expected) in cases {
            assert_eq!(
                redirect_with(base, mode, &p, &iss),
                format!("{expected}{iss}")
            );
        }
        assert_eq!(
            redirect_with("https://a/cb", Mode::Query, &[], &iss),
            format!("https://a/cb?iss={iss}")
        );
    }
}
