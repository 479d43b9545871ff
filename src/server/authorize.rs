//! The authorization endpoint (RFC 6749 §3.1, §4.1.1, §4.2.1).

use std::sync::Arc;

use url::form_urlencoded;

use super::params::{Field, Reader, Slot};
use super::{AuthorizationServer, Issue, Params};
use crate::client::{ClientId, Flow, OAuthClient, Registration};
use crate::clock::Timestamp;
use crate::error::{ErrorCode, OAuthError};
use crate::pkce::{CodeChallenge, PkceMethod};
use crate::random;
use crate::redirect::{RedirectUriKind, TrustedRedirectUri};
use crate::scope::Scope;
use crate::store::CodeBinding;
use crate::store::{Consent, Grant, GrantId, TokenHash, TokenKind, TokenRecord};

/// What the host does next with an authorization request. `Debug` redacts the code or token
/// a redirect carries.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
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

impl std::fmt::Debug for Authorize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Authorize::Login(p) => f.debug_tuple("Login").field(p).finish(),
            Authorize::Consent(p) => f.debug_tuple("Consent").field(p).finish(),
            Authorize::Redirect(location) => f
                .debug_tuple("Redirect")
                .field(&crate::redact::url(location))
                .finish(),
            Authorize::Refused(e) => f.debug_tuple("Refused").field(e).finish(),
        }
    }
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
    /// Where the user's browser will be sent: the redirect URI's host (with its port, if
    /// any), or its scheme for a native app's private-use URI. The MCP authorization spec asks
    /// consent pages to show it, so the user can judge who receives the grant.
    pub redirect_host: String,
    /// Every redirect URI of the client is on this device (loopback): whatever program runs
    /// there receives the grant. A consent page should warn about it (RFC 8252 §8.6).
    pub loopback_only: bool,
    /// For a client registered automatically from its metadata document: the host (and port)
    /// of its client ID URL, which is who vouches for the name above (draft-ietf-oauth-client-
    /// id-metadata-document §8.5). A consent page should say the client registered itself and
    /// show this host. `None` for a client an administrator registered.
    pub auto_registered_by: Option<String>,
}

/// The host (and port) of `uri`, or its scheme when it has no host.
fn shown_host(uri: &str) -> String {
    match url::Url::parse(uri) {
        Ok(url) => match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => url.scheme().to_owned(),
        },
        Err(_) => String::new(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Query,
    Fragment,
}

/// The parameters of an authorization request (RFC 6749 §4.1.1, §4.2.1; RFC 7636 §4.3;
/// RFC 8707 §2), read in one pass over the query.
#[derive(Default)]
struct Request<'p> {
    client_id: Field<'p>,
    redirect_uri: Field<'p>,
    response_type: Field<'p>,
    response_mode: Field<'p>,
    scope: Field<'p>,
    state: Field<'p>,
    code_challenge: Field<'p>,
    code_challenge_method: Field<'p>,
    nonce: Field<'p>,
    /// Not acted on; read so that a repeat is refused like any other.
    prompt: Field<'p>,
    resources: Vec<&'p str>,
    /// RFC 9101 request objects, which are refused.
    request: Field<'p>,
    request_uri: Field<'p>,
    /// The first parameter seen a second time (`client_id` and `redirect_uri` are refused
    /// before this is looked at).
    first_repeat: Option<&'p str>,
}

impl<'p> Reader<'p> for Request<'p> {
    fn slot(&mut self, name: &str) -> Slot<'_, 'p> {
        Slot::One(match name {
            "client_id" => &mut self.client_id,
            "redirect_uri" => &mut self.redirect_uri,
            "response_type" => &mut self.response_type,
            "response_mode" => &mut self.response_mode,
            "scope" => &mut self.scope,
            "state" => &mut self.state,
            "code_challenge" => &mut self.code_challenge,
            "code_challenge_method" => &mut self.code_challenge_method,
            "nonce" => &mut self.nonce,
            "prompt" => &mut self.prompt,
            "request" => &mut self.request,
            "request_uri" => &mut self.request_uri,
            "resource" => return Slot::Many(&mut self.resources),
            _ => return Slot::Unknown,
        })
    }
}

impl<'p> Request<'p> {
    fn read(params: &'p Params<'_>) -> Self {
        let (mut r, first_repeat) = params.read::<Request<'p>>();
        r.first_repeat = first_repeat;
        r
    }

    /// `request` or `request_uri`, if the request has one.
    fn request_object(&self) -> Option<&'static str> {
        if self.request.value.is_some() {
            Some("request")
        } else if self.request_uri.value.is_some() {
            Some("request_uri")
        } else {
            None
        }
    }
}

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

