//! Access tokens: opaque (the default) or JWT (RFC 9068), and the JWKS that publishes a JWT
//! signer's public key.

use std::fmt;

use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use serde::Serialize;

use crate::error::InvalidField;

/// The form access tokens take.
#[derive(Debug, Clone, Default)]
pub enum TokenFormat {
    /// 256 random bits, base64url: meaningless outside this server, checked by introspection.
    #[default]
    Opaque,
    /// A signed JWT in the RFC 9068 profile, which resource servers can verify with the JWKS.
    /// Its hash is stored too, so introspection and revocation work the same.
    Jwt(Box<JwtSigner>),
}

/// A JWT signing key with its key ID.
#[derive(Clone)]
pub struct JwtSigner {
    algorithm: Algorithm,
    kid: String,
    key: EncodingKey,
    /// The public key as a JWK; `None` for HMAC, whose key must never be published.
    public: Option<Jwk>,
}

impl fmt::Debug for JwtSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtSigner")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

fn key_error(e: jsonwebtoken::errors::Error) -> InvalidField {
    InvalidField::new("signing_key", format!("is not a usable key ({e})"))
}

impl JwtSigner {
    /// HS256 with a shared secret of at least 32 bytes. No JWKS is published: resource
    /// servers must share the secret or use introspection.
    pub fn hs256(kid: &str, secret: &[u8]) -> Result<Self, InvalidField> {
        if secret.len() < 32 {
            return Err(InvalidField::new(
                "signing_key",
                "an HS256 secret must be at least 32 bytes (RFC 7518 section 3.2)",
            ));
        }
        let key = EncodingKey::from_secret(secret);
        Ok(JwtSigner {
            algorithm: Algorithm::HS256,
            kid: kid.to_owned(),
            key,
            public: None,
        })
    }

    /// RS256 with an RSA private key in PEM.
    pub fn rs256_pem(kid: &str, pem: &[u8]) -> Result<Self, InvalidField> {
        Self::asymmetric(
            kid,
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(pem).map_err(key_error)?,
        )
    }

    /// ES256 with a P-256 private key in PEM (PKCS#8).
    pub fn es256_pem(kid: &str, pem: &[u8]) -> Result<Self, InvalidField> {
        Self::asymmetric(
            kid,
            Algorithm::ES256,
            EncodingKey::from_ec_pem(pem).map_err(key_error)?,
        )
    }

    /// EdDSA with an Ed25519 private key in PEM (PKCS#8).
    pub fn eddsa_pem(kid: &str, pem: &[u8]) -> Result<Self, InvalidField> {
        Self::asymmetric(
            kid,
            Algorithm::EdDSA,
            EncodingKey::from_ed_pem(pem).map_err(key_error)?,
        )
    }

    fn asymmetric(kid: &str, algorithm: Algorithm, key: EncodingKey) -> Result<Self, InvalidField> {
        let mut jwk = Jwk::from_encoding_key(&key, algorithm).map_err(key_error)?;
        jwk.common.key_id = Some(kid.to_owned());
        Ok(JwtSigner {
            algorithm,
            kid: kid.to_owned(),
            key,
            public: Some(jwk),
        })
    }

    /// The key ID placed in each token's header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK, if the algorithm has one.
    pub fn public_jwk(&self) -> Option<&Jwk> {
        self.public.as_ref()
    }

    pub(crate) fn sign<T: Serialize>(
        &self,
        claims: &T,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        // RFC 9068 §2.1: the `at+jwt` type keeps an access token from passing as an ID token.
        header.typ = Some("at+jwt".into());
        jsonwebtoken::encode(&header, claims, &self.key)
    }
}

/// The asymmetric JWS algorithms the crate verifies with a published key: RSA PKCS#1 and PSS,
/// ECDSA on P-256 and P-384, and Ed25519.
pub(crate) const ASYMMETRIC_ALGORITHMS: &[jsonwebtoken::Algorithm] = &[
    jsonwebtoken::Algorithm::RS256,
    jsonwebtoken::Algorithm::RS384,
    jsonwebtoken::Algorithm::RS512,
    jsonwebtoken::Algorithm::PS256,
    jsonwebtoken::Algorithm::PS384,
    jsonwebtoken::Algorithm::PS512,
    jsonwebtoken::Algorithm::ES256,
    jsonwebtoken::Algorithm::ES384,
    jsonwebtoken::Algorithm::EdDSA,
];

/// The JWKS document (RFC 7517 §5) for `format`: the signer's public key, or no keys.
pub fn jwks(format: &TokenFormat) -> serde_json::Value {
    let keys: Vec<&Jwk> = match format {
        TokenFormat::Jwt(signer) => signer.public_jwk().into_iter().collect(),
        TokenFormat::Opaque => Vec::new(),
    };
    serde_json::json!({ "keys": keys })
}

/// The claims of an RFC 9068 access token.
#[derive(Debug, Serialize)]
pub(crate) struct AccessClaims<'a> {
    pub iss: &'a str,
    pub sub: &'a str,
    pub aud: &'a [String],
    pub client_id: &'a str,
    pub iat: u64,
    pub exp: u64,
    pub jti: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub scope: &'a str,
    /// `client_credentials` on a token the client holds for itself, so that a resource server
    /// can tell it from a user's token even when a client ID equals a username (RFC 9068
    /// §5). Absent on users' tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gty: Option<&'a str>,
}