/// The value of a redirect parameter.
#[derive(Debug, Clone, Copy)]
enum Value<'a> {
    /// Any text, form-encoded.
    Text(&'a str),
    /// A code or token this server made: base64url (a JWT adds `.`), which form encoding
    /// leaves as it is. Copied without a look at each byte, which for a secret could show
    /// something of it to a process timing the CPU's caches.
    Minted(&'a str),
}

impl<'a> Value<'a> {
    fn text(value: Option<&'a str>) -> Option<Self> {
        value.map(Value::Text)
    }

    fn len(self) -> usize {
        match self {
            Value::Text(v) | Value::Minted(v) => v.len(),
        }
    }
}

/// `base` with `pairs` (those with a value) and the issuer (RFC 9207) appended to its query
/// or fragment; `encoded_iss` is the issuer already form-encoded, once for all responses.
fn redirect_with(
    base: &str,
    mode: Mode,
    pairs: &[(&str, Option<Value<'_>>)],
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
        .map(|(k, v)| k.len() + v.map_or(0, Value::len) + 2)
        .sum();
    let mut out = String::with_capacity(base.len() + sep.len() + len + encoded_iss.len() + 24);
    out.push_str(base);
    out.push_str(sep);
    for (k, v) in pairs {
        if let Some(v) = v {
            // The names are this module's own literals, none of which needs encoding.
            debug_assert!(k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
            out.push_str(k);
            out.push('=');
            match *v {
                Value::Text(v) => push_form_encoded(&mut out, v),
                Value::Minted(v) => out.push_str(v),
            }
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

/// Appends `value` form-encoded.
fn push_form_encoded(out: &mut String, value: &str) {
    out.extend(form_urlencoded::byte_serialize(value.as_bytes()));
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
        let call = crate::trace::Call::start("authorize", params);
        let outcome = call.run(self.authorize_inner(params, user, decision)).await;
        call.finish(match &outcome {
            Authorize::Login(_) => "login",
            Authorize::Consent(_) => "consent",
            Authorize::Redirect(_) => "redirect",
            Authorize::Refused(e) => e.code.as_str(),
        });
        outcome
    }

    async fn authorize_inner(
        &self,
        params: &Params<'_>,
        user: Option<&str>,
        decision: Option<bool>,
    ) -> Authorize {
        let request = Request::read(params);
        // A client that names itself by its metadata document's URL is registered (or
        // refreshed) from it first, when the host has that on.
        if let Ok(Some(raw_id)) = request.client_id.get("client_id")
            && crate::cimd::is_url_shaped(raw_id)
            && self.cimd_enabled()
        {
            match self.register_from_document(raw_id, user).await {
                Ok(None) => {}
                Ok(Some(login_first)) => return Authorize::Login(login_first),
                Err(e) => return Authorize::Refused(e),
            }
        }
        // Until the client and redirect URI are known good, errors go to the user, never to a
        // redirect (RFC 6749 §4.1.2.1; RFC 9700 §4.11).
        let (client, redirect, redirect_given) =
            match self.client_and_redirect(&request, user).await {
                Ok(found) => found,
                Err(e) => return Authorize::Refused(e),
            };
        // RFC 9700 §4.11.2: until a user has logged in, the server must not redirect to the
        // client at all, or anyone could bounce a browser through this server to the client's
        // URI (an open redirector with this server's name on it). So every other error waits
        // until after login, and an anonymous request does no further work and writes nothing.
        let Some(user) = user else {
            return Authorize::Login(LoginPrompt {
                client_id: client.id().clone(),
                client_name: client.name().to_owned(),
            });
        };
        // RFC 6749 §4.2.2.1: implicit errors go in the fragment, once the grant is offered.
        let mode = match request.response_type.get("response_type") {
            Ok(Some("token")) if self.settings.implicit_grant => Mode::Fragment,
            _ => Mode::Query,
        };
        let state = request.state.get("state").ok().flatten();
        let fail = |e: OAuthError| {
            let pairs = [
                ("error", Some(Value::Text(e.code.as_str()))),
                ("error_description", Some(Value::Text(&e.description))),
                ("state", Value::text(state)),
            ];
            Authorize::Redirect(redirect_with(
                redirect.as_str(),
                mode,
                &pairs,
                &self.encoded_issuer,
            ))
        };

        let checked = match self.check_request(&client, &request).await {
            Ok(c) => c,
            Err(e) => return fail(e),
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
        // A client that registered itself is vouched for by nobody but its document's host:
        // its user is asked, whatever its settings say.
        if client.requires_consent() || client.registration() == Registration::Cimd {
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

    /// The client and the redirect URI to answer at. An untrusted redirect URI is recorded for
    /// review only when a `user` is logged in: the seed holds a URI for review when a user
    /// tries to authorize with it, and an anonymous request must write nothing, or anyone
    /// could fill a client's review list.
    async fn client_and_redirect(
        &self,
        request: &Request<'_>,
        user: Option<&str>,
    ) -> Result<(Arc<OAuthClient>, TrustedRedirectUri, bool), OAuthError> {
        let raw_id = request.client_id.required("client_id")?;
        ClientId::check(raw_id).map_err(|e| OAuthError::invalid_request(e.to_string()))?;
        let client = self.client(raw_id).await?.ok_or_else(|| {
            OAuthError::invalid_request(format!(
                "client_id: no client `{}` is registered",
                super::echo(raw_id)
            ))
        })?;
        crate::trace::client(client.id().as_str());
        match request.redirect_uri.get("redirect_uri")? {
            Some(uri) => {
                let trusted = if user.is_some() {
                    self.clients
                        .check_redirect_uri_by(&client, uri, user)
                        .await
                        .map_err(|e| OAuthError::invalid_request(e.to_string()))?
                } else {
                    client
                        .check_redirect_uri(uri)
                        .map_err(|e| OAuthError::invalid_request(e.to_string()))?
                };
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
        request: &Request<'_>,
    ) -> Result<Checked, OAuthError> {
        if let Some(name) = request.first_repeat {
            return Err(OAuthError::invalid_request(format!(
                "{name}: must not be repeated (RFC 6749 section 3.1)"
            )));
        }
        // RFC 9101 request objects are not supported; ignoring them would drop parameters the
        // client meant to be authoritative.
        if let Some(name) = request.request_object() {
            return Err(OAuthError::invalid_request(format!(
                "{name}: request objects are not supported"
            )));
        }
        let flow = match request.response_type.value {
            None => return Err(OAuthError::invalid_request("response_type: is required")),
            Some("code") => Flow::AuthorizationCode,
            // RFC 9700 §2.1.2: the implicit grant is off unless the host turns it on.
            Some("token") if self.settings.implicit_grant => Flow::Implicit,
            Some(other) => {
                return Err(OAuthError::new(
                    ErrorCode::UnsupportedResponseType,
                    format!(
                        "response_type: `{}` is not supported; use `code`",
                        super::echo(other)
                    ),
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
        if let Some(mode) = request.response_mode.value
            && mode != expected_mode
        {
            return Err(OAuthError::invalid_request(format!(
                "response_mode: only `{expected_mode}` is supported for this response_type"
            )));
        }

        let scope_requested = request
            .scope
            .value
            .map(Scope::parse)
            .transpose()
            .map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e.to_string()))?;
        let requested = scope_requested
            .clone()
            .unwrap_or_else(|| client.scopes().clone());
        let scope = client.shared_scope(requested.intersection(client.scopes()));
        if scope.is_empty() {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                "scope: none of the requested scopes is allowed for this client",
            ));
        }

        let challenge = if flow == Flow::AuthorizationCode {
            self.check_pkce(client, request)?
        } else {
            None
        };
        // No `resource` is the usual case: the default audience, without the lookup's future.
        let audience = if request.resources.is_empty() {
            self.default_audience.clone()
        } else {
            self.audiences(&request.resources).await?
        };
        Ok(Checked {
            flow,
            scope,
            scope_requested,
            challenge,
            audience,
            nonce: request.nonce.value.map(str::to_owned),
        })
    }

    fn check_pkce(
        &self,
        client: &OAuthClient,
        request: &Request<'_>,
    ) -> Result<Option<CodeChallenge>, OAuthError> {
        let method = request.code_challenge_method.value;
        let Some(value) = request.code_challenge.value else {
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
            redirect_host: shown_host(redirect.as_str()),
            loopback_only: client.loopback_only(),
            auto_registered_by: (client.registration() == Registration::Cimd)
                .then(|| shown_host(client.id().as_str())),
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
                    .issue(Issue {
                        client_id: client.id(),
                        subject: Some(user.into()),
                        scope: granted,
                        audience: &checked.audience,
                        grant: None,
                        refresh: None,
                        not_after: None,
                        now: self.now(),
                    })
                    .await?;
                let expires = issued.expires_in.to_string();
                let pairs = [
                    (
                        "access_token",
                        Some(Value::Minted(issued.access_token.as_str())),
                    ),
                    ("token_type", Some(Value::Text("Bearer"))),
                    ("expires_in", Some(Value::Text(&expires))),
                    (
                        "scope",
                        Value::text(scope_changed.then(|| granted.as_str())),
                    ),
                    ("state", Value::text(state)),
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
                    expires_at: Timestamp(now.0.saturating_add(self.settings.code_lifetime)),
                    grant: Arc::new(Grant {
                        // Codes, and the tokens later issued from them, form one family.
                        id: GrantId::derived_from(&hash),
                        client_id: client.id().clone(),
                        subject: Some(user.into()),
                        scope: granted.clone(),
                        audience: checked.audience.clone(),
                        issued_at: now,
                        // The grant's absolute lifetime starts with the authorization.
                        ends_at: Some(now.plus_seconds(self.settings.refresh_family_lifetime)),
                        code: Some(Box::new(CodeBinding {
                            redirect_uri: redirect_given.then(|| redirect.shared()),
                            code_challenge: checked.challenge.clone(),
                            nonce: checked.nonce.clone(),
                        })),
                    }),
                };
                self.store_records(&[(hash, record)]).await?;
                let pairs = [
                    ("code", Some(Value::Minted(code.as_str()))),
                    ("state", Value::text(state)),
                ];
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
            ("code", Some(Value::Text("a b&c"))),
            ("skipped", None),
            ("state", Some(Value::Text("s"))),
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
        let code = crate::random::token().unwrap();
        let minted = [("code", Some(Value::Minted(code.as_str())))];
        assert_eq!(
            redirect_with("https://a/cb", Mode::Query, &minted, &iss),
            format!("https://a/cb?code={}&iss={iss}", code.as_str()),
            "a code goes out as it was made"
        );
    }
}
